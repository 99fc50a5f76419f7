"""Every write to accounts. Tokens: SimpleJWT's outstanding/blacklist tables."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, normalize_email

EMAIL_TAKEN = "An account with this email already exists."


def check_password_strength(*, password: str, user: User, field: str = "password") -> None:
    """Django's password validators, reported against the request's field name."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


@transaction.atomic(durable=True)
def user_register(*, email: str, password: str, name: str = "") -> User:
    """Create a shopper account (never staff). Raises ValidationError (400)."""
    email = normalize_email(email)
    check_password_strength(password=password, user=User(email=email, name=name))
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]}, code="unique")
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name)
    except IntegrityError as exc:  # a concurrent registration won the race
        raise ValidationError({"email": [EMAIL_TAKEN]}, code="unique") from exc


def user_update_profile(*, user: User, **fields: str) -> User:
    """Change name and/or phone; other fields are not the user's to set."""
    allowed = {k: v for k, v in fields.items() if k in {"name", "phone"}}
    for key, value in allowed.items():
        setattr(user, key, value)
    if allowed:
        user.save(update_fields=list(allowed))
    return user


def tokens_revoke_all(*, user: User) -> int:
    """Blacklist every refresh token issued to the user; returns how many were new."""
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)


@transaction.atomic(durable=True)
def user_change_password(*, user: User, new_password: str) -> RefreshToken:
    """Set a new password, revoke all refresh tokens, and issue a fresh pair for this client."""
    check_password_strength(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)
    return RefreshToken.for_user(user)


@transaction.atomic(durable=True)
def user_delete(*, user: User) -> None:
    """Delete the account. Refresh tokens are blacklisted first (their rows outlive the user
    with user=NULL); access tokens die with the user row. Orders keep their snapshot."""
    tokens_revoke_all(user=user)
    user.delete()
