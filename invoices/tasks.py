"""Background work of invoices (config/tasks.py says how tasks are started and run).

Render a document's PDF after the transaction that issued it has committed (never inside
the webhook's request when a worker runs). Idempotent: a document already rendered is left
as it is. A database connection lost mid-render is retried (the worker opens a new one
first), and so is an unreachable file store; if the retries run out, the PDF is rendered on its first download or by the
receipt that attaches it. Then the receipt: sent once per paid order, and swept for the
ones that did not go out.
"""

import smtplib

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from config.tasks import enqueue
from invoices.models import CreditNote, Invoice
from invoices.receipts import receipt_send
from invoices.services import credit_note_render_pdf, invoice_render_pdf
from invoices.storage import StorageUnavailable
from orders.selectors import orders_receipt_due
from orders.tasks import OrderTask

DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError, StorageUnavailable),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(**DATABASE_RETRY)
def render_invoice_pdf(invoice_id: int) -> bool:
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        return False
    invoice_render_pdf(invoice=invoice)
    return True


@shared_task(**DATABASE_RETRY)
def render_credit_note_pdf(credit_note_id: int) -> bool:
    credit_note = CreditNote.objects.filter(pk=credit_note_id).first()
    if credit_note is None:
        return False
    credit_note_render_pdf(credit_note=credit_note)
    return True


# Sending mail is the networked part: a refused or dropped SMTP connection (OSError, of
# which SMTPException is one) is retried with exponential backoff and jitter, and so is a
# database connection lost mid-task (the worker opens a new one before the retry) and an
# unreachable document store while the invoice is rendered or read for the attachment
# (StorageUnavailable: a domain error, not an OSError). The failed attempt gave its claim
# back, so the retry claims the receipt afresh. Anything else fails at once. The same pattern fits any task that calls a gateway:
#   @shared_task(base=..., autoretry_for=(PaymentGatewayError,), retry_backoff=True,
#                retry_backoff_max=300, max_retries=5)
@shared_task(
    base=OrderTask,
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError, InterfaceError, StorageUnavailable),
    retry_backoff=True,
    retry_backoff_max=settings.RECEIPT_RETRY_MAX_SECONDS,
    max_retries=settings.RECEIPT_MAX_RETRIES,
)
def send_receipt(order_id: int) -> bool:
    """E-mail a paid order's receipt, once per order (receipt_send says how). When the
    retries run out the receipt stays unsent and the sweep tries again later."""
    return receipt_send(order_id=order_id)


@shared_task
def send_due_receipts() -> int:
    """Every few minutes: a task for each paid order whose receipt has not gone out (its
    task was lost with an unreachable broker, died, or ran out of retries)."""
    due = orders_receipt_due(now=timezone.now())
    for order_id in due:
        enqueue(send_receipt, order_id)
    return len(due)
