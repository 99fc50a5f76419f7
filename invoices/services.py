"""Every write to invoices: issuing invoices and credit notes with gapless numbers, and
rendering their PDFs into private storage.

Issuing runs inside the caller's transaction (the payment webhook's, which has just marked
the order paid): the invoice and its number commit or roll back with the payment, so a
failed payment leaves no invoice and no hole in the series. Locks are taken in one order
everywhere: order row, then invoice row, then the year's counter row; the counter is
always last and held only until the caller commits.

Rendering never runs inside that transaction: a background task (or the first download)
calls it after commit. It writes the file first and then records it with a conditional
UPDATE, so two renders racing each other cannot leave a row pointing at a half-written or
deleted file.
"""

import hashlib
from collections import Counter
from datetime import datetime

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.clock import shop_zone
from invoices.exceptions import CreditExceedsInvoice, InvalidCreditAmount, OrderNotPaid, RefundReferenceReused
from invoices.models import NUMBER_PREFIX, CreditNote, Document, DocumentKind, Invoice, InvoiceSequence
from invoices.selectors import invoice_credited
from invoices.snapshots import SNAPSHOT_VERSION, invoice_snapshot, seller_snapshot, shop_iso
from invoices.storage import storage_guard
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import SYSTEM, order_event_log, order_lock
from orders.totals import refund_split

# Orders that have been paid and not refunded: the ones an invoice may be issued for.
INVOICEABLE_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED}
)

PDF_FIELDS = ["pdf", "pdf_sha256", "pdf_size", "rendered_at"]

_ORDER_INVOICE = Order._meta.get_field("invoice")


def shop_year(moment: datetime) -> int:
    """The calendar year of `moment` in the shop's time zone (a series restarts on 1 January
    in Jakarta, whatever zone a server or request runs in)."""
    return moment.astimezone(shop_zone()).year


def document_number(*, kind: str, year: int, serial: int) -> str:
    """`INV-2026-000001`, `CN-2026-000001`."""
    return f"{NUMBER_PREFIX[kind]}-{year}-{serial:06d}"


def sequence_next(*, kind: str, now: datetime | None = None) -> tuple[int, int, datetime]:
    """Take the next number of a series: returns (year, serial, issued_at).

    Must run inside a transaction: the year's counter row stays locked until it ends, so
    concurrent issuers queue and get consecutive numbers in the order they got the lock,
    and a rollback gives the number back. One statement makes the row if it is missing,
    locks it and counts (INSERT … ON CONFLICT DO UPDATE … RETURNING: race-free, where a
    read, a lock and a write took three). Without `now`, the time of issue is read after
    the lock is granted, so numbers and times of issue rise together; if the year turned
    while waiting, the number is given back (the row is still ours) and the new year's
    counter is used instead."""
    while True:
        issued_at = now or timezone.now()
        year = shop_year(issued_at)
        serial = _counter_step(kind=kind, year=year, step=1)
        if now is None:
            issued_at = timezone.now()
            if shop_year(issued_at) != year:
                _counter_step(kind=kind, year=year, step=-1)
                continue
        return year, serial, issued_at


def _counter_step(*, kind: str, year: int, step: int) -> int:
    """Add `step` to the series' counter (made at `step` when missing) and return it; the
    row stays locked until the transaction ends."""
    table = connection.ops.quote_name(InvoiceSequence._meta.db_table)
    # bandit B608 (SQL built from strings): the table name is the model's, quoted; the
    # values go as parameters. PostgreSQL and SQLite (3.35+) both read this upsert.
    query = (
        f"INSERT INTO {table} (kind, year, last_number) VALUES (%s, %s, %s) "  # nosec B608
        f"ON CONFLICT (kind, year) DO UPDATE SET last_number = {table}.last_number + %s "
        "RETURNING last_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [kind, year, max(step, 0), step])
        return cursor.fetchone()[0]


def invoice_issue(
    *,
    order: Order,
    payment_method: str,
    transaction_id: str,
    paid_at: datetime | None = None,
    gateway: str = "",
    now: datetime | None = None,
    order_locked: bool = False,
) -> Invoice:
    """Issue the invoice of a paid order, inside the caller's (paying) transaction.

    Idempotent: an order that already has an invoice gets that invoice back, unchanged
    (the order row lock makes concurrent calls for one order wait and then find it).
    Raises OrderNotPaid for an order that is not (or no longer) paid. `paid_at` defaults
    to the order's; `now` fixes the time of issue (tests, imports). `order_locked`: the
    caller holds `order`'s row lock and the object is current (the settling flow), so it is
    not locked and read again, and no savepoint is made (a failure rolls the caller's
    transaction back); otherwise this runs in a savepoint of its own."""
    if order_locked:
        return _invoice_issue(
            order=order,
            payment_method=payment_method,
            transaction_id=transaction_id,
            paid_at=paid_at,
            gateway=gateway,
            now=now,
        )
    with transaction.atomic():
        return _invoice_issue(
            order=order_lock(order_id=order.pk),
            payment_method=payment_method,
            transaction_id=transaction_id,
            paid_at=paid_at,
            gateway=gateway,
            now=now,
        )


def _invoice_issue(
    *,
    order: Order,
    payment_method: str,
    transaction_id: str,
    paid_at: datetime | None,
    gateway: str,
    now: datetime | None,
) -> Invoice:
    if _ORDER_INVOICE.is_cached(order):  # joined by the caller's lock (payments.services.apply)
        existing = getattr(order, "invoice", None)
    else:
        existing = Invoice.objects.filter(order=order).first()
    if existing is not None:
        return existing
    if order.status not in INVOICEABLE_STATUSES:
        raise OrderNotPaid(
            _("Order %(order)s is %(status)s: only a paid order gets an invoice.")
            % {"order": order.number, "status": OrderStatus(order.status).label.lower()},
            order=order.number,
            status=order.status,
        )
    year, serial, issued_at = sequence_next(kind=DocumentKind.INVOICE, now=now)
    number = document_number(kind=DocumentKind.INVOICE, year=year, serial=serial)
    invoice = Invoice.objects.create(
        order=order,
        number=number,
        year=year,
        serial=serial,
        issued_at=issued_at,
        snapshot=invoice_snapshot(
            order=order,
            issued_at=issued_at,
            paid_at=paid_at or order.paid_at or issued_at,
            payment_method=payment_method,
            transaction_id=transaction_id,
            gateway=gateway,
        ),
        total=order.total,
        currency=order.currency,
    )
    order_event_log(
        order=order,
        type=OrderEvent.Type.INVOICE_ISSUED,
        actor=SYSTEM,
        data={"number": number, "total": order.total},
        now=issued_at,
    )
    return invoice


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    amount: int,
    reason: str = "",
    refund_reference: str = "",
    now: datetime | None = None,
) -> CreditNote:
    """Issue a credit note for a refund of `amount` rupiah against `invoice`, whose status
    becomes credited (all of it) or partially credited. The invoice itself is not changed.

    Call inside the transaction that records the refund. The invoice row lock orders
    concurrent credit notes, so they can never add up to more than the invoice total
    (CreditExceedsInvoice, nothing written). Idempotent per `refund_reference`: the same
    reference returns its credit note; with another amount it raises RefundReferenceReused."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidCreditAmount(amount=amount)
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("order").get(pk=invoice.pk)
    if refund_reference:
        existing = invoice.credit_notes.filter(refund_reference=refund_reference).first()
        if existing is not None:
            if existing.amount != amount:
                raise RefundReferenceReused(
                    refund_reference=refund_reference, credit_note=existing.number, amount=existing.amount
                )
            return existing
    credited = invoice_credited(invoice=invoice)
    remaining = invoice.total - credited
    if amount > remaining:
        raise CreditExceedsInvoice(
            _("Invoice %(invoice)s has %(remaining)d rupiah left to credit, not %(amount)d.")
            % {"invoice": invoice.number, "remaining": remaining, "amount": amount},
            invoice=invoice.number,
            total=invoice.total,
            credited=credited,
            remaining=remaining,
        )
    year, serial, issued_at = sequence_next(kind=DocumentKind.CREDIT_NOTE, now=now)
    number = document_number(kind=DocumentKind.CREDIT_NOTE, year=year, serial=serial)
    split = refund_split(amount=amount, totals=invoice.snapshot) if "charges" in invoice.snapshot else None
    credit_note = CreditNote.objects.create(
        invoice=invoice,
        number=number,
        year=year,
        serial=serial,
        issued_at=issued_at,
        amount=amount,
        tax=split["tax"] if split else 0,
        currency=invoice.currency,
        reason=reason,
        refund_reference=refund_reference,
        snapshot={
            "version": SNAPSHOT_VERSION,
            "language": invoice.snapshot.get("language", "en"),
            "issued_at": shop_iso(issued_at),
            "seller": seller_snapshot(),
            "buyer": invoice.snapshot["buyer"],
            "invoice": {
                "number": invoice.number,
                "issued_at": invoice.snapshot["issued_at"],
                "total": invoice.total,
            },
            "order": {"number": invoice.snapshot["order"]["number"]},
            "amount": amount,
            "currency": invoice.currency,
            "reason": reason,
            "refund_reference": refund_reference,
            # What of the refund is goods, service, tax…: in proportion to the invoice.
            "split": split,
            "credited_before": credited,
            "remaining": remaining - amount,
            "full_refund": credited == 0 and amount == invoice.total,
        },
    )
    status = Invoice.Status.CREDITED if amount == remaining else Invoice.Status.PARTIALLY_CREDITED
    Invoice.objects.filter(pk=invoice.pk).update(status=status)
    order_event_log(
        order=invoice.order,
        type=OrderEvent.Type.CREDIT_NOTE_ISSUED,
        actor=SYSTEM,
        data={
            "number": number,
            "invoice": invoice.number,
            "amount": amount,
            "refund_reference": refund_reference,
        },
        now=issued_at,
    )
    return credit_note


# --- PDFs -------------------------------------------------------------------------------


@storage_guard()  # an unreachable store: StorageUnavailable (a 503, a retried task)
def _document_render_pdf(document: Document, *, force: bool) -> Document:
    from invoices.pdf import document_pdf  # WeasyPrint loads only where PDFs are made

    model = type(document)
    current = model.objects.filter(pk=document.pk).values_list("pdf", flat=True).get()
    if current and not force:
        document.refresh_from_db(fields=PDF_FIELDS)
        return document
    content = document_pdf(kind=model.KIND, number=document.number, snapshot=document.snapshot)
    storage = document.pdf.storage
    name = storage.save(
        document.pdf.field.generate_filename(document, document.pdf_filename), ContentFile(content)
    )
    recorded = model.objects.filter(pk=document.pk, pdf=current).update(
        pdf=name,
        pdf_sha256=hashlib.sha256(content).hexdigest(),
        pdf_size=len(content),
        rendered_at=timezone.now(),
    )
    if not recorded:
        storage.delete(name)  # another render recorded its file first; that one stands
    elif current and current != name:  # the same name when the old file had gone missing
        transaction.on_commit(lambda: storage.delete(current))  # the file it replaced
    document.refresh_from_db(fields=PDF_FIELDS)
    return document


def invoice_render_pdf(*, invoice: Invoice, force: bool = False) -> Invoice:
    """Render the invoice's PDF from its snapshot into private storage, with its sha256 and
    size. Idempotent: does nothing if it is already rendered, unless `force`. Call after
    the issuing transaction has committed (a background task, the first download)."""
    return _document_render_pdf(invoice, force=force)


def credit_note_render_pdf(*, credit_note: CreditNote, force: bool = False) -> CreditNote:
    """As invoice_render_pdf, for a credit note."""
    return _document_render_pdf(credit_note, force=force)


@storage_guard()
def _document_pdf_open(document: Document) -> File:
    if not document.pdf:
        _document_render_pdf(document, force=False)
    try:
        file = document.pdf.storage.open(document.pdf.name, "rb")
    except FileNotFoundError:  # the row names a file the storage lost: make it again
        _document_render_pdf(document, force=True)
        file = document.pdf.storage.open(document.pdf.name, "rb")
    # Fetch the content now (an object store's file downloads lazily): an outage of the
    # store is a 503 here, not a response cut off after its headers were sent.
    file.open("rb")
    return file


def invoice_pdf_open(*, invoice: Invoice) -> File:
    """The invoice's PDF opened for reading (the caller closes it); rendered first if it is
    missing. For downloads and e-mail attachments."""
    return _document_pdf_open(invoice)


def credit_note_pdf_open(*, credit_note: CreditNote) -> File:
    """As invoice_pdf_open, for a credit note."""
    return _document_pdf_open(credit_note)


# --- data reset -------------------------------------------------------------------------


def invoices_delete_all() -> Counter[str]:
    """Delete every credit note, invoice and number series (data resets only: numbering
    starts again at 000001), and their PDFs once the caller's transaction commits.
    Returns the number of rows removed per model label."""
    files = [
        (document.pdf.storage, document.pdf.name)
        for model in (CreditNote, Invoice)
        for document in model.objects.exclude(pdf="").only("pdf")
    ]
    removed: Counter[str] = Counter()
    for model in (CreditNote, Invoice, InvoiceSequence):
        removed.update(model.objects.all().delete()[1])

    def delete_files() -> None:
        for storage, name in files:
            storage.delete(name)

    transaction.on_commit(delete_files)
    return removed
