"""Payments in the admin: read-only records, filters, the order page's inlines, and the
"check status" and "refund" actions that run the same services as the webhook."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import SUCCESS, WARNING

from accounts.tests.factories import UserFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.models import Payment, PaymentNotification
from payments.services.opening import payment_open
from payments.tests.conftest import TEST_SERVER_KEY, deliver, notification, post_notification

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"
NOTIFICATIONS = "/admin/payments/paymentnotification/"


@pytest.fixture
def payment(midtrans, order) -> Payment:
    return payment_open(order=order)


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def test_payment_pages_are_read_only_and_never_show_the_key(
    admin_client_staff, api_client, midtrans, payment
):
    deliver(api_client, midtrans, notification("doc_card_capture_accept", payment=payment))

    listing = admin_client_staff.get(PAYMENTS)
    page = admin_client_staff.get(f"{PAYMENTS}{payment.pk}/change/")

    assert (listing.status_code, page.status_code) == (200, 200)
    html = page.content.decode()
    assert payment.gateway_order_id in listing.content.decode()
    assert "Rp 30.000" in html
    assert "&quot;transaction_status&quot;: &quot;capture&quot;" in html  # the last gateway answer
    assert 'name="_save"' not in html
    for response in (listing, page):
        assert TEST_SERVER_KEY not in response.content.decode()
    assert admin_client_staff.get(f"{PAYMENTS}add/").status_code == 403
    assert admin_client_staff.post(f"{PAYMENTS}{payment.pk}/delete/").status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=settled", ["A"]),
        ("status__exact=pending", ["B"]),
        ("needs_refund__exact=1", []),
        ("flagged=yes", []),
        ("gateway__exact=mock", []),
        ("gateway__exact=midtrans", ["A", "B"]),
    ],
)
def test_payment_filters(admin_client_staff, api_client, midtrans, user, product, query, expected):

    a = payment_open(order=place_order(user=user, items=[(product, 1)]))
    b = payment_open(order=place_order(user=user, items=[(product, 1)]))
    deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=a))
    names = {a.gateway_order_id: "A", b.gateway_order_id: "B"}
    response = admin_client_staff.get(f"{PAYMENTS}?{query}")
    assert response.status_code == 200
    shown = sorted(names[p.gateway_order_id] for p in response.context["cl"].result_list)
    assert shown == expected


def test_notifications_are_read_only_with_filters(admin_client_staff, api_client, midtrans, payment):
    post_notification(
        api_client, {**notification("doc_gopay_settlement", payment=payment), "signature_key": "x"}
    )
    deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=payment))
    rejected, applied = PaymentNotification.objects.order_by("id")

    by_outcome = admin_client_staff.get(f"{NOTIFICATIONS}?outcome__exact=rejected")
    by_signature = admin_client_staff.get(f"{NOTIFICATIONS}?signature_valid__exact=1")
    page = admin_client_staff.get(f"{NOTIFICATIONS}{rejected.pk}/change/")

    assert list(by_outcome.context["cl"].result_list) == [rejected]
    assert list(by_signature.context["cl"].result_list) == [applied]
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client_staff.get(f"{NOTIFICATIONS}add/").status_code == 403


def test_the_order_page_shows_attempts_and_notifications(
    admin_client_staff, api_client, midtrans, order, payment
):
    deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=payment))
    response = admin_client_staff.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    _lines, attempts, notes, _history = response.context["inline_admin_formsets"]
    assert [f.original for f in attempts] == [payment]
    assert [(f.original.outcome, f.original.transaction_status) for f in notes] == [("applied", "settlement")]
    for inline in (attempts, notes):
        assert (inline.has_add_permission, inline.has_change_permission, inline.has_delete_permission) == (
            False,
            False,
            False,
        )


def test_check_status_action(admin_client_staff, midtrans, order, payment):
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    response = admin_client_staff.post(
        PAYMENTS, {"action": "check_status", "_selected_action": [payment.pk]}, follow=True
    )
    assert messages_of(response) == [
        (SUCCESS, f"Checked with the gateway. {payment.gateway_order_id}: applied")
    ]
    order.refresh_from_db()
    assert order.status == "paid"
    event = order.events.get(type="payment_updated")
    assert (event.actor, event.actor_user.is_staff) == ("staff", True)


def test_refund_action(admin_client_staff, api_client, midtrans, order, payment, user, product):

    pending = payment_open(order=place_order(user=user, items=[(product, 1)]))
    deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=payment))

    response = admin_client_staff.post(
        PAYMENTS, {"action": "refund", "_selected_action": [payment.pk, pending.pk]}, follow=True
    )

    assert messages_of(response) == [
        (SUCCESS, f"Refunded. {payment.gateway_order_id}: refunded"),
        (WARNING, f"Failed. {pending.gateway_order_id}: A payment that is pending cannot be refunded."),
    ]
    order.refresh_from_db()
    assert order.status == "refunded"


def test_actions_need_the_change_permission(client, midtrans, payment):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(viewer)
    response = client.get(PAYMENTS)
    assert response.status_code == 200
    assert "check_status" not in response.content.decode()
    client.post(PAYMENTS, {"action": "check_status", "_selected_action": [payment.pk]})
    assert midtrans.requests_to("/status") == []
    assert Order.objects.get().status == "pending_payment"
