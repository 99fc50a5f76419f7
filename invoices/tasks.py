"""Background work of invoices: render a document's PDF after the transaction that issued
it has committed (never inside the webhook's request when a worker runs). Idempotent: a
document already rendered is left as it is. A database connection lost mid-render is
retried (the worker opens a new one first), and so is an unreachable file store; if the retries run out, the PDF is rendered on
its first download or by the receipt that attaches it."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from invoices.models import CreditNote, Invoice
from invoices.services import credit_note_render_pdf, invoice_render_pdf
from invoices.storage import StorageUnavailable

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
