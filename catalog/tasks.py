"""Background work of the catalog (config/tasks.py says how tasks are started and run)."""

import smtplib

from celery import shared_task
from django.conf import settings

from catalog.low_stock import low_stock_notify
from catalog.services import prices_switch_due


@shared_task
def switch_due_prices() -> int:
    """Every minute: bring scheduled prices whose time has come into force (reads switch
    them too; this keeps filters and sorting by price exact). Safe to run twice at once."""
    return prices_switch_due()


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def notify_low_stock(product_id: int, stock: int, threshold: int) -> bool:
    """Once per downward crossing of a product's low-stock threshold (catalog.low_stock)."""
    return low_stock_notify(product_id=product_id, stock=stock, threshold=threshold)
