"""System checks of the payment settings: the one place that refuses a configuration in
which a shopper could pay nothing or a forged status could move money.

Registered by PaymentsConfig.ready() under the tag `foodies_settings`, so `check`,
`check --deploy`, `migrate` and `runserver` stop on them, and config/wsgi.py and asgi.py
run them before gunicorn or uvicorn serve a request (those start no checks of their own).
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from payments.gateways.mock import mock_refusal

TAG = "foodies_settings"


def check_payment_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    if settings.PAYMENT_GATEWAY == "mock":
        reason = mock_refusal()
        if reason and settings.MIDTRANS_IS_PRODUCTION:
            errors.append(
                checks.Error(
                    reason,
                    hint="Set MIDTRANS_SERVER_KEY (and PAYMENT_GATEWAY=midtrans), or turn MIDTRANS_IS_PRODUCTION off.",
                    id="payments.E001",
                )
            )
        elif reason:
            errors.append(
                checks.Error(
                    reason,
                    hint=(
                        "Production: set MIDTRANS_SERVER_KEY (PAYMENT_GATEWAY=midtrans). A demo or "
                        "staging site without real payments: PAYMENT_GATEWAY=mock and PAYMENT_MOCK_ALLOWED=true."
                    ),
                    id="payments.E002",
                )
            )
    elif not settings.MIDTRANS_SERVER_KEY:
        errors.append(
            checks.Error(
                "The payment gateway is Midtrans but MIDTRANS_SERVER_KEY is not set: no order could be paid.",
                hint=(
                    "Set MIDTRANS_SERVER_KEY (Midtrans dashboard > Settings > Access keys). A demo or "
                    "staging site without real payments: PAYMENT_GATEWAY=mock and PAYMENT_MOCK_ALLOWED=true."
                ),
                id="payments.E003",
            )
        )
    if settings.PAYMENT_GATEWAY == "midtrans" and settings.MIDTRANS_SERVER_KEY:
        errors.extend(_key_environment_errors())
    if not settings.DEBUG and not settings.PUBLIC_BASE_URL:
        errors.append(
            checks.Error(
                "PUBLIC_BASE_URL is not set with DEBUG off: Snap's finish redirect and the payment "
                "pages would point at no address (or at 127.0.0.1).",
                hint="Set PUBLIC_BASE_URL to the shop's public address, e.g. https://shop.example.com.",
                id="payments.E007",
            )
        )
    if not settings.MIDTRANS_VERIFY_STATUS and not settings.DEBUG:
        errors.append(
            checks.Error(
                "MIDTRANS_VERIFY_STATUS is off with DEBUG off: a notification's transaction_status is "
                "not covered by its signature, so a replayed notification with another status would be acted on.",
                hint="Remove MIDTRANS_VERIFY_STATUS (it defaults to true); turn it off only for local development.",
                id="payments.E004",
            )
        )
    return errors


# Midtrans's sandbox server keys start with this; production keys with "Mid-server-".
SANDBOX_KEY_PREFIX = "SB-Mid-server-"


def _key_environment_errors() -> list[checks.CheckMessage]:
    """A sandbox key sent to production Midtrans (or a production key to the sandbox) is
    refused there with 401 on every call: no order could be paid."""
    sandbox_key = settings.MIDTRANS_SERVER_KEY.startswith(SANDBOX_KEY_PREFIX)
    if sandbox_key and settings.MIDTRANS_IS_PRODUCTION:
        return [
            checks.Error(
                "MIDTRANS_SERVER_KEY is a sandbox key (SB-Mid-server-…) but MIDTRANS_IS_PRODUCTION is on.",
                hint="Use the production server key, or turn MIDTRANS_IS_PRODUCTION off for the sandbox.",
                id="payments.E005",
            )
        ]
    if not sandbox_key and not settings.MIDTRANS_IS_PRODUCTION:
        return [
            checks.Error(
                "MIDTRANS_SERVER_KEY is a production key but MIDTRANS_IS_PRODUCTION is off: it would "
                "be sent to Midtrans's sandbox.",
                hint="Set MIDTRANS_IS_PRODUCTION=true with a production key, or use the sandbox key "
                "(SB-Mid-server-…).",
                id="payments.E006",
            )
        ]
    return []


def refuse_to_serve() -> None:
    """Raise ImproperlyConfigured naming every error of the checks above: for the WSGI and
    ASGI entry points, which servers load without running Django's checks."""
    errors = [m for m in checks.run_checks(tags=[TAG]) if m.level >= checks.ERROR and not m.is_silenced()]
    if errors:
        raise ImproperlyConfigured(
            "Refusing to serve with these settings:\n"
            + "\n".join(f"{m.id}: {m.msg} HINT: {m.hint}" for m in errors)
        )
