"""Payment gateways: Midtrans (`midtrans.py`) and an offline mock that speaks its protocol
(`mock.py`). `PAYMENT_GATEWAY` chooses; the mock by default only with DEBUG on and no
Midtrans server key (payments/checks.py says where else it may run)."""

import threading

from django.conf import settings

from payments.gateways.base import Gateway, GatewayError, OpenedPayment
from payments.gateways.midtrans import MidtransGateway
from payments.gateways.mock import MockGateway

__all__ = ["Gateway", "GatewayError", "OpenedPayment", "get_gateway"]


_per_thread = threading.local()


def _midtrans_settings() -> tuple:
    return (
        settings.MIDTRANS_SERVER_KEY,
        settings.MIDTRANS_IS_PRODUCTION,
        settings.MIDTRANS_SNAP_BASE_URL,
        settings.MIDTRANS_API_BASE_URL,
        settings.MIDTRANS_TIMEOUT_CONNECT,
        settings.MIDTRANS_TIMEOUT_READ,
    )


def get_gateway() -> Gateway:
    """The configured gateway. The Midtrans client is kept per thread while the settings
    stay the same (tests change them), so its HTTP session's connections are reused: one
    TLS handshake per worker thread, not one per checkout and per notification."""
    if settings.PAYMENT_GATEWAY != "midtrans":
        return MockGateway()
    key = _midtrans_settings()
    cached = getattr(_per_thread, "midtrans", None)
    if cached is None or cached[0] != key:
        cached = _per_thread.midtrans = (key, MidtransGateway.from_settings())
    return cached[1]
