"""A staff refund and a chargeback notification for the same payment at once (issue 17),
with real threads on their own PostgreSQL connections, over HTTP through the real
midtransclient against the project's Midtrans test server.

Midtrans serialises the two on its side (its status cycle: `settlement` -> `refund` or
`chargeback`): either the chargeback came first and the refund is refused (its Refund
reference refunds only `settlement`), or the refund came first and the notification's
status check finds the refund. Either way the books balance: the credit notes add up to
what went back, never more than was paid, each recorded once."""

import copy
import json

import pytest
from django.test import Client

from conftest import bearer_client, run_at_once
from invoices.models import CreditNote
from orders.models import Order
from payments.models import Payment
from payments.services.opening import payment_open
from payments.tests.conftest import WEBHOOK, deliver, notification
from payments.tests.midtrans_server import api_sample

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def settled_gopay(midtrans, order) -> Payment:
    payment = payment_open(order=order)
    assert (
        deliver(Client(), midtrans, notification("doc_gopay_settlement", payment=payment)).status_code == 200
    )
    payment.refresh_from_db()
    assert payment.status == "settled"
    return payment


def chargeback_at_midtrans(midtrans, payment: Payment) -> None:
    """What Midtrans's status API answers once the shopper's bank charged the payment back."""
    answer = copy.deepcopy(api_sample("status_200_card_settlement_doc"))
    answer.update(
        order_id=payment.gateway_order_id,
        transaction_id=payment.transaction_id,
        transaction_status="chargeback",
        status_code="200",
        gross_amount="30000.00",
        payment_type="gopay",
        fraud_status="accept",
    )
    with midtrans.lock:
        midtrans.transactions[payment.gateway_order_id] = answer


def books_balance(order: Order) -> list[int]:
    notes = list(CreditNote.objects.filter(invoice__order=order).values_list("amount", "refund_reference"))
    amounts = [amount for amount, _ in notes]
    assert sum(amounts) <= order.total
    assert len({reference for _, reference in notes}) == len(notes)
    order.refresh_from_db()
    if order.status == "refunded":
        assert sum(amounts) == order.total
    return amounts


@pytest.mark.parametrize("round_", range(3))
def test_a_refund_first_then_the_chargeback_notification_finds_it(staff_user, midtrans, order, round_):
    payment = settled_gopay(midtrans, order)
    staff = bearer_client(staff_user)
    body = notification(
        "doc_card_partial_refund", payment=payment, transaction_status="chargeback", status_code="200"
    )

    def refund():
        return staff.post(
            f"/api/v1/orders/{order.number}/refund/", {"reason": "Cold"}, format="json"
        ).status_code

    def chargeback():
        return Client().post(WEBHOOK, data=json.dumps(body), content_type="application/json").status_code

    results = run_at_once([refund, chargeback])

    assert results == [200, 200]
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 30_000)
    assert books_balance(order) == [30_000]
    assert order.status == "refunded"


@pytest.mark.parametrize("round_", range(3))
def test_a_chargeback_first_refuses_the_refund(staff_user, midtrans, order, round_):
    payment = settled_gopay(midtrans, order)
    chargeback_at_midtrans(midtrans, payment)
    staff = bearer_client(staff_user)
    body = notification(
        "doc_card_partial_refund", payment=payment, transaction_status="chargeback", status_code="200"
    )

    def refund():
        response = staff.post(f"/api/v1/orders/{order.number}/refund/", {"reason": "Cold"}, format="json")
        return response.status_code, response.json().get("code")

    def chargeback():
        return Client().post(WEBHOOK, data=json.dumps(body), content_type="application/json").status_code

    results = run_at_once([refund, chargeback])

    # Midtrans refuses to refund a transaction that is no longer `settlement` (412), or the
    # chargeback was recorded first and nothing is left to refund here.
    assert results[0] in [(502, "payment_gateway_error"), (409, "refund_not_allowed")]
    assert results[1] == 200
    payment.refresh_from_db()
    assert payment.refunded_amount == 0  # nothing went back through a refund
    books_balance(order)


@pytest.mark.parametrize("round_", range(3))
def test_a_cancel_racing_a_settlement_pays_once_and_never_voids_the_money(
    auth_client, midtrans, order, product, round_
):
    """The shopper cancels while their bank transfer settles. At Midtrans the transaction is
    already `settlement`, so its cancel is refused (412) whichever of the two we handle first:
    the order ends paid once (a cancelled order is paid late, taking its stock again)."""
    from catalog.models import Product

    payment = payment_open(order=order)
    body = notification("doc_bca_va_settlement", payment=payment)
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")

    def cancel():
        return auth_client.post(f"/api/v1/orders/{order.number}/cancel/", {}, format="json").status_code

    def settle():
        return Client().post(WEBHOOK, data=json.dumps(body), content_type="application/json").status_code

    results = run_at_once([cancel, settle])

    assert results[0] in (200, 409)
    assert results[1] == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status, payment.needs_refund) == ("paid", "settled", False)
    assert order.events.filter(type="status_changed", to_status="paid").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 7
    assert midtrans.status_of(payment.gateway_order_id)["transaction_status"] == "settlement"
    assert len(midtrans.requests_to("/cancel")) == (1 if results[0] == 200 else 0)


@pytest.mark.parametrize("round_", range(3))
def test_two_offline_refunds_at_once_are_recorded_once_each_or_refused(staff_user, midtrans, order, round_):
    """Two staff record a partial offline refund of the same bank transfer at once: each is
    either recorded (with its credit note) or refused with nothing changed, never reported
    done without being recorded."""
    payment = payment_open(order=order)
    assert (
        deliver(Client(), midtrans, notification("doc_bca_va_settlement", payment=payment)).status_code == 200
    )
    staff = bearer_client(staff_user)

    def offline(reference):
        def task():
            return staff.post(
                f"/api/v1/orders/{order.number}/refund/",
                {"reason": "Cold", "method": "offline", "reference": reference, "amount": 10_000},
                format="json",
            ).status_code

        return task

    results = run_at_once([offline("TRF-1"), offline("TRF-2")])

    assert sorted(results) in ([200, 200], [200, 409])
    payment.refresh_from_db()
    assert payment.refunded_amount == 10_000 * results.count(200)
    assert books_balance(order) == [10_000] * results.count(200)
