from datetime import timedelta

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.services import PHONE_PATTERN
from catalog.models import Product
from config.api.fields import StrictCharField, StrictChoiceField, StrictIntegerField, StrictRegexField
from config.clock import local_today
from invoices.api.serializers import InvoiceRefSerializer
from orders.api.money import ChargeSerializer
from orders.api.shop_settings import ChargesSerializer
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, PickupSlot
from orders.services import STAFF_TARGETS
from payments.api.serializers import PaymentSerializer
from payments.selectors import payment_current, payment_error

MAX_ID = 2**63 - 1


class OrderLineOptionSerializer(serializers.Serializer):
    group = serializers.CharField()
    name = serializers.CharField()
    price_delta = serializers.IntegerField()


class OrderLineSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=Product.Kind.choices, read_only=True)
    components = serializers.SerializerMethodField()
    options = OrderLineOptionSerializer(many=True, help_text="The choices as they were at checkout.")

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
            "options",
            "note",
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


class StatusOrNullField(serializers.ChoiceField):
    """An order status, or null where an event has none (stored as "")."""

    def __init__(self, **kwargs):
        super().__init__(choices=OrderStatus.choices, allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value):
        return super().to_representation(value) if value else None


class OrderEventSerializer(serializers.ModelSerializer):
    from_status = StatusOrNullField(help_text="Null when the order had no status before (it was placed).")
    to_status = StatusOrNullField(help_text="Null when the event did not change the status.")

    class Meta:
        model = OrderEvent
        fields = ["type", "from_status", "to_status", "actor", "data", "created_at"]


class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(source="customer_name")
    email = serializers.EmailField(source="customer_email")
    phone = serializers.CharField(source="customer_phone")


class PickupSlotRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = PickupSlot
        fields = ["id", "start", "end"]


class OrderSerializer(serializers.ModelSerializer):
    item_count = serializers.SerializerMethodField()
    pickup_slot = PickupSlotRefSerializer(
        allow_null=True,
        help_text="The slot the kitchen makes the order for: the one booked, or for an order as soon as "
        "possible the first with room after the preparation time. Null when the shop has no opening "
        "hours (no slots), or when a late payment found its slot full.",
    )
    ready_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the order will be ready for pickup: its slot's start (or, without opening hours, "
        "checkout time plus the preparation time). Null only on orders placed before ready times existed.",
    )
    customer = CustomerSerializer(source="*")
    lines = OrderLineSerializer(many=True)
    events = OrderEventSerializer(many=True)
    # The current payment attempt (prefetched with the order: see orders.selectors.order_list).
    payment = serializers.SerializerMethodField()
    payment_error = serializers.SerializerMethodField()
    invoice = serializers.SerializerMethodField()
    charges = ChargeSerializer(
        many=True, help_text="Service, tax, packaging and rounding as priced at checkout."
    )
    tax = serializers.IntegerField(help_text="All the tax the total holds, added or included in the prices.")
    voucher = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "currency",
            "subtotal",
            "discount",
            "voucher",
            "charges",
            "tax",
            "total",
            "item_count",
            "customer",
            "notes",
            "pickup_slot",
            "ready_at",
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

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The voucher's code; null: none."))
    def get_voucher(self, order: Order) -> str | None:
        use = getattr(order, "voucher_use", None)  # joined by orders.selectors.with_details
        return use.voucher.code if use is not None else None

    def get_item_count(self, order: Order) -> int:
        return sum(line.quantity for line in order.lines.all())

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, order: Order) -> dict | None:
        payment = payment_current(order=order)
        return None if payment is None else PaymentSerializer(payment).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_payment_error(self, order: Order) -> str | None:
        return payment_error(order=order)

    @extend_schema_field(InvoiceRefSerializer(allow_null=True))
    def get_invoice(self, order: Order) -> dict | None:
        # The reverse one-to-one is joined by order_list; no invoice reads as None.
        invoice = getattr(order, "invoice", None)
        return None if invoice is None else InvoiceRefSerializer(invoice, context=self.context).data


class CheckoutSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        source="item_ids",
        required=False,
        max_length=500,
        help_text="Cart item ids to check out; all lines when absent.",
    )
    phone = StrictRegexField(
        PHONE_PATTERN, max_length=20, required=False, help_text="Contact phone for this order."
    )
    notes = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    pickup_slot = StrictIntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        source="pickup_slot_id",
        help_text="A slot id from shop/slots/; without one the order is for as soon as possible: "
        "the shop must be open, and the order takes the first slot with room after the preparation time.",
    )

    def validate_items(self, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class StatusChangeSerializer(serializers.Serializer):
    status = StrictChoiceField(choices=sorted(STAFF_TARGETS))
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class OfflineReferenceSerializer(serializers.Serializer):
    """The refund bodies' `reference`, required when `method` is offline."""

    reference = StrictCharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The offline refund's own reference (the transfer's); required with method offline.",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["method"] == "offline" and not attrs["reference"].strip():
            raise serializers.ValidationError({"reference": [_("Required for an offline refund.")]})
        return attrs


class RefundSerializer(OfflineReferenceSerializer):
    """`POST orders/{number}/refund/`: what staff give back, and how (payments.services.refunds)."""

    reason = StrictCharField(max_length=255, help_text="Why the money goes back; sent to the gateway.")
    amount = StrictIntegerField(
        min_value=1,
        max_value=10**15,
        required=False,
        help_text="Rupiah to give back; absent: everything not refunded yet.",
    )
    method = StrictChoiceField(
        choices=["gateway", "offline"],
        default="gateway",
        help_text="gateway: refund (or void a captured card) at the gateway; offline: record a "
        "refund staff made by hand (bank transfer VAs, Mandiri Bill, convenience stores).",
    )


class RejectSerializer(OfflineReferenceSerializer):
    """`POST orders/{number}/reject/`: the refund endpoint's body without `amount` (all of
    it goes back)."""

    reason = StrictCharField(max_length=200, help_text="Why the shop turns the order down.")
    method = StrictChoiceField(
        choices=["gateway", "offline"],
        default="gateway",
        help_text="gateway: refund at the gateway; offline: record a refund staff made by hand "
        "(required for types the gateway cannot refund: bank transfer VAs, Mandiri Bill, convenience stores).",
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs["reason"].strip():
            raise serializers.ValidationError({"reason": [_("Say why the order is rejected.")]})
        return super().validate(attrs)


class CancelSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


# --- shop: opening hours and pickup slots ------------------------------------------------


class OpenRangeSerializer(serializers.Serializer):
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField(help_text="May be on the next day: the range runs past midnight.")


class ShopSerializer(serializers.Serializer):
    name = serializers.CharField()
    time_zone = serializers.CharField(help_text="The shop's time zone: every hour is wall-clock time there.")
    open_now = serializers.BooleanField()
    today = OpenRangeSerializer(many=True, help_text="Today's opening hours, in the shop's time zone.")
    next_opening = serializers.DateTimeField(
        allow_null=True, help_text="While closed, when the shop opens next; null while open."
    )
    charges = ChargesSerializer(help_text="What orders are charged on top of (or inside) the prices.")
    paused_until = serializers.DateTimeField(
        allow_null=True,
        help_text="While the kitchen has paused new orders (busy mode), when it takes them again; "
        "null when not paused. Checkout answers 409 shop_paused until then.",
    )
    pause_reason = serializers.CharField(help_text="What staff gave as the pause's reason; empty if none.")
    prep_minutes = serializers.IntegerField(
        help_text="Minutes from checkout to the earliest ready time of an order as soon as possible "
        "(the kitchen's preparation time plus any busy-mode delay)."
    )


class BusySerializer(serializers.Serializer):
    """Busy mode as it stands after a staff change."""

    paused_until = serializers.DateTimeField(allow_null=True, help_text="Null: taking orders.")
    pause_reason = serializers.CharField()
    delay_minutes = serializers.IntegerField(help_text="Added to the preparation time; 0: no delay.")
    delay_until = serializers.DateTimeField(
        allow_null=True, help_text="When the delay ends by itself; null: until cleared (or no delay)."
    )
    prep_minutes = serializers.IntegerField()


class PauseSerializer(serializers.Serializer):
    minutes = StrictIntegerField(min_value=1, max_value=24 * 60, help_text="How long to refuse new orders.")
    reason = StrictCharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="Shown to shoppers."
    )


class DelaySerializer(serializers.Serializer):
    minutes = StrictIntegerField(
        min_value=0, max_value=4 * 60, help_text="Added to the preparation time; 0 clears the delay."
    )
    until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it ends by itself; absent: until cleared.",
    )


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "enum": ["today", "tomorrow"]}]}
)
class ShopDateField(serializers.DateField):
    """A date as the shop's calendar counts it: `YYYY-MM-DD`, `today` or `tomorrow` (in the
    shop's time zone, so a client in another zone, or just past midnight, asks for the day
    the shop means)."""

    WORDS = {"today": 0, "tomorrow": 1}
    default_error_messages = {"invalid": "Use a date as YYYY-MM-DD, or today or tomorrow."}

    def to_internal_value(self, value):
        if isinstance(value, str) and value in self.WORDS:
            return local_today() + timedelta(days=self.WORDS[value])
        return super().to_internal_value(value)


class SlotsQuerySerializer(serializers.Serializer):
    date = ShopDateField(
        required=False,
        help_text="A calendar day in the shop's time zone (`time_zone` in `GET shop/`, Asia/Jakarta), "
        "not the client's: `YYYY-MM-DD`, or `today` / `tomorrow` as the shop counts them. "
        "Today when absent. From today to today + PICKUP_DAYS_AHEAD (3).",
    )


class PickupSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text="Orders the slot still takes; 0 when full.")
    capacity_items = serializers.IntegerField(
        allow_null=True, help_text="Dish units the kitchen makes for the slot; null: no limit on units."
    )
    remaining_items = serializers.IntegerField(
        allow_null=True, help_text="Dish units the slot still takes (an order takes as many as it has)."
    )
