"""Post-settlement races with real threads, each on its own database connection, against
PostgreSQL and the project's Midtrans test server: a void and a settlement of one card
capture delivered at once, and a shopper's cancel racing the settlement. Whatever the
interleaving, the attempt moves once, the order once, and the credit notes add up to what
went back."""

import json
from collections import Counter

import pytest
from django.test import Client

from catalog.models import Product
from conftest import run_at_once
from invoices.models import Invoice
from orders import services as order_services
from orders.exceptions import InvalidTransition
from orders.models import OrderEvent
from payments.models import Payment
from payments.services.opening import payment_open
from payments.tests.conftest import WEBHOOK, deliver, notification

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def delivery(raw: str):
    def task():
        response = Client().post(WEBHOOK, data=raw, content_type="application/json")
        return response.status_code, response.json()["outcome"]

    return task


def moves_to(order, status: str) -> int:
    return OrderEvent.objects.filter(order=order, type="status_changed", to_status=status).count()


@pytest.mark.parametrize("verify", [True, False], ids=["status-api", "body-only"])
def test_a_void_and_a_settlement_of_one_capture_at_once(api_client, midtrans, settings, order, verify):
    payment = payment_open(order=order)
    assert deliver(api_client, midtrans, notification("doc_card_capture_accept", payment=payment)).json() == {
        "status": "ok",
        "outcome": "applied",
    }
    settings.MIDTRANS_VERIFY_STATUS = verify
    tid = midtrans.status_of(payment.gateway_order_id)["transaction_id"]
    void = notification("doc_card_cancel", payment=payment, transaction_id=tid)
    settlement = notification(
        "doc_card_capture_accept", payment=payment, transaction_id=tid, transaction_status="settlement"
    )
    midtrans.set_status(
        payment.gateway_order_id, "cancel", gross_amount="30000.00", payment_type="credit_card"
    )

    results = run_at_once([delivery(json.dumps(void)), delivery(json.dumps(settlement))] * 3)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(outcome for _, outcome in results)["applied"] == 1
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount, order.status) == ("cancelled", 30_000, "refunded")
    assert moves_to(order, "refunded") == 1
    invoice = Invoice.objects.get(order=order)
    assert list(invoice.credit_notes.values_list("amount", flat=True)) == [30_000]


@pytest.mark.parametrize("round_", range(3))
def test_a_cancel_racing_a_settlement_ends_paid_once(midtrans, order, product, round_):
    """Cancelled first: the settlement that follows takes the stock again and pays it;
    settled first: the cancel is refused. Either way the order is paid once."""
    payment = payment_open(order=order)
    body = notification("doc_gopay_settlement", payment=payment)
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="gopay")

    def cancel():
        try:
            order_services.order_cancel(order=order, actor=order_services.Actor.of(order.user))
        except InvalidTransition:
            return "refused"
        return "cancelled"

    results = run_at_once([delivery(json.dumps(body)), cancel])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == (200, "applied")
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status, payment.needs_refund) == ("paid", "settled", False)
    assert moves_to(order, "paid") == 1
    assert moves_to(order, "cancelled") == (1 if results[1] == "cancelled" else 0)
    assert Product.objects.get(pk=product.pk).stock == 7
    assert Payment.objects.filter(order=order).count() == 1
