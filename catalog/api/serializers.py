from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, Product, ProductPrice
from catalog.services import MAX_PRICE
from config.fields import SlugRefField, StrictBooleanField, StrictChoiceField, StrictIntegerField


class CategorySerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=100, required=False)
    position = StrictIntegerField(
        min_value=0, max_value=1_000_000, required=False, help_text="Lower comes first."
    )
    is_active = StrictBooleanField(required=False)

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "position", "is_active"]
        read_only_fields = ["id"]


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


class ProductSerializer(serializers.ModelSerializer):
    """A product as listed: current price and availability come from `product_queryset`."""

    category = CategoryRefSerializer()
    price = serializers.IntegerField(allow_null=True, help_text="Current price in whole rupiah.")
    price_version = serializers.IntegerField(allow_null=True)
    currency = serializers.SerializerMethodField()
    available = serializers.BooleanField(help_text="For sale and at least one unit can be bought.")
    stock = serializers.IntegerField(
        source="stock_available",
        help_text="Units that can be bought; for a bundle, computed from its components.",
    )
    image_url = serializers.SerializerMethodField()
    components = ComponentSerializer(source="bundle_items", many=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "sku",
            "category",
            "kind",
            "price",
            "price_version",
            "currency",
            "available",
            "stock",
            "image_url",
            "components",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields

    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, obj) -> str | None:
        if not obj.image:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(obj.image.url) if request else obj.image.url


class ComponentInputSerializer(serializers.Serializer):
    product = SlugRefField(
        slug_field="slug",
        queryset=Product.objects.all(),
        error_messages={"does_not_exist": "No product with slug {value}."},
    )
    quantity = StrictIntegerField(min_value=1, max_value=1000)

    def validate(self, attrs):
        # A PATCH makes nested fields optional too; a component still needs both.
        missing = {name: ["This field is required."] for name in ("product", "quantity") if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ProductWriteSerializer(serializers.Serializer):
    """Staff input for creating and changing a product. Prices change through prices/."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200, required=False)
    sku = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True)
    category = SlugRefField(
        slug_field="slug",
        queryset=Category.objects.all(),
        error_messages={"does_not_exist": "No category with slug {value}."},
    )
    kind = StrictChoiceField(choices=Product.Kind.choices, required=False)
    is_active = StrictBooleanField(required=False)
    stock = StrictIntegerField(min_value=0, max_value=2_000_000_000, required=False)
    components = ComponentInputSerializer(many=True, required=False)
    price = StrictIntegerField(
        min_value=1,
        max_value=MAX_PRICE,
        required=False,
        write_only=True,
        help_text="Creates price version 1.",
    )

    def validate(self, attrs):
        if "components" in attrs:
            attrs["components"] = [(c["product"], c["quantity"]) for c in attrs["components"]]
        return attrs


class ProductUpdateSerializer(ProductWriteSerializer):
    """Staff input for changing a product: as for creating, without a price (a new price is a
    new version, `POST prices/`). A `price` sent anyway is refused, not silently ignored."""

    price = None

    def validate(self, attrs):
        if "price" in self.initial_data:
            raise serializers.ValidationError({"price": ["Add a new version with POST prices/ instead."]})
        return super().validate(attrs)


class ProductPriceSerializer(serializers.ModelSerializer):
    amount = StrictIntegerField(min_value=1, max_value=MAX_PRICE, help_text="Whole rupiah.")
    status = serializers.SerializerMethodField(help_text="past, current or scheduled")

    class Meta:
        model = ProductPrice
        fields = ["version", "amount", "valid_from", "status", "created_at"]
        read_only_fields = ["version", "status", "created_at"]
        extra_kwargs = {"valid_from": {"required": False}}

    def get_status(self, obj) -> str:
        current = self.context.get("current_version")
        if obj.version == current:
            return "current"
        return "scheduled" if obj.valid_from > timezone.now() else "past"
