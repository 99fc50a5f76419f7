"""E-mails that tell the customer of a status change: "ready for pickup", "cancelled",
"refunded" (EMAILED_STATUSES), one per transition.

`order_transition` writes a StatusEmail row with each move into one of those statuses, in
the moving transaction, and enqueues `orders.tasks.send_status_email` for after the commit.
Sending follows the receipt's claim discipline (invoices/receipts.py): one conditional
UPDATE claims the row (not sent, not claimed or the claim lapsed after
RECEIPT_CLAIM_SECONDS, the order still in that status with no later move), the mail goes
out with no lock held, and an event records it (`READY_EMAIL_SENT` ...). A failed send gives
the claim back and raises, so the task retries; a crash after the mail server took the
message and before the record is the one way to a second e-mail. A task that was lost
(no broker, a dead worker, retries run out) is made up for by the sweep
(`status_emails_due`, run by `send_due_status_emails`), as for receipts.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from config.money import rupiah
from orders.models import EMAILED_STATUSES, OrderEvent, OrderStatus, StatusEmail
from orders.selectors import RECEIPT_SWEEP_GRACE
from orders.services import SYSTEM, order_event_log

logger = logging.getLogger(__name__)

S = OrderStatus

SUBJECTS = {
    S.READY: _("%(shop)s: order %(number)s is ready for pickup"),
    S.CANCELLED: _("%(shop)s: order %(number)s was cancelled"),
    S.REFUNDED: _("%(shop)s: order %(number)s was refunded"),
}


def status_message(*, email: StatusEmail) -> EmailMessage:
    """The e-mail of `email`, in the language its order was placed in (as the receipt)."""
    with translation.override(email.order.language):
        return _status_message(email=email)


def _status_message(*, email: StatusEmail) -> EmailMessage:
    order = email.order
    pickup_at = order.ready_at or (order.pickup_slot.start if order.pickup_slot else None)
    context = {
        "shop_name": settings.SHOP_NAME,
        "order": order,
        "amount": rupiah(order.total),
        "pickup": timezone.localtime(pickup_at) if pickup_at else None,
    }
    return EmailMessage(
        subject=str(SUBJECTS[email.status]) % {"shop": settings.SHOP_NAME, "number": order.number},
        body=render_to_string(f"orders/{email.status}_email.txt", context),
        to=[order.customer_email],
    )


def _later_move():
    return OrderEvent.objects.filter(
        order_id=OuterRef("order_id"), type=OrderEvent.Type.STATUS_CHANGED, pk__gt=OuterRef("event_id")
    )


def _claimable(now: datetime):
    """Not sent, not being sent (or its claim lapsed), about the order's current status."""
    lapsed = now - timedelta(seconds=settings.RECEIPT_CLAIM_SECONDS)
    return (
        StatusEmail.objects.filter(
            Q(claimed_at__isnull=True) | Q(claimed_at__lte=lapsed), sent_at__isnull=True
        )
        .filter(order__status=F("status"))
        .exclude(Exists(_later_move()))
    )


def status_email_send(*, email_id: int, now: datetime | None = None) -> bool:
    """Send one status e-mail; True if this call sent it. False when it was sent or is being
    sent, or the order has moved on since (picked up, paid late after a cancel ...)."""
    now = now or timezone.now()
    if not _claimable(now).filter(pk=email_id).update(claimed_at=now):
        return False
    try:
        email = StatusEmail.objects.select_related("order__pickup_slot").get(pk=email_id)
        status_message(email=email).send()
    except BaseException:
        StatusEmail.objects.filter(pk=email_id, claimed_at=now, sent_at__isnull=True).update(claimed_at=None)
        raise
    with transaction.atomic():
        sent_at = timezone.now()
        if StatusEmail.objects.filter(pk=email_id, sent_at__isnull=True).update(
            sent_at=sent_at, claimed_at=None
        ):
            order_event_log(
                order=email.order,
                type=EMAILED_STATUSES[email.status],
                actor=SYSTEM,
                data={"to": email.order.customer_email},
                now=sent_at,
            )
        else:  # our claim lapsed while we were sending and another sender finished first
            logger.warning("The %s e-mail of order %s was sent twice", email.status, email.order.number)
    return True


def status_emails_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Ids of status e-mails written in the last RECEIPT_SWEEP_HOURS (and at least a minute
    ago) that are not sent and could be sent now: what the sweep enqueues again."""
    due = _claimable(now).filter(
        created_at__gte=now - timedelta(hours=settings.RECEIPT_SWEEP_HOURS),
        created_at__lte=now - RECEIPT_SWEEP_GRACE,
    )
    return list(due.order_by("created_at", "id").values_list("pk", flat=True)[:limit])
