from http import HTTPStatus

from config.errors import DomainError


class RefreshTokenInvalid(DomainError):
    """Not a live refresh token of an active user: bad signature, expired, revoked, wrong type."""

    status = HTTPStatus.UNAUTHORIZED
    code = "token_not_valid"
    default_detail = "Token is invalid or expired."
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

    default_detail = "This refresh token was already used; every session of this account was logged out."


class LoginLocked(DomainError):
    """Too many failed password checks for this account or from this client address
    (accounts.login_limits); the lock ends by itself after `retry_after` seconds."""

    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "login_locked"
    default_detail = "Too many failed attempts: try again later."

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after
