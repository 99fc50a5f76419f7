"""E-mail verification: a new account is mailed a link (accounts.links) that proves its
owner reads mail at the address; `email_verify` records that. Checkout asks for it only
when REQUIRE_VERIFIED_EMAIL is on (`check_email_verified`, called by orders.placing)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.exceptions import EmailAlreadyVerified, EmailNotVerified, EmailVerificationTokenInvalid
from accounts.links import VERIFY_ROUTE, email_verification_tokens, link_mail, link_user
from accounts.models import User
from config.tasks import enqueue


def email_verification_mail(*, user: User) -> None:
    """Mail `user` a verification link, after the current transaction commits."""
    from accounts.tasks import send_email_verification  # tasks import this module

    enqueue(send_email_verification, user.pk)


def email_verification_send(*, user_id: int) -> bool:
    """Send the verification e-mail now; False (nothing sent) when the account is gone,
    inactive or verified meanwhile. A retried task sends a second, equally good link."""
    user = User.objects.filter(pk=user_id, is_active=True, email_verified_at__isnull=True).first()
    if user is None:
        return False
    link_mail(
        user=user,
        tokens=email_verification_tokens,
        route=VERIFY_ROUTE,
        subject=_("%(shop)s: confirm your e-mail address"),
        template="accounts/email_verification_email.txt",
        valid_hours=settings.EMAIL_VERIFICATION_TIMEOUT // 3600,
    )
    return True


def email_verification_resend(*, user: User) -> None:
    """Mail the signed-in user a new link; EmailAlreadyVerified (409) when there is no need."""
    if user.email_verified:
        raise EmailAlreadyVerified()
    email_verification_mail(user=user)


@transaction.atomic(durable=True)
def email_verify(*, uid: str, token: str) -> User:
    """Mark the account's address verified. EmailVerificationTokenInvalid (400) for a wrong,
    expired or other-address pair, or an inactive account; a second use of a good link
    changes nothing and succeeds (the first verification time stays)."""
    user = link_user(uid=uid, token=token, tokens=email_verification_tokens)
    if user is None:
        raise EmailVerificationTokenInvalid()
    if not user.email_verified:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def check_email_verified(*, user: User) -> None:
    """EmailNotVerified (403) when REQUIRE_VERIFIED_EMAIL is on and `user` has not verified
    their address; nothing when it is off (the default)."""
    if settings.REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        raise EmailNotVerified()
