"""Background work of accounts (config/tasks.py says how tasks are started and run)."""

import smtplib

from celery import shared_task
from django.conf import settings

from accounts.password_reset import password_reset_send
from accounts.services import registration_notice_send
from accounts.verification import email_verification_send


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


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_password_reset(email: str) -> bool:
    """Mail a reset link to the account of `email`, if there is one (the lookup happens
    here, off the request, so the answer's timing does not tell)."""
    return password_reset_send(email=email)


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_email_verification(user_id: int) -> bool:
    """Mail an account a link that verifies its address."""
    return email_verification_send(user_id=user_id)
