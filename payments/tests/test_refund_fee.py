"""A refund of a payment made with Midtrans's Automatic Fee Imposition gives back what the
shopper paid: the order's amount and the fee on top (issue 17, item 2).

With fee imposition, `gross_amount` (and the signature over it) includes the fee the shopper
paid; the order's own amount is `metadata.extra_info.gross_amount_info.original_amount`
(midtrans-php issue #118). Midtrans refunds up to the transaction's gross amount
(https://docs.midtrans.com/reference/refund-transaction), and the status becomes `refund` only
when all of it went back; the test server (payments/tests/midtrans_server.py) does the same.
The credit note stays the order's money: the fee was never on the invoice."""

import pytest

from invoices.models import CreditNote
from payments.services.opening import payment_open
from payments.tests.conftest import notification, post_notification

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
FEE = 71


def settle_with_fee(api_client, midtrans, order):
    payment = payment_open(order=order)
    gross = payment.amount + FEE
    body = notification(
        "doc_qris_settlement",
        payment=payment,
        gross_amount=f"{gross}.00",
        metadata={
            "extra_info": {
                "gross_amount_info": {
                    "original_amount": f"{payment.amount}.00",
                    "gross_amount": f"{gross}.00",
                    "customer_imposed_payment_fee": f"{FEE}.00",
                }
            }
        },
    )
    midtrans.set_status(
        payment.gateway_order_id,
        "settlement",
        gross_amount=f"{payment.amount}.00",
        fee=FEE,
        payment_type="qris",
        transaction_id=body["transaction_id"],
    )
    response = post_notification(api_client, body)
    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert (payment.status, payment.fee_amount) == ("settled", FEE)
    return payment


def test_a_full_refund_gives_back_the_fee_the_shopper_paid(api_client, staff_client, midtrans, order):
    payment = settle_with_fee(api_client, midtrans, order)

    response = staff_client.post(f"{ORDERS}{order.number}/refund/", {"reason": "Sold out"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    [request] = midtrans.requests_to("/refund")
    assert request.body["amount"] == payment.amount + FEE  # what the shopper paid
    assert midtrans.status_of(payment.gateway_order_id)["transaction_status"] == "refund"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
    assert list(CreditNote.objects.filter(invoice__order=order).values_list("amount", flat=True)) == [
        order.total
    ]


def test_partial_refunds_give_the_fee_back_with_the_last_part(api_client, staff_client, midtrans, order):
    payment = settle_with_fee(api_client, midtrans, order)
    first_part = 10_000

    first = staff_client.post(
        f"{ORDERS}{order.number}/refund/", {"reason": "Cold", "amount": first_part}, format="json"
    )
    rest = staff_client.post(f"{ORDERS}{order.number}/refund/", {"reason": "All of it"}, format="json")

    assert (first.status_code, rest.status_code) == (200, 200), rest.content
    assert [r.body["amount"] for r in midtrans.requests_to("/refund")] == [
        first_part,
        payment.amount - first_part + FEE,
    ]
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
    assert sorted(CreditNote.objects.filter(invoice__order=order).values_list("amount", flat=True)) == sorted(
        [first_part, order.total - first_part]
    )
