from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenViewBase

from accounts import login_limits, services
from accounts.api.serializers import (
    AccountDeleteSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    ProfileSerializer,
    RefreshSerializer,
    RegisterSerializer,
    RegistrationSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
)
from accounts.api.throttling import RegisterThrottle
from accounts.exceptions import LoginLocked
from accounts.models import User
from accounts.tokens import token_answer
from config.api.error_schema import domain_errors
from config.api.throttling import OutcomeThrottledView

INCORRECT_PASSWORD = _("The password is incorrect.")


PASSWORD_LOCKED = domain_errors(
    LoginLocked,
    login_locked="Too many wrong passwords for this account or from this address (the password "
    "was not checked); Retry-After says when to try again.",
)[429]

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    type=int,
    location=OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the lock ends.",
)


def locked(exc: LoginLocked) -> Throttled:
    """The limiter's lock as DRF's 429, with its Retry-After header."""
    return Throttled(wait=exc.retry_after, detail=exc.detail, code=exc.code)


def password_verify(request: Request, password: str) -> bool:
    """Whether `password` is the signed-in user's, under the login limiter (429 when locked)."""
    try:
        return login_limits.password_verify(
            user=request.user, password=password, address=login_limits.client_address(request)
        )
    except LoginLocked as exc:
        raise locked(exc) from exc


class RegisterView(OutcomeThrottledView):
    """Create a shopper account. An address that already has an account gets the same answer
    (nothing changes; its owner is told by e-mail), so the answer does not reveal who is
    registered. Throttled per client address (THROTTLE_REGISTER): answers that created an
    account, or would have, count; refused input does not."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterThrottle]
    counted_status = status.HTTP_201_CREATED

    @extend_schema(
        request=RegisterSerializer,
        responses={
            201: OpenApiResponse(
                RegistrationSerializer,
                "The account exists now (or already did: then its owner was told by e-mail). "
                "Log in with auth/token/.",
            )
        },
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = services.user_register(**serializer.validated_data)
        return Response(RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(
        request=LoginSerializer,
        parameters=[RETRY_AFTER],
        responses={200: TokenPairSerializer, 429: PASSWORD_LOCKED},
    )
)
class TokenView(TokenObtainPairView):
    """Log in with email and password. Throttled per client address (THROTTLE_LOGIN), and
    under the login limiter: too many wrong passwords for the account or from the address
    lock them for a while (429 login_locked; the password is not even checked)."""

    serializer_class = TokenObtainSerializer

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def post(self, request: Request, *args, **kwargs) -> Response:
        data = request.data
        email = data.get(User.USERNAME_FIELD) if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return super().post(request, *args, **kwargs)  # the serializer's 400
        address = login_limits.client_address(request)
        try:
            login_limits.login_check(email=email, address=address)
        except LoginLocked as exc:
            raise locked(exc) from exc
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:  # wrong password, no such account, or inactive
            login_limits.login_failed(email=email, address=address)
            raise
        login_limits.login_succeeded(email=email)
        return response


class TokenRefreshView(TokenViewBase):
    """Exchange a refresh token for a new pair. Each refresh token is exchanged once: the
    same token presented again within 10 s of its exchange (two tabs refreshing at once)
    gets the same new pair; presented later (a stolen copy) it logs out every session of
    the account."""

    serializer_class = RefreshSerializer

    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request, *args, **kwargs) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            refresh = services.token_refresh_rotate(refresh=serializer.validated_data["refresh"])
        except services.RefreshTokenInvalid as exc:
            # SimpleJWT's 401 (with its WWW-Authenticate header), as for any bad token.
            raise InvalidToken(exc.detail) from exc
        return Response(token_answer(refresh))


class LogoutView(APIView):
    @extend_schema(
        request=LogoutSerializer,
        responses={
            204: OpenApiResponse(description="Logged out; every access token of the account stops working.")
        },
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh"])
        except TokenError as exc:
            raise ValidationError({"refresh": [str(exc)]}) from exc
        if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(request.user.pk):
            raise ValidationError({"refresh": [_("This token does not belong to you.")]})
        services.token_logout(user=request.user, refresh=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(request.user).data)

    @extend_schema(request=ProfileSerializer, responses=ProfileSerializer)
    def patch(self, request: Request) -> Response:
        serializer = ProfileSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **serializer.validated_data)
        return Response(ProfileSerializer(user).data)

    @extend_schema(
        request=AccountDeleteSerializer,
        parameters=[RETRY_AFTER],
        responses={
            204: OpenApiResponse(description="Account deleted; orders are kept."),
            429: PASSWORD_LOCKED,
        },
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not password_verify(request, serializer.validated_data["password"]):
            raise ValidationError({"password": [INCORRECT_PASSWORD]})
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    @extend_schema(
        request=PasswordChangeSerializer,
        parameters=[RETRY_AFTER],
        responses={
            200: OpenApiResponse(TokenPairSerializer, "Other sessions are logged out."),
            429: PASSWORD_LOCKED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not password_verify(request, serializer.validated_data["old_password"]):
            raise ValidationError({"old_password": [INCORRECT_PASSWORD]})
        refresh = services.user_change_password(
            user=request.user, new_password=serializer.validated_data["new_password"]
        )
        return Response(token_answer(refresh))
