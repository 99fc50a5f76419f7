from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticatedOrReadOnly
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.tokens import VERSION_CLAIM
from config.api.permissions import StaffPermissionOrReadOnly
from config.rows import PkReader

# Permissions under which a read needs no user: there a bad token is ignored, not refused.
PUBLIC_READ_PERMISSIONS = (AllowAny, IsAuthenticatedOrReadOnly, StaffPermissionOrReadOnly)
TOKEN_IGNORED_HEADER = "Token-Ignored"


class VersionedJWTAuthentication(JWTAuthentication):
    """SimpleJWT's Bearer authentication, plus two rules.

    - An access token whose `ver` claim is not the user's `token_version` was issued before a
      logout, a password change or a theft revocation: refused (401 token_not_valid). The
      user row is loaded anyway, so the check costs no query.
    - On a read that needs no user (the menu, the shop), an invalid, expired or revoked token
      is ignored: the request goes on as anonymous and the answer says so in the
      `Token-Ignored` header (its value the error code), so a stale tab still loads the menu
      and the client learns to refresh. Anywhere else it is the usual 401."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except (InvalidToken, AuthenticationFailed) as exc:
            if request.method not in SAFE_METHODS or not _public_read(request):
                raise
            # SimpleJWT's errors carry their code as a value in a dict detail.
            detail = exc.detail
            code = detail.get("code") if isinstance(detail, dict) else getattr(detail, "code", None)
            request._request.token_ignored = str(code or "token_not_valid")
            return None

    def get_user(self, validated_token):
        user = self._user(validated_token)
        if validated_token.get(VERSION_CLAIM, 0) != user.token_version:
            raise InvalidToken(_("Token was revoked (logout, password change or a reused refresh token)."))
        return user

    _by_pk: PkReader | None = None

    def _user(self, validated_token):
        """SimpleJWT's `get_user`, with the user row read by `config.rows.PkReader` (SQL
        written once, not compiled by the ORM on every request) when the token names the user
        by primary key, as ours do. Anything unusual (no such claim or user, an inactive
        user, an id of the wrong type) goes to SimpleJWT's own, for its errors."""
        model = self.user_model
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if (
            user_id is None
            or model._meta.pk.name != jwt_settings.USER_ID_FIELD
            or jwt_settings.CHECK_REVOKE_TOKEN
        ):
            return super().get_user(validated_token)
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return super().get_user(validated_token)
        reader = VersionedJWTAuthentication._by_pk
        if reader is None or reader.model is not model:
            reader = VersionedJWTAuthentication._by_pk = PkReader(model)
        user = reader.get(pk)
        if user is None or (jwt_settings.CHECK_USER_IS_ACTIVE and not user.is_active):
            return super().get_user(validated_token)
        return user


def _public_read(request) -> bool:
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None:
        return False
    return all(isinstance(permission, PUBLIC_READ_PERMISSIONS) for permission in view.get_permissions())


class VersionedJWTScheme(SimpleJWTScheme):
    target_class = VersionedJWTAuthentication

    def get_security_definition(self, auto_schema):
        definition = super().get_security_definition(auto_schema)
        definition["description"] = (
            "`Authorization: Bearer <access>` from `auth/token/` or `auth/token/refresh/`. "
            "An access token stops working when it expires (`access_expires_in`) and at once "
            "after a logout, a password change or a reused refresh token. On a public read "
            "(menu, shop) a token that is not valid is ignored: the answer is the anonymous "
            "one and carries the header `Token-Ignored` with the error code (e.g. "
            "`token_not_valid`); refresh, then send the new token."
        )
        return definition


class StaffSessionAuthentication(SessionAuthentication):
    """Session login (the admin's) counts in the API only for staff, for the browsable API.

    Shoppers authenticate with JWT; a shopper's stray session cookie is ignored, which also
    keeps CSRF out of their way."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result


class StaffSessionScheme(SessionScheme):
    """Documents the staff session login in the OpenAPI schema like Django's session auth."""

    target_class = StaffSessionAuthentication


def document_ignored_tokens(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: a read that takes a token but needs none (security lists both
    `jwtAuth` and `{}`: the menu) may answer with the `Token-Ignored` header."""
    header = {
        "description": "Present when the request's Bearer token was not valid (expired, revoked, "
        "malformed) and was ignored: the answer is the anonymous one. Its value is the error "
        "code, e.g. `token_not_valid`. Refresh the token.",
        "schema": {"type": "string"},
    }
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "head") or not isinstance(operation, dict):
                continue
            security = operation.get("security", [])
            if {} not in security or not any("jwtAuth" in s for s in security):
                continue
            for status_code, response in operation.get("responses", {}).items():
                if "$ref" in response or not (status_code.startswith("2") or status_code == "304"):
                    continue
                response.setdefault("headers", {})[TOKEN_IGNORED_HEADER] = dict(header)
    return result
