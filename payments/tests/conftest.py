"""Fixtures for the payments tests: a fake Midtrans on 127.0.0.1 reached through the real
midtransclient, the mock gateway, an order to pay, and notification builders shaped like
Midtrans's published samples (re-signed with the test key)."""

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from invoices.models import CreditNote
from orders.tests.factories import place_order
from payments.models import Payment
from payments.services.opening import payment_open
from payments.tests.midtrans_server import FakeMidtrans, FakeMidtransServer, notification_sample

TEST_SERVER_KEY = "SB-Mid-server-foodies-tests-9Qw2"
WEBHOOK = "/api/v1/payments/midtrans/notification/"


@pytest.fixture
def midtrans(settings):
    """Midtrans as the gateway, pointed at a fake Midtrans server on 127.0.0.1."""
    fake = FakeMidtrans(server_key=TEST_SERVER_KEY)
    server = FakeMidtransServer(fake)
    server.start()
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = TEST_SERVER_KEY
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.MIDTRANS_SNAP_BASE_URL = f"{fake.base_url}/snap/v1"
    settings.MIDTRANS_API_BASE_URL = fake.base_url
    settings.MIDTRANS_TIMEOUT_CONNECT = 1.0
    # Under 5 s (a "timeout" failure holds its answer that long), well over a loaded CI
    # machine's answer time: 0.5 s timed out a plain Snap call once in CI.
    settings.MIDTRANS_TIMEOUT_READ = 2.0
    settings.MIDTRANS_VERIFY_STATUS = True
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    yield fake
    server.stop()


@pytest.fixture
def mock_gateway(settings):
    settings.PAYMENT_GATEWAY = "mock"
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.MIDTRANS_VERIFY_STATUS = True
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture
def product(db):
    return ProductFactory(slug="nasi", name="Nasi Goreng", sku="NG-1", price=10_000, stock=10)


@pytest.fixture
def order(user, product):
    """A pending order for 30,000 that took 3 of the 10 units in stock."""
    return place_order(user=user, items=[(product, 3)])


def page_ended(payment: Payment) -> None:
    """The attempt's page ends (at our side) while it may still be payable at Midtrans: the
    next `pay/` cancels it there first, or opens a new attempt when Midtrans refuses (a
    denied card: 412), which is how a second attempt comes to exist (issue 17, item 8)."""
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def signature(body: dict[str, Any], key: str = TEST_SERVER_KEY) -> str:
    raw = f"{body['order_id']}{body['status_code']}{body['gross_amount']}{key}"
    return hashlib.sha512(raw.encode()).hexdigest()


def signed(body: dict[str, Any], key: str = TEST_SERVER_KEY) -> dict[str, Any]:
    return {**body, "signature_key": signature(body, key)}


def notification(
    sample: str, *, payment: Payment, key: str = TEST_SERVER_KEY, **overrides: Any
) -> dict[str, Any]:
    """A published Midtrans notification body about `payment`, re-signed. An override of
    None removes the field (e.g. `fraud_status=None`)."""
    body = notification_sample(sample)
    body.update(order_id=payment.gateway_order_id, gross_amount=f"{payment.amount}.00")
    for name, value in overrides.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return signed(body, key)


def post_notification(client, body: dict[str, Any] | bytes | str, *, path: str = WEBHOOK):
    raw = json.dumps(body) if isinstance(body, dict) else body
    return client.post(path, data=raw, content_type="application/json")


def deliver(client, fake: FakeMidtrans, body: dict[str, Any], *, path: str = WEBHOOK):
    """Midtrans's side learns the status the notification reports, then it is delivered.
    A transaction keeps one transaction id for life: a later notification about it (built
    from another sample) carries the id Midtrans already gave it (the field is not signed)."""
    extra = {k: body[k] for k in ("refund_amount", "refunds", "va_numbers", "chargeback_amount") if k in body}
    known = fake.status_of(body["order_id"])
    if known is not None:
        body = {**body, "transaction_id": known["transaction_id"]}
    fake.set_status(
        body["order_id"],
        body["transaction_status"],
        gross_amount=body["gross_amount"],
        fraud_status=body.get("fraud_status"),
        payment_type=body.get("payment_type", "bank_transfer"),
        transaction_id=body.get("transaction_id"),
        **extra,
    )
    return post_notification(client, body, path=path)


def database_state(*, exclude: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    """Every row of every model (but `exclude`d ones), to assert that nothing changed."""
    state = {}
    for model in apps.get_models():
        label = model._meta.label
        if label not in exclude:
            state[label] = list(model.objects.order_by("pk").values())
    return state


def settle(api_client, midtrans, order, sample: str, **overrides) -> Payment:
    """Open a payment for `order` and settle it with the published `sample` (its own
    amounts and ids), delivered signed through the webhook; the settled payment."""
    payment = payment_open(order=order)
    response = deliver(api_client, midtrans, notification(sample, payment=payment, **overrides))
    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert payment.status == "settled"
    return payment


def credit_notes(order) -> list[tuple[int, str]]:
    return list(
        CreditNote.objects.filter(invoice__order=order)
        .order_by("id")
        .values_list("amount", "refund_reference")
    )
