from accounts.login_limits import cache_digest
from accounts.models import normalize_email
from config.api.throttling import OutcomeRateThrottle


class RegisterThrottle(OutcomeRateThrottle):
    """Registrations per client address, at THROTTLE_REGISTER (DRF scope `register`). An
    answer that created an account, or would have (the address was taken), costs budget;
    input refused with a 400 does not (OutcomeThrottledView records)."""

    scope = "register"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetThrottle(OutcomeRateThrottle):
    """Password reset requests per client address, at THROTTLE_PASSWORD_RESET (scope
    `password_reset`): each 202 costs budget, a 400 does not."""

    scope = "password_reset"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetEmailThrottle(OutcomeRateThrottle):
    """Password reset requests per e-mail address, from any client, at
    THROTTLE_PASSWORD_RESET_EMAIL (scope `password_reset_email`), so nobody floods one
    inbox. Counted alike whether or not the address has an account (it says nothing);
    keyed by the normalised address's digest, as the login limiter keys accounts."""

    scope = "password_reset_email"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None  # the serializer's 400
        return self.cache_format % {"scope": self.scope, "ident": cache_digest(normalize_email(email))}


class EmailVerifyResendThrottle(OutcomeRateThrottle):
    """Verification e-mails asked for again, per account, at THROTTLE_EMAIL_VERIFY_RESEND
    (scope `email_verify_resend`); a 409 (already verified) costs nothing."""

    scope = "email_verify_resend"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
