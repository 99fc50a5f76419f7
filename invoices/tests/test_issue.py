"""Issuing invoices: numbers, snapshot, idempotency, what is refused, and that nothing the
menu or the customer does later changes an issued invoice."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.services import user_delete
from catalog.models import Product, ProductPrice
from catalog.tests.factories import BundleFactory, ProductFactory
from invoices.exceptions import OrderNotPaid
from invoices.models import Invoice, InvoiceSequence
from invoices.services import invoice_issue, invoice_render_pdf, shop_iso
from invoices.tests.factories import invoiced_order, pay, pdf_text
from orders import services as order_services
from orders.models import OrderEvent, OrderStatus
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def menu():
    rice = ProductFactory(name="Nasi Goreng Spesial", sku="RIC-001", price=25_000, stock=100)
    tea = ProductFactory(name="Es Teh Manis", sku="DRK-001", price=5_000, stock=100)
    combo = BundleFactory(name="Paket Hemat", sku="BUN-001", components=[(rice, 1), (tea, 2)], price=30_000)
    return rice, tea, combo


def test_issue_numbers_snapshots_and_logs(settings, user, menu):
    settings.SHOP_NAME = "Warung Foodies"
    settings.SHOP_ADDRESS = "Jl. Sabang 10, Jakarta"
    settings.SHOP_TAX_ID = "01.234.567.8-901.000"
    rice, _, combo = menu
    order = place_order(user=user, items=[(rice, 2), (combo, 1)])
    now = timezone.now()

    invoice = pay(order, now=now, payment_method="bank_transfer", transaction_id="TX-1", gateway="midtrans")

    year = now.astimezone(JAKARTA).year
    assert (invoice.number, invoice.year, invoice.serial) == (f"INV-{year}-000001", year, 1)
    assert (invoice.order_id, invoice.total, invoice.currency) == (order.pk, 80_000, "IDR")
    assert (invoice.status, invoice.issued_at, invoice.pdf.name) == ("issued", now, "")
    assert invoice.snapshot == {
        "version": 1,
        "language": "en",
        "issued_at": shop_iso(now),
        "seller": {
            "name": "Warung Foodies",
            "address": "Jl. Sabang 10, Jakarta",
            "tax_id": "01.234.567.8-901.000",
            "tax_id_label": "NPWP",  # SHOP_TAX_ID: no registration number in the shop settings
        },
        "buyer": {"name": user.name, "email": user.email, "phone": user.phone},
        "order": {"number": order.number, "placed_at": shop_iso(order.placed_at), "paid_at": shop_iso(now)},
        "lines": [
            {
                "name": "Nasi Goreng Spesial",
                "sku": "RIC-001",
                "kind": "single",
                "price_version": 1,
                "quantity": 2,
                "unit_price": 25_000,
                "line_total": 50_000,
                "components": [],
                "options": [],
                "note": "",
            },
            {
                "name": "Paket Hemat",
                "sku": "BUN-001",
                "kind": "bundle",
                "price_version": 1,
                "quantity": 1,
                "unit_price": 30_000,
                "line_total": 30_000,
                "components": [
                    {"name": "Nasi Goreng Spesial", "sku": "RIC-001", "quantity": 1},
                    {"name": "Es Teh Manis", "sku": "DRK-001", "quantity": 2},
                ],
                "options": [],
                "note": "",
            },
        ],
        "subtotal": 80_000,
        # A fresh database charges nothing (orders/shop_settings.py).
        "discount": 0,
        "charges": [],
        "tax": 0,
        "total": 80_000,
        "prices_include_tax": False,
        "currency": "IDR",
        "payment": {
            "method": "bank_transfer",
            "method_label": "Bank transfer (virtual account)",
            "gateway": "midtrans",
            "gateway_label": "Midtrans",
            "transaction_id": "TX-1",
            "paid_at": shop_iso(now),
        },
    }
    assert shop_iso(now).endswith("+07:00")
    event = order.events.get(type=OrderEvent.Type.INVOICE_ISSUED)
    assert (event.actor, event.data, event.created_at) == (
        "system",
        {"number": invoice.number, "total": 80_000},
        now,
    )
    assert InvoiceSequence.objects.get(kind="invoice", year=year).last_number == 1


def test_issuing_twice_returns_the_same_invoice(user, menu):
    invoice = invoiced_order(user=user, items=[(menu[0], 1)])
    events = OrderEvent.objects.count()

    again = invoice_issue(order=invoice.order, payment_method="gopay", transaction_id="TX-other")

    assert again.pk == invoice.pk
    assert again.snapshot["payment"]["transaction_id"] == invoice.snapshot["payment"]["transaction_id"]
    assert Invoice.objects.count() == 1
    assert OrderEvent.objects.count() == events
    assert InvoiceSequence.objects.get().last_number == 1


def test_numbers_follow_issue_order(user, menu):
    invoices = [invoiced_order(user=user, items=[(menu[0], 1)]) for _ in range(3)]
    year = timezone.now().astimezone(JAKARTA).year
    assert [i.number for i in invoices] == [f"INV-{year}-00000{n}" for n in (1, 2, 3)]
    assert invoices[0].issued_at <= invoices[1].issued_at <= invoices[2].issued_at
    assert list(Invoice.objects.values_list("number", flat=True)) == [i.number for i in reversed(invoices)]


def test_year_rolls_over_at_midnight_in_jakarta(user, menu):
    last_of_2026 = datetime(2026, 12, 31, 23, 59, 59, tzinfo=JAKARTA)
    first_of_2027 = datetime(2026, 12, 31, 17, 0, 0, tzinfo=UTC)  # 00:00 on 1 January in Jakarta
    numbers = [
        invoiced_order(user=user, items=[(menu[0], 1)], now=moment).number
        for moment in (last_of_2026, last_of_2026, first_of_2027, first_of_2027 + timedelta(days=200))
    ]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2027-000001", "INV-2027-000002"]
    assert set(InvoiceSequence.objects.values_list("kind", "year", "last_number")) == {
        ("invoice", 2026, 2),
        ("invoice", 2027, 2),
    }


def test_a_rolled_back_payment_gives_its_number_back(user, menu):
    order = place_order(user=user, items=[(menu[0], 1)])

    def webhook_that_fails_after_issuing() -> None:
        with transaction.atomic():
            locked = order_services.order_lock(order_id=order.pk)
            order_services.order_transition(
                order=locked, to_status=OrderStatus.PAID, actor=order_services.GATEWAY
            )
            assert invoice_issue(order=locked, payment_method="qris", transaction_id="TX").serial == 1
            raise RuntimeError("the webhook failed after issuing")

    with pytest.raises(RuntimeError):
        webhook_that_fails_after_issuing()
    assert not Invoice.objects.exists()

    assert pay(order).serial == 1  # the retry gets the same number: no gap


@pytest.mark.parametrize("status", ["pending_payment", "cancelled", "expired", "refunded"])
def test_an_unpaid_order_gets_no_invoice(user, menu, status):
    order = place_order(user=user, items=[(menu[0], 1)])
    type(order).objects.filter(pk=order.pk).update(status=status)
    events = OrderEvent.objects.count()

    with pytest.raises(OrderNotPaid) as error:
        invoice_issue(order=order, payment_method="qris", transaction_id="TX")

    assert (error.value.code, error.value.status, error.value.extra["status"]) == (
        "order_not_paid",
        409,
        status,
    )
    assert not Invoice.objects.exists()
    assert not InvoiceSequence.objects.exists()
    assert OrderEvent.objects.count() == events


def test_paid_at_defaults_to_the_orders_and_unknown_methods_read_well(user, menu):
    invoice = invoiced_order(user=user, items=[(menu[0], 1)], payment_method="other_wallet", gateway="")
    order = invoice.order
    assert invoice.snapshot["payment"]["paid_at"] == shop_iso(order.paid_at)
    assert invoice.snapshot["payment"]["method_label"] == "Other wallet"
    assert invoice.snapshot["payment"]["gateway_label"] == ""


def test_the_invoice_does_not_change_when_the_menu_prices_or_customer_do(settings, user, menu):
    rice, tea, combo = menu
    lonely = ProductFactory(name="Kerupuk Udang", sku="SNK-001", price=3_000)
    invoice = invoiced_order(user=user, items=[(rice, 1), (combo, 2), (lonely, 3)])
    snapshot = invoice.snapshot
    name, email = user.name, user.email

    Product.objects.filter(pk=rice.pk).update(name="Nasi Goreng Biasa")
    Product.objects.filter(pk=tea.pk).update(name="Teh Tawar")
    ProductPrice.objects.create(product=rice, version=2, amount=99_000, valid_from=timezone.now())
    lonely.delete()
    user_delete(user=user)
    settings.SHOP_NAME = "Renamed Shop"

    invoice = Invoice.objects.get(pk=invoice.pk)
    invoice_render_pdf(invoice=invoice)
    assert invoice.snapshot == snapshot
    assert invoice.order.user is None
    with invoice.pdf.open("rb") as pdf:
        text = pdf_text(pdf.read())
    for printed in (
        "Nasi Goreng Spesial",
        "Es Teh Manis",
        "Kerupuk Udang",
        name,
        email,
        "Foodies",
        "Rp 25.000",
    ):
        assert printed in text
    for gone in ("Nasi Goreng Biasa", "Teh Tawar", "Renamed Shop", "Rp 99.000"):
        assert gone not in text
