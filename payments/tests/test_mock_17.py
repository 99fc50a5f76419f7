"""The mock gateway speaks Midtrans's refund, void and review rules (issue 17), so every
path is reachable offline from its page: it refuses to refund a capture (Midtrans's Refund
reference: "please use Cancel API instead") and the payment types Midtrans does not refund,
voids a capture with cancel, and approves or denies only a challenged capture."""

import json

import pytest

from orders.models import Order
from payments.gateways import GatewayError, get_gateway
from payments.models import MockTransaction, Payment
from payments.services.opening import payment_open
from payments.services.webhook import payment_mock_complete

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture
def payment(mock_gateway, order) -> Payment:
    return payment_open(order=order)


def complete(payment: Payment, action: str, payment_type: str | None = None) -> None:
    assert (
        payment_mock_complete(token=payment.token, transaction_status=action, payment_type=payment_type)[0]
        == 200
    )


def mock_status(payment: Payment) -> str:
    return MockTransaction.objects.get(gateway_order_id=payment.gateway_order_id).transaction_status


def test_a_settled_e_wallet_is_refunded_in_part_then_in_full(staff_client, payment, order):
    complete(payment, "settlement", "gopay")
    first = staff_client.post(
        f"{ORDERS}{order.number}/refund/", {"reason": "x", "amount": 10_000}, format="json"
    )
    assert (first.status_code, first.json()["status"], mock_status(payment)) == (
        200,
        "paid",
        "partial_refund",
    )
    rest = staff_client.post(f"{ORDERS}{order.number}/refund/", {"reason": "x"}, format="json")
    assert (rest.status_code, rest.json()["status"], mock_status(payment)) == (200, "refunded", "refund")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)


@pytest.mark.parametrize("payment_type", ["bank_transfer", "echannel", "cstore"])
def test_a_type_midtrans_cannot_refund_is_refused_and_recorded_offline(
    staff_client, payment, order, payment_type
):
    complete(payment, "settlement", payment_type)
    with pytest.raises(GatewayError) as caught:  # the mock itself refuses, as Midtrans does
        get_gateway().refund(gateway_order_id=payment.gateway_order_id, amount=1, refund_key="k", reason="x")
    assert caught.value.status_code == 412

    refused = staff_client.post(f"{ORDERS}{order.number}/refund/", {"reason": "x"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "refund_not_supported")
    offline = staff_client.post(
        f"{ORDERS}{order.number}/refund/",
        {"reason": "x", "method": "offline", "reference": "TRF-1"},
        format="json",
    )
    assert (offline.status_code, offline.json()["status"]) == (200, "refunded")
    assert mock_status(payment) == "settlement"  # the gateway was never asked


def test_a_captured_card_is_voided_with_cancel(staff_client, payment, order):
    complete(payment, "settlement", "credit_card")
    assert mock_status(payment) == "capture"
    with pytest.raises(GatewayError) as caught:
        get_gateway().refund(
            gateway_order_id=payment.gateway_order_id, amount=30_000, refund_key="k", reason="x"
        )
    assert caught.value.status_code == 412

    staff_client.post(f"{ORDERS}{order.number}/refund/", {"reason": "x"}, format="json")
    assert mock_status(payment) == "cancel"


@pytest.mark.parametrize(
    ("action", "payment_status", "order_status"),
    [("approve", "settled", "paid"), ("deny", "failed", "pending_payment")],
)
def test_a_challenged_card_is_approved_or_denied_by_staff(
    admin_client_staff, payment, order, action, payment_status, order_status
):
    complete(payment, "challenge")
    payment.refresh_from_db()
    assert (payment.status, mock_status(payment)) == ("challenge", "capture")

    admin_client_staff.post(
        "/admin/payments/payment/", {"action": f"{action}_challenged", "_selected_action": [payment.pk]}
    )

    payment.refresh_from_db()
    assert (payment.status, Order.objects.get(pk=order.pk).status) == (payment_status, order_status)
    with pytest.raises(GatewayError):  # decided once
        get_gateway().approve(gateway_order_id=payment.gateway_order_id)


def test_a_partial_chargeback_at_the_mock_tells_its_amount(payment, order):
    """Midtrans's status cycle: a settled card can be charged back in part by the card
    holder's bank; its status answer then names the amount (`chargeback_amount`, as the
    project's Midtrans test server answers: payments/tests/midtrans_server.py). The mock's
    must too, or the app, confirming the notification with the status API, cannot credit it
    (issue 17's stress run mixes partial chargebacks in through the mock)."""
    from invoices.models import CreditNote
    from payments.gateways.mock import notification_for
    from payments.services.webhook import notification_handle

    complete(payment, "settlement", "credit_card")
    tx = MockTransaction.objects.get(gateway_order_id=payment.gateway_order_id)
    tx.transaction_status = "settlement"  # the bank settles the capture
    tx.save()
    assert notification_handle(raw_body=json.dumps(notification_for(tx)).encode())[0] == 200
    tx.transaction_status, tx.chargeback_amount = "partial_chargeback", 7_000
    tx.save()

    answer = get_gateway().get_status(gateway_order_id=payment.gateway_order_id)
    assert (answer["transaction_status"], answer["chargeback_amount"]) == ("partial_chargeback", "7000.00")
    assert notification_handle(raw_body=json.dumps(notification_for(tx)).encode())[0] == 200
    payment.refresh_from_db()
    assert (payment.status, payment.chargeback_amount) == ("partial_chargeback", 7_000)
    assert list(CreditNote.objects.filter(invoice__order=order).values_list("amount", flat=True)) == [7_000]
    assert Order.objects.get(pk=order.pk).status == "paid"
