"""Carts, read-only: staff look at what a shopper holds (to help on the phone, say);
only the shopper changes a cart, through the API."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cart.models import Cart, CartItem
from config.admin_mixins import ReadOnlyAdminMixin


class CartItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CartItem
    fields = ["product", "quantity", "added_at", "updated_at"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[CartItem]:
        return super().get_queryset(request).select_related("product")


@admin.register(Cart)
class CartAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "line_count", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    fields = ["user", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [CartItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cart]:
        return super().get_queryset(request).annotate(line_count=Count("items"))

    @admin.display(description=_("Lines"), ordering="line_count")
    def line_count(self, cart: Cart) -> int:
        return cart.line_count
