"""Credit notes: full and partial refunds, their own series, never more than the invoice."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from invoices.exceptions import CreditExceedsInvoice, InvalidCreditAmount, RefundReferenceReused
from invoices.models import CreditNote, Invoice, InvoiceSequence
from invoices.services import credit_note_issue, credit_note_render_pdf, shop_iso
from invoices.tests.factories import invoiced_order, pdf_text
from orders.models import OrderEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 14:00 in Jakarta


@pytest.fixture
def invoice(user):
    rice = ProductFactory(name="Nasi Goreng Spesial", price=25_000)
    tea = ProductFactory(name="Es Teh Manis", price=5_000)
    return invoiced_order(user=user, items=[(rice, 1), (tea, 4)], now=NOW)  # 45,000


def snapshot_of(invoice: Invoice) -> tuple:
    invoice = Invoice.objects.get(pk=invoice.pk)
    return invoice.number, invoice.total, invoice.snapshot, invoice.issued_at


def test_full_refund(invoice):
    before = snapshot_of(invoice)

    note = credit_note_issue(
        invoice=invoice, amount=45_000, reason="Kitchen closed early", refund_reference="RF-1", now=NOW
    )

    assert (note.number, note.year, note.serial, note.amount, note.currency) == (
        "CN-2026-000001",
        2026,
        1,
        45_000,
        "IDR",
    )
    assert (note.invoice_id, note.reason, note.refund_reference, note.issued_at) == (
        invoice.pk,
        "Kitchen closed early",
        "RF-1",
        NOW,
    )
    assert note.snapshot == {
        "version": 1,
        "language": "en",
        "issued_at": "2026-11-21T14:00:00+07:00",
        "seller": invoice.snapshot["seller"],
        "buyer": invoice.snapshot["buyer"],
        "invoice": {"number": "INV-2026-000001", "issued_at": shop_iso(NOW), "total": 45_000},
        "order": {"number": invoice.order.number},
        "amount": 45_000,
        "currency": "IDR",
        "reason": "Kitchen closed early",
        "refund_reference": "RF-1",
        "split": {"amount": 45_000, "goods": 45_000, "charges": [], "tax": 0},
        "credited_before": 0,
        "remaining": 0,
        "full_refund": True,
    }
    assert Invoice.objects.get(pk=invoice.pk).status == "credited"
    assert snapshot_of(invoice) == before  # the invoice itself is never edited
    event = invoice.order.events.get(type=OrderEvent.Type.CREDIT_NOTE_ISSUED)
    assert event.data == {
        "number": "CN-2026-000001",
        "invoice": "INV-2026-000001",
        "amount": 45_000,
        "refund_reference": "RF-1",
    }

    credit_note_render_pdf(credit_note=note)
    with note.pdf.open("rb") as pdf:
        text = pdf_text(pdf.read())
    assert "CREDIT NOTE" in text
    assert "CN-2026-000001" in text
    assert "Full refund of invoice INV-2026-000001" in text
    assert invoice.order.number in text
    assert "This credit note Rp 45.000" in text
    assert "Remaining on the invoice Rp 0" in text
    assert "Kitchen closed early" in text
    assert note.pdf.name == "credit-notes/2026/CN-2026-000001.pdf"


def test_partial_refunds_until_nothing_is_left(invoice, user):
    other = invoiced_order(user=user, items=[(ProductFactory(price=7_000), 1)], now=NOW)

    first = credit_note_issue(invoice=invoice, amount=10_000, now=NOW)
    assert Invoice.objects.get(pk=invoice.pk).status == "partially_credited"
    on_other = credit_note_issue(invoice=other, amount=7_000, now=NOW)
    second = credit_note_issue(invoice=invoice, amount=35_000, reason="rest", now=NOW)

    assert [first.number, on_other.number, second.number] == [
        "CN-2026-000001",
        "CN-2026-000002",
        "CN-2026-000003",
    ]
    assert (second.snapshot["credited_before"], second.snapshot["remaining"]) == (10_000, 0)
    assert (first.snapshot["full_refund"], second.snapshot["full_refund"]) == (False, False)
    assert Invoice.objects.get(pk=invoice.pk).status == "credited"
    assert Invoice.objects.get(pk=other.pk).status == "credited"

    credit_note_render_pdf(credit_note=first)
    with first.pdf.open("rb") as pdf:
        text = pdf_text(pdf.read())
    assert "Partial refund of invoice INV-2026-000001" in text
    assert "This credit note Rp 10.000" in text
    assert "Remaining on the invoice Rp 35.000" in text


def test_crediting_more_than_the_invoice_is_refused(invoice):
    credit_note_issue(invoice=invoice, amount=40_000)
    events = OrderEvent.objects.count()

    with pytest.raises(CreditExceedsInvoice) as error:
        credit_note_issue(invoice=invoice, amount=5_001)

    assert error.value.status == 409
    assert error.value.as_dict() == {
        "detail": "Invoice INV-2026-000001 has 5000 rupiah left to credit, not 5001.",
        "code": "credit_exceeds_invoice",
        "invoice": "INV-2026-000001",
        "total": 45_000,
        "credited": 40_000,
        "remaining": 5_000,
    }
    assert CreditNote.objects.count() == 1
    assert Invoice.objects.get(pk=invoice.pk).status == "partially_credited"
    assert InvoiceSequence.objects.get(kind="credit_note").last_number == 1
    assert OrderEvent.objects.count() == events


def test_more_than_the_total_at_once_is_refused(invoice):
    with pytest.raises(CreditExceedsInvoice):
        credit_note_issue(invoice=invoice, amount=45_001)
    assert not CreditNote.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "100"])
def test_amount_must_be_positive_whole_rupiah(invoice, amount):
    with pytest.raises(InvalidCreditAmount):
        credit_note_issue(invoice=invoice, amount=amount)
    assert not CreditNote.objects.exists()
    assert not InvoiceSequence.objects.filter(kind="credit_note").exists()


def test_idempotent_per_refund_reference(invoice):
    note = credit_note_issue(invoice=invoice, amount=10_000, refund_reference="RF-9")

    assert credit_note_issue(invoice=invoice, amount=10_000, refund_reference="RF-9").pk == note.pk
    with pytest.raises(RefundReferenceReused) as error:
        credit_note_issue(invoice=invoice, amount=12_000, refund_reference="RF-9")

    assert error.value.extra == {"refund_reference": "RF-9", "credit_note": note.number, "amount": 10_000}
    assert CreditNote.objects.count() == 1
    assert InvoiceSequence.objects.get(kind="credit_note").last_number == 1
    assert OrderEvent.objects.filter(type=OrderEvent.Type.CREDIT_NOTE_ISSUED).count() == 1
    # Without a reference every call is a new refund.
    credit_note_issue(invoice=invoice, amount=1_000)
    credit_note_issue(invoice=invoice, amount=1_000)
    assert CreditNote.objects.count() == 3


def test_series_are_per_year_and_independent_of_invoices(invoice):
    later = datetime(2027, 1, 2, tzinfo=UTC)
    assert credit_note_issue(invoice=invoice, amount=1_000, now=NOW).number == "CN-2026-000001"
    assert credit_note_issue(invoice=invoice, amount=1_000, now=later).number == "CN-2027-000001"
    year = timezone.localtime().year  # Asia/Jakarta
    serial = 2 if year in (2026, 2027) else 1
    assert credit_note_issue(invoice=invoice, amount=1_000).number == f"CN-{year}-{serial:06d}"
