"""A rejection and a refund speak the order's language where the shopper reads them: the
reason sent with the gateway's refund, and the reason printed on the credit note (the
reasons the system writes are frozen in English and printed in the note's language)."""

import pytest
from django.utils import translation

from invoices import services
from invoices.models import CreditNote, Invoice
from invoices.tests.factories import pdf_text
from orders.models import Order
from payments.tests.conftest import settle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path / "private"


def credit_note_text(note: CreditNote) -> str:
    note = services.credit_note_render_pdf(credit_note=note)
    with services.credit_note_pdf_open(credit_note=note) as pdf_file:
        return pdf_text(pdf_file.read())


@pytest.mark.parametrize(
    ("language", "told", "printed"),
    [
        ("id", "Ditolak oleh toko: Nasi habis", "Alasan: Dikembalikan penuh"),
        ("en", "Rejected by the shop: Nasi habis", "Reason: Refunded in full"),
    ],
)
def test_a_rejection_is_told_in_the_order_language(
    api_client, staff_client, midtrans, order, language, told, printed
):
    Order.objects.filter(pk=order.pk).update(language=language)
    settle(api_client, midtrans, order, "doc_gopay_settlement")

    with translation.override("en" if language == "id" else "id"):  # the staff's own language
        response = staff_client.post(
            f"/api/v1/orders/{order.number}/reject/", {"reason": "Nasi habis"}, format="json"
        )

    assert response.status_code == 200, response.content
    [request] = midtrans.requests_to("/refund")
    assert request.body["reason"] == told
    [note] = CreditNote.objects.filter(invoice__order=order)
    assert note.reason == "Refunded in full"  # frozen as the gateway's answer says it
    assert printed in credit_note_text(note)


@pytest.mark.parametrize(
    ("language", "frozen", "printed"),
    [
        ("id", "Rejected by the shop: Out of rice", "Alasan: Ditolak oleh toko: Out of rice"),
        ("en", "Rejected by the shop: Out of rice", "Reason: Rejected by the shop: Out of rice"),
        ("id", "Refund by staff.", "Alasan: Pengembalian dana oleh staf."),
        ("id", "Refunded by staff (offline)", "Alasan: Dana dikembalikan oleh staf (di luar gateway)"),
        ("id", "Partly charged back", "Alasan: Sebagian ditarik kembali oleh bank (chargeback)"),
        ("en", "Partly charged back", "Reason: Partly charged back"),
        ("id", "Pesanan dingin", "Alasan: Pesanan dingin"),  # staff's own words, as typed
    ],
)
def test_a_credit_note_prints_system_reasons_in_its_language(
    api_client, midtrans, order, language, frozen, printed
):
    """Frozen English reasons, old rejections included, print in the note's language."""
    Order.objects.filter(pk=order.pk).update(language=language)
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    invoice = Invoice.objects.get(order=order)

    note = services.credit_note_issue(invoice=invoice, amount=1_000, reason=frozen)

    assert printed in credit_note_text(note)
