"""Payment settings (DESIGN.md §7; payments/checks.py checks them at startup):
`config/settings.py` takes them from here. Each is described in `.env.example`."""

import hashlib

import environ
from django.core.exceptions import ImproperlyConfigured


def payment_settings(env: environ.Env, *, debug: bool, secret_key: str) -> dict:
    """PUBLIC_BASE_URL, the MIDTRANS_* settings, PAYMENT_OPENING_STALE_SECONDS,
    PAYMENT_GATEWAY, PAYMENT_MOCK_ALLOWED and MOCK_GATEWAY_KEY."""
    # The shop's public address (Snap's "finish" redirect, the mock's page); required without DEBUG.
    PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000" if debug else "").rstrip("/")
    MIDTRANS_SERVER_KEY = env.str("MIDTRANS_SERVER_KEY", default="")
    MIDTRANS_CLIENT_KEY = env.str("MIDTRANS_CLIENT_KEY", default="")
    MIDTRANS_IS_PRODUCTION = env.bool("MIDTRANS_IS_PRODUCTION", default=False)
    # Snap's `enabled_payments` ("credit_card,gopay,qris,bca_va"); empty: the dashboard's channels.
    MIDTRANS_ENABLED_PAYMENTS = env.list("MIDTRANS_ENABLED_PAYMENTS", default=[])
    # Empty: midtransclient's own sandbox or production URLs. The Snap one ends in /snap/v1.
    MIDTRANS_SNAP_BASE_URL = env.str("MIDTRANS_SNAP_BASE_URL", default="").rstrip("/")
    MIDTRANS_API_BASE_URL = env.str("MIDTRANS_API_BASE_URL", default="").rstrip("/")
    # Act on the status API's answer rather than on the notification's body. Off only with
    # DEBUG (payments/checks.py): the body's transaction_status is not covered by the signature.
    MIDTRANS_VERIFY_STATUS = env.bool("MIDTRANS_VERIFY_STATUS", default=True)
    MIDTRANS_TIMEOUT_CONNECT = env.float("MIDTRANS_TIMEOUT_CONNECT", default=3.05)
    MIDTRANS_TIMEOUT_READ = env.float("MIDTRANS_TIMEOUT_READ", default=10.0)
    # A payment attempt still without its token after this long was opened by a request that
    # died (a crash between asking the gateway and storing its answer): the next pay/ or
    # checkout retry gives it up and opens a new attempt. Until then they answer 409
    # payment_opening. Must exceed the two timeouts above together.
    PAYMENT_OPENING_STALE_SECONDS = env.int("PAYMENT_OPENING_STALE_SECONDS", default=120)
    if PAYMENT_OPENING_STALE_SECONDS <= MIDTRANS_TIMEOUT_CONNECT + MIDTRANS_TIMEOUT_READ:
        raise ImproperlyConfigured(
            "PAYMENT_OPENING_STALE_SECONDS must exceed MIDTRANS_TIMEOUT_CONNECT + MIDTRANS_TIMEOUT_READ."
        )
    # `midtrans` or `mock`. Default: the mock (offline) only with DEBUG and no server key;
    # otherwise Midtrans. Without DEBUG the mock runs only when chosen here together with
    # PAYMENT_MOCK_ALLOWED=true (demos, staging); payments/checks.py refuses anything else
    # (and a Midtrans without its key) before `check`, `migrate` or the server starts.
    PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="") or (
        "mock" if debug and not MIDTRANS_SERVER_KEY else "midtrans"
    )
    if PAYMENT_GATEWAY not in ("midtrans", "mock"):
        raise ImproperlyConfigured("PAYMENT_GATEWAY must be `midtrans` or `mock`.")
    PAYMENT_MOCK_ALLOWED = env.bool("PAYMENT_MOCK_ALLOWED", default=False)
    # The key the mock gateway signs its notifications with; by default derived from SECRET_KEY.
    MOCK_GATEWAY_KEY = env.str(
        "MOCK_GATEWAY_KEY",
        default="mock-" + hashlib.sha256(f"mock-gateway:{secret_key}".encode()).hexdigest(),
    )
    return {name: value for name, value in locals().items() if name.isupper()}
