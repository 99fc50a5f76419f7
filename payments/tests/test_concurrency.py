"""Races with real threads, each on its own database connection, against PostgreSQL and a
fake Midtrans: however notifications, reconciliation, expiry and `pay` interleave, an
order moves once and a payment is opened once."""

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Product
from conftest import bearer_client, run_at_once
from orders import services as order_services
from orders.models import Order, OrderEvent
from payments.models import Payment, PaymentNotification
from payments.services.opening import payment_open
from payments.services.reconcile import payment_reconcile
from payments.tests.conftest import WEBHOOK, deliver, notification, page_ended

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def delivery(raw: str) -> Callable[[], tuple[int, str]]:
    def task():
        response = Client().post(WEBHOOK, data=raw, content_type="application/json")
        return response.status_code, response.json()["outcome"]

    return task


def paid_events(order: Order) -> int:
    return OrderEvent.objects.filter(order=order, type="status_changed", to_status="paid").count()


def test_concurrent_deliveries_of_one_settlement(midtrans, order, product):
    payment = payment_open(order=order)
    body = notification("doc_bca_va_settlement", payment=payment)
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")

    results = run_at_once([delivery(json.dumps(body)) for _ in range(8)])

    assert Counter(results) == {(200, "applied"): 1, (200, "duplicate"): 7}
    order.refresh_from_db()
    assert (order.status, paid_events(order)) == ("paid", 1)
    assert Product.objects.get(pk=product.pk).stock == 7
    assert PaymentNotification.objects.filter(payment=payment).count() == 8
    assert OrderEvent.objects.filter(order=order, type="payment_updated").count() == 1


def test_notifications_and_reconciliation_racing(midtrans, order):
    payment = payment_open(order=order)
    body = notification("doc_card_capture_accept", payment=payment)
    midtrans.set_status(
        payment.gateway_order_id, "capture", gross_amount="30000.00", payment_type="credit_card"
    )

    results = run_at_once([delivery(json.dumps(body)), lambda: payment_reconcile(payment=payment)] * 3)

    assert not [r for r in results if isinstance(r, Exception)]
    order.refresh_from_db()
    assert (order.status, paid_events(order)) == ("paid", 1)


@pytest.mark.parametrize("round_", range(3))
def test_a_settlement_racing_expiry_pays_the_order_once(midtrans, order, product, round_):
    payment = payment_open(order=order)
    past = timezone.now() - timedelta(seconds=1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    body = notification("doc_gopay_settlement", payment=payment)
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")

    results = run_at_once(
        [delivery(json.dumps(body)), lambda: order_services.order_expire(order_id=order.pk)] * 2
    )

    assert not [r for r in results if isinstance(r, Exception)]
    order.refresh_from_db()
    # Paid either before the expiry (which then does nothing) or after it (taking the stock again).
    assert (order.status, paid_events(order)) == ("paid", 1)
    assert Product.objects.get(pk=product.pk).stock == 7


def test_two_attempts_settling_at_once_pay_once(api_client, midtrans, order):
    first = payment_open(order=order)
    deliver(api_client, midtrans, notification("doc_card_cancel", payment=first, transaction_status="deny"))
    page_ended(first)
    second = payment_open(order=order)
    bodies = [
        notification("doc_card_capture_accept", payment=first),
        notification("doc_bca_va_settlement", payment=second),
    ]
    midtrans.set_status(
        first.gateway_order_id, "capture", gross_amount="30000.00", payment_type="credit_card"
    )
    midtrans.set_status(second.gateway_order_id, "settlement", gross_amount="30000.00")

    results = run_at_once([delivery(json.dumps(b)) for b in bodies])

    assert results == [(200, "applied"), (200, "applied")]
    order.refresh_from_db()
    assert (order.status, paid_events(order)) == ("paid", 1)
    flags = sorted(Payment.objects.filter(order=order).values_list("needs_refund", flat=True))
    assert flags == [False, True]  # one pays, the other is a double payment to refund


def test_concurrent_pay_opens_one_attempt(midtrans, order):
    clients = [bearer_client(order.user) for _ in range(6)]

    def pay(client):
        return lambda: client.post(f"/api/v1/orders/{order.number}/pay/").status_code

    results = run_at_once([pay(client) for client in clients])

    assert set(results) <= {200, 409}
    assert 200 in results
    assert Payment.objects.filter(order=order).count() == 1
    assert len(midtrans.requests_to("/snap/")) == 1
