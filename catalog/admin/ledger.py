"""The stock ledger, read-only."""

from django.contrib import admin
from django.http import HttpRequest

from catalog.models import StockMovement
from config.admin_mixins import ReadOnlyAdminMixin


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The stock ledger: every change of every product's stock, append-only."""

    list_display = [
        "created_at",
        "product",
        "reason",
        "quantity",
        "stock_after",
        "order_number",
        "user",
        "note",
    ]
    list_filter = ["reason", ("product", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["product", "user"]
    search_fields = ["product__name_ind", "product__name_en", "product__sku", "order_number", "note"]
    date_hierarchy = "created_at"

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm("catalog.view_product")
