"""An order's documents speak the language it was placed in (Order.language, set from the
request at checkout): the invoice and credit note PDFs and the receipt, whatever language
is active when they are rendered or sent."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from catalog.tests.factories import ProductFactory
from invoices import services
from invoices.models import Invoice
from invoices.receipts import receipt_message
from invoices.tests.factories import invoiced_order, pdf_text
from orders.selectors import order_for_receipt
from orders.tests.factories import PickupSlotFactory

pytestmark = pytest.mark.django_db

PAID = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 7 December 2026, 10:00 WIB


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path / "private"


def placed_in(language: str, user):
    with translation.override(language):  # what LocaleMiddleware does for Accept-Language
        return invoiced_order(
            user=user, items=[(ProductFactory(name="Nasi Goreng", price=25_000), 2)], now=PAID
        )


def pdf_of(document) -> str:
    if isinstance(document, Invoice):
        document = services.invoice_render_pdf(invoice=document)
        opened = services.invoice_pdf_open(invoice=document)
    else:
        document = services.credit_note_render_pdf(credit_note=document)
        opened = services.credit_note_pdf_open(credit_note=document)
    with opened as pdf_file:
        return pdf_text(pdf_file.read())


def test_an_order_placed_in_indonesian_gets_an_indonesian_invoice_and_receipt(user):
    invoice = placed_in("id", user)
    assert invoice.order.language == "id"
    assert invoice.snapshot["language"] == "id"

    text = pdf_of(invoice)  # rendered while English is active (LANGUAGE_CODE=en in the tests)

    assert "FAKTUR" in text
    assert "DITAGIHKAN KEPADA" in text  # headings are upper-cased by the style sheet
    assert "Tanggal terbit 7 Des 2026" in text
    assert "HARGA SATUAN" in text
    assert "Rp 25.000" in text
    assert "LUNAS" in text
    assert "INVOICE" not in text
    assert "BILLED TO" not in text
    assert "Halaman 1 dari 1" in text

    message = receipt_message(order=order_for_receipt(order_id=invoice.order_id))
    assert message.subject == f"Struk Foodies untuk pesanan {invoice.order.number}"
    assert "Pembayaran Anda sudah kami terima." in message.body
    assert f"Nomor pesanan: {invoice.order.number}" in message.body
    assert "Dibayar: 7 Des 2026, 10:00" in message.body
    assert "2 x Nasi Goreng @ Rp 25.000 = Rp 50.000" in message.body
    assert "thank you" not in message.body
    assert '<html lang="id">' in message.alternatives[0][0]


def test_an_order_placed_in_english_gets_english_documents_even_from_an_indonesian_request(user):
    invoice = placed_in("en", user)

    with translation.override("id"):  # e.g. staff re-rendering it from an Indonesian admin
        text = pdf_of(invoice)
        message = receipt_message(order=order_for_receipt(order_id=invoice.order_id))

    assert "INVOICE" in text
    assert "BILLED TO" in text
    assert "Page 1 of 1" in text
    assert "Issued 7 Dec 2026" in text
    assert "FAKTUR" not in text
    assert message.subject == f"Foodies receipt for order {invoice.order.number}"
    assert "We have received your payment." in message.body
    assert "Paid: 7 Dec 2026, 10:00" in message.body


def test_a_credit_note_speaks_the_language_of_its_invoice(user):
    invoice = placed_in("id", user)

    note = services.credit_note_issue(invoice=invoice, amount=50_000, reason="Salah pesan", now=PAID)

    assert note.snapshot["language"] == "id"
    text = pdf_of(note)
    assert "NOTA KREDIT" in text
    assert f"Pengembalian dana penuh atas faktur {invoice.number}" in text
    assert "Alasan: Salah pesan" in text
    assert "CREDIT NOTE" not in text


def test_the_language_chosen_on_the_profile_wins_over_the_request(user):
    user.language = "en"
    user.save(update_fields=["language"])

    invoice = placed_in("id", user)

    assert invoice.order.language == "en"
    assert "INVOICE" in pdf_of(invoice)


def test_the_receipt_prints_the_pickup_slot_as_the_documents_print_dates(user):
    """`7 Des 2026` in Indonesian, `7 Dec 2026` in English, money as `Rp 25.000` in both."""
    slot = PickupSlotFactory(start=datetime(2026, 12, 7, 5, 0, tzinfo=UTC))  # Monday 12:00 in Jakarta
    bodies = {}
    for language in ("id", "en"):
        invoice = placed_in(language, user)
        type(invoice.order).objects.filter(pk=invoice.order_id).update(pickup_slot=slot)
        bodies[language] = receipt_message(order=order_for_receipt(order_id=invoice.order_id)).body

    assert "Pengambilan: Senin, 7 Des 2026, 12:00-12:15" in bodies["id"]
    assert "Dibayar: 7 Des 2026, 10:00" in bodies["id"]
    assert "2 x Nasi Goreng @ Rp 25.000 = Rp 50.000" in bodies["id"]
    assert "Pickup: Monday, 7 Dec 2026, 12:00-12:15" in bodies["en"]
    assert "Paid: 7 Dec 2026, 10:00" in bodies["en"]
    assert "2 x Nasi Goreng @ Rp 25.000 = Rp 50.000" in bodies["en"]
