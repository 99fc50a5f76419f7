"""Every write to accounts. Tokens: SimpleJWT's outstanding/blacklist tables."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from accounts.exceptions import RefreshTokenInvalid, RefreshTokenReused

__all__ = ["RefreshTokenInvalid", "RefreshTokenReused"]  # raised here; callers catch them from services
from accounts.models import RefreshTokenRotation, User, normalize_email
from accounts.phones import PHONE_MESSAGE, PHONE_PATTERN, phone_normalize
from accounts.tokens import refresh_issue
from accounts.verification import email_verification_mail
from config.i18n import request_language, user_language
from config.tasks import enqueue
from config.text import check_single_line

EMAIL_MAX_LENGTH = 254  # User.email's column
NAME_MAX_LENGTH = 150  # User.name's column
PHONE_MAX_LENGTH = 20  # User.phone's column (E.164 needs at most 16)
__all__ += ["PHONE_MESSAGE", "PHONE_PATTERN"]  # the API's phone fields take them from here
# An account's owner hears of attempts to register their address at most this often.
REGISTRATION_NOTICE_INTERVAL_SECONDS = 60 * 60


def check_email(*, email: str) -> str:
    """The email as it will be stored (normalized), refused when that form is not a valid
    address: lower-casing can change an address (`İ` becomes `i` plus a combining dot, which
    the validator rejects) and lengthen it, so validation runs after normalization."""
    email = normalize_email(email)
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(EmailValidator.message, code="invalid")
    EmailValidator()(email)
    return email


def check_password_strength(*, password: str, user: User, field: str = "password") -> None:
    """Django's password validators, reported against the request's field name."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def check_name(name: str) -> str:
    """A person's name: one line of plain text (config.text), at most NAME_MAX_LENGTH characters."""
    return check_single_line(name, field="name", max_length=NAME_MAX_LENGTH)


def check_phone(phone: str) -> str:
    """A phone number as stored: one line of plain text (config.text) that is a valid
    number (accounts.phones), in E.164; or empty."""
    phone = check_single_line(phone, field="phone", max_length=PHONE_MAX_LENGTH)
    return phone_normalize(phone)


@dataclass(frozen=True)
class Registration:
    """What a registration answers: the same for a new account and for an address that
    already has one (whose owner is told by e-mail), so the answer does not tell them apart."""

    email: str
    name: str


@transaction.atomic(durable=True)
def user_register(*, email: str, password: str, name: str = "") -> Registration:
    """Create a shopper account (never staff). Raises ValidationError (400).

    An address that already has an account changes nothing and is answered exactly as a
    new one (no account enumeration): its owner gets an e-mail instead, after commit. The
    password is hashed either way, so the two take about the same time. A new account is
    mailed its verification link after commit (accounts.verification)."""
    try:
        email = check_email(email=email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc
    name = check_name(name)
    check_password_strength(password=password, user=User(email=email, name=name))
    registration = Registration(email=email, name=name)
    if User.objects.filter(email=email).exists():
        make_password(password)  # the work a new account costs: no timing difference
        registration_attempt_notify(email=email)
        return registration
    try:
        with transaction.atomic():
            # Mail to the account (its verification link first) speaks the language it
            # registered in until its owner chooses another (auth/me/).
            user = User.objects.create_user(
                email=email, password=password, name=name, language=request_language()
            )
    except IntegrityError:  # a concurrent registration of the same address won the race
        registration_attempt_notify(email=email)
        return registration
    email_verification_mail(user=user)
    return registration


def registration_attempt_notify(*, email: str) -> None:
    """Tell the owner of `email`'s account, after commit, that someone tried to register
    with it: at most once per REGISTRATION_NOTICE_INTERVAL_SECONDS, so repeated attempts
    do not flood their inbox."""
    from accounts.tasks import send_registration_notice  # tasks import this module

    user_id = User.objects.filter(email=email).values_list("pk", flat=True).first()
    if user_id is None:
        return
    if cache.add(f"registration-notice:{user_id}", 1, timeout=REGISTRATION_NOTICE_INTERVAL_SECONDS):
        enqueue(send_registration_notice, user_id)


def registration_notice_send(*, user_id: int) -> bool:
    """E-mail the account's owner that someone tried to register with their address; False
    when the account is gone. Sending twice (a retried task) only repeats the notice."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    context = {"user": user, "shop_name": settings.SHOP_NAME}
    with translation.override(user_language(user)):
        EmailMessage(
            subject=_("%(shop)s: someone tried to register with your e-mail address")
            % {"shop": settings.SHOP_NAME},
            body=render_to_string("accounts/registration_attempt_email.txt", context),
            to=[user.email],
        ).send()
    return True


def user_update_profile(*, user: User, **fields: str) -> User:
    """Change name, phone and/or language; other fields are not the user's to set. Name and
    phone are one line of plain text (check_name, check_phone); language is one of LANGUAGES
    (the serializer's choice field) or empty; raises ValidationError (400) and changes nothing."""
    allowed = {k: v for k, v in fields.items() if k in {"name", "phone", "language"}}
    if "name" in allowed:
        allowed["name"] = check_name(allowed["name"])
    if "phone" in allowed:
        allowed["phone"] = check_phone(allowed["phone"])
    for key, value in allowed.items():
        setattr(user, key, value)
    if allowed:
        user.save(update_fields=list(allowed))
    return user


def access_tokens_revoke(*, user: User) -> None:
    """End every access token issued to the user so far (they carry the old version)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])


def tokens_revoke_all(*, user: User) -> int:
    """Blacklist every refresh token issued to the user and end their access tokens;
    returns how many refresh tokens were newly blacklisted."""
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    access_tokens_revoke(user=user)
    return len(created)


@transaction.atomic(durable=True)
def token_logout(*, user: User, refresh: RefreshToken) -> None:
    """Blacklist this refresh token and end every access token of the user (the other
    sessions keep their refresh tokens: their next refresh gives them a working pair)."""
    refresh.blacklist()
    access_tokens_revoke(user=user)


def _grace_successor(rotation: RefreshTokenRotation) -> RefreshToken | None:
    """The token a rotation issued, if the rotation is recent enough to be a second tab's
    refresh and that token is still good (live, or itself only rotated since)."""
    grace = timedelta(seconds=settings.JWT_REFRESH_GRACE_SECONDS)
    successor = rotation.successor
    if successor is None or timezone.now() - rotation.rotated_at > grace:
        return None
    revoked = (
        BlacklistedToken.objects.filter(token=successor).exists()
        and not RefreshTokenRotation.objects.filter(token=successor).exists()
    )
    return None if revoked else RefreshToken(successor.token, verify=False)


def token_refresh_rotate(*, refresh: str) -> RefreshToken:
    """Exchange a refresh token for a new one (its access token: accounts.tokens.access_for).

    Each refresh token is exchanged at most once, also under concurrency: its
    OutstandingToken row is locked while the exchange is decided. Presenting it again within
    JWT_REFRESH_GRACE_SECONDS of its exchange (two tabs, or a retry after a lost answer)
    answers the same new token again, as long as that one was not revoked since. Presenting
    it later is taken as theft: every token of the user is revoked, that is committed, then
    RefreshTokenReused (401) is raised. A token revoked otherwise (logout, password change)
    or invalid is RefreshTokenInvalid (401) and changes nothing."""
    try:
        # Signature, expiry and claims; the blacklist is checked below, under the row lock.
        token = UntypedToken(refresh)
    except TokenError as exc:
        raise RefreshTokenInvalid(str(exc)) from exc
    if token.get(jwt_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        raise RefreshTokenInvalid(_("Token has wrong type."))
    with transaction.atomic(durable=True):
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(jti=token[jwt_settings.JTI_CLAIM])
            .first()
        )
        if outstanding is None or outstanding.user is None:
            raise RefreshTokenInvalid()
        user = outstanding.user
        rotation = RefreshTokenRotation.objects.select_related("successor").filter(token=outstanding).first()
        reused = rotation is not None
        if reused:
            again = _grace_successor(rotation)
            if again is not None:
                if not user.is_active:
                    raise RefreshTokenInvalid(_("No active account found for the given token."))
                return again
            tokens_revoke_all(user=user)
        else:
            if BlacklistedToken.objects.filter(token=outstanding).exists():
                raise RefreshTokenInvalid(_("Token is blacklisted."))
            if not user.is_active:
                raise RefreshTokenInvalid(_("No active account found for the given token."))
            BlacklistedToken.objects.create(token=outstanding)
            new, new_outstanding = refresh_issue(user=user)
            RefreshTokenRotation.objects.create(token=outstanding, successor=new_outstanding)
    if reused:
        raise RefreshTokenReused()
    return new


def password_set(*, user: User, new_password: str, also: tuple[str, ...] = ()) -> None:
    """Set a new password (the validators apply: ValidationError on `new_password`), save it
    with the `also` fields, and end every session: refresh tokens blacklisted, access tokens
    out of version. Call inside the caller's transaction."""
    check_password_strength(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", *also])
    tokens_revoke_all(user=user)


@transaction.atomic(durable=True)
def user_change_password(*, user: User, new_password: str) -> RefreshToken:
    """Set a new password, revoke all refresh tokens, and issue a fresh pair for this client."""
    password_set(user=user, new_password=new_password)
    return refresh_issue(user=user)[0]


@transaction.atomic(durable=True)
def user_delete(*, user: User) -> None:
    """Delete the account. Refresh tokens are blacklisted first (their rows outlive the user
    with user=NULL); access tokens die with the user row. Orders keep their snapshot."""
    tokens_revoke_all(user=user)
    user.delete()
