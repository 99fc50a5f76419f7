"""`POST orders/{number}/refund/` (issue 17, item 6) over HTTP, through the real
midtransclient against the project's Midtrans test server, which refuses what Midtrans's
references say it refuses: https://docs.midtrans.com/reference/refund-transaction ("Refund
transaction is called ... for transactions with payment status Settlement. If transaction's
status is still Pending Authorize or Capture please use Cancel API instead"; "supported only
for credit_card, gopay, shopeepay, dana, ovo, QRIS, kredivo and akulaku") and
/reference/cancel-transaction. Every refund path issues the credit note for exactly what
went back."""

import pytest

from invoices.models import Invoice
from orders.models import OrderEvent
from payments.services.opening import payment_open
from payments.tests.conftest import credit_notes, database_state, settle
from payments.tests.midtrans_server import api_sample

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def refund(client, order, **body):
    return client.post(f"{ORDERS}{order.number}/refund/", {"reason": "Burnt rice", **body}, format="json")


def test_a_settled_e_wallet_is_refunded_in_full_at_the_gateway(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_gopay_settlement")

    response = refund(staff_client, order)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    [request] = midtrans.requests_to("/refund")
    assert request.body == {
        "refund_key": f"{payment.gateway_order_id}-refund-0",
        "amount": 30_000,
        "reason": "Burnt rice",
    }
    assert midtrans.requests_to("/cancel") == []
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)
    assert credit_notes(order) == [(30_000, f"{payment.gateway_order_id}:30000")]
    assert Invoice.objects.get(order=order).status == Invoice.Status.CREDITED


def test_partial_refunds_credit_exactly_each_amount(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")

    first = refund(staff_client, order, amount=12_000)
    second = refund(staff_client, order, amount=5_000)

    assert (first.status_code, second.status_code) == (200, 200), second.content
    assert second.json()["status"] == "paid"  # the order keeps what was not refunded
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 17_000)
    assert [(r.body["amount"], r.body["refund_key"]) for r in midtrans.requests_to("/refund")] == [
        (12_000, f"{payment.gateway_order_id}-refund-0"),
        (5_000, f"{payment.gateway_order_id}-refund-12000"),
    ]
    assert credit_notes(order) == [
        (12_000, f"{payment.gateway_order_id}:12000"),
        (5_000, f"{payment.gateway_order_id}:17000"),
    ]

    rest = refund(staff_client, order)  # no amount: what is left

    assert rest.status_code == 200, rest.content
    assert rest.json()["status"] == "refunded"
    assert midtrans.requests_to("/refund")[-1].body["amount"] == 13_000
    assert sum(amount for amount, _ in credit_notes(order)) == 30_000


@pytest.mark.parametrize(
    "sample",
    ["doc_bca_va_settlement", "doc_echannel_mandiri_bill_settlement", "doc_cstore_alfamart_settlement"],
)
def test_a_payment_type_midtrans_cannot_refund_is_409_and_nothing_changes(
    api_client, staff_client, midtrans, order, sample
):
    payment = settle(api_client, midtrans, order, sample)
    before = database_state()
    calls = len(midtrans.seen)

    response = refund(staff_client, order)

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["payment_type"]) == ("refund_not_supported", payment.payment_type)
    assert database_state() == before
    assert len(midtrans.seen) == calls  # the gateway was never asked


def test_an_offline_refund_of_a_bank_transfer_never_calls_the_gateway(
    api_client, staff_client, staff_user, midtrans, order
):
    payment = settle(api_client, midtrans, order, "doc_bca_va_settlement")
    calls = len(midtrans.seen)

    response = refund(staff_client, order, method="offline", reference="BCA-TRF-778812")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    assert len(midtrans.seen) == calls
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)
    assert (payment.raw_status["refund_method"], payment.raw_status["refund_reference"]) == (
        "offline",
        "BCA-TRF-778812",
    )
    assert credit_notes(order) == [(30_000, f"{payment.gateway_order_id}:30000")]
    updated = OrderEvent.objects.filter(order=order, type="payment_updated").last()
    assert (updated.actor_user, updated.data["source"], updated.data["to"]) == (
        staff_user,
        "offline_refund",
        "refunded",
    )


def test_a_partial_offline_refund_credits_that_amount(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_cstore_alfamart_settlement")
    response = refund(staff_client, order, method="offline", reference="CASH-1", amount=10_000)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paid"
    assert credit_notes(order) == [(10_000, f"{payment.gateway_order_id}:10000")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "offline"}, "reference"),
        ({"method": "offline", "reference": "   "}, "reference"),
        ({"amount": 30_001}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"method": "cash"}, "method"),
        ({"reason": ""}, "reason"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_changes(
    api_client, staff_client, midtrans, order, body, field
):
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    before = database_state()
    response = refund(staff_client, order, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert database_state() == before
    assert midtrans.requests_to("/refund") == []


def test_more_than_is_left_after_a_partial_refund_is_400(api_client, staff_client, midtrans, order):
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    assert refund(staff_client, order, amount=20_000).status_code == 200
    before = database_state()
    response = refund(staff_client, order, amount=10_001)
    assert response.status_code == 400
    assert response.json() == {"amount": ["The amount must be between 1 and 10000 (what is left to refund)."]}
    assert database_state() == before


def test_an_unpaid_order_has_nothing_to_refund(staff_client, midtrans, order):
    payment_open(order=order)
    before = database_state()
    response = refund(staff_client, order)
    assert response.status_code == 409
    assert response.json()["code"] == "refund_not_allowed"
    assert database_state() == before


def test_refunding_needs_the_refund_permission(api_client, auth_client, midtrans, order):
    from accounts.tests.factories import UserFactory
    from conftest import bearer_client

    settle(api_client, midtrans, order, "doc_gopay_settlement")
    staff_without = bearer_client(UserFactory(is_staff=True))
    before = database_state()
    assert refund(staff_without, order).status_code == 403
    assert refund(auth_client, order).status_code == 403  # the shopper who paid
    assert refund(api_client, order).status_code == 401
    assert database_state() == before
    assert midtrans.requests_to("/refund") == []


def test_a_captured_card_is_voided_with_cancel_never_refunded(api_client, staff_client, midtrans, order):
    """Midtrans refuses to refund a capture ("please use Cancel API instead"): the service
    asks the status, finds `capture`, and cancels."""
    settle(api_client, midtrans, order, "doc_card_capture_accept")
    refund(staff_client, order)
    assert len(midtrans.requests_to("/cancel")) == 1
    assert midtrans.requests_to("/refund") == []


def test_a_voided_capture_refunds_the_order_with_a_full_credit_note(
    api_client, staff_client, midtrans, order
):
    payment = settle(api_client, midtrans, order, "doc_card_capture_accept")
    response = refund(staff_client, order)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    payment.refresh_from_db()
    assert payment.status == "cancelled"
    assert sum(amount for amount, _ in credit_notes(order)) == 30_000


def test_a_captured_card_cannot_be_voided_in_part(api_client, staff_client, midtrans, order):
    settle(api_client, midtrans, order, "doc_card_capture_accept")
    before = database_state()
    response = refund(staff_client, order, amount=10_000)
    assert response.status_code == 409
    assert response.json()["code"] == "refund_not_allowed"
    assert database_state() == before
    assert midtrans.requests_to("/cancel") == midtrans.requests_to("/refund") == []


def test_a_settled_card_is_refunded_at_the_gateway(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_card_capture_accept")
    # The bank settles the capture at Midtrans (no notification is needed for the refund to see it).
    midtrans.set_status(
        payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="credit_card"
    )
    response = refund(staff_client, order, amount=30_000)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    assert midtrans.requests_to("/cancel") == []
    assert len(midtrans.requests_to("/refund")) == 1


def test_the_gateway_down_is_503_and_nothing_changes(api_client, staff_client, midtrans, order):
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    midtrans.failures["refund"] = "drop"
    before = database_state()
    response = refund(staff_client, order)
    assert response.status_code == 503
    assert response.json()["code"] == "payment_gateway_error"
    assert database_state() == before


def test_a_refund_through_status_refunds_the_paying_attempt_offline(
    api_client, staff_client, midtrans, order
):
    payment = settle(api_client, midtrans, order, "doc_bca_va_settlement")
    calls = len(midtrans.seen)
    response = staff_client.post(
        f"{ORDERS}{order.number}/status/", {"status": "refunded", "note": "TRF 991"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    payment.refresh_from_db()
    assert (payment.status, payment.raw_status["refund_reference"]) == ("refunded", "TRF 991")
    assert credit_notes(order) == [(30_000, f"{payment.gateway_order_id}:30000")]
    assert len(midtrans.seen) == calls


def test_an_answer_about_another_refund_is_not_taken_for_this_one(api_client, staff_client, midtrans, order):
    """Midtrans: "If you want to do retry the same refund request please use the same
    refund_key" (Refund reference): a refund made meanwhile by someone else with the same key
    is answered instead of this one. Its 10,000 is recorded from the status, this 5,000 is
    refused, not booked."""
    payment = settle(api_client, midtrans, order, "doc_gopay_settlement")
    midtrans.set_status(
        payment.gateway_order_id,
        "partial_refund",
        gross_amount="30000.00",
        payment_type="gopay",
        refund_amount="10000.00",
    )
    midtrans.refund_answer = {
        **api_sample("refund_200_partial"),
        "gross_amount": "30000.00",
        "payment_type": "gopay",
        "refund_amount": "10000.00",
    }

    response = refund(staff_client, order, amount=5_000)

    assert response.status_code == 409
    assert response.json()["code"] == "refund_not_allowed"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 10_000)
    assert credit_notes(order) == [(10_000, f"{payment.gateway_order_id}:10000")]
