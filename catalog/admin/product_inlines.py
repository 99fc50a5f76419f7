"""The inlines of the product page: a bundle's components, the price history and the
new-price row."""

from datetime import datetime

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import selectors, services
from catalog.admin.common import (
    rupiah_or_none,
)
from catalog.models import BundleItem, Product, ProductPrice
from config.admin_mixins import ReadOnlyAdminMixin

# --- product inlines ----------------------------------------------------------------------


class ComponentForm(forms.ModelForm):
    # The model field's form field stops at 0 (so -1 reads "at least 0") and leaves 0 to the
    # model's validator; this gives one message, "at least 1", for both.
    quantity = forms.IntegerField(min_value=1, initial=1)

    class Meta:
        model = BundleItem
        fields = ["component", "quantity"]


class ComponentFormSet(BaseInlineFormSet):
    """A bundle's components, checked as a whole with the rules `product_update` applies, and
    saved by replacing them as a whole (so rows can be swapped, changed and removed at once)."""

    def components(self) -> list[tuple[Product, int]]:
        """The rows as submitted, leaving out empty extra rows and rows marked for deletion."""
        return [
            (form.cleaned_data["component"], form.cleaned_data["quantity"])
            for form in self.forms
            if form.cleaned_data and form not in self.deleted_forms
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return  # the rows show their own errors; the whole-bundle rules need valid rows
        # On the add view the product is not saved yet, but the main form has already put
        # the submitted kind on it (the admin validates that form first).
        bundle, components = self.instance, self.components()
        if not bundle.is_bundle:
            if components:
                raise ValidationError(
                    _("Only a bundle has components: make the product a bundle or remove them.")
                )
            return
        try:
            services.check_components(bundle=bundle, components=components)
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class ComponentInline(admin.TabularInline):
    model = BundleItem
    fk_name = "bundle"
    form = ComponentForm
    formset = ComponentFormSet
    extra = 1
    verbose_name = "component"
    verbose_name_plural = "components (bundles only)"


class PriceHistoryInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Every version so far, read-only: prices are append-only."""

    model = ProductPrice
    verbose_name_plural = "price history"
    fields = readonly_fields = ["version", "amount_display", "valid_from", "status", "created_at"]
    ordering = ["-version"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductPrice]:
        return super().get_queryset(request).select_related("product")

    @admin.display(description=gettext_lazy("amount"))
    def amount_display(self, price: ProductPrice) -> str | None:
        return rupiah_or_none(price.amount)

    @admin.display(description=gettext_lazy("status"))
    def status(self, price: ProductPrice) -> str:
        return selectors.price_status(price=price, current_version=price.product.current_price_version)


class NewPriceForm(forms.ModelForm):
    amount = forms.IntegerField(
        min_value=1,
        max_value=services.MAX_PRICE,
        error_messages={"min_value": "A price must be above zero."},
        help_text=gettext_lazy("Whole rupiah."),
    )
    # Empty means "now, when saved": a time filled in when the page loaded would turn into a
    # refused backdated price if the page stays open for a while.
    valid_from = forms.SplitDateTimeField(
        required=False,
        widget=widgets.AdminSplitDateTime,
        help_text=gettext_lazy("Leave empty to apply it on saving; a future time schedules the change."),
    )

    class Meta:
        model = ProductPrice
        fields = ["amount", "valid_from"]

    def clean_valid_from(self) -> datetime | None:
        # The rule `price_add` applies, checked here so it shows on the form.
        valid_from = self.cleaned_data["valid_from"]
        if valid_from is not None:
            try:
                services.check_price_valid_from(valid_from=valid_from, now=timezone.now())
            except ValidationError as error:
                raise ValidationError(error.messages) from None
        return valid_from


class NewPriceFormSet(BaseInlineFormSet):
    @classmethod
    def get_default_prefix(cls) -> str:
        # Distinct from the history inline's "prices", whichever of the two is shown.
        return "new_prices"


class NewPriceInline(admin.TabularInline):
    """Add-only: each new row becomes the next version through `price_add`."""

    model = ProductPrice
    form = NewPriceForm
    formset = NewPriceFormSet
    verbose_name = "new price"
    verbose_name_plural = "new price"
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductPrice]:
        return super().get_queryset(request).none()

    def has_change_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False
