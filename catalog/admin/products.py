"""Products: the list (stock and new price by row), the product page, the actions."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import selectors, services
from catalog.admin.common import (
    SaveRefused,
    TextLabelsMixin,
    adopt,
    changed_fields,
    refusal,
    run_with_refusals,
    rupiah_or_none,
    with_refusals,
)
from catalog.admin.menu_csv import MenuCsvAdminMixin
from catalog.admin.product_forms import ProductForm, StockListForm
from catalog.admin.product_inlines import (
    ComponentFormSet,
    ComponentInline,
    NewPriceFormSet,
    NewPriceInline,
    PriceHistoryInline,
)
from catalog.locks import products_lock
from catalog.models import Product
from catalog.sellability import units_available
from catalog.sold_out import product_sold_out_end, product_sold_out_set
from catalog.stock import stock_sell_out
from config.admin_mixins import LockPostedRowsMixin
from config.errors import DomainError


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


class StockLedgerMixin:
    LEDGER_ROWS = 30

    @admin.display(description=_("stock ledger (latest first)"))
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
class ProductAdmin(
    TextLabelsMixin, MenuCsvAdminMixin, LockPostedRowsMixin, StockLedgerMixin, admin.ModelAdmin
):
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
    search_fields = ["name_ind", "name_en", "sku"]
    filter_horizontal = ["option_groups"]
    prepopulated_fields = {"slug": ("name_ind",)}
    actions = [
        "mark_sold_out",
        "sold_out_today",
        "back_on_sale",
        "activate",
        "deactivate",
        "export_menu_csv",
    ]
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "name_ind",
                    "name_en",
                    "slug",
                    "sku",
                    "category",
                    "kind",
                    "description_ind",
                    "description_en",
                    "is_active",
                    "track_stock",
                ]
            },
        ),
        ("Image and stock", {"fields": ["image", "stock", "low_stock_threshold"]}),
    ]
    details = (
        None,
        {
            "fields": [
                "name_ind",
                "name_en",
                "slug",
                "sku",
                "category",
                "kind",
                "description_ind",
                "description_en",
                "is_active",
                "track_stock",
                "sold_out_until",
                "serving_windows",
            ]
        },
    )
    choices = ("Options", {"fields": ["option_groups"]})
    image = ("Image", {"fields": ["image", "image_preview"]})
    dates = ("Dates", {"fields": ["created_at", "updated_at"]})
    price = ["current_price_display", "current_version"]

    def get_list_display(self, request: HttpRequest) -> list[str]:
        # The new-price column: only for editors who may add prices (as the inline and API ask).
        if self.has_change_permission(request) and request.user.has_perm("catalog.add_productprice"):
            return self.list_display
        return [name for name in self.list_display if name != "new_price"]

    def lock_rows(self, ids: list[int]) -> None:
        products_lock(products=Product.objects.filter(pk__in=ids))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return run_with_refusals(request, super().changelist_view, extra_context)

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        return run_with_refusals(request, super().changeform_view, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj: Product | None = None, change: bool = False, **kwargs):
        return with_refusals(request, super().get_form(request, obj, change, **kwargs))

    def get_changelist_form(self, request: HttpRequest, **kwargs) -> type[forms.ModelForm]:
        return with_refusals(request, StockListForm)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        # Components come in one more query: a bundle's availability is computed from them.
        return selectors.menu_products(include_hidden=True).prefetch_related(selectors.components_prefetch())

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
                        "low_stock_threshold",
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
        fields = ["kind", "image_preview", "available_units", *self.price, "stock_ledger", "sold_out_until"]
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

    @admin.display(description=_("image"))
    def thumbnail(self, product: Product) -> str:
        if not product.image:
            return ""
        return format_html('<img src="{}" alt="" style="height: 2.5rem">', product.image.url)

    @admin.display(description=_("image preview"))
    def image_preview(self, product: Product) -> str | None:
        if not product.image:
            return None
        return format_html(
            '<img src="{}" alt="{}" style="max-height: 15rem">', product.image.url, product.name
        )

    @admin.display(description=_("price"), ordering="current_price")
    def current_price_display(self, product: Product) -> str | None:
        return rupiah_or_none(product.current_price)

    @admin.display(description=_("price version"), ordering="current_price_version")
    def current_version(self, product: Product) -> int | None:
        return product.current_price_version

    @admin.display(description=_("available"))
    def available_units(self, product: Product) -> int:
        return units_available(product)

    @admin.display(description=_("new price"))
    def new_price(self, product: Product) -> str:
        return ""  # the list's form renders its `new_price` input in this column

    # --- saving

    def save_model(self, request: HttpRequest, obj: Product, form: forms.ModelForm, change: bool) -> None:
        """Nothing yet: `save_related` writes the product together with its inlines, since a
        new bundle is created with its components in one service call."""

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        """One `product_save` with everything the page or the list row carries; a refusal
        undoes the whole save and comes back as the form's errors (SaveRefused)."""
        product = form.instance
        key = product.pk if change else None
        components, new_prices = None, []
        for formset in formsets:
            formset.save(commit=False)  # writes nothing; records the changes for the history log
            if isinstance(formset, ComponentFormSet) and formset.has_changed():
                components = formset.components()
            if isinstance(formset, NewPriceFormSet):
                new_prices += [(price.amount, price.valid_from) for price in formset.new_objects]
        if form.cleaned_data.get("new_price") is not None:  # the list's new-price column
            if not request.user.has_perm("catalog.add_productprice"):
                raise PermissionDenied  # a posted price with no column: the whole save rolls back
            new_prices.append((form.cleaned_data["new_price"], None))
        try:
            saved = services.product_save(
                product=product if change else None,
                fields=self._fields(form, change),
                components=components,
                **self._stock(form, change),
                new_prices=new_prices,
                option_groups=form.cleaned_data["option_groups"]
                if "option_groups" in form.changed_data
                else None,
                user=request.user,
            )
        except (ValidationError, DomainError) as error:
            seen = form.seen_stock() if change else None
            raise SaveRefused({key: refusal(error, form=form, name=product.name, seen_stock=seen)}) from error
        if not change:
            adopt(product, saved)
        for formset in formsets:
            if isinstance(formset, NewPriceFormSet):  # the history log names the versions made
                formset.new_objects = list(saved.prices.order_by("-version")[: len(formset.new_objects)])

    @staticmethod
    def _fields(form: forms.ModelForm, change: bool) -> dict[str, object]:
        if change:
            return {k: v for k, v in changed_fields(form).items() if k not in ("stock", "option_groups")}
        product = form.instance
        names = [
            "sku",
            "category",
            "kind",
            "slug",
            "is_active",
            "image",
            "track_stock",
            "low_stock_threshold",
        ]
        texts = {  # Indonesian as `name`/`description`, as `product_create` takes them
            "name": product.name_ind,
            "name_en": product.name_en or "",
            "description": product.description_ind or "",
            "description_en": product.description_en or "",
        }
        return {**texts, **{name: getattr(product, name) for name in names}}

    @staticmethod
    def _stock(form: forms.ModelForm, change: bool) -> dict[str, object]:
        """A new product's starting stock; an existing single's set (with the value the page
        showed) or adjustment. A bundle's stock is its components'."""
        if not change:
            return {"stock": form.instance.stock}
        if form.instance.is_bundle:
            return {}
        change_to, delta = form.stock_change(), form.cleaned_data.get("adjust_stock")
        # Both given: passed on as they are, for `product_save` to refuse.
        set_to = {"stock": change_to[0], "expected_stock": change_to[1]} if change_to else {}
        note = form.cleaned_data.get("adjust_reason", "") if delta else "Set in the admin"
        return {**set_to, "stock_delta": delta, "stock_note": note}

    # --- actions

    @admin.action(description=_("Mark sold out"), permissions=["change"])
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

    def has_sold_out_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.set_sold_out")

    @admin.action(description=_("Sold out for today (back by itself at midnight)"), permissions=["sold_out"])
    def sold_out_today(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            product_sold_out_set(product=product)
        n = len(queryset)
        self.message_user(
            request, ngettext("%d product sold out for today.", "%d products sold out for today.", n) % n
        )

    @admin.action(description=_("Back on sale now (end a sold-out mark)"), permissions=["sold_out"])
    def back_on_sale(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            product_sold_out_end(product=product)
        n = len(queryset)
        self.message_user(request, ngettext("%d product back on sale.", "%d products back on sale.", n) % n)

    @admin.action(description=_("Activate"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        changed = services.products_set_active(products=queryset, active=True)
        self.message_user(
            request, ngettext("%d product activated.", "%d products activated.", changed) % changed
        )

    @admin.action(description=_("Deactivate"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        changed = services.products_set_active(products=queryset, active=False)
        self.message_user(
            request, ngettext("%d product deactivated.", "%d products deactivated.", changed) % changed
        )
