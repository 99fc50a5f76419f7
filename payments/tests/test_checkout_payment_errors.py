"""Checkout never hides a placed order behind an error (issue 17, item 11): whatever goes
wrong once the order's transaction has committed, the answer is 201 with the order,
`payment: null` and `payment_error`. Over HTTP, with Midtrans (the project's test server,
through the real midtransclient) as the gateway."""

import pytest

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders.models import Order
from payments.selectors import PAYMENT_ERROR_TEXT

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture
def nasi(auth_client):
    product = ProductFactory(slug="nasi", price=10_000, stock=10)
    assert auth_client.post("/api/v1/cart/items/", {"product": "nasi", "quantity": 3}).status_code == 201
    return product


def assert_placed_without_payment(response, product) -> dict:
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(number=body["number"])
    assert (body["status"], body["total"], body["payment"]) == ("pending_payment", 30_000, None)
    assert order.status == "pending_payment"
    assert Product.objects.get(pk=product.pk).stock == 7  # the order holds its stock
    return body


def test_a_payment_window_shorter_than_a_minute_still_answers_the_order(
    auth_client, midtrans, nasi, settings
):
    settings.ORDER_PAYMENT_TTL_MINUTES = 1  # under Snap's one-minute minimum once time has passed
    response = auth_client.post(ORDERS, {}, format="json")
    body = assert_placed_without_payment(response, nasi)
    assert body["payment_error"] == (
        "The payment could not be opened: The order's payment window has closed. The order is kept "
        f"until it expires: POST /api/v1/orders/{body['number']}/pay/ tries again."
    )
    assert midtrans.requests_to("/snap/") == []


def test_the_gateway_down_answers_the_order_with_payment_error(auth_client, midtrans, nasi):
    midtrans.failures["snap"] = "drop"
    body = assert_placed_without_payment(auth_client.post(ORDERS, {}, format="json"), nasi)
    assert body["payment_error"] == PAYMENT_ERROR_TEXT.format(number=body["number"])


def test_an_unexpected_error_answers_the_order_and_is_replayed(auth_client, midtrans, nasi, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    # Checkout asks the gateway for the attempt it reserved with the order.
    monkeypatch.setattr("orders.api.checkout.payment_open_reserved", broken)
    response = auth_client.post(ORDERS, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    body = assert_placed_without_payment(response, nasi)
    assert body["payment_error"].startswith("The payment could not be opened: An unexpected error.")

    replay = auth_client.post(ORDERS, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (replay.status_code, replay.json(), replay.headers["Idempotent-Replayed"]) == (201, body, "true")
    assert Order.objects.count() == 1
