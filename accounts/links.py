"""The links the account e-mails carry: a `uid` (the user's id, base64) and a `token`
(Django's PasswordResetTokenGenerator family: an HMAC of the account's state and a
timestamp, nothing stored), as a frontend route on PUBLIC_BASE_URL and as the pair itself
for clients that post it (`auth/password/reset/confirm/`, `auth/email/verify/`).

- Password reset: Django's own generator. Its hash covers the password hash and the last
  login, so the link stops working once the password is set (single use), and after
  PASSWORD_RESET_TIMEOUT.
- E-mail verification: the same construction, its own salt (a reset token is not a
  verification token), covering the address, so a link sent to an earlier address does
  not verify a later one; good for EMAIL_VERIFICATION_TIMEOUT. Using it twice is harmless
  (the address is verified already), so it is not single-use."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User
from config.i18n import user_language

# Frontend routes (on PUBLIC_BASE_URL) that read `uid` and `token` from the query string.
RESET_ROUTE = "/reset-password"
VERIFY_ROUTE = "/verify-email"
# The largest primary key (a bigint): anything else in a uid is nobody.
_MAX_PK = 2**63 - 1


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.links.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}:{user.email}:{timestamp}"

    def check_token(self, user: User | None, token: str | None) -> bool:
        """Django's check, against EMAIL_VERIFICATION_TIMEOUT instead of the reset timeout."""
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return 0 <= self._num_seconds(self._now()) - ts <= settings.EMAIL_VERIFICATION_TIMEOUT


password_reset_tokens = PasswordResetTokenGenerator()
email_verification_tokens = EmailVerificationTokenGenerator()


def uid_encode(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def uid_decode(uid: str) -> int | None:
    """The user id a uid names, or None when it names none (not base64, not a number)."""
    try:
        text = urlsafe_base64_decode(uid).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.isdigit() or not text.isascii() or not 0 < int(text) <= _MAX_PK:
        return None
    return int(text)


def frontend_link(route: str, *, uid: str, token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{route}?{urlencode({'uid': uid, 'token': token})}"


def link_mail(
    *, user: User, tokens: PasswordResetTokenGenerator, route: str, subject, template: str, **extra
) -> None:
    """Mail `user` a link to `route` carrying a fresh uid/token pair from `tokens`, in the
    user's language. `subject` is a lazy translation with a `%(shop)s` placeholder;
    `template` gets the user, the shop name, the pair, the link and `extra`."""
    uid, token = uid_encode(user), tokens.make_token(user)
    context = {
        "user": user,
        "shop_name": settings.SHOP_NAME,
        "uid": uid,
        "token": token,
        "link": frontend_link(route, uid=uid, token=token),
        **extra,
    }
    with translation.override(user_language(user)):
        EmailMessage(
            subject=str(subject) % {"shop": settings.SHOP_NAME},
            body=render_to_string(template, context),
            to=[user.email],
        ).send()


def link_user(*, uid: str, token: str, tokens: PasswordResetTokenGenerator) -> User | None:
    """The active account a link's pair names, locked for the rest of the transaction (two
    uses of one link at once are then taken one after the other), or None when the uid
    names nobody or the token is wrong or expired for that account."""
    user_id = uid_decode(uid)
    if user_id is None:
        return None
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None or not tokens.check_token(user, token):
        return None
    return user
