"""Full refunds through the gateway (`payment_refund`): the order follows the gateway's
answer, and a refund can never be made twice."""

import pytest

from orders import services as order_services
from orders.models import OrderEvent
from payments.exceptions import PaymentGatewayError, RefundNotAllowed
from payments.gateways import get_gateway
from payments.models import Payment
from payments.services.opening import payment_open
from payments.services.reconcile import payment_reconcile
from payments.services.refunds import payment_refund
from payments.services.webhook import payment_mock_complete
from payments.tests.conftest import database_state, deliver, notification, page_ended
from payments.tests.midtrans_server import api_sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(api_client, midtrans, order) -> Payment:
    payment = payment_open(order=order)
    deliver(api_client, midtrans, notification("doc_card_capture_accept", payment=payment))
    payment.refresh_from_db()
    assert payment.status == "settled"
    # The bank settles the capture at Midtrans: only a settled card is refunded (a capture
    # is voided with cancel: test_refund_api.py).
    midtrans.set_status(
        payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="credit_card"
    )
    return payment


@pytest.fixture
def staff(staff_user) -> order_services.Actor:
    return order_services.Actor.of(staff_user)


def test_a_full_refund_refunds_the_order(midtrans, order, settled, staff, staff_user):
    payment = payment_refund(payment=settled, actor=staff)

    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)
    order.refresh_from_db()
    assert order.status == "refunded"
    [request] = midtrans.requests_to("/refund")
    assert request.body == {
        "refund_key": f"{settled.gateway_order_id}-refund-0",
        "amount": 30_000,
        "reason": "Refund by staff.",
    }
    changed = OrderEvent.objects.filter(order=order, type="status_changed").order_by("id").last()
    assert (changed.type, changed.to_status, changed.actor, changed.actor_user) == (
        "status_changed",
        "refunded",
        "staff",
        staff_user,
    )


def test_the_rest_of_a_partial_refund(api_client, midtrans, order, settled, staff):
    deliver(api_client, midtrans, notification("doc_card_partial_refund", payment=settled))
    midtrans.set_status(
        settled.gateway_order_id,
        "partial_refund",
        gross_amount="30000.00",
        refund_amount="12000.00",
        payment_type="credit_card",
    )
    payment = payment_refund(payment=settled, actor=staff)
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)
    assert midtrans.requests_to("/refund")[0].body["amount"] == 18_000
    assert midtrans.requests_to("/refund")[0].body["refund_key"] == f"{settled.gateway_order_id}-refund-12000"


@pytest.mark.parametrize("status", ["pending", "failed", "refunded"])
def test_only_money_held_can_be_refunded(midtrans, order, staff, status):
    payment = payment_open(order=order)
    Payment.objects.filter(pk=payment.pk).update(status=status)
    with pytest.raises(RefundNotAllowed):
        payment_refund(payment=payment, actor=staff)
    assert midtrans.requests_to("/refund") == []


def test_a_refund_the_bank_rejects_changes_nothing(midtrans, order, settled, staff):
    midtrans.refund_answer = {**api_sample("direct_refund_202_rejected_by_bank"), "gross_amount": "30000.00"}
    before = database_state()
    with pytest.raises(RefundNotAllowed, match="Refund denied by the bank"):
        payment_refund(payment=settled, actor=staff)
    assert database_state() == before


def test_a_repeated_refund_is_refused_by_the_gateway_and_reconcile_heals(midtrans, order, settled, staff):
    # The refund went through at Midtrans, but the process died before recording it.
    get_gateway().refund(
        gateway_order_id=settled.gateway_order_id,
        amount=30_000,
        refund_key=f"{settled.gateway_order_id}-refund-0",
        reason="x",
    )
    with pytest.raises(PaymentGatewayError, match=r"\(406\): Duplicate refund ID"):
        payment_refund(payment=settled, actor=staff)
    settled.refresh_from_db()
    assert settled.status == "settled"

    assert payment_reconcile(payment=settled) == "applied"
    settled.refresh_from_db()
    order.refresh_from_db()
    assert (settled.status, order.status) == ("refunded", "refunded")


def test_refunding_a_double_payment_keeps_the_order_paid(api_client, midtrans, order, staff):
    first = payment_open(order=order)
    deliver(api_client, midtrans, notification("doc_card_cancel", payment=first, transaction_status="deny"))
    page_ended(first)
    second = payment_open(order=order)
    deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=second))
    deliver(api_client, midtrans, notification("doc_card_capture_accept", payment=first))
    first.refresh_from_db()
    assert first.needs_refund
    midtrans.set_status(
        first.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="credit_card"
    )

    payment = payment_refund(payment=first, actor=staff)

    assert (payment.status, payment.needs_refund) == ("refunded", False)
    assert payment.flag_reason.startswith("Double payment")  # kept as history
    order.refresh_from_db()
    assert order.status == "paid"


def test_a_refund_on_a_completed_order_refunds_it(midtrans, order, settled, staff):
    """DESIGN.md §4: paid|preparing|ready|completed -> refunded, with the credit note."""
    for step in ("preparing", "ready", "completed"):
        order_services.order_set_status(order=order, to_status=step, actor=staff)
    payment = payment_refund(payment=settled, actor=staff)
    order.refresh_from_db()
    assert (payment.status, payment.flag_reason, order.status) == ("refunded", "", "refunded")
    assert list(OrderEvent.objects.filter(order=order).order_by("id").values_list("type", flat=True))[
        -3:
    ] == ["payment_updated", "status_changed", "credit_note_issued"]


def test_a_refund_through_the_mock_gateway(mock_gateway, order, staff):
    payment = payment_open(order=order)
    assert payment_mock_complete(
        token=payment.token, transaction_status="settlement", payment_type="gopay"
    ) == (
        200,
        {"status": "ok", "outcome": "applied"},
    )
    refunded = payment_refund(payment=payment, actor=staff)
    order.refresh_from_db()
    assert (refunded.status, order.status) == ("refunded", "refunded")
    with pytest.raises(RefundNotAllowed):
        payment_refund(payment=refunded, actor=staff)
