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

from config.tasks import FoodiesTask
from orders.idempotency import idempotency_keys_purge
from orders.models import Order
from orders.pickup.services import pickup_slots_materialise
from orders.ready_email import ready_email_send


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


@shared_task(
    base=OrderTask,
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_ready_email(order_id: int) -> bool:
    """E-mail the customer that the order is ready for pickup, once (ready_email_send)."""
    return ready_email_send(order_id=order_id)
