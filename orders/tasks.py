"""Background work of orders (config/tasks.py says how tasks are started and run).

Each task calls one service that is safe to run twice and at the same time. The periodic
ones are scheduled in settings (CELERY_BEAT_SCHEDULE); their management commands call the
same services for deployments that use cron instead of beat.
"""

import smtplib

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from config.tasks import FoodiesTask, enqueue
from invoices.services import invoice_receipt_attachments
from orders.models import Order
from orders.pickup.services import pickup_slots_materialise
from orders.selectors import orders_receipt_due
from orders.services import idempotency_keys_purge, order_receipt_send


class OrderTask(FoodiesTask):
    """A task about one order, given as its first argument or `order_id`: a failure is
    logged with the order number."""

    def failure_context(self, args: tuple, kwargs: dict) -> str:
        order_id = kwargs.get("order_id", args[0] if args else None)
        number = Order.objects.filter(pk=order_id).values_list("number", flat=True).first()
        return f"order {number or '(no longer exists)'} (id {order_id})"


@shared_task
def make_pickup_slots() -> int:
    """Hourly, and after each change of the opening hours: make the missing pickup slot
    rows of the booking window and the day after it (the listing only reads rows)."""
    return pickup_slots_materialise(now=timezone.now())


@shared_task
def purge_idempotency_keys() -> int:
    """Daily: forget checkout Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS."""
    return idempotency_keys_purge()


# Sending mail is the networked part: a refused or dropped SMTP connection (OSError, of
# which SMTPException is one) is retried with exponential backoff and jitter, and so is a
# database connection lost mid-task (the worker opens a new one before the retry). Anything
# else fails at once. The same pattern fits any task that calls a gateway:
#   @shared_task(base=..., autoretry_for=(PaymentGatewayError,), retry_backoff=True,
#                retry_backoff_max=300, max_retries=5)
@shared_task(
    base=OrderTask,
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_receipt(order_id: int) -> bool:
    """E-mail a paid order's receipt, once per order (order_receipt_send says how). When
    the retries run out the receipt stays unsent and the sweep tries again later."""
    return order_receipt_send(order_id=order_id, attachments=invoice_receipt_attachments)


@shared_task
def send_due_receipts() -> int:
    """Every few minutes: a task for each paid order whose receipt has not gone out (its
    task was lost with an unreachable broker, died, or ran out of retries)."""
    due = orders_receipt_due(now=timezone.now())
    for order_id in due:
        enqueue(send_receipt, order_id)
    return len(due)
