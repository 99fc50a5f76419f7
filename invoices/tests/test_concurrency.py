"""Races with real threads, each on its own database connection, against PostgreSQL:
the counter row lock keeps invoice numbers gapless and unique, the order row lock keeps
issuing idempotent, the invoice row lock keeps credits within the total."""

from collections import Counter

import pytest
from django.db import transaction

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from conftest import run_at_once
from invoices.exceptions import CreditExceedsInvoice
from invoices.models import CreditNote, Invoice, InvoiceSequence
from invoices.services import credit_note_issue, invoice_issue, invoice_render_pdf
from invoices.tests.factories import invoiced_order, pay
from orders import services as order_services
from orders.models import OrderEvent, OrderStatus
from orders.tests.factories import place_order

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_twenty_orders_paid_at_once_get_twenty_consecutive_numbers():
    product = ProductFactory(stock=100)
    orders = [place_order(user=UserFactory(), items=[(product, 1)]) for _ in range(20)]

    results = run_at_once([lambda order=order: pay(order) for order in orders])

    assert not [r for r in results if isinstance(r, Exception)], results
    invoices = list(Invoice.objects.order_by("serial"))
    assert [i.serial for i in invoices] == list(range(1, 21))
    assert len({i.number for i in invoices}) == 20
    assert {i.order_id for i in invoices} == {o.pk for o in orders}
    # Issue order: a higher number was never issued before a lower one.
    assert [i.issued_at for i in invoices] == sorted(i.issued_at for i in invoices)
    assert InvoiceSequence.objects.get(kind="invoice").last_number == 20


def test_issuing_one_order_at_once_gives_one_invoice():
    order = place_order(user=UserFactory(), items=[(ProductFactory(), 1)])
    with transaction.atomic():
        locked = order_services.order_lock(order_id=order.pk)
        order_services.order_transition(
            order=locked, to_status=OrderStatus.PAID, actor=order_services.GATEWAY
        )

    def issue(n: int):
        return invoice_issue(order=order, payment_method="qris", transaction_id=f"TX-{n}").number

    results = run_at_once([lambda n=n: issue(n) for n in range(6)])

    assert Counter(results) == {Invoice.objects.get().number: 6}
    assert InvoiceSequence.objects.get().last_number == 1
    assert OrderEvent.objects.filter(type=OrderEvent.Type.INVOICE_ISSUED).count() == 1


def test_concurrent_refunds_never_credit_more_than_the_total():
    invoice = invoiced_order(user=UserFactory(), items=[(ProductFactory(price=10_000), 1)])

    results = run_at_once([lambda: credit_note_issue(invoice=invoice, amount=4_000) for _ in range(5)])

    assert Counter(type(r) for r in results) == {CreditNote: 2, CreditExceedsInvoice: 3}
    assert sorted(CreditNote.objects.values_list("serial", flat=True)) == [1, 2]
    assert Invoice.objects.get().status == "partially_credited"
    assert InvoiceSequence.objects.get(kind="credit_note").last_number == 2


def test_concurrent_renders_leave_one_consistent_file(settings, private_root):
    invoice = invoiced_order(user=UserFactory(), items=[(ProductFactory(), 2)])

    results = run_at_once(
        [lambda: invoice_render_pdf(invoice=Invoice.objects.get(pk=invoice.pk)).pdf.name for _ in range(4)]
    )

    stored = Invoice.objects.get(pk=invoice.pk)
    assert set(results) == {stored.pdf.name}
    files = sorted(private_root.rglob("*.pdf"))
    assert files == [private_root / stored.pdf.name]
    assert files[0].stat().st_size == stored.pdf_size
