"""Background work of invoices (config/tasks.py says how tasks are started and run).

Render a document's PDF after the transaction that issued it has committed (never inside
the webhook's request when a worker runs). Idempotent: a document already rendered is left
as it is. A database connection lost mid-render is retried (the worker opens a new one
first), and so is an unreachable file store; if the retries run out, the PDF is rendered on its first download or by the
receipt that attaches it. Then the receipt: sent once per paid order, and swept for the
ones that did not go out.
"""

import smtplib
from datetime import datetime

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from config.tasks import enqueue
from invoices.models import CreditNote, Invoice
from invoices.receipts import ReceiptNotRecorded, receipt_send
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


RECEIPT_RETRY_FOR = (smtplib.SMTPException, OSError, OperationalError, InterfaceError, StorageUnavailable)


# Sending mail is the networked part: a refused or dropped SMTP connection (OSError, of
# which SMTPException is one) is retried with exponential backoff and jitter, and so is a
# database connection lost mid-task (the worker opens a new one before the retry) and an
# unreachable document store while the invoice is rendered or read for the attachment
# (StorageUnavailable: a domain error, not an OSError). The failed attempt gave its claim
# back, so the retry claims the receipt afresh; when the database was gone too and the
# claim could not be given back, a later retry takes over the claim an earlier attempt left
# (`left_claims`: the claim time of every attempt so far; an attempt that failed before its
# claim went through has none, so all are passed on) instead of leaving the receipt to the
# sweep once the claim lapses after RECEIPT_CLAIM_SECONDS. Anything else fails at once.
# Celery's autoretry_for cannot pass the claims on, so the task retries itself with
# autoretry's backoff (exponential, full jitter, at most RECEIPT_RETRY_MAX_SECONDS).
# Where nothing needs passing on, autoretry is the pattern for a task that calls a gateway:
#   @shared_task(base=..., autoretry_for=(PaymentGatewayError,), retry_backoff=True,
#                retry_backoff_max=300, max_retries=5)
@shared_task(bind=True, base=OrderTask, max_retries=settings.RECEIPT_MAX_RETRIES)
def send_receipt(
    self, order_id: int, left_claims: list[str] | None = None, sent_claim: str | None = None
) -> bool:
    """E-mail a paid order's receipt, once per order (receipt_send says how). When the
    retries run out the receipt stays unsent and the sweep tries again later. An attempt
    whose mail went out but could not be recorded (ReceiptNotRecorded) is retried as a
    record only (`sent_claim`), never sent again."""
    claim = timezone.now()
    try:
        return receipt_send(
            order_id=order_id,
            now=claim,
            left_claims=[datetime.fromisoformat(held) for held in left_claims or ()],
            sent_claim=datetime.fromisoformat(sent_claim) if sent_claim else None,
        )
    except (*RECEIPT_RETRY_FOR, ReceiptNotRecorded) as exc:
        kwargs = {"left_claims": [*(left_claims or ()), claim.isoformat()], "sent_claim": sent_claim}
        if isinstance(exc, ReceiptNotRecorded):
            kwargs["sent_claim"] = exc.claimed_at.isoformat()
        countdown = get_exponential_backoff_interval(
            factor=1,
            retries=self.request.retries,
            maximum=settings.RECEIPT_RETRY_MAX_SECONDS,
            full_jitter=True,
        )
        raise self.retry(exc=exc, args=(order_id,), kwargs=kwargs, countdown=countdown) from exc


@shared_task
def send_due_receipts() -> int:
    """Every few minutes: a task for each paid order whose receipt has not gone out (its
    task was lost with an unreachable broker, died, or ran out of retries)."""
    due = orders_receipt_due(now=timezone.now())
    for order_id in due:
        enqueue(send_receipt, order_id)
    return len(due)
