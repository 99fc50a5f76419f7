"""After the money moved: voids, chargebacks and reversals, over HTTP against the project's
Midtrans test server through the real `midtransclient`.

Sources: Midtrans's "Transaction Status Cycle" page (capture -> settlement | cancel;
settlement -> refund | partial_refund | chargeback | partial_chargeback | deny, the deny
being a reversal for Permata VA, Mandiri Bill and Indomaret: "not paid, do not deliver"),
and the notification samples in ../shared/midtrans/notifications/."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import KITCHEN, MANAGER
from accounts.tests.factories import UserFactory
from conftest import bearer_client
from invoices.models import Invoice
from orders.models import OrderEvent
from payments.models import Payment
from payments.services.opening import payment_open
from payments.services.reconcile import payments_recheck_settled
from payments.tests.conftest import deliver, notification, post_notification, signed

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.fixture
def payment(midtrans, order) -> Payment:
    return payment_open(order=order)


def staff_in(group: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return bearer_client(user)


def credit_notes(order) -> list[int]:
    invoice = Invoice.objects.get(order=order)
    return list(invoice.credit_notes.order_by("id").values_list("amount", flat=True))


def status_changes(order) -> list[tuple[str, str]]:
    events = OrderEvent.objects.filter(order=order, type="status_changed").order_by("created_at", "id")
    return list(events.values_list("from_status", "to_status"))


def settle(client, midtrans, payment, sample):
    response = deliver(client, midtrans, notification(sample, payment=payment))
    assert response.json() == {"status": "ok", "outcome": "applied"}, response.content


# --- capture -> cancel: a void -----------------------------------------------------------


def test_a_voided_capture_refunds_the_order_with_a_full_credit_note(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")
    order.refresh_from_db()
    assert order.status == "paid"

    response = deliver(api_client, midtrans, notification("doc_card_cancel", payment=payment))

    assert response.json() == {"status": "ok", "outcome": "applied"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount, payment.needs_refund) == ("cancelled", 30_000, False)
    assert order.status == "refunded"
    assert status_changes(order)[-1] == ("paid", "refunded")
    assert credit_notes(order) == [30_000]
    # Delivered again: nothing more.
    again = deliver(api_client, midtrans, notification("doc_card_cancel", payment=payment))
    assert again.json() == {"status": "ok", "outcome": "duplicate"}
    assert credit_notes(order) == [30_000]


def test_a_settled_bank_transfer_is_never_voided(api_client, midtrans, order, payment):
    """Only a capture can be cancelled; a cancel about a settled VA is stale."""
    settle(api_client, midtrans, payment, "doc_bca_va_settlement")
    body = notification("doc_card_cancel", payment=payment)
    response = post_notification(api_client, body)  # Midtrans still says settlement
    assert response.json() == {"status": "ok", "outcome": "duplicate"}
    midtrans.set_status(payment.gateway_order_id, "cancel", gross_amount="30000.00")
    assert post_notification(api_client, body).json() == {"status": "ok", "outcome": "ignored"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "settled")
    assert credit_notes(order) == []


# --- chargebacks ---------------------------------------------------------------------------


def test_a_chargeback_refunds_the_order_and_is_flagged(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")
    midtrans.set_status(
        payment.gateway_order_id, "settlement", gross_amount="30000.00", payment_type="credit_card"
    )
    answer = midtrans.chargeback(payment.gateway_order_id)
    body = signed({**answer, "status_code": "200"})

    response = post_notification(api_client, body)

    assert response.json() == {"status": "ok", "outcome": "applied"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.chargeback_amount, order.status) == ("chargeback", 30_000, "refunded")
    assert payment.flag_reason.startswith("Charged back")
    assert Payment.objects.exclude(flag_reason="").get() == payment  # the admin's flagged list
    assert credit_notes(order) == [30_000]


def test_a_partial_chargeback_credits_the_amount_and_keeps_the_order(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")
    answer = midtrans.chargeback(payment.gateway_order_id, amount=10_000)
    body = signed({**answer, "status_code": "200"})

    response = post_notification(api_client, body)

    assert response.json() == {"status": "ok", "outcome": "applied"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.chargeback_amount, order.status) == ("partial_chargeback", 10_000, "paid")
    assert payment.flag_reason.startswith("Partly charged back")
    assert credit_notes(order) == [10_000]
    event = OrderEvent.objects.filter(order=order, type="payment_updated").last()
    assert (event.data["to"], event.data["chargeback_amount"]) == ("partial_chargeback", 10_000)
    # The rest charged back later: the order is refunded, the notes add up to the amount.
    body = signed({**midtrans.chargeback(payment.gateway_order_id), "status_code": "200"})
    assert post_notification(api_client, body).json()["outcome"] == "applied"
    order.refresh_from_db()
    assert order.status == "refunded"
    assert credit_notes(order) == [10_000, 20_000]


# --- settlement -> deny: a reversal -----------------------------------------------------------


def reverse(client, midtrans, payment):
    answer = midtrans.reverse(payment.gateway_order_id)
    return post_notification(client, signed({**answer, "status_code": "202"}))


def test_a_reversal_holds_the_order_and_the_kitchen_cannot_move_it(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_permata_va_settlement")
    kitchen = staff_in(KITCHEN)
    assert (
        kitchen.post(
            f"{API}orders/{order.number}/status/", {"status": "preparing"}, format="json"
        ).status_code
        == 200
    )

    assert reverse(api_client, midtrans, payment).json() == {"status": "ok", "outcome": "applied"}

    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("payment_reversed", "failed")
    assert status_changes(order)[-1] == ("preparing", "payment_reversed")
    refused = kitchen.post(f"{API}orders/{order.number}/status/", {"status": "ready"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"
    order.refresh_from_db()
    assert order.status == "payment_reversed"


def test_staff_recheck_lifts_the_hold_when_midtrans_settles_again(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_permata_va_settlement")
    reverse(api_client, midtrans, payment)
    manager = staff_in(MANAGER)

    still = manager.post(f"{API}orders/{order.number}/payment-recheck/")
    assert (still.status_code, still.json()["outcome"], still.json()["order_status"]) == (
        200,
        "duplicate",
        "payment_reversed",
    )
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    lifted = manager.post(f"{API}orders/{order.number}/payment-recheck/")

    assert lifted.json() == {
        "order": order.number,
        "order_status": "paid",
        "gateway_order_id": payment.gateway_order_id,
        "payment_status": "settled",
        "outcome": "applied",
    }
    order.refresh_from_db()
    assert status_changes(order)[-2:] == [("paid", "payment_reversed"), ("payment_reversed", "paid")]
    payment.refresh_from_db()
    assert (payment.flag_reason, payment.needs_refund) == ("", False)


def test_reconciliation_lifts_a_hold_on_its_own(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_permata_va_settlement")
    reverse(api_client, midtrans, payment)
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")

    assert payments_recheck_settled() == 1

    order.refresh_from_db()
    assert order.status == "paid"


def test_staff_cancel_a_held_order(api_client, midtrans, order, payment, product):
    settle(api_client, midtrans, payment, "doc_permata_va_settlement")
    reverse(api_client, midtrans, payment)
    manager = staff_in(MANAGER)

    response = manager.post(f"{API}orders/{order.number}/status/", {"status": "cancelled"}, format="json")

    assert response.status_code == 200
    order.refresh_from_db()
    product.refresh_from_db()
    assert (order.status, product.stock) == ("cancelled", 10)  # not paid, not delivered: back on the shelf


def test_recheck_needs_the_payments_permission(api_client, midtrans, order, payment):
    kitchen = staff_in(KITCHEN)
    response = kitchen.post(f"{API}orders/{order.number}/payment-recheck/")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    missing = staff_in(MANAGER).post(f"{API}orders/NOPE/payment-recheck/")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


# --- reconciliation heals a lost post-settlement notification ------------------------------


def test_reconciliation_finds_a_lost_void(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")
    midtrans.set_status(
        payment.gateway_order_id, "cancel", gross_amount="30000.00", payment_type="credit_card"
    )

    assert payments_recheck_settled() == 1

    order.refresh_from_db()
    assert order.status == "refunded"
    assert credit_notes(order) == [30_000]
    assert payments_recheck_settled() == 0  # the cancelled attempt is no longer asked about


def test_reconciliation_finds_a_lost_chargeback(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_bca_va_settlement")
    midtrans.chargeback(payment.gateway_order_id, amount=5_000)

    assert payments_recheck_settled() == 1

    payment.refresh_from_db()
    assert (payment.status, payment.chargeback_amount) == ("partial_chargeback", 5_000)


def test_a_chargeback_is_in_the_admins_flagged_list(admin_client_staff, api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")
    post_notification(
        api_client,
        signed({**midtrans.chargeback(payment.gateway_order_id, amount=7_500), "status_code": "200"}),
    )

    listing = admin_client_staff.get("/admin/payments/payment/?flagged=yes")
    page = admin_client_staff.get(f"/admin/payments/payment/{payment.pk}/change/")

    assert [p.pk for p in listing.context["cl"].result_list] == [payment.pk]
    assert "Partly charged back by the card holder&#x27;s bank (7500 so far)" in listing.content.decode()
    assert "7500" in page.content.decode()


def test_a_held_order_shows_in_the_admin(admin_client_staff, api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_permata_va_settlement")
    reverse(api_client, midtrans, payment)

    listing = admin_client_staff.get("/admin/orders/order/?status=payment_reversed")
    page = admin_client_staff.get(f"/admin/orders/order/{order.pk}/change/")

    assert (listing.status_code, page.status_code) == (200, 200)
    assert [o.pk for o in listing.context["cl"].result_list] == [order.pk]
    assert "Payment reversed (on hold)" in listing.content.decode()


def test_the_shopper_cannot_cancel_a_held_order(api_client, midtrans, order, payment, user):
    """DESIGN.md §4: payment_reversed -> cancelled is staff giving up on it."""
    settle(api_client, midtrans, payment, "doc_permata_va_settlement")
    reverse(api_client, midtrans, payment)

    response = bearer_client(user).post(f"{API}orders/{order.number}/cancel/", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    order.refresh_from_db()
    assert order.status == "payment_reversed"
