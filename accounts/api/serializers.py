from django.contrib.auth.models import update_last_login
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.models import User
from accounts.services import PHONE_MESSAGE, PHONE_PATTERN
from accounts.tokens import refresh_issue, token_answer
from config.api.fields import STRICT_TEXT_FIELD_MAPPING, StrictCharField, StrictEmailField, StrictRegexField


class RegisterSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(write_only=True, max_length=128, style={"input_type": "password"})
    name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")


class RegistrationSerializer(serializers.Serializer):
    """The answer to a registration: what was asked for, as stored (the e-mail lower-cased,
    the name on one line). No id: the answer is the same whether or not the address
    already had an account."""

    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)


class ProfileSerializer(serializers.ModelSerializer):
    """GET/PATCH auth/me/: only name, phone and language can change. `language` (`id`, `en`
    or empty for the shop's default) is what mail to this account is written in."""

    phone = StrictRegexField(
        PHONE_PATTERN,
        max_length=20,
        allow_blank=True,
        required=False,
        error_messages={"invalid": PHONE_MESSAGE},
        help_text="Stored in E.164 (`+628123456789`); local forms such as `0812-3456-789` or "
        "`62812…` are read as Indonesian numbers.",
    )
    email_verified = serializers.BooleanField(
        read_only=True,
        help_text="Whether the owner followed the link mailed to `email` (auth/email/verify/).",
    )

    class Meta:
        model = User
        fields = ["id", "email", "email_verified", "name", "phone", "language", "date_joined"]
        read_only_fields = ["id", "email", "date_joined"]

    serializer_field_mapping = STRICT_TEXT_FIELD_MAPPING


class RefreshSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=2000)


class LogoutSerializer(serializers.Serializer):
    refresh = StrictCharField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = StrictCharField(write_only=True, max_length=128)
    new_password = StrictCharField(write_only=True, max_length=128)


class AccountDeleteSerializer(serializers.Serializer):
    password = StrictCharField(write_only=True, max_length=128)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_expires_in = serializers.IntegerField(
        min_value=0, help_text="Seconds until `access` expires: refresh a little before."
    )
    refresh_expires_in = serializers.IntegerField(
        min_value=0, help_text="Seconds until `refresh` expires: after that, log in again."
    )


class LoginSerializer(serializers.Serializer):
    """POST auth/token/ (documentation: the view's serializer adds its fields itself)."""

    email = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class TokenObtainSerializer(TokenObtainPairSerializer):
    """SimpleJWT's credential check, answering our pair (versioned tokens, lifetimes)."""

    def validate(self, attrs: dict) -> dict:
        super(TokenObtainPairSerializer, self).validate(attrs)  # authenticates: self.user
        refresh, _ = refresh_issue(user=self.user)
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, self.user)
        return token_answer(refresh)


class PasswordResetSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = StrictCharField(max_length=64, help_text="`uid` from the e-mail's link.")
    token = StrictCharField(max_length=128, help_text="`token` from the e-mail's link.")
    new_password = StrictCharField(write_only=True, max_length=128, style={"input_type": "password"})


class EmailVerifySerializer(serializers.Serializer):
    uid = StrictCharField(max_length=64, help_text="`uid` from the e-mail's link.")
    token = StrictCharField(max_length=128, help_text="`token` from the e-mail's link.")


class AcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
