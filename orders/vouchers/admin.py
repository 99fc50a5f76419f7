"""Vouchers in the admin: staff make and change them here or through `vouchers/`; the count
of uses only moves at checkout and cancel (services.py), so it is read-only."""

from django import forms
from django.contrib import admin

from orders.vouchers.models import Voucher, VoucherUse
from orders.vouchers.services import normalise_code, voucher_save


class VoucherForm(forms.ModelForm):
    class Meta:
        model = Voucher
        fields = [
            "code",
            "kind",
            "value",
            "max_discount",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "per_customer_limit",
            "first_order_only",
            "categories",
            "active",
        ]

    def clean_code(self) -> str:
        return normalise_code(self.cleaned_data["code"])  # before the constraints are checked


class VoucherUseInline(admin.TabularInline):
    model = VoucherUse
    fields = ["order", "user", "amount", "created_at", "released_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    form = VoucherForm
    list_display = ["code", "kind", "value", "used", "usage_limit", "starts_at", "ends_at", "active"]
    list_filter = ["active", "kind"]
    search_fields = ["code"]
    readonly_fields = ["used", "created_at"]
    filter_horizontal = ["categories"]
    inlines = [VoucherUseInline]

    def save_model(self, request, obj, form, change) -> None:
        voucher_save(voucher=obj)  # categories are saved by the form after this

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # uses point at it: deactivate instead
