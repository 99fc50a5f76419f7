"""The JWT pair this API issues: a refresh token (outstanding, blacklistable) carrying the
user's token version, and an access token derived from it deterministically.

`ver` (the user's `token_version` when the pair was issued) lets a logout, a password
change or a theft revocation end every access token already handed out: the version moves
on and the authentication class (config.api.authentication) refuses any other. It costs no
query: the user row that authentication loads anyway carries the version.

The access token of a refresh token is a function of it (its `iat`, an `exp` one access
lifetime later, a `jti` derived from the refresh token's), so a refresh repeated within the
grace window (accounts.services.token_refresh_rotate) answers exactly the same pair."""

import hashlib
import math

from django.utils import timezone
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User

VERSION_CLAIM = "ver"


def refresh_issue(*, user: User) -> tuple[RefreshToken, OutstandingToken]:
    """A new refresh token for the user, with its OutstandingToken row (SimpleJWT's
    `for_user` writes the row before another claim can be added, so this does both)."""
    token = RefreshToken()
    token[jwt_settings.USER_ID_CLAIM] = str(getattr(user, jwt_settings.USER_ID_FIELD))
    token[VERSION_CLAIM] = user.token_version
    outstanding = OutstandingToken.objects.create(
        user=user,
        jti=token[jwt_settings.JTI_CLAIM],
        token=str(token),
        created_at=token.current_time,
        expires_at=datetime_from_epoch(token["exp"]),
    )
    return token, outstanding


def access_for(refresh: RefreshToken) -> AccessToken:
    """The access token of this refresh token: the same claims, issued at the same time,
    expiring one access lifetime later; the same for the same refresh token, every time."""
    access = AccessToken()
    issued_at = refresh["iat"]
    for claim, value in refresh.payload.items():
        if claim not in refresh.no_copy_claims:
            access[claim] = value
    access["iat"] = issued_at
    access["exp"] = issued_at + int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    jti = hashlib.sha256(f"access:{refresh[jwt_settings.JTI_CLAIM]}".encode()).hexdigest()[:32]
    access[jwt_settings.JTI_CLAIM] = jti
    return access


def token_answer(refresh: RefreshToken) -> dict:
    """`{access, refresh, access_expires_in, refresh_expires_in}`: the lifetimes in seconds
    from now, so a client schedules its next refresh without decoding the tokens or
    trusting its own clock."""
    access = access_for(refresh)
    now = timezone.now()

    def seconds_left(token) -> int:
        # `exp` is whole seconds after an `iat` rounded down: round up, so a fresh token
        # says its full lifetime.
        return max(0, math.ceil(token["exp"] - now.timestamp()))

    return {
        "access": str(access),
        "refresh": str(refresh),
        "access_expires_in": seconds_left(access),
        "refresh_expires_in": seconds_left(refresh),
    }
