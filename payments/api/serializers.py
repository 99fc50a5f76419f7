from rest_framework import serializers

from payments.gateways.mock import ACTIONS, PAYMENT_TYPES
from payments.models import Payment


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


class MockActionSerializer(serializers.Serializer):
    transaction_status = serializers.ChoiceField(choices=ACTIONS)
    payment_type = serializers.ChoiceField(choices=PAYMENT_TYPES, required=False)


class NotificationAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    outcome = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False, help_text="On a 413: request_too_large.")

    response_optional = ("outcome", "detail", "code")  # as the answer has them
