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
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from catalog import options, selectors, services
from catalog.exceptions import StockChanged, StockWouldGoNegative
from catalog.locks import products_lock
from catalog.models import BundleItem, Category, Option, OptionGroup, Product, ProductPrice, StockMovement
from catalog.sellability import units_available
from catalog.stock import MAX_STOCK, option_stock_adjust, stock_adjust, stock_sell_out, stock_set
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
    model_fields = {field.name for field in form.instance._meta.fields}
    return {name: getattr(form.instance, name) for name in form.changed_data if name in model_fields}


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
        return super().get_queryset(request).select_related("product")

    @admin.display(description="amount")
    def amount_display(self, price: ProductPrice) -> str | None:
        return _rupiah(price.amount)

    @admin.display(description="status")
    def status(self, price: ProductPrice) -> str:
        return selectors.price_status(price=price, current_version=price.product.current_price_version)


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
    """On units that can be bought now (the sellability rule): a bundle's come from its
    components."""

    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if self.value() == "yes":
            return queryset.filter(selectors.available_q())
        if self.value() == "no":
            return queryset.exclude(selectors.available_q())
        return queryset


STOCK_CHANGED = (
    "The stock of {name} changed from {seen} to {now} since the page was loaded; it was not changed."
)


class StockInput(forms.NumberInput):
    """The stock input and, hidden beside it as `<name>_seen`, the stock the page showed
    (set by the form from the row as read when the page is rendered)."""

    seen: int | None = None

    def render(self, name, value, attrs=None, renderer=None) -> str:
        hidden = format_html('<input type="hidden" name="{}_seen" value="{}">', name, self.seen)
        return super().render(name, value, attrs, renderer) + hidden


class StockSetMixin:
    """A stock set never writes over a change made since the page was loaded: the form
    carries the stock it showed, and the set happens only while the stock is still that
    (`stock_set`); a row whose stock input was left alone is not written at all."""

    def _init_stock(self) -> None:
        if "stock" in self.fields and self.instance.pk is not None:
            self.fields["stock"].widget = StockInput(attrs=self.fields["stock"].widget.attrs)
            self.fields["stock"].widget.seen = self.instance.stock

    def seen_stock(self) -> int | None:
        raw = self.data.get(f"{self.add_prefix('stock')}_seen", "")
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None

    def stock_change(self) -> tuple[int, int] | None:
        """(new value, value the page showed) when the staff member changed the stock."""
        stock, seen = self.cleaned_data.get("stock"), self.seen_stock()
        if stock is None or seen is None or stock == seen:
            return None
        return stock, seen


class StockListForm(StockSetMixin, forms.ModelForm):
    """A row of the product list: its stock, and a new price that takes effect on saving
    (the next version, through `price_add`). A row counts as changed only when the staff
    member changed its stock or typed a price; an empty price changes nothing."""

    new_price = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=services.MAX_PRICE,
        label="New price",
        error_messages={"min_value": "A price must be above zero."},
        widget=forms.NumberInput(attrs={"class": "vIntegerField", "placeholder": "Rp", "min": 1}),
    )

    class Meta:
        model = Product
        fields = ["stock"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_stock()

    def has_changed(self) -> bool:
        if not hasattr(self, "cleaned_data"):
            return super().has_changed()
        return self.stock_change() is not None or self.cleaned_data.get("new_price") is not None


class ProductForm(StockSetMixin, forms.ModelForm):
    """The product page. Stock changes two ways, never by blind overwrite: set a new value
    (checked against the value the page showed) or adjust by a number of units."""

    adjust_stock = forms.IntegerField(
        required=False,
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        label="Adjust stock by",
        help_text="Units to add (a delivery) or remove (waste), counted from the stock as it is when saved.",
    )
    adjust_reason = forms.CharField(
        max_length=100, required=False, label="Reason", help_text="Written to the stock ledger."
    )

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "sku",
            "category",
            "kind",
            "description",
            "is_active",
            "image",
            "stock",
            "option_groups",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_stock()

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk is None or self.instance.is_bundle:
            return data
        change = self.stock_change()
        delta, reason = data.get("adjust_stock"), (data.get("adjust_reason") or "").strip()
        if change and delta:
            raise ValidationError("Either set a new stock or adjust it by a number of units, not both.")
        current = Product.objects.values_list("stock", flat=True).get(pk=self.instance.pk)
        if change and current != change[1]:
            self.add_error(
                "stock",
                f"The stock changed from {change[1]} to {current} since the page was loaded; "
                "check the new value and save again.",
            )
        if delta:
            if not reason:
                self.add_error("adjust_reason", "Say why the stock changes.")
            if current + delta < 0:
                self.add_error("adjust_stock", f"There are {current} in stock; that would go below zero.")
        return data


class StockLedgerMixin:
    LEDGER_ROWS = 30

    @admin.display(description="stock ledger (latest first)")
    def stock_ledger(self, product: Product) -> str:
        movements = list(product.stock_movements.select_related("user").order_by("-id")[: self.LEDGER_ROWS])
        if not movements:
            return "No stock movements."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M"),
                    m.get_reason_display(),
                    f"{m.quantity:+d}",
                    m.stock_after,
                    m.order_number or (m.user.email if m.user else ""),
                    m.note,
                )
                for m in movements
            ),
        )
        url = reverse("admin:catalog_stockmovement_changelist") + f"?product__id__exact={product.pk}"
        return format_html(
            "<table><thead><tr><th>When</th><th>Reason</th><th>Change</th><th>Stock after</th>"
            "<th>Order or staff</th><th>Note</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">Whole ledger</a></p>',
            rows,
            url,
        )


@admin.register(Product)
class ProductAdmin(StockLedgerMixin, admin.ModelAdmin):
    form = ProductForm
    list_display = [
        "thumbnail",
        "name",
        "sku",
        "category",
        "kind",
        "current_price_display",
        "current_version",
        "new_price",
        "stock",
        "available_units",
        "is_active",
    ]
    list_display_links = ["name"]
    list_editable = ["stock"]
    list_filter = ["category", "kind", "is_active", InStockFilter]
    search_fields = ["name", "sku"]
    filter_horizontal = ["option_groups"]
    prepopulated_fields = {"slug": ("name",)}
    actions = ["mark_sold_out", "activate", "deactivate"]
    add_fieldsets = [
        (None, {"fields": ["name", "slug", "sku", "category", "kind", "description", "is_active"]}),
        ("Image and stock", {"fields": ["image", "stock"]}),
    ]
    details = (None, {"fields": ["name", "slug", "sku", "category", "kind", "description", "is_active"]})
    choices = ("Options", {"fields": ["option_groups"]})
    image = ("Image", {"fields": ["image", "image_preview"]})
    dates = ("Dates", {"fields": ["created_at", "updated_at"]})
    price = ["current_price_display", "current_version"]

    def get_changelist_form(self, request: HttpRequest, **kwargs) -> type[forms.ModelForm]:
        return StockListForm

    def get_list_display(self, request: HttpRequest) -> list[str]:
        # The new-price column is an input of the list's form, for editors who may add prices
        # (catalog.add_productprice, as the price inline and the API ask).
        if self.has_change_permission(request) and request.user.has_perm("catalog.add_productprice"):
            return self.list_display
        return [name for name in self.list_display if name != "new_price"]

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
                products_lock(products=Product.objects.filter(pk__in=ids))
                return super().changelist_view(request, extra_context)
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        # Components come in one more query: a bundle's availability is computed from them.
        services.prices_ensure_current()
        return selectors.product_queryset()

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None):
        if obj is None:
            return self.add_fieldsets
        if obj.is_bundle:
            stock = ("Stock and price", {"fields": ["stock", "available_units", *self.price]})
        else:
            stock = (
                "Stock and price",
                {
                    "fields": [
                        "stock",
                        ("adjust_stock", "adjust_reason"),
                        "available_units",
                        *self.price,
                    ]
                },
            )
        ledger = ("Stock ledger", {"fields": ["stock_ledger"], "classes": ["collapse"]})
        return [self.details, self.choices, self.image, stock, ledger, self.dates]

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> list[str]:
        if obj is None:
            return []
        fields = ["kind", "image_preview", "available_units", *self.price, "stock_ledger"]
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

    @admin.display(description="price", ordering="current_price")
    def current_price_display(self, product: Product) -> str | None:
        return _rupiah(product.current_price)

    @admin.display(description="price version", ordering="current_price_version")
    def current_version(self, product: Product) -> int | None:
        return product.current_price_version

    @admin.display(description="available")
    def available_units(self, product: Product) -> int:
        return units_available(product)

    @admin.display(description="new price")
    def new_price(self, product: Product) -> str:
        return ""  # the list's form renders its `new_price` input in this column

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
            fields = {k: v for k, v in _changed_fields(form).items() if k != "stock"}
            services.product_update(product=product, components=components, **fields)
            self._save_stock(request, product, form)
            if isinstance(form, StockListForm) and form.cleaned_data.get("new_price") is not None:
                if not request.user.has_perm("catalog.add_productprice"):
                    raise PermissionDenied  # a posted price with no column: the whole save rolls back
                services.price_add(product=product, amount=form.cleaned_data["new_price"])
        else:
            _adopt(product, self._create(product, components, user=request.user))
        if "option_groups" in form.changed_data:
            options.product_set_option_groups(product=product, groups=form.cleaned_data["option_groups"])
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

    def _save_stock(self, request: HttpRequest, product: Product, form: StockSetMixin) -> None:
        """Set (only while still at the value the page showed) or adjust the stock; a change
        in between is reported, never written over."""
        if product.is_bundle:
            return
        change, delta = form.stock_change(), form.cleaned_data.get("adjust_stock")
        try:
            if change:
                stock_set(
                    product=product,
                    value=change[0],
                    expected=change[1],
                    user=request.user,
                    note="Set in the admin",
                )
            elif delta:
                note = form.cleaned_data.get("adjust_reason", "")
                stock_adjust(product=product, delta=delta, user=request.user, note=note)
        except StockChanged as error:
            seen = change[1] if change else "?"
            now = error.extra["stock"]
            self.message_user(
                request, STOCK_CHANGED.format(name=product.name, seen=seen, now=now), messages.ERROR
            )
        except StockWouldGoNegative as error:
            self.message_user(
                request, f"The stock of {product.name} was not changed: {error.detail}", messages.ERROR
            )

    @staticmethod
    def _create(product: Product, components: list[tuple[Product, int]] | None, *, user) -> Product:
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
            user=user,
        )

    # --- actions

    @admin.action(description="Mark sold out", permissions=["change"])
    def mark_sold_out(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        bundles = queryset.filter(kind=Product.Kind.BUNDLE).count()
        changed = stock_sell_out(products=queryset, user=request.user)
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
    search_fields = ["product__name", "product__sku", "order_number", "note"]
    date_hierarchy = "created_at"

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm("catalog.view_product")


# --- dish options ---------------------------------------------------------------------------


class OptionForm(forms.ModelForm):
    """An option row. Its stock is set once, when it is added (empty: unlimited); after that
    it moves only by an adjustment (written to the stock ledger), never by overwrite."""

    adjust_stock = forms.IntegerField(
        required=False, min_value=-MAX_STOCK, max_value=MAX_STOCK, label="Adjust stock by"
    )

    class Meta:
        model = Option
        fields = ["name", "slug", "price_delta", "is_active", "position", "stock"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["stock"].disabled = True
            self.fields["stock"].help_text = "Use 'adjust stock by' to change it."


class OptionInline(admin.TabularInline):
    model = Option
    form = OptionForm
    extra = 1
    can_delete = False  # carts and orders refer to options: deactivate instead
    prepopulated_fields = {"slug": ("name",)}


@admin.register(OptionGroup)
class OptionGroupAdmin(admin.ModelAdmin):
    """Choice groups shared by dishes ("Spice level", "Extras"); attach them on a product's
    page. Every write goes through `catalog.options` and option stock through the ledger."""

    list_display = ["name", "min_choices", "max_choices", "position", "option_count", "dish_count"]
    search_fields = ["name", "options__name"]
    fields = ["name", "min_choices", "max_choices", "position"]
    inlines = [OptionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OptionGroup]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_options=Count("options", distinct=True), n_dishes=Count("products", distinct=True))
        )

    @admin.display(description="options", ordering="n_options")
    def option_count(self, group: OptionGroup) -> int:
        return group.n_options

    @admin.display(description="dishes", ordering="n_dishes")
    def dish_count(self, group: OptionGroup) -> int:
        return group.n_dishes

    def has_delete_permission(self, request: HttpRequest, obj: OptionGroup | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: OptionGroup, form: forms.ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in self.fields}
        if change:
            options.option_group_update(group=obj, **fields)
        else:
            _adopt(obj, options.option_group_create(**fields))

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Option:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # writes nothing; records what changed for the history log
        for row in formset.forms:
            if not row.has_changed() or not row.cleaned_data:
                continue
            data = row.cleaned_data
            if row.instance.pk is None:
                created = options.option_create(
                    group=form.instance,
                    user=request.user,
                    **{
                        k: data.get(k)
                        for k in ("name", "slug", "price_delta", "is_active", "position", "stock")
                    },
                )
                _adopt(row.instance, created)
                continue
            changed = {k: data[k] for k in options.OPTION_FIELDS if k in row.changed_data}
            options.option_update(option=row.instance, **changed)
            if data.get("adjust_stock"):
                try:
                    option_stock_adjust(
                        option=row.instance,
                        delta=data["adjust_stock"],
                        user=request.user,
                        note="Set in the admin",
                    )
                except (StockWouldGoNegative, ValidationError) as error:
                    detail = (
                        error.detail if isinstance(error, StockWouldGoNegative) else " ".join(error.messages)
                    )
                    self.message_user(
                        request, f"{row.instance.name}: stock not changed. {detail}", messages.ERROR
                    )
