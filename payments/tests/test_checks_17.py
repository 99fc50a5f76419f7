"""Configuration that protects the shop, and challenged card payments (issue 17, item 10).

- A sandbox server key with MIDTRANS_IS_PRODUCTION on, or a production key without it, is
  a system-check error (Midtrans answers 401 "Unknown Merchant server_key/id" on every call:
  no order could be paid), and so is DEBUG off without PUBLIC_BASE_URL.
- MIDTRANS_ENABLED_PAYMENTS is sent as Snap's `enabled_payments`.
- A challenged card capture is approved or denied by staff in the admin through
  `/v2/{id}/approve|deny` (Midtrans's Approve/Deny Transaction references: only a challenged
  capture can be; anything else is 412), through the real midtransclient against the
  project's Midtrans test server.
"""

import pytest
from django.contrib.messages import SUCCESS, WARNING
from django.core import checks

from orders.models import Order
from payments.models import Payment
from payments.services.opening import payment_open
from payments.tests.conftest import deliver, notification
from payments.tests.test_settings_checks import production_env, run

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"


def ids() -> list[str]:
    return [m.id for m in checks.run_checks(tags=["foodies_settings"])]


@pytest.mark.parametrize(
    ("key", "production", "expected"),
    [
        ("SB-Mid-server-abc", True, ["payments.E005"]),
        ("Mid-server-abc", False, ["payments.E006"]),
        ("SB-Mid-server-abc", False, []),
        ("Mid-server-abc", True, []),
    ],
)
def test_the_key_must_match_the_midtrans_environment(settings, key, production, expected):
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = key
    settings.MIDTRANS_IS_PRODUCTION = production
    assert ids() == expected


def test_public_base_url_is_required_without_debug(settings):
    settings.PUBLIC_BASE_URL = ""
    assert ids() == ["payments.E007"]
    settings.DEBUG = True
    assert ids() == []


def test_check_deploy_stops_on_a_sandbox_key_in_production_and_without_public_base_url(tmp_path):
    env = production_env(
        tmp_path,
        PAYMENT_GATEWAY="midtrans",
        MIDTRANS_SERVER_KEY="SB-Mid-server-x",
        MIDTRANS_IS_PRODUCTION="true",
        PUBLIC_BASE_URL="",
    )
    result = run(["manage.py", "check", "--deploy"], env)
    assert result.returncode == 1
    assert "payments.E005" in result.stderr
    assert "payments.E007" in result.stderr

    env.update(MIDTRANS_IS_PRODUCTION="false", PUBLIC_BASE_URL="https://shop.example.com")
    result = run(["manage.py", "check", "--deploy", "--tag", "foodies_settings"], env)
    assert result.returncode == 0, result.stderr


def test_enabled_payments_are_sent_to_snap(midtrans, order, settings):
    # As env.list reads "credit_card, gopay,qris ,bca_va,": spaces kept, an empty item.
    settings.MIDTRANS_ENABLED_PAYMENTS = ["credit_card", " gopay", "qris ", "bca_va", ""]
    payment_open(order=order)
    [snap] = midtrans.requests_to("/snap/")
    assert snap.body["enabled_payments"] == ["credit_card", "gopay", "qris", "bca_va"]


def test_without_enabled_payments_snap_offers_the_dashboards_channels(midtrans, order, settings):
    assert settings.MIDTRANS_ENABLED_PAYMENTS == []
    payment_open(order=order)
    [snap] = midtrans.requests_to("/snap/")
    assert "enabled_payments" not in snap.body


@pytest.fixture
def challenged(api_client, midtrans, order) -> Payment:
    payment = payment_open(order=order)
    body = notification("doc_card_capture_accept", payment=payment, fraud_status="challenge")
    assert deliver(api_client, midtrans, body).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "challenge"
    return payment


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def test_staff_approve_a_challenged_card_payment(admin_client_staff, midtrans, order, challenged):
    response = admin_client_staff.post(
        PAYMENTS, {"action": "approve_challenged", "_selected_action": [challenged.pk]}, follow=True
    )
    assert messages_of(response) == [(SUCCESS, f"Approved. {challenged.gateway_order_id}: settled")]
    [request] = midtrans.requests_to("/approve")
    assert (request.method, request.path) == ("POST", f"/v2/{challenged.gateway_order_id}/approve")
    challenged.refresh_from_db()
    assert (challenged.status, Order.objects.get(pk=order.pk).status) == ("settled", "paid")


def test_staff_deny_a_challenged_card_payment(admin_client_staff, midtrans, order, challenged):
    response = admin_client_staff.post(
        PAYMENTS, {"action": "deny_challenged", "_selected_action": [challenged.pk]}, follow=True
    )
    assert messages_of(response) == [(SUCCESS, f"Denied. {challenged.gateway_order_id}: failed")]
    assert len(midtrans.requests_to("/deny")) == 1
    challenged.refresh_from_db()
    assert (challenged.status, Order.objects.get(pk=order.pk).status) == ("failed", "pending_payment")


def test_only_a_challenged_payment_can_be_reviewed(admin_client_staff, api_client, midtrans, order):
    payment = payment_open(order=order)
    deliver(api_client, midtrans, notification("doc_card_capture_accept", payment=payment))
    response = admin_client_staff.post(
        PAYMENTS, {"action": "approve_challenged", "_selected_action": [payment.pk]}, follow=True
    )
    assert messages_of(response) == [
        (
            WARNING,
            f"Failed. {payment.gateway_order_id}: Only a challenged payment can be reviewed; this one is settled.",
        )
    ]
    assert midtrans.requests_to("/approve") == []


def test_the_test_server_refuses_to_approve_what_is_not_challenged(midtrans):
    from payments.gateways import GatewayError, get_gateway

    midtrans.set_status("FD-9-1", "settlement", gross_amount="10000.00", payment_type="credit_card")
    with pytest.raises(GatewayError) as caught:
        get_gateway().approve(gateway_order_id="FD-9-1")
    assert caught.value.status_code == 412
    with pytest.raises(GatewayError) as caught:
        get_gateway().deny(gateway_order_id="FD-404-1")
    assert caught.value.status_code == 404


@pytest.mark.parametrize("fraud_status", ["challenge", "deny"])
def test_a_settlement_whose_fraud_status_is_not_accept_never_pays(api_client, midtrans, order, fraud_status):
    payment = payment_open(order=order)
    deliver(
        api_client, midtrans, notification("doc_gopay_settlement", payment=payment, fraud_status=fraud_status)
    )
    order.refresh_from_db()
    assert order.status == "pending_payment"
