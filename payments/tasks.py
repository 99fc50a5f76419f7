"""Background work of payments (config/tasks.py says how tasks are started and run): the
periodic jobs that heal lost notifications. Each calls one service that is safe to run twice
and at the same time (row locks; the gateway's answer applied through the webhook's code)."""

from celery import shared_task
from django.conf import settings

from payments.exceptions import PaymentGatewayError
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
