"""Invoices and credit notes print the order's charges as an Indonesian receipt does: the
service charge and PB1 as lines, the DPP, "harga sudah termasuk PB1" when the prices hold
the tax, the tax registration number, and a partial refund split over goods and charges."""

import pytest

from catalog.tests.factories import ProductFactory
from invoices import services
from invoices.receipts import receipt_message
from invoices.templatetags.invoice_format import percent, rupiah_signed
from invoices.tests.factories import invoiced_order, pdf_text
from orders.selectors import order_for_receipt
from orders.shop_settings import shop_settings_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path / "private"


def rendered(invoice) -> str:
    invoice = services.invoice_render_pdf(invoice=invoice)
    with services.invoice_pdf_open(invoice=invoice) as pdf_file:
        return pdf_text(pdf_file.read())


def test_filters():
    assert [percent(bp) for bp in (1_000, 500, 1_100, 1_150, 1_125, None)] == [
        "10%",
        "5%",
        "11%",
        "11,5%",
        "11,25%",
        "",
    ]
    assert [rupiah_signed(n) for n in (-50, 0, 5_250)] == ["-Rp 50", "Rp 0", "Rp 5.250"]


def test_invoice_shows_service_pb1_dpp_and_npwpd(user):
    shop_settings_update(
        service_charge_bp=500, tax_name="PB1", tax_rate_bp=1_000, tax_registration_number="P.2.0001234.12.03"
    )
    invoice = invoiced_order(user=user, items=[(ProductFactory(name="Nasi Campur", price=25_000), 2)])

    text = rendered(invoice)

    assert (invoice.snapshot["total"], invoice.snapshot["tax"]) == (57_750, 5_250)
    assert invoice.snapshot["seller"]["tax_id"] == "P.2.0001234.12.03"
    assert "Tax ID (NPWPD): P.2.0001234.12.03" in text
    assert "Subtotal Rp 50.000 Service charge 5% Rp 2.500 PB1 10% Rp 5.250 Total Rp 57.750" in text
    assert "DPP (tax base) Rp 52.500 PB1 10% Rp 5.250" in text
    assert "sudah termasuk" not in text


def test_invoice_with_tax_inside_the_prices_says_so(user):
    shop_settings_update(tax_name="PPN", tax_rate_bp=1_100, prices_include_tax=True, rounding_unit=1)
    invoice = invoiced_order(user=user, items=[(ProductFactory(name="Tumpeng Mini", price=111_000), 1)])

    text = rendered(invoice)

    assert "Subtotal Rp 111.000 Total Rp 111.000" in text  # nothing added
    assert (
        "Harga sudah termasuk PPN (prices include PPN 11%) DPP (tax base) Rp 100.000 PPN 11% Rp 11.000"
        in text
    )


def test_a_partial_credit_note_splits_the_refund_over_goods_and_charges(user):
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000)
    invoice = invoiced_order(user=user, items=[(ProductFactory(price=25_000), 2)])

    note = services.credit_note_issue(invoice=invoice, amount=28_875, reason="One dish was cold")
    note = services.credit_note_render_pdf(credit_note=note)
    with services.credit_note_pdf_open(credit_note=note) as pdf_file:
        text = pdf_text(pdf_file.read())

    assert note.snapshot["split"] == {
        "amount": 28_875,
        "goods": 25_000,
        "charges": [
            {"code": "service", "name": "Service charge", "amount": 1_250},
            {"code": "tax", "name": "PB1", "amount": 2_625},
        ],
        "tax": 2_625,
    }
    assert note.tax == 2_625  # the tax report's credit
    assert "of which goods Rp 25.000 of which Service charge Rp 1.250 of which PB1 Rp 2.625" in text
    assert "Tax credited (all tax, included or added) Rp 2.625" in text


def test_the_receipt_email_lists_the_charges(user):
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000, rounding_unit=100)
    invoice = invoiced_order(user=user, items=[(ProductFactory(price=33_000), 1)])

    message = receipt_message(order=order_for_receipt(order_id=invoice.order_id))

    assert (
        "Subtotal: Rp 33.000\nService charge 5%: Rp 1.650\nPB1 10%: Rp 3.465\nRounding: -Rp 15\nTotal:    Rp 38.100"
        in message.body
    )
    html = message.alternatives[0][0]
    assert 'Rounding</td><td align="right">-Rp 15' in html


def test_the_receipt_says_the_price_includes_the_tax(user):
    shop_settings_update(tax_name="PPN", tax_rate_bp=1_100, prices_include_tax=True)
    invoice = invoiced_order(user=user, items=[(ProductFactory(price=111_000), 1)])

    message = receipt_message(order=order_for_receipt(order_id=invoice.order_id))

    assert "Total:    Rp 111.000 (IDR)\nHarga sudah termasuk PPN Rp 11.000 (DPP Rp 100.000)" in message.body
