"""Charge names are printed in the order's language (orders/charge_names.py): an order
freezes each charge with its code and an English name; the invoice, the credit note, the
receipt and the admin print the words of the code in the order's language (the tax keeps its
name: PB1 is a proper noun), so documents of orders frozen with English names print the
same as new ones."""

import pytest
from django.utils import translation

from catalog.tests.factories import ProductFactory
from invoices import services
from invoices.models import Invoice
from invoices.receipts import receipt_message
from invoices.tests.factories import invoiced_order, pdf_text
from orders.admin.order import OrderAdmin
from orders.charge_names import charge_name
from orders.selectors import order_for_receipt
from orders.shop_settings import shop_settings_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _charges(db):
    # 33.000 + service 1.650 + PB1 3.465 + packaging 2.000 = 40.115, rounded to 40.100.
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000, packaging_fee=2_000, rounding_unit=100)


def placed_in(language: str, user) -> Invoice:
    with translation.override(language):
        return invoiced_order(user=user, items=[(ProductFactory(name="Nasi Campur", price=33_000), 1)])


def invoice_text(invoice: Invoice) -> str:
    invoice = services.invoice_render_pdf(invoice=invoice)
    with services.invoice_pdf_open(invoice=invoice) as pdf_file:
        return pdf_text(pdf_file.read())


def credit_note_text(invoice: Invoice) -> str:
    note = services.credit_note_issue(invoice=invoice, amount=20_050, reason="x")
    note = services.credit_note_render_pdf(credit_note=note)
    with services.credit_note_pdf_open(credit_note=note) as pdf_file:
        return pdf_text(pdf_file.read())


def test_the_snapshot_keeps_codes_and_english_names(user):
    invoice = placed_in("id", user)

    assert [(c["code"], c["name"]) for c in invoice.snapshot["charges"]] == [
        ("service", "Service charge"),
        ("tax", "PB1"),
        ("packaging", "Packaging"),
        ("rounding", "Rounding"),
    ]


def test_an_indonesian_invoice_prints_indonesian_charge_names(user):
    text = invoice_text(placed_in("id", user))  # rendered while English is active

    assert (
        "Subtotal Rp 33.000 Biaya layanan 5% Rp 1.650 PB1 10% Rp 3.465 Kemasan Rp 2.000 "
        "Pembulatan -Rp 15 Total Rp 40.100" in text
    )
    assert "Service charge" not in text


def test_an_english_invoice_prints_english_charge_names_from_an_indonesian_request(user):
    invoice = placed_in("en", user)
    with translation.override("id"):
        text = invoice_text(invoice)

    assert (
        "Subtotal Rp 33.000 Service charge 5% Rp 1.650 PB1 10% Rp 3.465 Packaging Rp 2.000 "
        "Rounding -Rp 15 Total Rp 40.100" in text
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", "di antaranya barang Rp 16.500 di antaranya Biaya layanan Rp 825 di antaranya PB1 Rp 1.733 "
         "di antaranya Kemasan Rp 1.000 di antaranya Pembulatan -Rp 8"),
        ("en", "of which goods Rp 16.500 of which Service charge Rp 825 of which PB1 Rp 1.733 "
         "of which Packaging Rp 1.000 of which Rounding -Rp 8"),
    ],
)  # fmt: skip
def test_a_credit_note_splits_over_charges_named_in_the_order_language(user, language, expected):
    assert expected in credit_note_text(placed_in(language, user))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", "Biaya layanan 5%: Rp 1.650\nPB1 10%: Rp 3.465\nKemasan: Rp 2.000\nPembulatan: -Rp 15\n"),
        ("en", "Service charge 5%: Rp 1.650\nPB1 10%: Rp 3.465\nPackaging: Rp 2.000\nRounding: -Rp 15\n"),
    ],
)
def test_the_receipt_names_the_charges_in_the_order_language(user, language, expected):
    invoice = placed_in(language, user)

    message = receipt_message(order=order_for_receipt(order_id=invoice.order_id))

    assert expected in message.body


def test_an_order_frozen_before_indonesian_prints_the_same_words(user):
    """An old snapshot (English names, an Indonesian order) prints Indonesian; a code this
    version does not know prints the name it was frozen with."""
    invoice = placed_in("id", user)
    invoice.snapshot["charges"][0]["name"] = "Service charge"
    invoice.snapshot["charges"].append({"code": "delivery", "name": "Delivery", "base": 0, "amount": 0})
    invoice.save(update_fields=["snapshot"])

    assert "Biaya layanan 5% Rp 1.650" in invoice_text(invoice)
    with translation.override("id"):
        assert charge_name({"code": "delivery", "name": "Delivery"}) == "Delivery"
        assert charge_name({"code": "tax", "name": "PBJT"}) == "PBJT"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", "Biaya layanan 5% Rp 1.650; PB1 10% Rp 3.465; Kemasan Rp 2.000; Pembulatan -Rp 15"),
        ("en", "Service charge 5% Rp 1.650; PB1 10% Rp 3.465; Packaging Rp 2.000; Rounding -Rp 15"),
    ],
)
def test_the_admin_names_the_charges_in_the_staff_language(user, language, expected):
    """The admin speaks its reader's language (UserLanguageMiddleware), whatever the order's."""
    order = placed_in("en" if language == "id" else "id", user).order

    with translation.override(language):
        assert OrderAdmin.charges_display(None, order) == expected
