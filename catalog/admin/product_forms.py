"""The product page's form and the product list's row form. They check the input's shape;
the rules that depend on the database (stock, prices) are the services', whose refusals
come back as these forms' errors (`catalog.admin.common.SaveRefused`)."""

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog import services
from catalog.models import Product
from catalog.stock import MAX_STOCK

# --- products -----------------------------------------------------------------------------


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
        label=_("New price"),
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
    (checked, as it is written, against the value the page showed) or adjust by a number of
    units."""

    adjust_stock = forms.IntegerField(
        required=False,
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        label=_("Adjust stock by"),
        help_text=_(
            "Units to add (a delivery) or remove (waste), counted from the stock as it is when saved."
        ),
    )
    adjust_reason = forms.CharField(
        max_length=100, required=False, label=_("Reason"), help_text=_("Written to the stock ledger.")
    )

    class Meta:
        model = Product
        fields = [
            "name_ind",
            "name_en",
            "slug",
            "sku",
            "category",
            "kind",
            "description_ind",
            "description_en",
            "is_active",
            "image",
            "stock",
            "option_groups",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_stock()

    def clean(self) -> dict:
        # Input shape only. Whether the stock can be set or moved is `product_save`'s to
        # decide as it writes; its refusal comes back as this form's error (SaveRefused).
        data = super().clean()
        if data.get("adjust_stock") and not (data.get("adjust_reason") or "").strip():
            self.add_error("adjust_reason", "Say why the stock changes.")
        return data
