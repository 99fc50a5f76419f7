"""The mock gateway: a shopper pays on its page (a real CSRF-protected form) or through its
JSON endpoint, and its signed Midtrans-shaped notification goes through the real webhook
handler, with the same outcomes as Midtrans's."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from orders.models import Order
from payments.gateways import GatewayError, get_gateway
from payments.gateways.base import signature_matches
from payments.models import MockTransaction, Payment, PaymentNotification
from payments.services.opening import payment_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(mock_gateway, order) -> Payment:
    return payment_open(order=order)


def page_url(payment: Payment) -> str:
    return f"/payments/mock/{payment.token}/"


def api_url(payment: Payment) -> str:
    return f"/api/v1/payments/mock/{payment.token}/"


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def press(client: Client, payment: Payment, action: str, payment_type: str = "bank_transfer"):
    """Load the page, then press a button as a browser would (with the form's CSRF token)."""
    page = client.get(page_url(payment))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(
        page_url(payment),
        {"csrfmiddlewaretoken": token, "transaction_status": action, "payment_type": payment_type},
    )


def test_opening_a_mock_payment(payment, order, settings):
    tx = MockTransaction.objects.get()
    assert (payment.gateway, payment.gateway_order_id, payment.status) == (
        "mock",
        f"{order.number}-1",
        "pending",
    )
    assert payment.redirect_url == f"http://testserver/payments/mock/{payment.token}/"
    assert (tx.gateway_order_id, tx.token, tx.gross_amount, tx.transaction_status) == (
        payment.gateway_order_id,
        payment.token,
        30_000,
        "pending",
    )
    assert tx.expires_at == payment.expires_at == order.expires_at


def test_the_page_shows_the_order_and_its_buttons(client, payment, order):
    response = client.get(page_url(payment))
    assert response.status_code == 200
    html = response.content.decode()
    assert order.number in html
    assert "Nasi Goreng" in html
    assert "Rp 30000" in html
    assert 'name="csrfmiddlewaretoken"' in html
    buttons = re.findall(r'<button type="submit" name="transaction_status" value="(\w+)">', html)
    assert buttons == ["settlement", "deny", "cancel", "expire", "challenge"]
    assert '<span class="status" id="transaction-status">pending</span>' in html


@pytest.mark.parametrize(
    ("action", "payment_type", "payment_status", "order_status", "mock_status"),
    [
        ("settlement", "gopay", "settled", "paid", "settlement"),
        ("settlement", "credit_card", "settled", "paid", "capture"),
        ("deny", "credit_card", "failed", "pending_payment", "deny"),
        ("cancel", "bank_transfer", "cancelled", "pending_payment", "cancel"),
        ("expire", "qris", "expired", "pending_payment", "expire"),
        ("challenge", "credit_card", "challenge", "pending_payment", "capture"),
    ],
)
def test_each_button_drives_the_webhook(
    payment, order, action, payment_type, payment_status, order_status, mock_status
):
    client = csrf_client()
    response = press(client, payment, action, payment_type)

    assert (response.status_code, response["Location"]) == (302, page_url(payment))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.payment_type, order.status) == (
        payment_status,
        payment_type,
        order_status,
    )
    assert MockTransaction.objects.get().transaction_status == mock_status
    [note] = PaymentNotification.objects.all()
    assert (note.outcome, note.http_status, note.signature_valid, note.payment) == (
        "applied",
        200,
        True,
        payment,
    )
    assert note.payload["transaction_status"] == mock_status
    assert note.payload["gross_amount"] == "30000.00"
    after = client.get(page_url(payment)).content.decode()
    assert "The shop answered 200 (applied)." in after
    assert f'<span class="status" id="transaction-status">{mock_status}</span>' in after
    assert (f'<span class="status" id="order-status">{order.get_status_display()}</span>') in after
    if action != "deny":  # a denied card may try again; anything else is closed
        assert "<button" not in after


def test_a_button_without_the_csrf_token_is_refused(payment, order):
    client = Client(enforce_csrf_checks=True)
    client.get(page_url(payment))
    response = client.post(page_url(payment), {"transaction_status": "settlement"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.status, PaymentNotification.objects.count()) == ("pending_payment", 0)


def test_a_closed_payment_cannot_be_pressed_again(payment, order):
    client = csrf_client()
    press(client, payment, "cancel")
    page = client.get(page_url(payment))
    assert "This payment is closed." in page.content.decode()
    token = client.cookies["csrftoken"].value
    client.post(page_url(payment), {"csrfmiddlewaretoken": token, "transaction_status": "settlement"})
    assert "This payment is no longer open." in client.get(page_url(payment)).content.decode()
    payment.refresh_from_db()
    assert payment.status == "cancelled"
    assert PaymentNotification.objects.count() == 1


def test_denied_then_paid(payment, order):
    client = csrf_client()
    press(client, payment, "deny", "credit_card")
    press(client, payment, "settlement", "credit_card")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("settled", "paid")


def test_the_json_endpoint(api_client, payment, order):
    response = api_client.post(api_url(payment), {"transaction_status": "settlement", "payment_type": "qris"})

    assert (response.status_code, response.json()) == (
        200,
        {
            "order_id": payment.gateway_order_id,
            "transaction_status": "settlement",
            "status": "ok",
            "outcome": "applied",
        },
    )
    order.refresh_from_db()
    assert order.status == "paid"
    again = api_client.post(api_url(payment), {"transaction_status": "settlement"})
    assert (again.status_code, again.json()["code"]) == (409, "mock_transaction_closed")
    assert PaymentNotification.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"transaction_status": "capture"}, {"transaction_status": "settlement", "payment_type": "cash"}],
)
def test_the_json_endpoint_refuses_bad_input(api_client, payment, body):
    response = api_client.post(api_url(payment), body, format="json")
    assert response.status_code == 400
    assert MockTransaction.objects.get().transaction_status == "pending"


def test_an_unknown_token_is_a_json_404(api_client, client, mock_gateway):
    response = api_client.post("/api/v1/payments/mock/nope/", {"transaction_status": "settlement"})
    assert (response.status_code, response.json()) == (404, {"detail": "Not found.", "code": "not_found"})
    assert client.get("/payments/mock/nope/").status_code == 404


def test_the_status_lookup_answers_like_midtrans(payment, settings):
    gateway = get_gateway()
    with pytest.raises(GatewayError) as caught:  # nobody picked a payment method yet
        gateway.get_status(gateway_order_id=payment.gateway_order_id)
    assert caught.value.not_found
    csrf = csrf_client()
    press(csrf, payment, "settlement", "echannel")

    status = gateway.get_status(gateway_order_id=payment.gateway_order_id)

    assert {
        k: status[k]
        for k in ("status_code", "order_id", "gross_amount", "transaction_status", "payment_type")
    } == {
        "status_code": "200",
        "order_id": payment.gateway_order_id,
        "gross_amount": "30000.00",
        "transaction_status": "settlement",
        "payment_type": "echannel",
    }
    assert signature_matches(status, server_key=settings.MOCK_GATEWAY_KEY)
    assert not signature_matches(status, server_key="another")


def test_the_mock_refuses_to_run_in_production(settings, payment, api_client, client):
    settings.MIDTRANS_IS_PRODUCTION = True
    with pytest.raises(ImproperlyConfigured):
        get_gateway()
    assert client.get(page_url(payment)).status_code == 404
    assert api_client.post(api_url(payment), {"transaction_status": "settlement"}).status_code == 404
    assert Order.objects.get().status == "pending_payment"


def test_the_mock_pages_do_not_exist_while_midtrans_is_the_gateway(settings, payment, api_client, client):
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = "SB-Mid-server-x"
    assert client.get(page_url(payment)).status_code == 404
    assert api_client.post(api_url(payment), {"transaction_status": "settlement"}).status_code == 404


def test_the_finish_page(client):
    response = client.get("/payments/finish/?order_id=FD-1-1&status_code=200&transaction_status=settlement")
    assert response.status_code == 200
    assert "<code>FD-1-1</code>" in response.content.decode()


def test_the_page_refuses_an_unknown_button(payment, order):
    client = csrf_client()
    response = press(client, payment, "capture")
    assert response.status_code == 302
    assert "Choose one of the buttons." in client.get(page_url(payment)).content.decode()
    assert (MockTransaction.objects.get().transaction_status, PaymentNotification.objects.count()) == (
        "pending",
        0,
    )


def test_the_page_speaks_the_browsers_language(client, payment, order):
    html = client.get(page_url(payment), HTTP_ACCEPT_LANGUAGE="id").content.decode()

    assert '<html lang="id">' in html
    assert f"Pesanan {order.number}" in html
    assert "Menunggu pembayaran" in html  # the order's status
    assert ">Bayar</button>" in html
    assert "no money moves" not in html
