""" "Your order is ready for pickup": an e-mail sent once when an order becomes ready.

An order enters `ready` at most once (ready -> completed is its only way on), so once per
order is once per transition. Sent after the moving transaction commits
(`order_transition` enqueues `orders.tasks.send_ready_email`), with the receipt's claim
discipline (invoices/receipts.py): one conditional UPDATE claims it (not sent, not claimed
or the claim lapsed after RECEIPT_CLAIM_SECONDS, the order still ready), the mail goes out
with no lock held, and a READY_EMAIL_SENT event records it. A failed send gives the claim
back and raises, so the task retries; a crash after the mail server took the message and
before the record is the one way to a second e-mail.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orders.models import Order, OrderEvent, OrderStatus
from orders.services import SYSTEM, order_event_log

logger = logging.getLogger(__name__)


def ready_message(*, order: Order) -> EmailMessage:
    """The ready e-mail of `order`, in the language the order was placed in."""
    with translation.override(order.language):
        return _ready_message(order=order)


def _ready_message(*, order: Order) -> EmailMessage:
    pickup_at = order.ready_at or (order.pickup_slot.start if order.pickup_slot else None)
    context = {
        "shop_name": settings.SHOP_NAME,
        "order": order,
        "pickup": timezone.localtime(pickup_at) if pickup_at else None,
    }
    return EmailMessage(
        subject=_("%(shop)s: order %(number)s is ready for pickup")
        % {"shop": settings.SHOP_NAME, "number": order.number},
        body=render_to_string("orders/ready_email.txt", context),
        to=[order.customer_email],
    )


def ready_email_send(*, order_id: int, now: datetime | None = None) -> bool:
    """E-mail the customer that the order is ready; True if this call sent it. False when
    it was sent or is being sent, or the order is no longer ready (picked up meanwhile)."""
    now = now or timezone.now()
    lapsed = now - timedelta(seconds=settings.RECEIPT_CLAIM_SECONDS)
    claimed = Order.objects.filter(
        Q(ready_email_claimed_at__isnull=True) | Q(ready_email_claimed_at__lte=lapsed),
        pk=order_id,
        status=OrderStatus.READY,
        ready_email_sent_at__isnull=True,
    ).update(ready_email_claimed_at=now)
    if not claimed:
        return False
    try:
        order = Order.objects.select_related("pickup_slot").get(pk=order_id)
        ready_message(order=order).send()
    except BaseException:
        Order.objects.filter(
            pk=order_id, ready_email_claimed_at=now, ready_email_sent_at__isnull=True
        ).update(ready_email_claimed_at=None)
        raise
    with transaction.atomic():
        sent_at = timezone.now()
        if Order.objects.filter(pk=order_id, ready_email_sent_at__isnull=True).update(
            ready_email_sent_at=sent_at, ready_email_claimed_at=None
        ):
            order_event_log(
                order=order,
                type=OrderEvent.Type.READY_EMAIL_SENT,
                actor=SYSTEM,
                data={"to": order.customer_email},
                now=sent_at,
            )
        else:  # our claim lapsed while we were sending and another sender finished first
            logger.warning("The ready e-mail of order %s was sent twice", order.number)
    return True
