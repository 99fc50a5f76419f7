"""Security sweep (issue 14): for every object endpoint, another user's object is a 404 that
reads exactly like a missing one (never a 403 that confirms it exists) and nothing changes;
every read-only field sent in a write is ignored or refused, never applied; oversized and
malformed bodies are a JSON 4xx that changes nothing; registration cannot make staff.

Every test asserts the exact answer and that the rows it aimed at did not change."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import UserFactory
from cart.models import CartItem
from cart.services import cart_add_item
from catalog.models import Category, Product, ProductPrice
from catalog.tests.factories import CategoryFactory, ProductFactory
from invoices.models import Invoice
from invoices.tests.factories import pay
from orders.models import Order, OrderStatus
from orders.tests.factories import place_order
from payments.models import MockTransaction, Payment
from payments.services.opening import payment_open

pytestmark = pytest.mark.django_db

API = "/api/v1"
MISSING_ORDER = "FD-261123-ZZZZZZZZ"
MISSING_INVOICE = "INV-2026-999999"


def client_for(user=None) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture(autouse=True)
def _mock_gateway(settings, tmp_path):
    settings.PAYMENT_GATEWAY = "mock"
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.MIDTRANS_VERIFY_STATUS = True
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.com")


@pytest.fixture
def product(db):
    return ProductFactory(slug="nasi", name="Nasi Goreng", price=25_000, stock=20)


@pytest.fixture
def world(alice, product):
    """Alice's things: a pending order with an open mock payment, a paid order with its
    invoice, and a cart line."""
    pending = place_order(user=alice, items=[(product, 2)])
    payment = payment_open(order=pending)
    invoice = pay(place_order(user=alice, items=[(product, 1)]))
    line = cart_add_item(user=alice, product=product, quantity=3)
    return {"pending": pending, "payment": payment, "invoice": invoice, "line": line}


def snapshot(world) -> dict:
    """What an attempt on Alice's things must leave exactly as it was."""
    pending, invoice = world["pending"], world["invoice"]
    return {
        "orders": sorted(Order.objects.values_list("number", "status", "total", "user_id")),
        "payments": sorted(Payment.objects.values_list("gateway_order_id", "status", "amount")),
        "mock": sorted(MockTransaction.objects.values_list("token", "transaction_status")),
        "cart": sorted(CartItem.objects.values_list("id", "quantity", "cart__user_id")),
        "invoices": sorted(Invoice.objects.values_list("number", "order_id", "pdf")),
        "stock": Product.objects.get(pk=world["line"].product_id).stock,
        "numbers": (pending.number, invoice.number),
    }


# --- another user's object: 404, like one that does not exist ---------------------------

# (method, path with {order} / {invoice} / {line} for Alice's object, body)
OBJECT_ENDPOINTS = [
    ("get", "/orders/{pending}/", None),
    ("post", "/orders/{pending}/cancel/", {}),
    ("post", "/orders/{pending}/pay/", None),
    ("get", "/orders/{paid}/", None),
    ("get", "/orders/{paid}/events/", None),
    ("get", "/invoices/{invoice}/", None),
    ("get", "/invoices/{invoice}/pdf/", None),
    ("patch", "/cart/items/{line}/", {"quantity": 7}),
    ("delete", "/cart/items/{line}/", None),
]


def fill(path: str, world, *, missing: bool) -> str:
    if missing:
        ids = {"pending": MISSING_ORDER, "paid": MISSING_ORDER, "invoice": MISSING_INVOICE, "line": 999_999}
    else:
        ids = {
            "pending": world["pending"].number,
            "paid": world["invoice"].order.number,
            "invoice": world["invoice"].number,
            "line": world["line"].pk,
        }
    return API + path.format(**ids)


def send(client: APIClient, method: str, path: str, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ENDPOINTS)
def test_another_shoppers_object_is_a_404_like_a_missing_one(world, bob, method, path, body):
    before = snapshot(world)
    client = client_for(bob)

    theirs = send(client, method, fill(path, world, missing=False), body)
    missing = send(client, method, fill(path, world, missing=True), body)

    assert theirs.status_code == 404, theirs.content[:300]
    assert theirs["Content-Type"] == "application/json"
    assert theirs.json() == missing.json() == {"detail": "Not found.", "code": "not_found"}
    assert missing.status_code == 404
    assert snapshot(world) == before


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ENDPOINTS)
def test_the_owner_reaches_each_object(world, alice, method, path, body):
    """The same requests by Alice succeed: the 404s above are about ownership, not paths."""
    response = send(client_for(alice), method, fill(path, world, missing=False), body)
    assert response.status_code in (200, 204), response.content[:300]


def test_staff_see_every_order_but_pay_only_their_own(world, staff_user):
    staff = client_for(staff_user)
    number = world["pending"].number
    assert staff.get(f"{API}/orders/{number}/").status_code == 200
    before = snapshot(world)
    response = staff.post(f"{API}/orders/{number}/pay/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found.", "code": "not_found"})
    assert snapshot(world) == before


def test_the_kitchen_status_of_any_order_is_refused_to_a_shopper_alike(world, bob, alice):
    """Staff only: refused before any lookup, so the answer is the same for Alice's order,
    a missing one, and Alice herself (it confirms nothing)."""
    before = snapshot(world)
    answers = [
        client_for(who).post(f"{API}/orders/{number}/status/", {"status": "preparing"}, format="json")
        for who, number in [
            (bob, world["pending"].number),
            (bob, MISSING_ORDER),
            (alice, world["pending"].number),
        ]
    ]
    assert {(a.status_code, json.dumps(a.json(), sort_keys=True)) for a in answers} == {
        (
            403,
            json.dumps({"code": "permission_denied", "detail": answers[0].json()["detail"]}, sort_keys=True),
        )
    }
    assert snapshot(world) == before


def test_lists_show_only_ones_own(world, bob):
    client = client_for(bob)
    assert client.get(f"{API}/orders/").json()["count"] == 0
    assert client.get(f"{API}/invoices/").json()["count"] == 0
    assert client.get(f"{API}/cart/").json()["items"] == []


def test_a_guessed_mock_payment_token_is_a_404_and_pays_nothing(world, bob):
    before = snapshot(world)
    token = world["payment"].token
    assert len(token) >= 32  # 24 random bytes: the token is the capability, not guessable
    assert world["pending"].number not in token
    guesses = [token[:-1] + ("A" if token[-1] != "A" else "B"), world["pending"].number, "0"]
    for guess in guesses:
        for client in (client_for(bob), client_for()):
            response = client.post(
                f"{API}/payments/mock/{guess}/", {"transaction_status": "settlement"}, format="json"
            )
            assert (response.status_code, response.json()["code"]) == (404, "not_found")
        assert client_for().get(f"/payments/mock/{guess}/").status_code == 404
    assert snapshot(world) == before


# --- catalog writes: staff only ---------------------------------------------------------------

CATALOG_WRITES = [
    ("post", "/products/", {"name": "Free", "sku": "FREE-1", "category": "cat", "stock": 5}),
    ("patch", "/products/nasi/", {"name": "Renamed", "is_active": False}),
    ("delete", "/products/nasi/", None),
    ("post", "/products/nasi/prices/", {"amount": 1}),
    ("post", "/products/nasi/stock/", {"delta": 100}),
    ("post", "/categories/", {"name": "New", "slug": "new"}),
    ("patch", "/categories/cat/", {"name": "Renamed"}),
    ("delete", "/categories/cat/", None),
]


def catalog_state() -> list:
    return [
        sorted(Product.objects.values_list("slug", "name", "stock", "is_active")),
        sorted(Category.objects.values_list("slug", "name", "is_active")),
        sorted(ProductPrice.objects.values_list("product__slug", "version", "amount")),
    ]


@pytest.mark.parametrize(("method", "path", "body"), CATALOG_WRITES)
@pytest.mark.parametrize(
    ("who", "status", "code"), [("shopper", 403, "permission_denied"), ("anon", 401, "not_authenticated")]
)
def test_catalog_writes_are_refused_to_shoppers_and_anonymous(
    product, bob, method, path, body, who, status, code
):
    CategoryFactory(slug="cat", name="Cat")
    before = catalog_state()
    response = send(client_for(bob if who == "shopper" else None), method, API + path, body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert catalog_state() == before


def test_a_hidden_product_is_a_404_like_a_missing_one(bob):
    ProductFactory(slug="secret", is_active=False, price=10_000)
    client = client_for(bob)
    hidden, missing = client.get(f"{API}/products/secret/"), client.get(f"{API}/products/nope/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


# --- read-only fields in writes: ignored or refused, never applied ----------------------


def test_checkout_ignores_totals_status_and_owner_sent_by_the_client(alice, bob, product):
    cart_add_item(user=alice, product=product, quantity=2)
    response = client_for(alice).post(
        f"{API}/orders/",
        {
            "total": 1,
            "subtotal": 1,
            "status": "paid",
            "user": bob.pk,
            "number": "FD-000000-AAAAAAAA",
            "currency": "USD",
            "paid_at": "2026-01-01T00:00:00+07:00",
            "customer": {"email": "bob@example.com"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get()
    assert (order.user_id, order.status, order.total, order.subtotal, order.currency) == (
        alice.pk,
        OrderStatus.PENDING_PAYMENT,
        50_000,
        50_000,
        "IDR",
    )
    assert order.paid_at is None
    assert order.customer_email == "alice@example.com"
    assert order.number != "FD-000000-AAAAAAAA"
    assert (body["number"], body["status"], body["total"]) == (order.number, "pending_payment", 50_000)
    assert body["payment"]["amount"] == 50_000
    assert Order.objects.filter(user=bob).count() == 0
    assert Product.objects.get(pk=product.pk).stock == 18


def test_cart_lines_take_the_catalog_price_not_the_clients(alice, product):
    client = client_for(alice)
    added = client.post(
        f"{API}/cart/items/",
        {"product": "nasi", "quantity": 2, "unit_price": 1, "line_total": 1, "price": 1},
        format="json",
    )
    assert added.status_code == 201, added.json()
    line_id = CartItem.objects.get().pk
    changed = client.patch(f"{API}/cart/items/{line_id}/", {"quantity": 3, "unit_price": 1}, format="json")
    assert changed.status_code == 200, changed.json()
    [line] = changed.json()["items"]
    assert (line["quantity"], line["unit_price"], line["line_total"]) == (3, 25_000, 75_000)
    assert changed.json()["total"] == 75_000


def test_profile_changes_only_name_and_phone(alice):
    before = (
        User.objects.filter(pk=alice.pk)
        .values("email", "is_staff", "is_superuser", "is_active", "date_joined")
        .get()
    )
    response = client_for(alice).patch(
        f"{API}/auth/me/",
        {
            "name": "Alice A.",
            "email": "mallory@example.com",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "id": 999,
            "date_joined": "2000-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["email"], response.json()["id"]) == (
        "Alice A.",
        "alice@example.com",
        alice.pk,
    )
    after = (
        User.objects.filter(pk=alice.pk)
        .values("email", "is_staff", "is_superuser", "is_active", "date_joined")
        .get()
    )
    assert after == before
    assert User.objects.get(pk=alice.pk).name == "Alice A."


def test_registration_cannot_make_staff(db):
    response = client_for().post(
        f"{API}/auth/register/",
        {
            "email": "eve@example.com",
            "password": "a-long-unusual-passphrase-42",
            "name": "Eve",
            "is_staff": True,
            "is_superuser": True,
            "groups": [1],
            "user_permissions": [1],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert set(response.json()) == {"email", "name"}  # no id: a taken address gets the same answer
    eve = User.objects.get(email="eve@example.com")
    assert (eve.is_staff, eve.is_superuser, eve.is_active) == (False, False, True)
    assert (eve.groups.count(), eve.user_permissions.count()) == (0, 0)


def test_staff_cannot_set_a_price_or_blind_stock_through_a_product_patch(staff_user, product):
    before = catalog_state()
    client = client_for(staff_user)
    price = client.patch(f"{API}/products/nasi/", {"price": 1}, format="json")
    assert (price.status_code, list(price.json())) == (400, ["price"])
    stock = client.patch(f"{API}/products/nasi/", {"stock": 999}, format="json")
    assert (stock.status_code, list(stock.json())) == (400, ["expected_stock"])
    assert catalog_state() == before


def test_staff_cannot_mark_an_order_paid(world, staff_user):
    before = snapshot(world)
    response = client_for(staff_user).post(
        f"{API}/orders/{world['pending'].number}/status/", {"status": "paid"}, format="json"
    )
    assert (response.status_code, list(response.json())) == (400, ["status"])
    assert snapshot(world) == before


def test_the_mock_payment_amount_comes_from_the_order(world):
    token = world["payment"].token
    response = client_for().post(
        f"{API}/payments/mock/{token}/",
        {"transaction_status": "settlement", "gross_amount": "1.00", "order_id": "FD-X-1"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    payment = Payment.objects.get(pk=world["payment"].pk)
    assert (payment.status, payment.amount, payment.needs_refund) == ("settled", 50_000, False)
    assert Order.objects.get(pk=world["pending"].pk).status == OrderStatus.PAID


# --- oversized and malformed bodies -------------------------------------------------------------

WRITES = [
    ("post", "/auth/register/", None),
    ("post", "/auth/token/", None),
    ("post", "/auth/password/reset/", None),
    ("post", "/auth/password/reset/confirm/", None),
    ("post", "/auth/email/verify/", None),
    ("patch", "/auth/me/", "alice"),
    ("post", "/cart/items/", "alice"),
    ("post", "/cart/voucher/", "alice"),
    ("post", "/orders/", "alice"),
    ("post", "/products/", "staff"),
    ("post", "/payments/midtrans/notification/", None),
]


@pytest.fixture
def callers(alice, staff_user):
    return {None: client_for(), "alice": client_for(alice), "staff": client_for(staff_user)}


def everything() -> list:
    return [
        sorted(User.objects.values_list("email", "name", "is_staff")),
        sorted(CartItem.objects.values_list("product_id", "quantity")),
        sorted(Order.objects.values_list("number", "status")),
        catalog_state(),
    ]


@pytest.mark.parametrize(("method", "path", "who"), WRITES)
def test_an_oversized_body_is_a_json_413_and_changes_nothing(callers, product, method, path, who):
    body = json.dumps({"name": "x" * 5000, "notes": "y" * 5000, "email": "a@example.com", "product": "nasi"})
    before = everything()
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=4096):
        response = callers[who].generic(method.upper(), API + path, body, content_type="application/json")
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] in ("request_too_large",)
    assert everything() == before


MALFORMED = [
    ('{"product": "nasi", ', "application/json", 400, "parse_error"),
    ("[1, 2, 3]", "application/json", 400, None),
    ('"just a string"', "application/json", 400, None),
    ("product=nasi&quantity=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("product nasi", "text/plain", 415, "unsupported_media_type"),
    ('{"product": "nasi"}', "application/xml", 415, "unsupported_media_type"),
]


@pytest.mark.parametrize(("method", "path", "who"), [w for w in WRITES if "notification" not in w[1]])
@pytest.mark.parametrize(("body", "content_type", "status", "code"), MALFORMED)
def test_a_malformed_body_is_a_json_4xx_and_changes_nothing(
    callers, product, method, path, who, body, content_type, status, code
):
    before = everything()
    response = callers[who].generic(method.upper(), API + path, body, content_type=content_type)
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    if code is not None:
        assert response.json()["code"] == code
    assert everything() == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"order_id": ', "application/json"), ("[1]", "application/json"), ("order_id=1", "text/plain")],
)
def test_a_malformed_notification_is_a_400_and_pays_nothing(world, body, content_type):
    before = snapshot(world)
    response = client_for().generic(
        "POST", f"{API}/payments/midtrans/notification/", body, content_type=content_type
    )
    assert (response.status_code, response.json()["status"]) == (400, "rejected")
    assert snapshot(world) == before


# --- text is a JSON string (the schema says so; the fuzzer sent numbers) ----------------

TEXT_INPUTS = [
    (
        "post",
        "/auth/register/",
        None,
        {"email": "t@example.com", "password": "a-long-passphrase-9", "name": 7},
        "name",
    ),
    ("post", "/auth/register/", None, {"email": 7, "password": "a-long-passphrase-9"}, "email"),
    ("post", "/auth/password/reset/", None, {"email": 7}, "email"),
    ("post", "/auth/password/reset/confirm/", None, {"uid": 1, "token": "t", "new_password": "p"}, "uid"),
    ("post", "/auth/email/verify/", None, {"uid": "u", "token": 1}, "token"),
    ("patch", "/auth/me/", "alice", {"name": 0}, "name"),
    ("patch", "/auth/me/", "alice", {"phone": 812345678}, "phone"),
    ("post", "/cart/items/", "alice", {"product": "nasi", "quantity": 1, "note": 1.5}, "note"),
    ("post", "/orders/", "alice", {"notes": 0}, "notes"),
    ("post", "/products/nasi/stock/", "staff", {"delta": 1, "reason": 0}, "reason"),
    ("post", "/categories/", "staff", {"name": 5}, "name"),
]


@pytest.mark.parametrize(("method", "path", "who", "body", "field"), TEXT_INPUTS)
def test_text_fields_take_only_json_strings(callers, product, alice, method, path, who, body, field):
    cart_add_item(user=alice, product=product, quantity=1)
    before = everything()
    response = send(callers[who], method, API + path, body)
    assert response.status_code == 400, response.content[:300]
    assert response.json()[field] == ["Expected text (a JSON string), got a number."]
    assert everything() == before
