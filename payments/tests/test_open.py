"""Opening payment attempts: `payment_open` and `POST orders/{number}/pay/`, the order's
payment block, and a gateway that fails or times out (the order stands, `pay` retries)."""

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from conftest import bearer_client
from orders import services as order_services
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from payments.exceptions import PaymentGatewayError, PaymentGatewayUnavailable, PaymentOpening
from payments.models import Payment
from payments.selectors import PAYMENT_ERROR_TEXT, payment_current, payment_error
from payments.services.opening import payment_open
from payments.tests.conftest import TEST_SERVER_KEY, deliver, notification

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def pay_url(order: Order) -> str:
    return f"{ORDERS}{order.number}/pay/"


def test_pay_opens_an_attempt_and_shows_it(auth_client, midtrans, order):
    response = auth_client.post(pay_url(order))

    assert response.status_code == 200, response.content
    body = response.json()
    payment = Payment.objects.get()
    assert body["payment"] == {
        "id": payment.pk,
        "gateway": "midtrans",
        "gateway_order_id": f"{order.number}-1",
        "status": "pending",
        "amount": 30_000,
        "token": payment.token,
        "redirect_url": f"{midtrans.base_url}/snap/v2/vtweb/{payment.token}",
        "expires_at": timezone.localtime(payment.expires_at).isoformat(),
    }
    assert body["payment_error"] is None
    assert body["payment"]["expires_at"].endswith("+07:00")
    assert payment.expires_at <= order.expires_at
    assert (payment.attempt, payment.open_error, payment.created_at <= timezone.now()) == (1, "", True)
    opened = body["events"][-1]
    assert (opened["type"], opened["actor"], opened["data"]) == (
        "payment_opened",
        "system",
        {"gateway": "midtrans", "gateway_order_id": f"{order.number}-1", "attempt": 1, "amount": 30_000},
    )
    assert auth_client.get(f"{ORDERS}{order.number}/").json()["payment"] == body["payment"]


def test_pay_again_returns_the_same_attempt(auth_client, midtrans, order):
    first = auth_client.post(pay_url(order)).json()["payment"]
    second = auth_client.post(pay_url(order)).json()["payment"]
    assert first == second
    assert len(midtrans.requests_to("/snap/")) == 1
    assert Payment.objects.count() == 1


def test_the_payment_block_hides_raw_answers(auth_client, midtrans, order):
    payment = payment_open(order=order)
    deliver(
        auth_client,
        midtrans,
        notification("doc_shopeepay_pending", payment=payment, transaction_status="expire"),
    )
    block = auth_client.get(f"{ORDERS}{order.number}/").json()["payment"]
    assert set(block) == {
        "id",
        "gateway",
        "gateway_order_id",
        "status",
        "amount",
        "token",
        "redirect_url",
        "expires_at",
    }
    assert block["status"] == "expired"


@pytest.mark.parametrize(
    ("failure", "status_code", "open_error"),
    [
        ("timeout", 503, "Midtrans did not answer in time."),
        ("drop", 503, "Midtrans could not be reached (ConnectionError)."),
        ((401, "snap_401_bad_server_key"), 502, "Midtrans refused the request (401): Access denied"),
        ("html", 503, "Midtrans answered with something that is not JSON."),
    ],
)
def test_a_gateway_failure_keeps_the_order_and_pay_retries(
    auth_client, midtrans, order, product, failure, status_code, open_error, caplog
):
    midtrans.failures["snap"] = failure
    caplog.set_level(logging.DEBUG)

    response = auth_client.post(pay_url(order))

    assert response.status_code == status_code
    assert response.json() == {
        "detail": PAYMENT_ERROR_TEXT.format(number=order.number),
        "code": "payment_gateway_error",
        "order": order.number,
    }
    assert TEST_SERVER_KEY not in caplog.text
    order.refresh_from_db()
    assert (order.status, Product.objects.get(pk=product.pk).stock) == ("pending_payment", 7)
    failed = Payment.objects.get()
    assert (failed.status, failed.token, failed.open_error.startswith(open_error)) == ("failed", "", True)
    shown = auth_client.get(f"{ORDERS}{order.number}/").json()
    assert (shown["payment"], shown["payment_error"]) == (
        None,
        PAYMENT_ERROR_TEXT.format(number=order.number),
    )
    assert shown["events"][-1]["data"] == {
        "gateway_order_id": f"{order.number}-1",
        "from": "pending",
        "to": "failed",
        "source": "open",
        "reason": "The gateway could not open the payment.",
    }

    del midtrans.failures["snap"]
    retried = auth_client.post(pay_url(order))

    assert retried.status_code == 200
    assert (retried.json()["payment"]["gateway_order_id"], retried.json()["payment_error"]) == (
        f"{order.number}-2",
        None,
    )


@pytest.mark.parametrize(
    ("failure", "error_class", "status_code"),
    [
        ("timeout", PaymentGatewayUnavailable, 503),
        ((400, "snap_400_duplicate_order_id_id"), PaymentGatewayError, 502),
    ],
)
def test_payment_open_raises_the_domain_error_and_keeps_the_order(
    midtrans, order, failure, error_class, status_code
):
    midtrans.failures["snap"] = failure
    with pytest.raises(error_class) as caught:
        payment_open(order=order)
    assert (caught.value.status, caught.value.code) == (status_code, "payment_gateway_error")
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert (payment_current(order=order), payment_error(order=order)) == (
        None,
        PAYMENT_ERROR_TEXT.format(number=order.number),
    )


def test_a_cancelled_attempt_leads_to_a_new_one(auth_client, midtrans, order):
    """(A denied card keeps its attempt: test_pay_reuse.py.)"""
    first = payment_open(order=order)
    deliver(auth_client, midtrans, notification("doc_card_cancel", payment=first))
    second = payment_open(order=order)
    assert (second.attempt, second.gateway_order_id) == (2, f"{order.number}-2")
    assert payment_current(order=order) == second
    assert [s.body["transaction_details"]["order_id"] for s in midtrans.requests_to("/snap/")] == [
        f"{order.number}-1",
        f"{order.number}-2",
    ]


def test_a_request_still_opening_is_waited_for_and_a_dead_one_replaced(midtrans, order, settings):
    assert settings.PAYMENT_OPENING_STALE_SECONDS == 120
    reserved = Payment.objects.create(
        order=order,
        attempt=1,
        gateway="midtrans",
        gateway_order_id=f"{order.number}-1",
        amount=30_000,
        expires_at=order.expires_at,
    )
    with pytest.raises(PaymentOpening):
        payment_open(order=order)
    assert (payment_current(order=order), payment_error(order=order)) == (None, None)

    Payment.objects.filter(pk=reserved.pk).update(created_at=timezone.now() - timedelta(seconds=119))
    with pytest.raises(PaymentOpening):  # PAYMENT_OPENING_STALE_SECONDS (120) not yet passed
        payment_open(order=order)
    Payment.objects.filter(pk=reserved.pk).update(created_at=timezone.now() - timedelta(seconds=121))
    payment = payment_open(order=order)
    reserved.refresh_from_db()
    assert (reserved.status, reserved.open_error) == (
        "failed",
        "The request opening this attempt never finished.",
    )
    assert payment.attempt == 2


@pytest.mark.parametrize("how", ["cancel", "pay"])
def test_only_pending_orders_can_be_paid(auth_client, midtrans, order, how):
    if how == "cancel":
        order_services.order_cancel(order=order, actor=order_services.Actor.of(order.user))
    else:
        deliver(
            auth_client, midtrans, notification("doc_gopay_settlement", payment=payment_open(order=order))
        )
    payments = Payment.objects.count()
    response = auth_client.post(pay_url(order))
    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_allowed"
    assert Payment.objects.count() == payments


def test_no_payment_when_the_window_is_about_to_close(auth_client, midtrans, order):
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    response = auth_client.post(pay_url(order))
    assert (response.status_code, response.json()["code"]) == (409, "payment_not_allowed")
    assert (Payment.objects.count(), midtrans.requests_to("/snap/")) == (0, [])


def test_no_new_attempt_while_one_is_challenged(auth_client, midtrans, order):
    payment = payment_open(order=order)
    deliver(
        auth_client,
        midtrans,
        notification("doc_card_capture_accept", payment=payment, fraud_status="challenge"),
    )
    assert auth_client.post(pay_url(order)).status_code == 409
    assert Payment.objects.count() == 1


def test_only_the_owner_pays(midtrans, order, staff_client):
    other = bearer_client(UserFactory())
    assert other.post(pay_url(order)).status_code == 404
    assert staff_client.post(pay_url(order)).status_code == 404  # staff see the order, but do not pay it
    assert bearer_client(order.user).post(pay_url(order)).status_code == 200
    assert Payment.objects.count() == 1


def test_staff_pay_their_own_orders(midtrans, staff_user, staff_client, product):
    own = place_order(user=staff_user, items=[(product, 1)])
    assert staff_client.post(pay_url(own)).status_code == 200


def test_anonymous_cannot_pay(api_client, midtrans, order):
    assert api_client.post(pay_url(order)).status_code == 401
    assert Payment.objects.count() == 0


def test_order_list_query_count_stays_flat_with_payments(
    settings, auth_client, user, midtrans, django_assert_max_num_queries
):
    settings.MAX_UNPAID_ORDERS = 8  # eight orders with their payments still open
    products = ProductFactory.create_batch(3, stock=100)
    for _ in range(8):
        payment_open(order=place_order(user=user, items=[(p, 1) for p in products]))
    with django_assert_max_num_queries(6):
        page = auth_client.get(f"{ORDERS}?page_size=20")
    results = page.json()["results"]
    assert len(results) == 8
    assert all(o["payment"]["status"] == "pending" and o["payment_error"] is None for o in results)
    assert [
        datetime.fromisoformat(o["payment"]["expires_at"]) <= datetime.fromisoformat(o["expires_at"])
        for o in results
    ] == [True] * 8
    assert OrderEvent.objects.filter(type="payment_opened").count() == 8


@pytest.mark.parametrize(("stale", "ok"), [("13", False), ("14", True)])
def test_the_opening_stale_period_must_outlast_the_gateway_timeouts(stale, ok):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MIDTRANS_TIMEOUT_CONNECT": "3",
        "MIDTRANS_TIMEOUT_READ": "10",
        "PAYMENT_OPENING_STALE_SECONDS": stale,
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.PAYMENT_OPENING_STALE_SECONDS)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if ok:
        assert (result.returncode, result.stdout) == (0, "14\n")
    else:
        assert result.returncode == 1
        assert "PAYMENT_OPENING_STALE_SECONDS must exceed" in result.stderr
