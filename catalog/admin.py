"""The menu as staff run it.

Every write goes through `catalog.services`, as the API's do: the admin's forms check the
input and show what is wrong, the services write. Products and categories are not deleted
here: as with the API's DELETE they are deactivated, so order history and the append-only
price history stay whole.
"""

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from catalog import selectors, services
from catalog.models import BundleItem, Category, Product, ProductPrice
from config.admin_mixins import ReadOnlyAdminMixin
from config.money import rupiah


def _rupiah(amount: int | None) -> str | None:
    return None if amount is None else rupiah(amount)


def _adopt(instance: Model, created: Model) -> None:
    """Make the admin's unsaved form instance stand for the row a service created, so the
    admin's log entry, message and redirect refer to that row."""
    instance.pk = created.pk
    instance.refresh_from_db()


def _changed_fields(form: forms.ModelForm) -> dict[str, object]:
    # The form has already put its cleaned values on the instance, converted for the model
    # (a cleared image is "", not the form's False), so they are read back from there.
    return {name: getattr(form.instance, name) for name in form.changed_data}


# --- categories -------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    ordering = ["position", "name"]
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ["name"]
    fields = ["name", "slug", "position", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Category, form: forms.ModelForm, change: bool) -> None:
        if change:
            services.category_update(category=obj, **_changed_fields(form))
        else:
            created = services.category_create(
                name=obj.name, slug=obj.slug, position=obj.position, is_active=obj.is_active
            )
            _adopt(obj, created)


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
                    "Only a bundle has components: make the product a bundle or remove them."
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
        current = selectors.current_prices(product_ref="product_id").values("version")[:1]
        return super().get_queryset(request).annotate(current_version=Subquery(current))

    @admin.display(description="amount")
    def amount_display(self, price: ProductPrice) -> str | None:
        return _rupiah(price.amount)

    @admin.display(description="status")
    def status(self, price: ProductPrice) -> str:
        if price.version == price.current_version:
            return "current"
        return "scheduled" if price.valid_from > timezone.now() else "past"


class NewPriceForm(forms.ModelForm):
    amount = forms.IntegerField(
        min_value=1,
        max_value=services.MAX_PRICE,
        error_messages={"min_value": "A price must be above zero."},
        help_text="Whole rupiah.",
    )
    # Empty means "now, when saved": a time filled in when the page loaded would turn into a
    # refused backdated price if the page stays open for a while.
    valid_from = forms.SplitDateTimeField(
        required=False,
        widget=widgets.AdminSplitDateTime,
        help_text="Leave empty to apply it on saving; a future time schedules the change.",
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


# --- products -----------------------------------------------------------------------------


class InStockFilter(admin.SimpleListFilter):
    """On units that can be bought now: a bundle's come from its components."""

    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if self.value() == "yes":
            return queryset.filter(stock_available__gt=0)
        if self.value() == "no":
            return queryset.filter(stock_available__lte=0)
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "name",
        "sku",
        "category",
        "kind",
        "current_price",
        "current_version",
        "stock",
        "available_units",
        "is_active",
    ]
    list_display_links = ["name"]
    list_editable = ["stock"]
    list_filter = ["category", "kind", "is_active", InStockFilter]
    search_fields = ["name", "sku"]
    prepopulated_fields = {"slug": ("name",)}
    actions = ["mark_sold_out", "activate", "deactivate"]
    add_fieldsets = [
        (None, {"fields": ["name", "slug", "sku", "category", "kind", "description", "is_active"]}),
        ("Image and stock", {"fields": ["image", "stock"]}),
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "sku", "category", "kind", "description", "is_active"]}),
        ("Image", {"fields": ["image", "image_preview"]}),
        ("Stock and price", {"fields": ["stock", "available_units", "current_price", "current_version"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if request.method == "POST" and "_save" in request.POST and self.list_editable:
            # A list edit saves rows in display order; lock them in primary-key order first
            # (checkout's order), or editing several rows at once could deadlock a checkout.
            ids = [
                v
                for k, v in request.POST.items()
                if k.endswith("-id") and v.isascii() and v.isdigit() and len(v) < 19
            ]
            with transaction.atomic():
                services.products_lock(products=Product.objects.filter(pk__in=ids))
                return super().changelist_view(request, extra_context)
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        # Price and availability come from SQL subqueries: a page costs the same number of
        # queries whatever its size. Components are not listed, so not prefetched.
        return selectors.product_queryset().prefetch_related(None)

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> list[str]:
        if obj is None:
            return []
        fields = ["kind", "image_preview", "available_units", "current_price", "current_version"]
        fields += ["created_at", "updated_at"]
        if obj.is_bundle:
            fields.append("stock")  # a bundle's stock is its components'
        return fields

    def get_inlines(self, request: HttpRequest, obj: Product | None) -> list[type[InlineModelAdmin]]:
        if obj is None:  # the kind is still to be chosen
            return [ComponentInline, NewPriceInline]
        if obj.is_bundle:
            return [ComponentInline, PriceHistoryInline, NewPriceInline]
        return [PriceHistoryInline, NewPriceInline]

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False

    # --- columns and read-only fields

    @admin.display(description="image")
    def thumbnail(self, product: Product) -> str:
        if not product.image:
            return ""
        return format_html('<img src="{}" alt="" style="height: 2.5rem">', product.image.url)

    @admin.display(description="image preview")
    def image_preview(self, product: Product) -> str | None:
        if not product.image:
            return None
        return format_html(
            '<img src="{}" alt="{}" style="max-height: 15rem">', product.image.url, product.name
        )

    @admin.display(description="price", ordering="price")
    def current_price(self, product: Product) -> str | None:
        return _rupiah(product.price)

    @admin.display(description="price version", ordering="price_version")
    def current_version(self, product: Product) -> int | None:
        return product.price_version

    @admin.display(description="available", ordering="stock_available")
    def available_units(self, product: Product) -> int:
        return product.stock_available

    # --- saving

    def save_model(self, request: HttpRequest, obj: Product, form: forms.ModelForm, change: bool) -> None:
        """Nothing yet: `save_related` writes the product together with its inlines, since a
        new bundle is created with its components in one service call."""

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        product = form.instance
        components = None
        for formset in formsets:
            formset.save(commit=False)  # writes nothing; records the changes for the history log
            if isinstance(formset, ComponentFormSet) and formset.has_changed():
                components = formset.components()
        if change:
            services.product_update(product=product, components=components, **_changed_fields(form))
        else:
            _adopt(product, self._create(product, components))
        for formset in formsets:
            if isinstance(formset, NewPriceFormSet):
                # The form refused a past start already; checking again a moment later could
                # refuse a time at the edge of the tolerance and fail the whole save.
                formset.new_objects = [
                    services.price_add(
                        product=product, amount=price.amount, valid_from=price.valid_from, allow_past=True
                    )
                    for price in formset.new_objects
                ]

    @staticmethod
    def _create(product: Product, components: list[tuple[Product, int]] | None) -> Product:
        return services.product_create(
            name=product.name,
            sku=product.sku,
            category=product.category,
            kind=product.kind,
            slug=product.slug,
            description=product.description,
            is_active=product.is_active,
            stock=product.stock,
            image=product.image,
            components=components,
        )

    # --- actions

    @admin.action(description="Mark sold out", permissions=["change"])
    def mark_sold_out(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        bundles = queryset.filter(kind=Product.Kind.BUNDLE).count()
        changed = services.products_mark_sold_out(products=queryset)
        parts = [ngettext("%d product marked sold out.", "%d products marked sold out.", changed) % changed]
        if bundles:
            parts.append(
                ngettext(
                    "%d bundle left as it is: it sells out with its components.",
                    "%d bundles left as they are: they sell out with their components.",
                    bundles,
                )
                % bundles
            )
        self.message_user(request, " ".join(parts), messages.SUCCESS)

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        changed = services.products_set_active(products=queryset, active=True)
        self.message_user(
            request, ngettext("%d product activated.", "%d products activated.", changed) % changed
        )

    @admin.action(description="Deactivate", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        changed = services.products_set_active(products=queryset, active=False)
        self.message_user(
            request, ngettext("%d product deactivated.", "%d products deactivated.", changed) % changed
        )
