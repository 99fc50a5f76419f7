from http import HTTPStatus

from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, DomainError, Invalid


class RefreshTokenInvalid(DomainError):
    """Not a live refresh token of an active user: bad signature, expired, revoked, wrong type."""

    status = HTTPStatus.UNAUTHORIZED
    code = "token_not_valid"
    default_detail = _("Token is invalid or expired.")
    # An access token refused by SimpleJWT's authentication has the same code and says why
    # for each token type it tried (its InvalidToken's `messages`).
    body_fields = {
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "token_class": {"type": "string"},
                    "token_type": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        }
    }
    body_optional = frozenset({"messages"})


class RefreshTokenReused(RefreshTokenInvalid):
    """A refresh token that had already been exchanged was presented again."""

    default_detail = _("This refresh token was already used; every session of this account was logged out.")


class LoginLocked(DomainError):
    """Too many failed password checks for this account or from this client address
    (accounts.login_limits); the lock ends by itself after `retry_after` seconds."""

    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "login_locked"
    default_detail = _("Too many failed attempts: try again later.")

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class PasswordResetTokenInvalid(Invalid):
    """The reset link's uid/token pair is wrong, expired (PASSWORD_RESET_TIMEOUT), already
    used (the password it would replace has changed), or its account is gone or inactive."""

    code = "password_reset_token_invalid"
    default_detail = _("This password reset link is invalid, expired or already used: ask for a new one.")


class EmailVerificationTokenInvalid(Invalid):
    """The verification link's uid/token pair is wrong, expired (EMAIL_VERIFICATION_TIMEOUT),
    or made for another address than the account's current one."""

    code = "email_verification_token_invalid"
    default_detail = _("This verification link is invalid or expired: ask for a new one.")


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"
    default_detail = _("Your e-mail address is already verified.")


class EmailNotVerified(DomainError):
    """REQUIRE_VERIFIED_EMAIL is on and the account's address is not verified yet."""

    status = HTTPStatus.FORBIDDEN
    code = "email_not_verified"
    default_detail = _(
        "Verify your e-mail address first: follow the link we sent you "
        "(POST auth/email/verify/resend/ sends it again)."
    )
