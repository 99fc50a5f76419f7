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
from orders.idempotency import idempotency_keys_purge
from orders.models import Order, StatusEmail
from orders.pickup.services import pickup_slots_materialise
from orders.status_emails import status_email_send, status_emails_due


class OrderTask(FoodiesTask):
    """A task about one order, given as its first argument or `order_id`: a failure is
    logged with the order number (the receipt's, invoices.tasks.send_receipt, is one)."""

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


class StatusEmailTask(OrderTask):
    """A status e-mail's task, given the StatusEmail id: a failure is logged with its order."""

    def failure_context(self, args: tuple, kwargs: dict) -> str:
        email_id = kwargs.get("email_id", args[0] if args else None)
        order_id = StatusEmail.objects.filter(pk=email_id).values_list("order_id", flat=True).first()
        return f"status e-mail {email_id}, {super().failure_context((order_id,), {})}"


@shared_task(
    base=StatusEmailTask,
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_status_email(email_id: int) -> bool:
    """E-mail the customer of one status change (ready, cancelled, refunded), once
    (status_email_send)."""
    return status_email_send(email_id=email_id)


@shared_task
def send_due_status_emails() -> int:
    """Every few minutes: a task for each status e-mail that has not gone out (its task was
    lost with an unreachable broker, died, or ran out of retries), as for receipts."""
    due = status_emails_due(now=timezone.now())
    for email_id in due:
        enqueue(send_status_email, email_id)
    return len(due)
