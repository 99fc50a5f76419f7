"""Cancelling an order cancels its open attempt at the gateway (issue 17, item 7), after the
order's transaction commits, through the real midtransclient against the project's Midtrans
test server. Midtrans's Cancel Transaction reference
(https://docs.midtrans.com/reference/cancel-transaction): a pending transaction (or a card
capture not yet settled) can be cancelled; anything else is 412 "Merchant cannot modify the
status of the transaction"; a Snap order nobody started is unknown (404)."""

from datetime import timedelta

import pytest

from orders import services as order_services
from orders.models import Order
from payments.exceptions import PaymentGatewayUnavailable
from payments.models import MockTransaction, Payment
from payments.services.opening import order_attempts_cancel, payment_open
from payments.tasks import cancel_at_gateway

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture
def pending(midtrans, order) -> Payment:
    """An attempt whose shopper picked a BCA VA: Midtrans knows it as pending."""
    payment = payment_open(order=order)
    midtrans.set_status(payment.gateway_order_id, "pending", gross_amount="30000.00", fraud_status=None)
    return payment


def test_a_shopper_cancel_cancels_the_attempt_at_the_gateway_after_commit(
    auth_client, midtrans, order, pending, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = auth_client.post(f"{ORDERS}{order.number}/cancel/", {}, format="json")
        assert response.status_code == 200, response.content
        assert midtrans.requests_to("/cancel") == []  # not inside the order's transaction
    for callback in callbacks:
        callback()

    [request] = midtrans.requests_to("/cancel")
    assert request.path == f"/v2/{pending.gateway_order_id}/cancel"
    pending.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, pending.status) == ("cancelled", "cancelled")
    assert midtrans.status_of(pending.gateway_order_id)["transaction_status"] == "cancel"
    event = order.events.filter(type="payment_updated").last()
    assert (event.data["source"], event.data["to"]) == ("order_closed", "cancelled")


def test_a_staff_cancel_and_an_expiry_cancel_at_the_gateway_too(
    staff_client, midtrans, order, pending, user, product, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{ORDERS}{order.number}/status/", {"status": "cancelled"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert len(midtrans.requests_to("/cancel")) == 1

    from orders.tests.factories import place_order

    other = place_order(user=user, items=[(product, 1)])
    attempt = payment_open(order=other)
    midtrans.set_status(attempt.gateway_order_id, "pending", gross_amount="10000.00", fraud_status=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert order_services.order_expire(order_id=other.pk, now=other.expires_at + timedelta(seconds=1))
    assert [r.path for r in midtrans.requests_to("/cancel")][-1] == f"/v2/{attempt.gateway_order_id}/cancel"
    attempt.refresh_from_db()
    assert attempt.status == "cancelled"


def test_the_gateway_down_never_blocks_the_cancel(
    auth_client, midtrans, order, pending, django_capture_on_commit_callbacks
):
    midtrans.failures["cancel"] = "drop"
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(f"{ORDERS}{order.number}/cancel/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    pending.refresh_from_db()
    assert pending.status == "pending"  # the worker retries it
    with pytest.raises(PaymentGatewayUnavailable):
        order_attempts_cancel(order_id=order.pk)


def test_the_worker_retries_a_failed_gateway_cancel(midtrans, order, pending, settings):
    """Run as a worker runs it (Celery's eager apply re-runs the task on each retry)."""
    order_services.order_cancel(order=order, actor=order_services.SYSTEM)
    midtrans.failures["cancel"] = "drop"
    result = cancel_at_gateway.apply(args=[order.pk])
    assert isinstance(result.result, PaymentGatewayUnavailable)
    assert len(midtrans.requests_to("/cancel")) == cancel_at_gateway.max_retries + 1 == 9

    del midtrans.failures["cancel"]
    assert cancel_at_gateway.apply(args=[order.pk]).result == 1
    pending.refresh_from_db()
    assert pending.status == "cancelled"


def test_a_transaction_the_gateway_never_heard_of_or_that_moved_on_is_left_alone(midtrans, order):
    payment = payment_open(order=order)  # nobody picked a payment method: 404 at Midtrans
    order_services.order_cancel(order=order, actor=order_services.SYSTEM)
    assert order_attempts_cancel(order_id=order.pk) == 0
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    assert order_attempts_cancel(order_id=order.pk) == 0  # 412: the settlement is the webhook's
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert [r.path for r in midtrans.requests_to("/cancel")] == [f"/v2/{payment.gateway_order_id}/cancel"] * 2


def test_an_order_without_an_open_attempt_asks_nothing(
    auth_client, midtrans, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.post(f"{ORDERS}{order.number}/cancel/", {}, format="json").status_code == 200
    assert midtrans.seen == []


def test_the_mock_gateway_cancels_its_transaction(
    auth_client, mock_gateway, order, django_capture_on_commit_callbacks
):
    payment = payment_open(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.post(f"{ORDERS}{order.number}/cancel/", {}, format="json").status_code == 200
    assert (
        MockTransaction.objects.get(gateway_order_id=payment.gateway_order_id).transaction_status == "cancel"
    )
    assert Payment.objects.get(pk=payment.pk).status == "cancelled"
    assert Order.objects.get(pk=order.pk).status == "cancelled"
