"""The benchmark's Midtrans fake, as its own process, through the app's real gateway
(`midtransclient`) and webhook: what a load run relies on."""

import json
from decimal import Decimal

import pytest
import requests

from bench.midtrans_fake import MidtransFake, settlement_notification, signature
from catalog.tests.factories import BundleFactory, ProductFactory
from orders.models import OrderStatus
from orders.tests.factories import place_order
from payments.gateways import GatewayError, get_gateway
from payments.gateways.base import signature_matches
from payments.models import PaymentNotification
from payments.services.opening import payment_open

WEBHOOK = "/api/v1/payments/midtrans/notification/"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    fake = MidtransFake(workdir=tmp_path_factory.mktemp("midtrans-fake"))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def through_fake(settings, fake):
    for name, value in fake.app_env().items():
        setattr(settings, name, {"true": True, "false": False}.get(value, value))
    return fake


def snap_body(order_id: str, *, gross: int = 30_000, price: int = 15_000) -> dict:
    return {
        "transaction_details": {"order_id": order_id, "gross_amount": gross},
        "item_details": [{"id": "A", "price": price, "quantity": 2, "name": "Nasi"}],
    }


def snap(fake: MidtransFake, body: dict, *, key: str | None = None) -> requests.Response:
    return requests.post(
        f"{fake.base_url}/snap/v1/transactions", json=body, auth=(key or fake.server_key, ""), timeout=10
    )


def test_app_settings_point_the_midtrans_gateway_at_the_fake(fake):
    env = fake.app_env()
    assert env["PAYMENT_GATEWAY"] == "midtrans"
    assert env["MIDTRANS_SERVER_KEY"] == fake.server_key
    assert env["MIDTRANS_SNAP_BASE_URL"] == f"http://127.0.0.1:{fake.port}/snap/v1"
    assert env["MIDTRANS_API_BASE_URL"] == f"http://127.0.0.1:{fake.port}"
    assert env["MIDTRANS_VERIFY_STATUS"] == "true"
    assert fake.server_key not in " ".join(fake.process.args)  # given in a file, not on the command line


@pytest.mark.django_db
def test_a_payment_opens_and_settles_through_the_apps_gateway(through_fake, user):
    rice = ProductFactory(sku="NG-1", price=25_000)
    tea = ProductFactory(sku="ET-1", price=5_000)
    combo = BundleFactory(sku="PKT-1", price=28_000, components=[(rice, 1), (tea, 1)])
    order = place_order(user=user, items=[(rice, 1), (tea, 2), (combo, 1)])
    gateway = get_gateway()
    order_id = f"{order.number}-1"

    opened = gateway.create_payment(order=order, gateway_order_id=order_id, expires_at=order.expires_at)
    assert opened.redirect_url == f"{through_fake.base_url}/snap/v2/vtweb/{opened.token}"
    with pytest.raises(GatewayError) as unpaid:
        gateway.get_status(gateway_order_id=order_id)
    assert unpaid.value.not_found  # Midtrans knows no status until the shopper pays

    row = {"order_id": order_id, "gross_amount": 63_000, "transaction_id": "tx-1", "payment_type": "qris"}
    assert through_fake.settle([row]) == []
    answer = gateway.get_status(gateway_order_id=order_id)
    assert {k: answer[k] for k in ("order_id", "transaction_status", "fraud_status", "gross_amount")} == {
        "order_id": order_id,
        "transaction_status": "settlement",
        "fraud_status": "accept",
        "gross_amount": "63000.00",
    }
    assert (answer["transaction_id"], answer["payment_type"], answer["status_code"]) == (
        "tx-1",
        "qris",
        "200",
    )
    assert signature_matches(answer, server_key=through_fake.server_key)


@pytest.mark.django_db
def test_a_settlement_notification_is_applied_by_the_webhook_once(through_fake, user, client):
    product = ProductFactory(price=20_000)
    order = place_order(user=user, items=[(product, 2)])
    payment = payment_open(order=order)
    row = {
        "order_id": payment.gateway_order_id,
        "gross_amount": 40_000,
        "transaction_id": "tx-2",
        "payment_type": "gopay",
    }
    assert through_fake.settle([row]) == []
    body = settlement_notification(**row, server_key=through_fake.server_key)
    assert body["signature_key"] == signature(
        order_id=payment.gateway_order_id,
        status_code="200",
        gross_amount="40000.00",
        server_key=through_fake.server_key,
    )

    first = client.post(WEBHOOK, json.dumps(body), content_type="application/json")
    again = client.post(WEBHOOK, json.dumps(body), content_type="application/json")

    assert (first.status_code, first.json().get("outcome")) == (200, "applied"), first.content
    assert (again.status_code, again.json().get("outcome")) == (200, "duplicate"), again.content
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (payment.status, payment.transaction_id, payment.payment_type) == ("settled", "tx-2", "gopay")
    assert order.invoice.total == 40_000
    assert list(PaymentNotification.objects.order_by("id").values_list("outcome", flat=True)) == [
        "applied",
        "duplicate",
    ]


def test_snap_refuses_a_wrong_key_a_reused_order_id_and_items_that_do_not_add_up(fake):
    before = fake.stats()
    assert snap(fake, snap_body("bench-refusals-1"), key="SB-Mid-server-wrong").status_code == 401
    assert snap(fake, snap_body("bench-refusals-1")).status_code == 201
    reused = snap(fake, snap_body("bench-refusals-1"))
    assert reused.status_code == 400
    assert snap(fake, snap_body("bench-refusals-2", gross=29_000)).status_code == 400
    after = fake.stats()
    assert after["calls"]["snap"] - before["calls"].get("snap", 0) == 4
    assert after["connections"] - before["connections"] == 5  # a new one per call, and one for stats
    assert after["opened"] - before["opened"] == 1
    refused = {k: v - before["refusals"].get(k, 0) for k, v in after["refusals"].items()}
    assert {k: v for k, v in refused.items() if v} == {"snap 401": 1, "snap 400": 2}


def test_settle_refuses_an_order_never_opened_or_another_amount(fake):
    assert snap(fake, snap_body("bench-settle-1")).status_code == 201
    rows = [
        {
            "order_id": "bench-never-opened",
            "gross_amount": 1000,
            "transaction_id": "t",
            "payment_type": "qris",
        },
        {"order_id": "bench-settle-1", "gross_amount": 29_999, "transaction_id": "t", "payment_type": "qris"},
    ]
    assert fake.settle(rows) == ["bench-never-opened", "bench-settle-1"]
    status = requests.get(f"{fake.base_url}/v2/bench-settle-1/status", auth=(fake.server_key, ""), timeout=10)
    assert (status.status_code, status.json()["status_code"]) == (404, "404")


def test_status_needs_the_server_key(fake):
    assert snap(fake, snap_body("bench-key-1")).status_code == 201
    fake.settle(
        [{"order_id": "bench-key-1", "gross_amount": 30_000, "transaction_id": "t", "payment_type": "qris"}]
    )
    wrong = requests.get(f"{fake.base_url}/v2/bench-key-1/status", auth=("SB-Mid-server-x", ""), timeout=10)
    right = requests.get(f"{fake.base_url}/v2/bench-key-1/status", auth=(fake.server_key, ""), timeout=10)
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert Decimal(right.json()["gross_amount"]) == 30_000


def test_stop_ends_the_fake(tmp_path):
    fake = MidtransFake(workdir=tmp_path)
    fake.start()
    fake.stop()
    assert fake.process.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fake.base_url}/_bench/stats", timeout=2)
