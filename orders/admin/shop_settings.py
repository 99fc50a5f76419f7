"""The "Shop settings" page: the one row, edited in place (no list, no add, no delete). A save
goes through the same service as `PATCH shop/settings/`."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from orders.admin.reports import orders_csv_view, reports_view
from orders.shop_settings import EDITABLE_FIELDS, SINGLETON_PK, ShopSettings, shop_settings_update


@admin.register(ShopSettings)
class ShopSettingsAdmin(admin.ModelAdmin):
    fieldsets = [
        (_("Service charge"), {"fields": ["service_charge_bp"]}),
        (
            _("Tax"),
            {
                "fields": [
                    "tax_name",
                    "tax_rate_bp",
                    "tax_base",
                    "prices_include_tax",
                    "tax_registration_number",
                ]
            },
        ),
        (_("Packaging and rounding"), {"fields": ["packaging_fee", "rounding_unit"]}),
    ]
    readonly_fields = ["updated_at"]

    def get_urls(self):
        reports = self.admin_site.admin_view(
            lambda request: reports_view(request, admin_site=self.admin_site)
        )
        orders_csv = self.admin_site.admin_view(orders_csv_view)
        return [
            path("reports/", reports, name="orders_reports"),
            path("reports/orders.csv", orders_csv, name="orders_reports_orders_csv"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """Straight to the one row's page (made with the defaults on the first save)."""
        return HttpResponseRedirect(reverse("admin:orders_shopsettings_change", args=[SINGLETON_PK]))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and str(object_id) == str(SINGLETON_PK):
            return ShopSettings()  # not saved yet: the defaults
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        shop_settings_update(**{name: getattr(obj, name) for name in EDITABLE_FIELDS})
