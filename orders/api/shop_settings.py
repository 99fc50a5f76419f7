"""`GET/PATCH shop/settings/`: the shop's charges for staff (orders/shop_settings.py). Reading
needs `orders.view_shopsettings`, changing `orders.change_shopsettings` (Manager holds both);
the public part is in `GET shop/` as `charges`."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from config.api.permissions import staff_may
from orders.shop_settings import (
    MAX_RATE_BP,
    RoundingUnit,
    ShopSettings,
    TaxBase,
    TaxName,
    shop_settings_get,
    shop_settings_update,
)


class ChargesSerializer(serializers.ModelSerializer):
    """What a shopper may know of the charges: the same on every receipt."""

    class Meta:
        model = ShopSettings
        fields = [
            "service_charge_bp",
            "tax_name",
            "tax_rate_bp",
            "tax_base",
            "prices_include_tax",
            "packaging_fee",
            "rounding_unit",
            "tax_registration_number",
        ]


class ShopSettingsSerializer(ChargesSerializer):
    class Meta(ChargesSerializer.Meta):
        fields = [*ChargesSerializer.Meta.fields, "updated_at"]


class ShopSettingsUpdateSerializer(serializers.Serializer):
    service_charge_bp = StrictIntegerField(min_value=0, max_value=MAX_RATE_BP, required=False)
    tax_name = StrictChoiceField(choices=TaxName.choices, required=False)
    tax_rate_bp = StrictIntegerField(min_value=0, max_value=MAX_RATE_BP, required=False)
    tax_base = StrictChoiceField(choices=TaxBase.choices, required=False)
    prices_include_tax = StrictBooleanField(required=False)
    packaging_fee = StrictIntegerField(min_value=0, max_value=10_000_000, required=False)
    rounding_unit = StrictIntegerField(
        required=False, help_text="1 (no rounding), 100 or 500 rupiah.", min_value=1, max_value=500
    )
    tax_registration_number = StrictCharField(max_length=32, allow_blank=True, required=False)

    def validate_rounding_unit(self, value: int) -> int:
        if value not in RoundingUnit.values:
            raise serializers.ValidationError(_("Choose 1, 100 or 500."))
        return value


class ShopSettingsView(APIView):
    @extend_schema(
        responses={
            200: ShopSettingsSerializer,
            403: OpenApiResponse(description="Needs orders.view_shopsettings."),
        },
        tags=["shop"],
    )
    def get(self, request: Request) -> Response:
        """The shop's charges (service, tax, packaging, rounding) as new orders are priced."""
        if not staff_may(request, "orders.view_shopsettings"):
            raise PermissionDenied(_("Seeing the shop settings needs its permission."))
        return Response(ShopSettingsSerializer(shop_settings_get()).data)

    @extend_schema(
        request=ShopSettingsUpdateSerializer,
        responses={
            200: ShopSettingsSerializer,
            400: OpenApiResponse(description="A value out of range; nothing changed."),
            403: OpenApiResponse(description="Needs orders.change_shopsettings."),
        },
        tags=["shop"],
    )
    def patch(self, request: Request) -> Response:
        """Change some of the charges; orders placed before keep theirs."""
        if not staff_may(request, "orders.change_shopsettings"):
            raise PermissionDenied(_("Changing the shop settings needs its permission."))
        data = ShopSettingsUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(ShopSettingsSerializer(shop_settings_update(**data.validated_data)).data)
