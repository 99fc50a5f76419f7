"""The Midtrans gateway through the real midtransclient against a fake Midtrans on
127.0.0.1: what Snap is sent, timeouts, base URLs, and every failure as one GatewayError
that never shows the server key."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.tests.factories import BundleFactory, ProductFactory
from orders.tests.factories import place_order
from payments.gateways import GatewayError, get_gateway
from payments.gateways.midtrans import MidtransGateway
from payments.gateways.mock import MockGateway
from payments.tests.conftest import TEST_SERVER_KEY

pytestmark = pytest.mark.django_db


def test_the_gateway_follows_the_setting(settings, midtrans):
    assert isinstance(get_gateway(), MidtransGateway)
    settings.PAYMENT_GATEWAY = "mock"
    assert isinstance(get_gateway(), MockGateway)


def test_snap_gets_the_order_as_midtrans_wants_it(midtrans, user):
    rice = ProductFactory(
        name="Nasi Goreng Kampung Spesial dengan Telur Mata Sapi dan Kerupuk", sku="NG-9", price=25_000
    )
    tea = ProductFactory(name="Es Teh", sku="ET-1", price=5_000)
    combo = BundleFactory(name="Paket Hemat", sku="PKT-1", price=28_000, components=[(rice, 1), (tea, 2)])
    user.phone = "+62 812-3456-7890"
    order = place_order(user=user, items=[(rice, 2), (tea, 1), (combo, 1)])
    expires_at = order.expires_at
    before = timezone.now()

    opened = get_gateway().create_payment(
        order=order, gateway_order_id=f"{order.number}-1", expires_at=expires_at
    )

    [request] = midtrans.requests_to("/snap/v1/transactions")
    body = request.body
    assert (request.method, request.server_key) == ("POST", TEST_SERVER_KEY)
    assert body["transaction_details"] == {"order_id": f"{order.number}-1", "gross_amount": 83_000}
    assert body["item_details"] == [
        {
            "id": "NG-9",
            "price": 25_000,
            "quantity": 2,
            "name": "Nasi Goreng Kampung Spesial dengan Telur Mata Sapi",
        },
        {"id": "ET-1", "price": 5_000, "quantity": 1, "name": "Es Teh"},
        {"id": "PKT-1", "price": 28_000, "quantity": 1, "name": "Paket Hemat"},
    ]
    assert len(body["item_details"][0]["name"]) == 50
    assert (
        sum(i["price"] * i["quantity"] for i in body["item_details"])
        == body["transaction_details"]["gross_amount"]
    )
    assert body["customer_details"] == {
        "first_name": user.name,
        "email": user.email,
        "phone": "+6281234567890",
    }
    assert body["callbacks"] == {"finish": "https://shop.example.com/payments/finish/"}
    expiry = body["expiry"]
    assert (expiry["unit"], expiry["start_time"][-5:]) == ("minute", "+0700")
    # The gateway's window starts now and ends no later than the order's.
    assert opened.expires_at <= expires_at < opened.expires_at + timedelta(minutes=1)
    assert (
        before.replace(microsecond=0)
        <= opened.expires_at - timedelta(minutes=expiry["duration"])
        <= timezone.now()
    )
    assert opened.token
    assert opened.redirect_url == f"{midtrans.base_url}/snap/v2/vtweb/{opened.token}"


def test_status_cancel_and_refund_use_the_core_api(midtrans):
    midtrans.set_status("FD-1-1", "settlement", gross_amount="30000.00", payment_type="gopay")
    gateway = get_gateway()
    assert gateway.get_status(gateway_order_id="FD-1-1")["transaction_status"] == "settlement"
    refund = gateway.refund(
        gateway_order_id="FD-1-1", amount=30_000, refund_key="FD-1-1-refund-0", reason="x"
    )
    assert (refund["transaction_status"], refund["refund_amount"]) == ("refund", "30000.00")
    midtrans.set_status("FD-2-1", "pending", gross_amount="10000.00")
    assert gateway.cancel(gateway_order_id="FD-2-1")["transaction_status"] == "cancel"
    assert [(s.method, s.path) for s in midtrans.seen] == [
        ("GET", "/v2/FD-1-1/status"),
        ("POST", "/v2/FD-1-1/refund"),
        ("POST", "/v2/FD-2-1/cancel"),
    ]
    assert midtrans.seen[1].body == {"refund_key": "FD-1-1-refund-0", "amount": 30_000, "reason": "x"}


@pytest.mark.parametrize(
    ("failure", "status_code", "reachable", "message"),
    [
        ((401, "status_401_core_api"), 401, True, "Transaction cannot be authorized"),
        ((404, "status_404_current"), 404, True, "Transaction doesn't exist."),
        ("html", None, False, "not JSON"),
        ("drop", None, False, "could not be reached"),
        ("timeout", None, False, "did not answer in time"),
    ],
)
def test_every_failure_is_one_gateway_error(midtrans, failure, status_code, reachable, message):
    midtrans.failures["status"] = failure
    with pytest.raises(GatewayError) as caught:
        get_gateway().get_status(gateway_order_id="FD-1-1")
    error = caught.value
    assert (error.status_code, error.reachable) == (status_code, reachable)
    assert message in error.message
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert TEST_SERVER_KEY not in str(error)


def test_the_read_timeout_is_applied(midtrans, settings):
    settings.MIDTRANS_TIMEOUT_READ = 0.3
    midtrans.failures["status"] = "timeout"
    started = time.monotonic()
    with pytest.raises(GatewayError):
        get_gateway().get_status(gateway_order_id="FD-1-1")
    assert time.monotonic() - started < 2


def test_snap_errors(midtrans, order):
    gateway = get_gateway()
    gateway.create_payment(order=order, gateway_order_id="FD-X-1", expires_at=order.expires_at)
    with pytest.raises(GatewayError, match=r"\(400\): transaction_details.order_id has already been taken"):
        gateway.create_payment(order=order, gateway_order_id="FD-X-1", expires_at=order.expires_at)
    midtrans.server_key = "another key"
    with pytest.raises(GatewayError, match=r"\(401\): Access denied") as caught:
        gateway.create_payment(order=order, gateway_order_id="FD-X-2", expires_at=order.expires_at)
    assert TEST_SERVER_KEY not in str(caught.value)


def test_the_gateway_repr_hides_the_server_key(midtrans):
    gateway = get_gateway()
    assert TEST_SERVER_KEY in repr(gateway._snap.api_config)  # midtrans's own repr would show it
    assert repr(gateway) == "<MidtransGateway production=False>"


def test_the_default_base_urls_are_midtrans_own(settings):
    settings.MIDTRANS_SERVER_KEY = "k"
    settings.MIDTRANS_SNAP_BASE_URL = settings.MIDTRANS_API_BASE_URL = ""
    gateway = MidtransGateway.from_settings()
    assert gateway._snap.api_config.get_snap_base_url() == "https://app.sandbox.midtrans.com/snap/v1"
    assert gateway._core.api_config.get_core_api_base_url() == "https://api.sandbox.midtrans.com"
    settings.MIDTRANS_IS_PRODUCTION = True
    gateway = MidtransGateway.from_settings()
    assert gateway._core.api_config.get_core_api_base_url() == "https://api.midtrans.com"


def test_the_discount_and_the_charges_are_items_of_their_own(midtrans, order):
    """As orders/totals.py priced it: 30,000 less a 5,000 voucher, PB1 10% on 25,000, a
    rounding of -100 (in memory: the order's snapshot is what Snap is sent)."""
    order.discount, order.tax, order.total = 5_000, 2_500, 27_400
    order.charges = [
        {"code": "tax", "name": "PB1", "rate_bp": 1_000, "base": 25_000, "amount": 2_500},
        {"code": "rounding", "name": "Rounding", "base": 27_500, "amount": -100},
    ]
    get_gateway().create_payment(order=order, gateway_order_id="FD-D-1", expires_at=order.expires_at)
    body = midtrans.requests_to("/snap/")[0].body
    assert body["item_details"][1:] == [
        {"id": "DISCOUNT", "price": -5_000, "quantity": 1, "name": "Discount"},
        {"id": "TAX", "price": 2_500, "quantity": 1, "name": "PB1 10%"},
        {"id": "ROUNDING", "price": -100, "quantity": 1, "name": "Rounding"},
    ]
    assert json.dumps(body["transaction_details"]["gross_amount"]) == "27400"
