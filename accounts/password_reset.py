"""Password reset for a shopper who forgot theirs.

`password_reset_request` answers the same whatever the address: it only starts a background
task (config.tasks.enqueue), which looks the account up and mails it a link
(accounts.links), so neither the answer nor its timing tells whether an account exists
(with a broker; without one the task runs in the request after commit, see the README).
`password_reset_confirm` sets the new password through the same code as a password change
(accounts.services.password_set: validators, every session ended); the link works once."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.exceptions import PasswordResetTokenInvalid
from accounts.links import RESET_ROUTE, link_mail, link_user, password_reset_tokens
from accounts.models import User, normalize_email
from accounts.services import password_set
from config.tasks import enqueue


def password_reset_request(*, email: str) -> None:
    """Start the reset of `email`'s account, if there is one, after commit. Never tells."""
    from accounts.tasks import send_password_reset  # tasks import this module

    enqueue(send_password_reset, normalize_email(email))


def password_reset_send(*, email: str) -> bool:
    """Mail a reset link to the active account of `email` that has a usable password (as
    Django's own reset form does); False, and nothing sent, when there is none."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    link_mail(
        user=user,
        tokens=password_reset_tokens,
        route=RESET_ROUTE,
        subject=_("%(shop)s: reset your password"),
        template="accounts/password_reset_email.txt",
        valid_minutes=settings.PASSWORD_RESET_TIMEOUT // 60,
    )
    return True


@transaction.atomic(durable=True)
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set the password of the account the link names. PasswordResetTokenInvalid (400) for
    a wrong, expired or used link or an inactive account; ValidationError on `new_password`
    (400) from the validators, the link still good. Ends every session of the account; the
    address counts as verified (the link was read there). The caller ends the account's
    login lock (accounts.login_limits.account_release, which is HTTP-side).

    The account row is locked while the token is checked and the password set, so two
    uses of one link at once cannot both succeed: the second sees the new password hash,
    which the token covers."""
    user = link_user(uid=uid, token=token, tokens=password_reset_tokens)
    if user is None:
        raise PasswordResetTokenInvalid()
    also: tuple[str, ...] = ()
    if not user.email_verified:
        user.email_verified_at = timezone.now()
        also = ("email_verified_at",)
    password_set(user=user, new_password=new_password, also=also)
    return user
