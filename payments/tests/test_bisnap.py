"""BI-SNAP channels (DANA; the Danamon, BSI, SeaBank and Saqu virtual accounts) over HTTP,
with the project's Midtrans test server behind the real `midtransclient`.

Sources: Midtrans's Get Status API reference ("If you're using BI SNAP and DANA payment
methods, please only use Transaction ID to get status. Otherwise it won't work."),
midtrans-php issues #113 and #121 and SNAP-Woocommerce PR #85 (the status answer, and for
BSI VA even the notification, carry the transaction id in `order_id`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import Payment
from payments.services.opening import payment_open
from payments.services.reconcile import payment_reconcile, payments_reconcile_pending
from payments.tests.conftest import notification, post_notification, signed

pytestmark = pytest.mark.django_db

DANA_TID = "A120251207101010DanaXyZ01IDMID"


@pytest.fixture
def payment(midtrans, order) -> Payment:
    return payment_open(order=order)


def dana(payment, transaction_status: str, **overrides):
    status_code = {"pending": "201", "settlement": "200"}[transaction_status]
    return notification(
        "doc_shopeepay_pending",
        payment=payment,
        transaction_status=transaction_status,
        status_code=status_code,
        payment_type="dana",
        transaction_id=DANA_TID,
        **overrides,
    )


def status_paths(midtrans) -> list[str]:
    return [seen.path for seen in midtrans.requests_to("/status")]


def test_dana_is_asked_by_transaction_id_and_pays(api_client, midtrans, order, payment):
    midtrans.set_status(
        payment.gateway_order_id,
        "pending",
        gross_amount="30000.00",
        payment_type="dana",
        transaction_id=DANA_TID,
    )
    # The test server answers as Midtrans does for BI-SNAP: 404 by order id.
    assert midtrans.status_answer(payment.gateway_order_id) is None
    assert midtrans.status_answer(DANA_TID)["order_id"] == DANA_TID

    pending = post_notification(api_client, dana(payment, "pending"))

    assert pending.json() == {"status": "ok", "outcome": "duplicate"}
    payment.refresh_from_db()
    assert (payment.transaction_id, payment.payment_type) == (DANA_TID, "dana")
    assert status_paths(midtrans) == [f"/v2/{payment.gateway_order_id}/status", f"/v2/{DANA_TID}/status"]

    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="dana")
    settled = post_notification(api_client, dana(payment, "settlement"))

    assert settled.json() == {"status": "ok", "outcome": "applied"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "settled")
    assert status_paths(midtrans)[-1] == f"/v2/{DANA_TID}/status"  # the stored id, straight away


def test_a_lost_dana_settlement_is_healed_by_transaction_id(api_client, midtrans, order, payment):
    midtrans.set_status(
        payment.gateway_order_id,
        "pending",
        gross_amount="30000.00",
        payment_type="dana",
        transaction_id=DANA_TID,
    )
    post_notification(api_client, dana(payment, "pending"))
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="dana")
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert payments_reconcile_pending() == 1

    order.refresh_from_db()
    assert order.status == "paid"


def test_never_an_invented_expiry_for_an_attempt_midtrans_notified(api_client, midtrans, order, payment):
    """Before: a 404 by order id after the window closed became a synthesised `expire`, and
    a paid DANA order expired with no refund flag."""
    midtrans.set_status(
        payment.gateway_order_id,
        "pending",
        gross_amount="30000.00",
        payment_type="dana",
        transaction_id=DANA_TID,
    )
    post_notification(api_client, dana(payment, "pending"))
    midtrans.transactions.clear()  # the status API answers 404 whatever it is asked
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    payment.refresh_from_db()

    assert payment_reconcile(payment=payment) == "ignored"

    payment.refresh_from_db()
    assert payment.status == "pending"


def test_an_unstarted_attempt_still_expires(midtrans, order, payment):
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    payment.refresh_from_db()
    assert payment_reconcile(payment=payment) == "applied"
    payment.refresh_from_db()
    assert payment.status == "expired"


def test_a_status_answer_about_another_transaction_is_refused(api_client, midtrans, order, payment):
    other = midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    midtrans.transactions[payment.gateway_order_id] = {**other, "order_id": "FD-OTHER-1"}

    response = post_notification(api_client, notification("doc_bca_va_settlement", payment=payment))

    assert response.status_code == 503
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_a_bsi_notification_with_an_unknown_transaction_id_as_order_id_is_404(api_client, midtrans, payment):
    body = notification(
        "issue_midtrans_php_121_bsi_va_settlement_order_id_is_transaction_id", payment=payment
    )
    body = {**body, "order_id": body["transaction_id"]}
    response = post_notification(api_client, signed(body))
    assert (response.status_code, response.json()["detail"]) == (404, "Unknown order_id.")


def test_asked_by_transaction_id_an_answer_for_another_order_is_refused(api_client, midtrans, order, payment):
    """Only BI-SNAP's shape (the transaction id in order_id) may name another order_id."""
    midtrans.set_status(
        payment.gateway_order_id,
        "pending",
        gross_amount="30000.00",
        payment_type="dana",
        transaction_id=DANA_TID,
    )
    post_notification(api_client, dana(payment, "pending"))
    midtrans.transactions.clear()
    midtrans.set_status("FD-OTHER-1", "settlement", gross_amount="30000.00", transaction_id=DANA_TID)

    response = post_notification(api_client, dana(payment, "settlement"))

    assert response.status_code == 503
    order.refresh_from_db()
    assert order.status == "pending_payment"
