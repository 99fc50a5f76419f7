from rest_framework import serializers

from config.api.representation import iso_datetime
from orders.models import OrderStatus
from payments.gateways.mock import ACTIONS, PAYMENT_TYPES
from payments.models import Payment, PaymentNotification


class PaymentSerializer(serializers.ModelSerializer):
    """An order's `payment` block (DESIGN.md §5): the current attempt, never the gateway's
    raw answers or any key."""

    class Meta:
        model = Payment
        fields = [
            "id",
            "gateway",
            "gateway_order_id",
            "status",
            "amount",
            "token",
            "redirect_url",
            "expires_at",
        ]
        read_only_fields = fields


def payment_data(payment: Payment) -> dict:
    """`PaymentSerializer(payment).data` built directly (orders.api.order_json.order_data;
    orders/tests/test_order_representation.py compares the two)."""
    return {
        "id": payment.id,
        "gateway": payment.gateway,
        "gateway_order_id": payment.gateway_order_id,
        "status": payment.status,
        "amount": payment.amount,
        "token": payment.token,
        "redirect_url": payment.redirect_url,
        "expires_at": iso_datetime(payment.expires_at),
    }


class MockActionSerializer(serializers.Serializer):
    transaction_status = serializers.ChoiceField(choices=ACTIONS)
    payment_type = serializers.ChoiceField(choices=PAYMENT_TYPES, required=False)


class NotificationAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    outcome = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False, help_text="On a 413: request_too_large.")

    response_optional = ("outcome", "detail", "code")  # as the answer has them


class PaymentRecheckSerializer(serializers.Serializer):
    """What re-checking an order's payment with the gateway found."""

    order = serializers.CharField(help_text="The order number.")
    order_status = serializers.ChoiceField(choices=OrderStatus.choices)
    gateway_order_id = serializers.CharField(help_text="The attempt asked about.")
    payment_status = serializers.ChoiceField(choices=Payment.Status.choices)
    outcome = serializers.ChoiceField(choices=PaymentNotification.Outcome.choices)
