"""Payment gateways: Midtrans (`midtrans.py`) and an offline mock that speaks its protocol
(`mock.py`). `PAYMENT_GATEWAY` chooses; the mock when no Midtrans server key is set."""

from django.conf import settings

from payments.gateways.base import Gateway, GatewayError, OpenedPayment
from payments.gateways.midtrans import MidtransGateway
from payments.gateways.mock import MockGateway

__all__ = ["Gateway", "GatewayError", "OpenedPayment", "get_gateway"]


def get_gateway() -> Gateway:
    """The configured gateway, built from the current settings (tests change them)."""
    if settings.PAYMENT_GATEWAY == "midtrans":
        return MidtransGateway.from_settings()
    return MockGateway()
