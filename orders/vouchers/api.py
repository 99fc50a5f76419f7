"""The shopper's `POST/DELETE cart/voucher/` and staff's `vouchers/` (list, create, read,
change: `orders.view_voucher`, `add_voucher`, `change_voucher`; Manager holds them)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cart.api.serializers import CartSerializer
from cart.api.views import cart_response
from cart.selectors import cart_summary
from catalog.models import Category
from config.api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from config.api.permissions import staff_may
from orders.totals import Line
from orders.vouchers.models import Voucher
from orders.vouchers.services import cart_voucher_apply, cart_voucher_remove, voucher_save


class VoucherCodeSerializer(serializers.Serializer):
    code = StrictCharField(max_length=32, help_text="Case does not matter.")


class CartVoucherView(APIView):
    @extend_schema(
        request=VoucherCodeSerializer,
        responses={
            200: CartSerializer,
            400: OpenApiResponse(
                description="voucher_invalid with `reason`: unknown, expired, not_started, min_subtotal, "
                "not_eligible or used_up; the cart is unchanged."
            ),
        },
        tags=["cart"],
    )
    def post(self, request: Request) -> Response:
        """Apply a voucher to the cart (replacing one there); answers with the cart."""
        data = VoucherCodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        summary = cart_summary(user=request.user)
        lines = [
            Line(line.line_total, line.item.product.category.slug)
            for line in summary.lines
            if line.line_total is not None
        ]
        cart_voucher_apply(user=request.user, code=data.validated_data["code"], lines=lines)
        return cart_response(request)

    @extend_schema(request=None, responses={200: CartSerializer}, tags=["cart"])
    def delete(self, request: Request) -> Response:
        """Take the voucher off the cart; answers with the cart."""
        cart_voucher_remove(user=request.user)
        return cart_response(request)


class VoucherSerializer(serializers.ModelSerializer):
    code = StrictCharField(max_length=32, help_text="Stored upper-case; unique whatever the case.")
    kind = StrictChoiceField(choices=Voucher.Kind.choices)
    value = StrictIntegerField(
        min_value=1, max_value=100_000_000, help_text="Whole percent (1-100) or rupiah."
    )
    max_discount = StrictIntegerField(min_value=0, required=False, allow_null=True)
    min_subtotal = StrictIntegerField(min_value=0, required=False)
    usage_limit = StrictIntegerField(min_value=0, required=False, allow_null=True)
    per_customer_limit = StrictIntegerField(min_value=1, required=False, allow_null=True)
    first_order_only = StrictBooleanField(required=False)
    active = StrictBooleanField(required=False)
    categories = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), many=True, required=False
    )

    class Meta:
        model = Voucher
        fields = [
            "id",
            "code",
            "kind",
            "value",
            "max_discount",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "used",
            "per_customer_limit",
            "first_order_only",
            "categories",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "used", "created_at"]

    def validate_code(self, value: str) -> str:
        code = value.strip().upper()
        if not code or not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
            raise serializers.ValidationError(_("Use letters, digits, - and _."))
        taken = Voucher.objects.filter(code=code)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(_("A voucher with this code exists."))
        return code

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        value = attrs.get("value", getattr(self.instance, "value", None))
        if kind == Voucher.Kind.PERCENT and value is not None and value > 100:
            raise serializers.ValidationError({"value": [_("A percent voucher is at most 100.")]})
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": [_("Must be after starts_at.")]})
        limit = attrs.get("usage_limit", getattr(self.instance, "usage_limit", None))
        if self.instance is not None and limit is not None and limit < self.instance.used:
            raise serializers.ValidationError(
                {"usage_limit": [_("Already used %(used)s times.") % {"used": self.instance.used}]}
            )
        return attrs


PERMS = {
    "list": "orders.view_voucher",
    "retrieve": "orders.view_voucher",
    "create": "orders.add_voucher",
    "partial_update": "orders.change_voucher",
}


class MayManageVouchers(BasePermission):
    message = "Vouchers need their permission."

    def has_permission(self, request, view) -> bool:
        perm = PERMS.get(getattr(view, "action", None))
        return perm is not None and staff_may(request, perm)


@extend_schema(tags=["vouchers"])
class VoucherViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = VoucherSerializer
    permission_classes = [MayManageVouchers]
    queryset = Voucher.objects.prefetch_related("categories")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer) -> None:
        categories = serializer.validated_data.pop("categories", None)
        serializer.instance = voucher_save(
            voucher=Voucher(**serializer.validated_data), categories=categories
        )

    def perform_update(self, serializer) -> None:
        categories = serializer.validated_data.pop("categories", None)
        voucher = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(voucher, name, value)
        serializer.instance = voucher_save(voucher=voucher, categories=categories)

    @extend_schema(responses={201: VoucherSerializer, 400: OpenApiResponse(description="Invalid voucher.")})
    def create(self, request: Request, *args, **kwargs) -> Response:
        response = super().create(request, *args, **kwargs)
        response.status_code = status.HTTP_201_CREATED
        return response
