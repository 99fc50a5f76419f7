from rest_framework import serializers

from accounts.models import User


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]
        read_only_fields = fields


class ProfileSerializer(serializers.ModelSerializer):
    """GET/PATCH auth/me/: only name and phone can change."""

    phone = serializers.RegexField(
        r"^\+?[0-9][0-9 \-]{5,18}$",
        max_length=20,
        allow_blank=True,
        required=False,
        error_messages={"invalid": "Enter digits, spaces or dashes, optionally starting with +."},
    )

    class Meta:
        model = User
        fields = ["id", "email", "name", "phone", "date_joined"]
        read_only_fields = ["id", "email", "date_joined"]


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, max_length=128)
    new_password = serializers.CharField(write_only=True, max_length=128)


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, max_length=128)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
