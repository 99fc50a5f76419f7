"""The schema is true to every answer (issue 18, item 5): the README's shopper and staff
journeys and their error answers, recorded through the Django test client, each validated
against the generated schema with openapi-core (the validator the issue's integrators used;
https://openapi-core.readthedocs.io/en/latest/ "Response validation"). A mismatch anywhere,
an error body included, fails the test with every mismatch listed."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import MultiDict

from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from conftest import bearer_client
from orders.models import PickupSlot
from orders.pickup import services as pickup_services
from orders.tests.factories import place_order
from payments.tests.conftest import midtrans  # noqa: F401  (a fixture: a fake Midtrans on 127.0.0.1)

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 23)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


@pytest.fixture(scope="module")
def openapi(django_db_blocker) -> OpenAPI:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return OpenAPI.from_dict(response.json())


@dataclass
class Exchange:
    method: str
    url: str
    body: bytes
    headers: dict
    status: int
    response_body: bytes
    response_headers: dict
    content_type: str


class Traffic:
    """Sends requests through a test client and keeps each request and its answer."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def send(self, client, method: str, path: str, body=None, *, headers: dict | None = None, expect: int):
        raw = b"" if body is None else json.dumps(body).encode()
        meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
        url = V1 + path
        if raw:
            response = client.generic(method, url, raw, content_type="application/json", **meta)
        else:
            response = client.generic(method, url, **meta)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == expect, (method, path, response.status_code, content[:500])
        sent = dict(headers or {})
        auth = client._credentials.get("HTTP_AUTHORIZATION") if hasattr(client, "_credentials") else None
        if auth:
            sent["Authorization"] = auth
        if raw:
            sent["Content-Type"] = "application/json"
        self.exchanges.append(
            Exchange(
                method=method,
                url=url,
                body=raw,
                headers=sent,
                status=response.status_code,
                response_body=content,
                response_headers=dict(response.items()),
                content_type=response.get("Content-Type", "").split(";")[0],
            )
        )
        if response.get("Content-Type", "").startswith("application/json") and content:
            return json.loads(content)
        return content

    def mismatches(self, openapi: OpenAPI) -> list[str]:
        found = []
        for exchange in self.exchanges:
            parts = urlsplit(exchange.url)
            request = MockRequest(
                "http://testserver",
                exchange.method,
                parts.path,
                args=MultiDict(parse_qsl(parts.query, keep_blank_values=True)),
                headers=exchange.headers,
                data=exchange.body,
            )
            response = MockResponse(
                exchange.response_body,
                status_code=exchange.status,
                headers=exchange.response_headers,
                content_type=exchange.content_type,
            )
            where = f"{exchange.method} {exchange.url} -> {exchange.status}"
            try:
                openapi.validate_response(request, response)
            except Exception as exc:  # every kind of mismatch is reported, all at once
                found.append(f"{where}: {_explain(exc)}")
            if 200 <= exchange.status < 300:
                try:
                    openapi.validate_request(request)
                except Exception as exc:
                    found.append(f"{where} (request): {_explain(exc)}")
        return found


def _explain(exc: Exception) -> str:
    causes = [str(exc)]
    cause = exc.__cause__
    while cause is not None:
        causes.append(str(cause)[:600])
        for inner in getattr(cause, "schema_errors", ())[:3]:
            causes.append(str(inner.message)[:300])
        cause = cause.__cause__
    return " | ".join(causes)


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def shop(settings, monkeypatch, db):
    """Demo opening hours, Monday 10:00 in Jakarta, the mock gateway, slots made."""
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.PAYMENT_GATEWAY = "mock"
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.MAX_UNPAID_ORDERS = 10
    pickup_services.hours_seed_demo()
    now = local(MONDAY, 10)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    pickup_services.pickup_slots_materialise(now=now)
    rice = CategoryFactory(slug="rice", name="Rice")
    nasi = ProductFactory(slug="nasi-goreng", name="Nasi Goreng", category=rice, price=25_000, stock=20)
    teh = ProductFactory(slug="es-teh", name="Es Teh", category=rice, price=5_000, stock=20)
    return nasi, teh


def test_the_journeys_answers_all_match_the_schema(api_client, shop, traffic, openapi):
    send = traffic.send
    # Shopper: register, log in, profile.
    account = {"email": "ani@example.com", "password": "a-long-Passphrase-9", "name": "Ani"}
    send(api_client, "POST", "/auth/register/", account, expect=201)
    tokens = send(
        api_client, "POST", "/auth/token/", {k: account[k] for k in ("email", "password")}, expect=200
    )
    shopper = api_client.__class__()
    shopper.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    send(shopper, "GET", "/auth/me/", expect=200)
    send(shopper, "PATCH", "/auth/me/", {"phone": "+62 811 222 333"}, expect=200)
    # The menu, anonymous and with a stale token.
    send(api_client, "GET", "/categories/", expect=200)
    send(api_client, "GET", "/categories/rice/", expect=200)
    send(api_client, "GET", "/products/?category=rice&available=true&ordering=-price&page_size=5", expect=200)
    send(api_client, "GET", "/products/?ordering=-price&ordering=name", expect=200)
    send(api_client, "GET", "/products/?page=9", expect=200)  # past the last: empty
    page = send(api_client, "GET", "/products/?cursor=start&page_size=1", expect=200)
    send(api_client, "GET", page["next"].removeprefix("http://testserver" + V1), expect=200)
    send(api_client, "GET", "/products/nasi-goreng/", expect=200)
    etag = traffic.exchanges[-1].response_headers["ETag"]
    send(api_client, "GET", "/products/nasi-goreng/", headers={"If-None-Match": etag}, expect=304)
    send(api_client, "GET", "/products/nasi-goreng/prices/", expect=200)
    stale = api_client.__class__()
    stale.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    send(stale, "GET", "/products/", expect=200)
    send(api_client, "GET", "/shop/", expect=200)
    send(api_client, "GET", "/health/", expect=200)
    send(api_client, "GET", "/ready/", expect=200)
    slots = send(api_client, "GET", "/shop/slots/?date=today", expect=200)
    send(api_client, "GET", "/shop/slots/?date=tomorrow", expect=200)
    # Cart and checkout, for a slot and as soon as possible (no slot).
    cart = send(shopper, "POST", "/cart/items/", {"product": "nasi-goreng", "quantity": 2}, expect=201)
    send(
        shopper,
        "POST",
        "/cart/items/",
        {"product": "es-teh", "quantity": 1},
        headers={"Prefer": "return=minimal"},
        expect=204,
    )
    send(shopper, "PATCH", f"/cart/items/{cart['items'][0]['id']}/", {"quantity": 3}, expect=200)
    send(shopper, "GET", "/cart/", expect=200)
    etag = traffic.exchanges[-1].response_headers["ETag"]
    send(shopper, "GET", "/cart/", headers={"If-None-Match": etag}, expect=304)
    key = {"Idempotency-Key": "journey-1"}
    slot = next(s for s in slots if s["remaining"] > 0)
    order = send(
        shopper,
        "POST",
        "/orders/",
        {"notes": "not too spicy", "pickup_slot": slot["id"]},
        headers=key,
        expect=201,
    )
    send(
        shopper,
        "POST",
        "/orders/",
        {"notes": "not too spicy", "pickup_slot": slot["id"]},
        headers=key,
        expect=201,
    )
    send(shopper, "POST", "/cart/items/", {"product": "es-teh", "quantity": 1}, expect=201)
    other = send(shopper, "POST", "/orders/", {}, expect=201)  # as soon as possible: pickup_slot null
    # Pay with the mock gateway; the order is paid and has its invoice.
    send(
        api_client,
        "POST",
        f"/payments/mock/{order['payment']['token']}/",
        {"transaction_status": "settlement", "payment_type": "qris"},
        expect=200,
    )
    paid = send(shopper, "GET", f"/orders/{order['number']}/", expect=200)
    assert (paid["status"], paid["invoice"] is not None) == ("paid", True)
    send(shopper, "GET", "/orders/", expect=200)
    send(shopper, "GET", "/orders/?status=paid", expect=200)
    invoices = send(shopper, "GET", "/invoices/", expect=200)
    number = invoices["results"][0]["number"]
    send(shopper, "GET", f"/invoices/{number}/", expect=200)
    send(shopper, "GET", f"/invoices/{number}/pdf/", expect=200)
    send(shopper, "POST", f"/orders/{other['number']}/pay/", expect=200)
    send(shopper, "POST", f"/orders/{other['number']}/cancel/", {}, expect=200)
    # Staff: the order list and a kitchen move.
    staff = bearer_client(_staff())
    send(staff, "GET", "/orders/", expect=200)
    send(staff, "POST", f"/orders/{order['number']}/status/", {"status": "preparing"}, expect=200)
    send(staff, "POST", "/products/es-teh/stock/", {"delta": 5, "reason": "delivery"}, expect=200)
    # Refresh, log out.
    fresh = send(api_client, "POST", "/auth/token/refresh/", {"refresh": tokens["refresh"]}, expect=200)
    shopper.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    send(shopper, "POST", "/auth/logout/", {"refresh": fresh["refresh"]}, expect=204)
    send(shopper, "DELETE", "/cart/", expect=401)  # its access token ended with the logout

    mismatches = traffic.mismatches(openapi)
    assert not mismatches, "\n".join(mismatches)


def _staff():
    from accounts.tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


def test_the_error_answers_all_match_the_schema(
    api_client, user, shop, traffic, openapi, settings, monkeypatch
):
    nasi, teh = shop
    send = traffic.send
    shopper = bearer_client(user)
    staff = bearer_client(_staff())
    # Checkout refusals, each with its recovery data.
    send(shopper, "POST", "/orders/", {}, expect=400)  # cart_empty
    send(shopper, "POST", "/cart/items/", {"product": "nasi-goreng", "quantity": 5}, expect=201)
    send(shopper, "POST", "/orders/", {"pickup_slot": 999_999}, expect=400)  # slot_unavailable
    send(shopper, "POST", "/orders/", {"pickup_slot": "soon"}, expect=400)  # field errors
    full = PickupSlot.objects.filter(start__gte=local(MONDAY, 12)).order_by("start").first()
    PickupSlot.objects.filter(pk=full.pk).update(capacity=0)
    body = send(shopper, "POST", "/orders/", {"pickup_slot": full.pk}, expect=409)
    assert (body["code"], len(body["next_slots"]) > 0) == ("slot_full", True)
    Product.objects.filter(pk=nasi.pk).update(stock=2)
    assert send(shopper, "POST", "/orders/", {}, expect=409)["code"] == "insufficient_stock"
    Product.objects.filter(pk=nasi.pk).update(stock=20, is_active=False)
    assert send(shopper, "POST", "/orders/", {}, expect=409)["code"] == "product_unavailable"
    Product.objects.filter(pk=nasi.pk).update(is_active=True)
    send(shopper, "POST", "/orders/", {}, headers={"Idempotency-Key": "k-1"}, expect=201)
    send(shopper, "POST", "/cart/items/", {"product": "es-teh", "quantity": 1}, expect=201)
    send(shopper, "POST", "/orders/", {"notes": "other"}, headers={"Idempotency-Key": "k-1"}, expect=422)
    settings.MAX_UNPAID_ORDERS = 1
    assert send(shopper, "POST", "/orders/", {}, expect=409)["code"] == "too_many_unpaid_orders"
    settings.MAX_UNPAID_ORDERS = 10
    settings.CART_MAX_UNITS_PER_PRODUCT = 2
    body = send(shopper, "POST", "/cart/items/", {"product": "es-teh", "quantity": 2}, expect=409)
    assert body["code"] == "cart_product_limit"
    pending = place_order(user=user, items=[(teh, 1)])
    night = local(MONDAY, 22)
    monkeypatch.setattr("django.utils.timezone.now", lambda: night)
    closed = send(shopper, "POST", "/orders/", {}, expect=409)
    assert (closed["code"], closed["next_opening"] is not None) == ("shop_closed", True)
    # Staff refusals.
    body = send(staff, "POST", f"/orders/{pending.number}/status/", {"status": "ready"}, expect=409)
    assert body["code"] == "invalid_transition"
    send(
        staff, "PATCH", "/products/es-teh/", {"stock": 3, "expected_stock": 999}, expect=409
    )  # stock_changed
    send(staff, "POST", "/products/es-teh/stock/", {"delta": -999, "reason": "waste"}, expect=409)
    send(shopper, "POST", "/products/es-teh/stock/", {"delta": 1, "reason": "delivery"}, expect=403)
    # Tokens and credentials.
    send(api_client, "GET", "/auth/me/", expect=401)
    bad = api_client.__class__()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert "messages" in send(bad, "GET", "/auth/me/", expect=401)
    send(api_client, "POST", "/auth/token/refresh/", {"refresh": "not-a-token"}, expect=401)
    send(
        api_client, "POST", "/auth/token/", {"email": user.email, "password": "wrong-password-1"}, expect=401
    )
    send(api_client, "POST", "/auth/token/", {"email": ""}, expect=400)
    # Not found.
    send(shopper, "GET", "/orders/FD-000000-NOPE0000/", expect=404)
    send(api_client, "GET", "/products/no-such-dish/", expect=404)
    send(shopper, "PATCH", "/cart/items/999999/", {"quantity": 1}, expect=404)
    send(shopper, "GET", "/invoices/INV-NOPE/pdf/", expect=404)
    send(
        api_client, "POST", "/payments/mock/no-such-token/", {"transaction_status": "settlement"}, expect=404
    )
    send(api_client, "GET", "/products/?page=0", expect=404)
    send(api_client, "GET", "/products/?cursor=bogus", expect=404)
    send(api_client, "GET", "/products/?page_size=1000", expect=400)

    mismatches = traffic.mismatches(openapi)
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(("failure", "status"), [("timeout", 503), ((401, "snap_401_bad_server_key"), 502)])
def test_payment_gateway_failures_match_the_schema(
    auth_client,
    user,
    midtrans,  # noqa: F811
    traffic,
    openapi,
    failure,
    status,
):
    product = ProductFactory(slug="nasi", stock=10, price=10_000)
    order = place_order(user=user, items=[(product, 1)])
    midtrans.failures["snap"] = failure
    body = traffic.send(auth_client, "POST", f"/orders/{order.number}/pay/", expect=status)
    assert body == {"detail": body["detail"], "code": "payment_gateway_error", "order": order.number}
    del midtrans.failures["snap"]
    traffic.send(auth_client, "POST", f"/orders/{order.number}/pay/", expect=200)
    mismatches = traffic.mismatches(openapi)
    assert not mismatches, "\n".join(mismatches)


def test_a_mismatch_is_found(shop, traffic, openapi, api_client):
    """The check can fail: an answer the schema does not allow is reported."""
    traffic.send(api_client, "GET", "/shop/", expect=200)
    traffic.exchanges[0].response_body = json.dumps({"open_now": "yes"}).encode()
    assert len(traffic.mismatches(openapi)) == 1
    traffic.exchanges[0].status = 418
    assert len(traffic.mismatches(openapi)) == 1


def test_the_menus_variety_matches_the_schema(api_client, user, shop, traffic, openapi):
    """Options, a bundle, a product without a price (staff see it), a cart line with a
    problem, an order with options, a staff refund with its credit note."""
    from catalog import options as option_services
    from catalog.tests.factories import BundleFactory

    nasi, teh = shop
    send = traffic.send
    spice = option_services.option_group_create(name="Spice level", min_choices=1, max_choices=1, position=1)
    option_services.option_create(group=spice, name="Hot", slug="hot", price_delta=2_000, position=1)
    option_services.option_create(group=spice, name="Mild", slug="mild", price_delta=0, position=2)
    option_services.product_set_option_groups(product=nasi, groups=[spice])
    BundleFactory(
        slug="paket", name="Paket", category=nasi.category, components=[(nasi, 1), (teh, 1)], price=27_000
    )
    ProductFactory(slug="soon", name="Soon", category=nasi.category, price=None, stock=0)
    shopper = bearer_client(user)
    staff = bearer_client(_staff())
    send(api_client, "GET", "/products/", expect=200)
    send(api_client, "GET", "/products/paket/", expect=200)
    send(staff, "GET", "/products/?page_size=100", expect=200)  # hidden and unpriced ones too
    send(staff, "GET", "/products/soon/", expect=200)
    send(staff, "GET", "/categories/", expect=200)
    send(
        shopper,
        "POST",
        "/cart/items/",
        {"product": "nasi-goreng", "quantity": 1, "options": ["hot"], "note": "x"},
        expect=201,
    )
    send(shopper, "POST", "/cart/items/", {"product": "paket", "quantity": 1}, expect=201)
    Product.objects.filter(pk=teh.pk).update(stock=0)
    cart = send(shopper, "GET", "/cart/", expect=200)
    assert any(line["problem"] for line in cart["items"])
    Product.objects.filter(pk=teh.pk).update(stock=20)
    order = send(shopper, "POST", "/orders/", {}, expect=201)
    send(
        api_client,
        "POST",
        f"/payments/mock/{order['payment']['token']}/",
        {"transaction_status": "settlement"},
        expect=200,
    )
    refunded = send(staff, "POST", f"/orders/{order['number']}/status/", {"status": "refunded"}, expect=200)
    assert refunded["status"] == "refunded"
    invoice = send(shopper, "GET", f"/invoices/{refunded['invoice']['number']}/", expect=200)
    note = invoice["credit_notes"][0]["number"]
    send(shopper, "GET", f"/invoices/{invoice['number']}/credit-notes/{note}/pdf/", expect=200)
    send(staff, "GET", f"/orders/{order['number']}/", expect=200)

    mismatches = traffic.mismatches(openapi)
    assert not mismatches, "\n".join(mismatches)
