from django.conf import settings
from rest_framework import serializers

from catalog.models import Product
from config.fields import SlugRefField, StrictIntegerField


class CartProductSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.id")
    product = CartProductSerializer(source="item.product")
    quantity = serializers.IntegerField(source="item.quantity")
    unit_price = serializers.IntegerField(allow_null=True, help_text="Current price; null when not for sale.")
    line_total = serializers.IntegerField(allow_null=True)
    problem = serializers.ChoiceField(
        choices=["inactive", "insufficient_stock"],
        allow_null=True,
        help_text="Why this line cannot be checked out as it is; null when it can.",
    )


class CartSerializer(serializers.Serializer):
    items = CartLineSerializer(source="lines", many=True)
    item_count = serializers.IntegerField(help_text="Units in the cart.")
    total = serializers.IntegerField(help_text="Current price of the lines that are for sale.")
    currency = serializers.SerializerMethodField()

    def get_currency(self, obj) -> str:
        return settings.CURRENCY


class CartItemAddSerializer(serializers.Serializer):
    product = SlugRefField(
        slug_field="slug",
        queryset=Product.objects.all(),
        error_messages={"does_not_exist": "No product with slug {value}."},
    )
    quantity = StrictIntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY, default=1)


class CartItemUpdateSerializer(serializers.Serializer):
    patch_in_full = True  # PATCH cart/items/{id}/ needs the quantity (config.schema documents it so)

    quantity = StrictIntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY)
