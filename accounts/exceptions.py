from http import HTTPStatus

from config.errors import DomainError


class RefreshTokenInvalid(DomainError):
    """Not a live refresh token of an active user: bad signature, expired, revoked, wrong type."""

    status = HTTPStatus.UNAUTHORIZED
    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


class RefreshTokenReused(RefreshTokenInvalid):
    """A refresh token that had already been exchanged was presented again."""

    default_detail = "This refresh token was already used; every session of this account was logged out."
