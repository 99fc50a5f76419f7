from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenViewBase

from accounts import services
from accounts.api.serializers import (
    AccountDeleteSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    ProfileSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.tokens import token_answer

INCORRECT_PASSWORD = "The password is incorrect."


class RegisterView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema_view(post=extend_schema(request=LoginSerializer, responses={200: TokenPairSerializer}))
class TokenView(TokenObtainPairView):
    """Log in with email and password. Throttled per client address."""

    serializer_class = TokenObtainSerializer

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


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
            raise ValidationError({"refresh": ["This token does not belong to you."]})
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
        responses={204: OpenApiResponse(description="Account deleted; orders are kept.")},
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not request.user.check_password(serializer.validated_data["password"]):
            raise ValidationError({"password": [INCORRECT_PASSWORD]})
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: OpenApiResponse(TokenPairSerializer, "Other sessions are logged out.")},
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not request.user.check_password(serializer.validated_data["old_password"]):
            raise ValidationError({"old_password": [INCORRECT_PASSWORD]})
        refresh = services.user_change_password(
            user=request.user, new_password=serializer.validated_data["new_password"]
        )
        return Response(token_answer(refresh))
