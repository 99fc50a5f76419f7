"""Background work of accounts (config/tasks.py says how tasks are started and run)."""

import smtplib

from celery import shared_task
from django.conf import settings

from accounts.services import registration_notice_send


# A refused or dropped SMTP connection is retried with backoff, like a receipt.
@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_registration_notice(user_id: int) -> bool:
    """Tell an account's owner that someone tried to register with their address."""
    return registration_notice_send(user_id=user_id)
