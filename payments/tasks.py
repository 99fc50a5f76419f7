"""Background work of payments (config/tasks.py says how tasks are started and run): the
periodic jobs that heal lost notifications. Each calls one service that is safe to run twice
and at the same time (row locks; the gateway's answer applied through the webhook's code)."""

from celery import shared_task
from django.conf import settings

from config.tasks import enqueue
from orders.models import Order
from orders.tasks import OrderTask
from payments.exceptions import PaymentGatewayError
from payments.services.opening import order_attempts_cancel, order_attempts_to_cancel
from payments.services.reconcile import (
    orders_expire_due_reconciled,
    payments_recheck_settled,
    payments_reconcile_pending,
)
from payments.services.webhook import notifications_purge


@shared_task(autoretry_for=(PaymentGatewayError,), retry_backoff=True, retry_backoff_max=300, max_retries=5)
def reconcile_payments() -> int:
    """Every few minutes: ask the gateway about attempts still pending after
    RECONCILE_MIN_AGE_SECONDS and apply its answers (a webhook that never arrived), then
    re-check recently settled ones (a lost void, reversal, chargeback or refund)."""
    changed = payments_reconcile_pending(min_age_seconds=settings.RECONCILE_MIN_AGE_SECONDS)
    return changed + payments_recheck_settled()


@shared_task
def expire_due_orders() -> int:
    """Every minute: expire pending orders past their payment window, each after asking the
    gateway about its open attempts (so a payment whose notification was lost pays the
    order instead). Two runs at once expire each order once (row lock per order)."""
    return orders_expire_due_reconciled()[1]


@shared_task
def purge_notifications() -> int:
    """Daily: delete webhook notifications older than WEBHOOK_RETENTION_DAYS that are tied
    to no payment (forged, malformed, unknown order ids). Overlapping runs are harmless."""
    return notifications_purge()


@shared_task(
    base=OrderTask,
    autoretry_for=(PaymentGatewayError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def cancel_at_gateway(order_id: int) -> int:
    """After an order was cancelled or expired: cancel its open attempts at the gateway, so a
    VA number or QRIS code cannot be paid later. A gateway failure raises
    PaymentGatewayError and the worker retries (without a broker it is logged; the attempt's
    own window still ends it). Returns how many attempts the gateway cancelled."""
    return order_attempts_cancel(order_id=order_id)


def enqueue_gateway_cancel(sender, *, order: Order, **kwargs) -> None:
    """`orders.signals.order_closed` receiver: after the cancel (or expiry) commits, never
    before and never blocking it, when the order has an attempt the gateway could still take
    money on."""
    if order_attempts_to_cancel(order_id=order.pk):
        enqueue(cancel_at_gateway, order.pk)
