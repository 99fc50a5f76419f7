from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


def normalize_email(email: str) -> str:
    """Emails are one account whatever their case: stored and looked up lower-cased."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email=normalize_email(email))

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(max_length=150, blank=True, verbose_name=_("name"))
    # E.164 (`+6281234567890`) or empty: accounts.phones.phone_normalize is the only way in.
    phone = models.CharField(max_length=20, blank=True, verbose_name=_("phone"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    is_staff = models.BooleanField(default=False, verbose_name=_("is staff"))
    date_joined = models.DateTimeField(default=timezone.now, verbose_name=_("date joined"))
    # Moved on by a logout, a password change or a theft revocation: every access token
    # issued before (with another `ver` claim) stops working at once (accounts/tokens.py).
    token_version = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("token version"))
    # When the owner proved they read mail at `email` (the verification link, or a password
    # reset, whose link went there too); None: not yet. accounts/verification.py.
    email_verified_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("email verified at")
    )
    # `id` or `en`: what mail to this user (and the admin, for staff) is written in; empty:
    # the shop's LANGUAGE_CODE (config/i18n.py).
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, blank=True, default="", verbose_name=_("language")
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            # Case-insensitive uniqueness rests on the database too, not only on save().
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
        ]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


class RefreshTokenRotation(models.Model):
    """A refresh token that was exchanged for a new one (and blacklisted by that exchange).

    The blacklist alone cannot tell a rotated token from one revoked by a logout or a
    password change; only the reuse of a *rotated* token is a sign of theft. One row per
    token (the primary key), written in the same transaction as the new token."""

    token = models.OneToOneField(
        OutstandingToken, on_delete=models.CASCADE, primary_key=True, verbose_name=_("token")
    )
    rotated_at = models.DateTimeField(default=timezone.now, verbose_name=_("rotated at"))
    # The token it was exchanged for: a second exchange within the grace window (two tabs
    # refreshing at once) answers that one again instead of being taken as theft.
    successor = models.OneToOneField(
        OutstandingToken,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rotated_from",
        verbose_name=_("successor"),
    )

    class Meta:
        verbose_name = _("refresh token rotation")
        verbose_name_plural = _("refresh token rotations")

    def __str__(self) -> str:
        return f"rotated {self.token_id} at {self.rotated_at:%Y-%m-%d %H:%M:%S}"
