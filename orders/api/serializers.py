from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import StrictChoiceField, StrictIntegerField
from orders.models import Order, OrderEvent, OrderLine
from orders.services import STAFF_TARGETS

MAX_ID = 2**63 - 1


class OrderLineSerializer(serializers.ModelSerializer):
    components = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = [
            "product_slug",
            "product_name",
            "sku",
            "kind",
            "price_version",
            "unit_price",
            "quantity",
            "line_total",
            "components",
        ]

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "sku": {"type": "string"},
                    "quantity": {"type": "integer"},
                },
            },
        }
    )
    def get_components(self, line: OrderLine) -> list[dict]:
        # Internal product ids stay inside; the API names products by slug.
        return [{k: c[k] for k in ("slug", "name", "sku", "quantity")} for c in line.components]


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["type", "from_status", "to_status", "actor", "data", "created_at"]


class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(source="customer_name")
    email = serializers.EmailField(source="customer_email")
    phone = serializers.CharField(source="customer_phone")


class OrderSerializer(serializers.ModelSerializer):
    item_count = serializers.SerializerMethodField()
    customer = CustomerSerializer(source="*")
    lines = OrderLineSerializer(many=True)
    events = OrderEventSerializer(many=True)
    # Filled in by the payments and invoices issues; until then an order has neither.
    payment = serializers.SerializerMethodField()
    payment_error = serializers.SerializerMethodField()
    invoice = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "currency",
            "subtotal",
            "total",
            "item_count",
            "customer",
            "notes",
            "lines",
            "events",
            "payment",
            "payment_error",
            "invoice",
            "placed_at",
            "expires_at",
            "paid_at",
            "cancelled_at",
        ]

    def get_item_count(self, order: Order) -> int:
        return sum(line.quantity for line in order.lines.all())

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_payment(self, order: Order) -> None:
        return None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_payment_error(self, order: Order) -> None:
        return None

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_invoice(self, order: Order) -> None:
        return None


class CheckoutSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        source="item_ids",
        required=False,
        max_length=500,
        help_text="Cart item ids to check out; all lines when absent.",
    )
    phone = serializers.RegexField(
        r"^\+?[0-9][0-9 \-]{5,18}$", max_length=20, required=False, help_text="Contact phone for this order."
    )
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_items(self, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class StatusChangeSerializer(serializers.Serializer):
    status = StrictChoiceField(choices=sorted(STAFF_TARGETS))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
