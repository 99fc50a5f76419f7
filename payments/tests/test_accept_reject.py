"""Staff accept or reject a paid order (issue 20): `POST orders/{number}/accept/` (paid ->
preparing) and `POST orders/{number}/reject/ {"reason"}`, a cancellation that gives all the
money back through the one refund service, over HTTP against the project's Midtrans test
server (payments/tests/midtrans_server.py), which refuses what Midtrans's Refund reference
says it refuses: https://docs.midtrans.com/reference/refund-transaction ("supported only for
credit_card, gopay, shopeepay, dana, ovo, QRIS, kredivo and akulaku")."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import KITCHEN
from accounts.tests.factories import UserFactory
from invoices.models import CreditNote
from orders.models import Order, OrderEvent
from payments.tests.conftest import database_state, settle

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def reject(client, order, **body):
    return client.post(f"{ORDERS}{order.number}/reject/", {"reason": "Out of rice", **body}, format="json")


def test_accept_moves_a_paid_order_to_preparing_once(api_client, staff_client, midtrans, order):
    settle(api_client, midtrans, order, "doc_gopay_settlement")

    first = staff_client.post(f"{ORDERS}{order.number}/accept/")
    again = staff_client.post(f"{ORDERS}{order.number}/accept/")

    assert (first.status_code, first.json()["status"]) == (200, "preparing")
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["status"], again.json()["requested"]) == (
        "invalid_transition",
        "preparing",
        "preparing",
    )
    moves = OrderEvent.objects.filter(order=order, type="status_changed", to_status="preparing")
    assert moves.count() == 1


def test_accept_refuses_an_unpaid_order_and_changes_nothing(staff_client, order):
    before = database_state()
    response = staff_client.post(f"{ORDERS}{order.number}/accept/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert database_state() == before


def test_reject_refunds_everything_at_the_gateway_with_the_reason(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_gopay_settlement")

    response = reject(staff_client, order)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"
    [request] = midtrans.requests_to("/refund")
    assert request.body == {
        "refund_key": f"{payment.gateway_order_id}-refund-0",
        "amount": 30_000,
        "reason": "Rejected by the shop: Out of rice",
    }
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)
    [rejected] = OrderEvent.objects.filter(order=order, type="rejected")
    assert (rejected.data, rejected.actor) == ({"reason": "Out of rice"}, "staff")
    assert list(
        CreditNote.objects.filter(invoice__order=order).values_list("amount", "refund_reference")
    ) == [(30_000, f"{payment.gateway_order_id}:30000")]


@pytest.mark.parametrize("sample", ["doc_bca_va_settlement", "doc_cstore_alfamart_settlement"])
def test_reject_of_a_type_midtrans_cannot_refund_is_409_unless_offline(
    api_client, staff_client, midtrans, order, sample
):
    payment = settle(api_client, midtrans, order, sample)
    before = database_state()
    calls = len(midtrans.seen)

    refused = reject(staff_client, order)

    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["payment_type"]) == (
        "refund_not_supported",
        payment.payment_type,
    )
    assert database_state() == before
    assert len(midtrans.seen) == calls

    offline = reject(staff_client, order, method="offline", reference="BCA-TRF-1")

    assert (offline.status_code, offline.json()["status"]) == (200, "refunded")
    assert len(midtrans.seen) == calls  # an offline refund never calls the gateway
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)


def test_reject_refuses_an_order_the_kitchen_started(api_client, staff_client, midtrans, order):
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    assert staff_client.post(f"{ORDERS}{order.number}/accept/").status_code == 200
    before = database_state()
    calls = len(midtrans.seen)

    response = reject(staff_client, order)

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_transition", "preparing")
    assert database_state() == before
    assert len(midtrans.seen) == calls


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"reason": "Out of rice", "method": "offline"}, "reference"),
        ({"reason": "Out of rice", "method": "cash"}, "method"),
        ({"reason": 5}, "reason"),
    ],
)
def test_reject_with_bad_input_is_400_and_changes_nothing(
    api_client, staff_client, midtrans, order, body, field
):
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    before = database_state()
    response = staff_client.post(f"{ORDERS}{order.number}/reject/", body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert database_state() == before


def test_a_cook_may_accept_but_not_reject(api_client, midtrans, order):
    settle(api_client, midtrans, order, "doc_gopay_settlement")
    cook = UserFactory(is_staff=True)
    cook.groups.add(Group.objects.get(name=KITCHEN))
    api_client.force_authenticate(cook)

    refused = reject(api_client, order)

    assert refused.status_code == 403
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert midtrans.requests_to("/refund") == []
    assert api_client.post(f"{ORDERS}{order.number}/accept/").json()["status"] == "preparing"
