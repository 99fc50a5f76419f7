"""Reconciliation: asking the gateway about attempts whose notification never came, from
`reconcile_payments` and before `expire_orders` expires an order."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalog.models import Product
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from payments.exceptions import PaymentGatewayUnavailable
from payments.models import Payment, PaymentNotification
from payments.services.opening import payment_open
from payments.services.reconcile import payment_reconcile, payments_reconcile_pending
from payments.tests.conftest import database_state

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def age(payment: Payment, seconds: int) -> None:
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def past_due(order: Order) -> None:
    """The order's payment window is over (and its attempt's with it)."""
    past = timezone.now() - timedelta(minutes=1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    Payment.objects.filter(order=order).update(expires_at=past)


@pytest.fixture
def payment(midtrans, order) -> Payment:
    return payment_open(order=order)


def test_reconcile_payments_heals_a_lost_notification(midtrans, order, payment):
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="gopay")
    age(payment, 61)

    assert run("reconcile_payments") == "Reconciled 1 payment attempt(s).\n"

    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.payment_type, order.status) == ("settled", "gopay", "paid")
    updated = OrderEvent.objects.get(order=order, type="payment_updated")
    assert (updated.actor, updated.data["source"], updated.data["to"]) == ("gateway", "reconcile", "settled")
    assert PaymentNotification.objects.count() == 0  # no notification was involved
    # Run again: nothing is pending any more; the attempt settled within 24 h is asked about
    # once more (a reversal or chargeback may follow), and nothing changes.
    requests = len(midtrans.seen)
    assert run("reconcile_payments") == "Reconciled 0 payment attempt(s).\n"
    assert [seen.path for seen in midtrans.seen[requests:]] == [f"/v2/{payment.transaction_id}/status"]
    assert OrderEvent.objects.filter(order=order, type="payment_updated").count() == 1


def test_min_age_leaves_fresh_attempts_alone(midtrans, order, payment):
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    age(payment, 30)
    assert run("reconcile_payments") == "Reconciled 0 payment attempt(s).\n"
    assert midtrans.requests_to("/status") == []
    assert run("reconcile_payments", "--min-age", "10") == "Reconciled 1 payment attempt(s).\n"
    order.refresh_from_db()
    assert order.status == "paid"


def test_min_age_must_not_be_negative(midtrans):
    with pytest.raises(CommandError, match="--min-age"):
        run("reconcile_payments", "--min-age", "-1")


def test_an_attempt_nobody_started_stays_pending_until_its_window_is_long_over(midtrans, order, payment):
    age(payment, 120)
    assert payments_reconcile_pending() == 0  # the status API answers 404
    payment.refresh_from_db()
    assert payment.status == "pending"

    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(minutes=6))
    assert payments_reconcile_pending() == 1
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("expired", "pending_payment")


def test_a_gateway_outage_is_skipped_and_changes_nothing(midtrans, order, payment, caplog):
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    midtrans.failures["status"] = "drop"
    age(payment, 120)
    before = database_state()

    assert payments_reconcile_pending() == 0

    assert database_state() == before
    assert f"Reconciling {payment.gateway_order_id} failed" in caplog.text
    with pytest.raises(PaymentGatewayUnavailable):
        payment_reconcile(payment=payment)


def test_reconciling_twice_is_harmless(midtrans, order, payment):
    midtrans.set_status(
        payment.gateway_order_id, "capture", gross_amount="30000.00", payment_type="credit_card"
    )
    assert payment_reconcile(payment=payment) == "applied"
    assert payment_reconcile(payment=payment) == "duplicate"
    assert OrderEvent.objects.filter(order=order, type="status_changed").count() == 1


def test_expire_orders_reconciles_before_expiring(midtrans, user, product):
    paid_meanwhile = place_order(user=user, items=[(product, 2)])
    abandoned = place_order(user=user, items=[(product, 3)])
    first, second = payment_open(order=paid_meanwhile), payment_open(order=abandoned)
    midtrans.set_status(first.gateway_order_id, "settlement", gross_amount="20000.00")
    midtrans.set_status(second.gateway_order_id, "expire", gross_amount="30000.00")
    past_due(paid_meanwhile)
    past_due(abandoned)
    assert Product.objects.get(pk=product.pk).stock == 5

    assert run("expire_orders") == "Reconciled 2 payment attempt(s) with the gateway.\nExpired 1 order(s).\n"

    paid_meanwhile.refresh_from_db()
    abandoned.refresh_from_db()
    assert (paid_meanwhile.status, abandoned.status) == ("paid", "expired")
    assert Payment.objects.get(pk=second.pk).status == "expired"
    assert Product.objects.get(pk=product.pk).stock == 8  # only the abandoned order's 3 came back


def test_expire_orders_still_expires_when_the_gateway_is_down(midtrans, order, product, payment):
    midtrans.failures["status"] = "timeout"
    past_due(order)
    assert run("expire_orders") == "Expired 1 order(s).\n"
    order.refresh_from_db()
    assert (order.status, Product.objects.get(pk=product.pk).stock) == ("expired", 10)
    # The settlement that arrives later takes the stock again (see the webhook tests).
