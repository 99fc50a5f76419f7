"""Settings of the account e-mails (accounts/password_reset.py, accounts/verification.py);
`config/settings.py` takes them from here."""

import environ
from django.core.exceptions import ImproperlyConfigured


def account_settings(env: environ.Env) -> dict:
    """PASSWORD_RESET_TIMEOUT (Django's own setting, shorter by default: a reset link is a
    key to the account), EMAIL_VERIFICATION_TIMEOUT, REQUIRE_VERIFIED_EMAIL; seconds."""
    values = {
        "PASSWORD_RESET_TIMEOUT": env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60),
        "EMAIL_VERIFICATION_TIMEOUT": env.int("EMAIL_VERIFICATION_TIMEOUT", default=3 * 24 * 60 * 60),
        # Checkout refuses (403 email_not_verified) an account whose address is not verified.
        "REQUIRE_VERIFIED_EMAIL": env.bool("REQUIRE_VERIFIED_EMAIL", default=False),
    }
    for name in ("PASSWORD_RESET_TIMEOUT", "EMAIL_VERIFICATION_TIMEOUT"):
        if values[name] < 60:
            raise ImproperlyConfigured(f"{name} must be at least 60 (seconds).")
    return values
