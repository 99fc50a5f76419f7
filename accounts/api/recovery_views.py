"""Password reset and e-mail verification (accounts/password_reset.py, accounts/verification.py)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import login_limits, password_reset, verification
from accounts.api.serializers import (
    AcceptedSerializer,
    EmailVerifySerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
)
from accounts.api.throttling import (
    EmailVerifyResendThrottle,
    PasswordResetEmailThrottle,
    PasswordResetThrottle,
)
from config.api.throttling import OutcomeThrottledView

RESET_ACCEPTED = _("If an account has this e-mail address, a link to reset its password is on its way.")
RESEND_ACCEPTED = _("A new verification link is on its way to your e-mail address.")


class PasswordResetView(OutcomeThrottledView):
    counted_status = status.HTTP_202_ACCEPTED

    """Ask for a password reset link. Always the same 202 whether or not the address has an
    account (the lookup and the e-mail happen in a background task). Throttled per client
    address (THROTTLE_PASSWORD_RESET) and per e-mail address (THROTTLE_PASSWORD_RESET_EMAIL);
    a 400 costs nothing."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordResetThrottle, PasswordResetEmailThrottle]

    @extend_schema(
        request=PasswordResetSerializer,
        responses={
            202: OpenApiResponse(
                AcceptedSerializer,
                "Accepted; the same answer for any well-formed address. The e-mail links to "
                "`{PUBLIC_BASE_URL}/reset-password?uid=…&token=…` and gives the pair for "
                "auth/password/reset/confirm/.",
            )
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset.password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": str(RESET_ACCEPTED)}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    """Set a new password with the e-mail's `uid` and `token`. Every session of the account
    ends (refresh tokens revoked, access tokens stop), and so does its login lock; log in
    with the new password. The link works once and for PASSWORD_RESET_TIMEOUT seconds."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={
            204: OpenApiResponse(description="Password set; every session of the account was logged out."),
            400: OpenApiResponse(
                description="`password_reset_token_invalid` (wrong, expired or used link: ask for a new "
                "one), or `{new_password: [...]}` from the password rules (the link stays good)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = password_reset.password_reset_confirm(**serializer.validated_data)
        # Committed: a shopper locked out by wrong guesses logs in with the new password now.
        login_limits.account_release(email=user.email)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(APIView):
    """Confirm the account's e-mail address with the e-mail's `uid` and `token` (no login
    needed: the link may be opened on another device). Using a good link again is fine."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=EmailVerifySerializer,
        responses={
            204: OpenApiResponse(description="The address is verified (`email_verified` in auth/me/)."),
            400: OpenApiResponse(
                description="`email_verification_token_invalid`: wrong or expired link, or one sent "
                "to another address; ask for a new one with auth/email/verify/resend/."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification.email_verify(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyResendView(OutcomeThrottledView):
    counted_status = status.HTTP_202_ACCEPTED

    """Mail the signed-in user a new verification link. Throttled per account
    (THROTTLE_EMAIL_VERIFY_RESEND); a 409 costs nothing."""

    throttle_classes = [EmailVerifyResendThrottle]

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(AcceptedSerializer, "A new link is on its way."),
            409: OpenApiResponse(description="`email_already_verified`: nothing to do."),
        },
    )
    def post(self, request: Request) -> Response:
        verification.email_verification_resend(user=request.user)
        return Response({"detail": str(RESEND_ACCEPTED)}, status=status.HTTP_202_ACCEPTED)
