from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.mealtimes import windows_of
from catalog.models import Category, Product, ProductPrice
from catalog.selectors import PRICE_STATUSES, price_status
from catalog.sellability import REASONS, Unsellable, sellability
from catalog.services import MAX_PRICE
from catalog.stock import MAX_STOCK
from config.api.fields import (
    STRICT_TEXT_FIELD_MAPPING,
    SlugRefField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSlugField,
)


class CategorySerializer(serializers.ModelSerializer):
    name = StrictCharField(
        max_length=100,
        help_text="Read: in the request's language (Accept-Language), else Indonesian. Write: the "
        "Indonesian name (the text of record).",
    )
    name_en = StrictCharField(
        max_length=100,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The English name; empty: English readers see the Indonesian one.",
    )
    slug = StrictSlugField(max_length=100, required=False)
    position = StrictIntegerField(
        min_value=0, max_value=1_000_000, required=False, help_text="Lower comes first."
    )
    is_active = StrictBooleanField(required=False)

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "name_en", "position", "is_active"]
        read_only_fields = ["id"]

    serializer_field_mapping = STRICT_TEXT_FIELD_MAPPING


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class ProductRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["slug", "name"]


class ComponentSerializer(serializers.Serializer):
    product = ProductRefSerializer(source="component")
    quantity = serializers.IntegerField()


_DATETIME = serializers.DateTimeField()


class OptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    price_delta = serializers.IntegerField(help_text="Whole rupiah added to the dish's price.")
    available = serializers.BooleanField()


class OptionGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    min_choices = serializers.IntegerField()
    max_choices = serializers.IntegerField()
    options = OptionSerializer(many=True)


def option_groups_data(product: Product) -> list[dict]:
    if not product.has_options:
        return []
    return [
        {
            "id": group.pk,
            "name": group.name,
            "min_choices": group.min_choices,
            "max_choices": group.max_choices,
            "options": [
                {
                    "id": option.pk,
                    "slug": option.slug,
                    "name": option.name,
                    "price_delta": option.price_delta,
                    "available": option.is_active and (option.stock is None or option.stock > 0),
                }
                for option in group.options.all()
                if option.is_active
            ],
        }
        for group in product.option_groups.all()
    ]


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "days": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}},
                "from": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "until": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
            },
            "required": ["from", "until"],
        },
    }
)
class ServingWindowsField(serializers.JSONField):
    """Serving windows (catalog/mealtimes.py): days (Monday 0; absent: every day), from and
    until as HH:MM in the shop's time zone, until excluded."""


class ProductSerializer(serializers.Serializer):
    """A product as listed, with its current price and what can be bought of it.

    The fields below document the shape; `to_representation` builds it directly (the menu
    is the most-read resource, and DRF's per-field machinery was most of its cost). A test
    keeps the two in step."""

    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField(help_text="In the request's language (Accept-Language), else Indonesian.")
    description = serializers.CharField(
        help_text="In the request's language (Accept-Language), else Indonesian."
    )
    sku = serializers.CharField()
    category = CategoryRefSerializer()
    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    price = serializers.IntegerField(allow_null=True, help_text="Current price in whole rupiah.")
    price_version = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    available = serializers.BooleanField(help_text="For sale and at least one unit can be bought.")
    unavailable_reason = serializers.ChoiceField(
        choices=REASONS,
        allow_null=True,
        help_text="Why it cannot be bought now; null when it can.",
    )
    stock = serializers.IntegerField(
        allow_null=True,
        help_text="Units that can be bought; for a bundle, computed from its components. Null for a dish "
        "made to order (no count kept: `track_stock` false, or a bundle of such dishes).",
    )
    track_stock = serializers.BooleanField(help_text="False: made to order, sold while on the menu.")
    serving_windows = ServingWindowsField(
        help_text="When it is served (its own, else its category's): judged at the order's ready time "
        "at checkout (409 product_unavailable, reason not_served_then). Empty: whenever the shop is open.",
    )
    sold_out_until = serializers.DateTimeField(
        allow_null=True, help_text="Sold out until then (`unavailable_reason` sold_out); back by itself."
    )
    image_url = serializers.URLField(allow_null=True)
    components = ComponentSerializer(many=True)
    option_groups = OptionGroupSerializer(many=True, help_text="Choices the shopper makes for this dish.")
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def to_representation(self, product: Product) -> dict:
        return product_data(product, image_url=self._image_url(product))

    def _image_url(self, product: Product) -> str | None:
        if not product.image:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(product.image.url) if request else product.image.url


def product_data(product: Product, *, image_url: str | None) -> dict:
    """The representation of a product (`ProductSerializer`'s fields, in their order), from a
    product with its category, and, when it has them, its bundle items and option groups
    prefetched. The anonymous fast path (`catalog.api.menu_fast`) passes row objects with the
    same attributes, so both answers come from this one function."""
    price = product.current_price
    verdict = sellability(product, price=price)
    category = product.category
    return {
        "id": product.pk,
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "sku": product.sku,
        "category": {"slug": category.slug, "name": category.name},
        "kind": product.kind,
        "price": price,
        "price_version": product.current_price_version,
        "currency": settings.CURRENCY,
        "available": verdict.ok,
        "unavailable_reason": verdict.reason and verdict.reason.value,
        "stock": verdict.available if verdict.counted else None,
        "track_stock": product.track_stock,
        "serving_windows": windows_of(product),
        "sold_out_until": _DATETIME.to_representation(product.sold_out_until)
        if verdict.reason is Unsellable.SOLD_OUT and product.sold_out_until
        else None,
        "image_url": image_url,
        "components": [
            {
                "product": {"slug": item.component.slug, "name": item.component.name},
                "quantity": item.quantity,
            }
            for item in product.bundle_items.all()
        ]
        if product.is_bundle
        else [],
        "option_groups": option_groups_data(product),
        "is_active": product.is_active,
        "created_at": _DATETIME.to_representation(product.created_at),
    }


class ComponentInputSerializer(serializers.Serializer):
    product = SlugRefField(
        slug_field="slug",
        queryset=Product.objects.all(),
        error_messages={"does_not_exist": _("No product with slug {value}.")},
    )
    quantity = StrictIntegerField(min_value=1, max_value=1000)

    def validate(self, attrs):
        # A PATCH makes nested fields optional too; a component still needs both.
        missing = {name: ["This field is required."] for name in ("product", "quantity") if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ProductUpdateSerializer(serializers.Serializer):
    """Staff changes to a product. Prices change through prices/ (a `price` sent here is
    refused, not silently ignored); stock is set only together with the value it is expected
    to have (`expected_stock`), or moved by stock/."""

    name = StrictCharField(max_length=200, help_text="In Indonesian: the menu's text of record.")
    name_en = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="In English; empty: English readers (Accept-Language: en) see `name`.",
    )
    slug = StrictSlugField(max_length=200, required=False)
    sku = StrictCharField(max_length=64)
    description = StrictCharField(required=False, allow_blank=True, help_text="In Indonesian.")
    description_en = StrictCharField(
        required=False, allow_blank=True, help_text="In English; empty: English readers see `description`."
    )
    category = SlugRefField(
        slug_field="slug",
        queryset=Category.objects.all(),
        error_messages={"does_not_exist": _("No category with slug {value}.")},
    )
    kind = StrictChoiceField(
        choices=Product.Kind.choices, required=False, help_text="Fixed once created: a change is refused."
    )
    is_active = StrictBooleanField(required=False)
    track_stock = StrictBooleanField(
        required=False, help_text="Off for dishes made to order: sold while on the menu, no stock count kept."
    )
    low_stock_threshold = StrictIntegerField(
        min_value=0,
        max_value=MAX_STOCK,
        required=False,
        allow_null=True,
        help_text="Staff are e-mailed once when the stock falls to this or below (again only after it was "
        "back above); null: never.",
    )
    serving_windows = ServingWindowsField(
        required=False,
        help_text='[{"days": [0-6], "from": "HH:MM", "until": "HH:MM"}]; [] to serve whenever the shop is open.',
    )
    components = ComponentInputSerializer(many=True, required=False)
    stock = StrictIntegerField(
        min_value=0, max_value=MAX_STOCK, required=False, help_text="Requires `expected_stock`."
    )
    expected_stock = StrictIntegerField(
        min_value=0,
        max_value=MAX_STOCK,
        required=False,
        help_text="The stock you saw; the change is refused (409 stock_changed) if it has moved since.",
    )

    def validate(self, attrs):
        if "price" in self.initial_data:
            raise serializers.ValidationError({"price": [_("Add a new version with POST prices/ instead.")]})
        if "components" in attrs:
            attrs["components"] = [(c["product"], c["quantity"]) for c in attrs["components"]]
        if ("stock" in attrs) != ("expected_stock" in attrs):
            raise serializers.ValidationError(
                {"expected_stock": [_("Send `stock` together with `expected_stock`, the value you saw.")]}
            )
        return attrs


class ProductCreateSerializer(ProductUpdateSerializer):
    """Staff input for a new product: its starting stock and, optionally, its first price."""

    kind = StrictChoiceField(choices=Product.Kind.choices, required=False)
    stock = StrictIntegerField(min_value=0, max_value=MAX_STOCK, required=False, help_text="Starting stock.")
    expected_stock = None
    price = StrictIntegerField(
        min_value=1, max_value=MAX_PRICE, required=False, help_text="Creates price version 1."
    )

    def validate(self, attrs):
        if "components" in attrs:
            attrs["components"] = [(c["product"], c["quantity"]) for c in attrs["components"]]
        return attrs


class StockAdjustSerializer(serializers.Serializer):
    delta = StrictIntegerField(
        min_value=-MAX_STOCK, max_value=MAX_STOCK, help_text="Units to add (positive) or remove (negative)."
    )
    reason = StrictCharField(max_length=50, help_text="Why, in a word or two: delivery, waste, recount.")
    note = StrictCharField(max_length=140, required=False, allow_blank=True, default="")

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError(_("Give a non-zero number of units."))
        return value


class ProductPriceSerializer(serializers.ModelSerializer):
    amount = StrictIntegerField(min_value=1, max_value=MAX_PRICE, help_text="Whole rupiah.")
    status = serializers.SerializerMethodField(help_text="past, current or scheduled")

    class Meta:
        model = ProductPrice
        fields = ["version", "amount", "valid_from", "status", "created_at"]
        read_only_fields = ["version", "status", "created_at"]
        extra_kwargs = {"valid_from": {"required": False}}

    @extend_schema_field({"type": "string", "enum": list(PRICE_STATUSES)})
    def get_status(self, obj) -> str:
        return price_status(price=obj, current_version=self.context.get("current_version"))


class SoldOutSerializer(serializers.Serializer):
    until = serializers.CharField(
        required=False,
        help_text='An ISO 8601 date-time in the future (at most 30 days away), or "end_of_day" (the next '
        "midnight in the shop's time zone, also the default).",
    )

    def validate_until(self, value: str):
        if value == "end_of_day":
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise serializers.ValidationError(_('Use an ISO 8601 date-time, or "end_of_day".'))
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
