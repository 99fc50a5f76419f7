import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.tests.factories import UserFactory
from cart.models import CartItem
from cart.tests.factories import CartItemFactory
from catalog.models import Product
from catalog.services import price_add
from catalog.tests.factories import BundleFactory, ProductFactory
from conftest import bearer_client
from orders.idempotency import request_fingerprint
from orders.models import IdempotencyKey, Order, OrderEvent
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
ITEMS = "/api/v1/cart/items/"


def stock(*products) -> list[int]:
    return [Product.objects.get(pk=p.pk).stock for p in products]


def add(client, slug, quantity=1) -> int:
    response = client.post(ITEMS, {"product": slug, "quantity": quantity})
    assert response.status_code == 201, response.content
    return next(i["id"] for i in response.json()["items"] if i["product"]["slug"] == slug)


def cart_slugs(user) -> list[str]:
    return list(
        CartItem.objects.filter(cart__user=user).order_by("id").values_list("product__slug", flat=True)
    )


# --- placing an order -------------------------------------------------------------------


def test_checkout_places_an_order_from_the_whole_cart(auth_client, user):
    nasi = ProductFactory(slug="nasi", name="Nasi Goreng", sku="RIC-1", price=25_000, stock=10)
    teh = ProductFactory(slug="teh", name="Es Teh", sku="DRK-1", price=5_000, stock=10)
    add(auth_client, "nasi", 2)
    add(auth_client, "teh", 3)
    before = timezone.now()

    response = auth_client.post(ORDERS, {"notes": "no chili"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert re.fullmatch(r"FD-\d{6}-[0-9A-Z]{8}", body["number"])
    assert body["number"][3:9] == timezone.localtime().strftime("%y%m%d")
    assert {k: body[k] for k in ("status", "currency", "subtotal", "total", "item_count", "notes")} == {
        "status": "pending_payment",
        "currency": "IDR",
        "subtotal": 65_000,
        "total": 65_000,
        "item_count": 5,
        "notes": "no chili",
    }
    assert body["customer"] == {"name": user.name, "email": user.email, "phone": user.phone}
    assert body["lines"] == [
        {
            "product_slug": "nasi",
            "product_name": "Nasi Goreng",
            "sku": "RIC-1",
            "kind": "single",
            "price_version": 1,
            "unit_price": 25_000,
            "quantity": 2,
            "line_total": 50_000,
            "components": [],
            "options": [],
            "note": "",
        },
        {
            "product_slug": "teh",
            "product_name": "Es Teh",
            "sku": "DRK-1",
            "kind": "single",
            "price_version": 1,
            "unit_price": 5_000,
            "quantity": 3,
            "line_total": 15_000,
            "components": [],
            "options": [],
            "note": "",
        },
    ]
    assert [(e["type"], e["from_status"], e["to_status"], e["actor"]) for e in body["events"]] == [
        ("placed", None, "pending_payment", "user"),  # null: no status before, no change
        ("payment_opened", None, None, "system"),
    ]
    # The payment is opened at checkout (the mock gateway in tests), for the order's total.
    payment = body["payment"]
    assert (payment["gateway"], payment["status"], payment["amount"]) == ("mock", "pending", 65_000)
    assert payment["gateway_order_id"] == f"{body['number']}-1"
    assert payment["redirect_url"].endswith(f"/payments/mock/{payment['token']}/")
    assert (body["payment_error"], body["invoice"], body["paid_at"]) == (None, None, None)
    placed_at = datetime.fromisoformat(body["placed_at"])
    assert before <= placed_at <= timezone.now()
    assert datetime.fromisoformat(body["expires_at"]) - placed_at == timedelta(
        minutes=settings.ORDER_PAYMENT_TTL_MINUTES
    )
    assert body["placed_at"].endswith("+07:00")

    assert stock(nasi, teh) == [8, 7]
    assert cart_slugs(user) == []
    order = Order.objects.get()
    assert (order.user, order.total, order.status) == (user, 65_000, "pending_payment")


def test_checkout_of_chosen_lines_leaves_the_rest_in_the_cart(auth_client, user):
    a, b = ProductFactory(slug="a", stock=5), ProductFactory(slug="b", stock=5)
    a_id = add(auth_client, "a", 2)
    add(auth_client, "b", 1)
    response = auth_client.post(ORDERS, {"items": [a_id, a_id]})
    assert response.status_code == 201
    assert [line["product_slug"] for line in response.json()["lines"]] == ["a"]
    assert cart_slugs(user) == ["b"]
    assert stock(a, b) == [3, 5]


def test_client_sent_prices_totals_and_status_are_ignored(auth_client):
    ProductFactory(slug="a", price=10_000)
    add(auth_client, "a", 1)
    response = auth_client.post(
        ORDERS,
        {
            "total": 1,
            "subtotal": 1,
            "status": "paid",
            "unit_price": 1,
            "lines": [{"unit_price": 1}],
            "user": 999,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["total"], body["status"], body["lines"][0]["unit_price"]) == (
        10_000,
        "pending_payment",
        10_000,
    )


def test_checkout_uses_the_price_current_at_checkout(auth_client):
    product = ProductFactory(slug="a", price=10_000)
    add(auth_client, "a", 2)
    price_add(product=product, amount=11_000)
    line = auth_client.post(ORDERS, {}).json()["lines"][0]
    assert (line["unit_price"], line["price_version"], line["line_total"]) == (11_000, 2, 22_000)


def test_bundle_checkout_takes_component_stock_and_snapshots_components(auth_client):
    rice = ProductFactory(slug="rice", name="Rice", sku="R-1", stock=10)
    tea = ProductFactory(slug="tea", name="Tea", sku="T-1", stock=10)
    combo = BundleFactory(slug="combo", components=[(rice, 2), (tea, 1)], price=20_000)
    add(auth_client, "combo", 3)
    add(auth_client, "rice", 1)
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 201
    bundle_line = response.json()["lines"][0]
    assert bundle_line["kind"] == "bundle"
    assert bundle_line["components"] == [
        {"slug": "rice", "name": "Rice", "sku": "R-1", "quantity": 2},
        {"slug": "tea", "name": "Tea", "sku": "T-1", "quantity": 1},
    ]
    assert response.json()["total"] == 3 * 20_000 + 10_000
    assert stock(rice, tea, combo) == [10 - 6 - 1, 10 - 3, 0]


def test_phone_can_be_given_for_the_order(auth_client, user):
    ProductFactory(slug="a")
    add(auth_client, "a")
    body = auth_client.post(ORDERS, {"phone": "+62 811 999 000"}).json()
    assert body["customer"]["phone"] == "+62 811 999 000"
    user.refresh_from_db()
    assert user.phone == "+62 812 0000 0000"


# --- refusals change nothing ------------------------------------------------------------


def assert_nothing_changed(user, products, expected_stock, expected_cart):
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert stock(*products) == expected_stock
    assert cart_slugs(user) == expected_cart


def test_empty_cart_is_cart_empty(auth_client, user):
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 400
    assert response.json() == {"detail": "There is nothing to check out.", "code": "cart_empty"}
    ProductFactory(slug="a")
    add(auth_client, "a")
    assert auth_client.post(ORDERS, {"items": []}).json()["code"] == "cart_empty"
    assert Order.objects.count() == 0


def test_shortfall_is_409_naming_each_product_and_nothing_changes(auth_client, user):
    a = ProductFactory(slug="a", name="A", stock=5)
    b = ProductFactory(slug="b", name="B", stock=1)
    c = ProductFactory(slug="c", name="C", stock=0)
    add(auth_client, "a", 2)
    add(auth_client, "b", 3)
    add(auth_client, "c", 1)
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Not enough stock for: B, C.",
        "code": "insufficient_stock",
        "products": [
            {"slug": "b", "name": "B", "requested": 3, "available": 1},
            {"slug": "c", "name": "C", "requested": 1, "available": 0},
        ],
    }
    assert_nothing_changed(user, [a, b, c], [5, 1, 0], ["a", "b", "c"])


def test_bundle_and_its_component_demand_is_added_up(auth_client, user):
    rice = ProductFactory(slug="rice", name="Rice", stock=5)
    BundleFactory(slug="combo", components=[(rice, 2)])
    add(auth_client, "combo", 2)  # 4 rice
    add(auth_client, "rice", 2)  # 2 more: 6 > 5
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 409
    assert response.json()["products"] == [{"slug": "rice", "name": "Rice", "requested": 6, "available": 5}]
    assert_nothing_changed(user, [rice], [5], ["combo", "rice"])


def test_other_users_cart_lines_are_400_and_nothing_changes(auth_client, user):
    mine = ProductFactory(slug="mine", stock=5)
    theirs = CartItemFactory(quantity=1)
    my_item = add(auth_client, "mine", 1)
    response = auth_client.post(ORDERS, {"items": [my_item, theirs.id]})
    assert response.status_code == 400
    assert response.json() == {"items": [f"Not in your cart: {theirs.id}."]}
    assert_nothing_changed(user, [mine, theirs.product], [5, 10], ["mine"])
    assert CartItem.objects.filter(pk=theirs.pk).exists()


def test_inactive_product_in_cart_is_409_product_unavailable(auth_client, user):
    a = ProductFactory(slug="a", name="A", stock=5)
    add(auth_client, "a")
    Product.objects.filter(pk=a.pk).update(is_active=False)
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert response.json()["products"] == [{"slug": "a", "name": "A", "reason": "inactive"}]
    assert_nothing_changed(user, [a], [5], ["a"])


def test_bundle_with_an_inactive_component_is_unavailable(auth_client, user):
    rice = ProductFactory(slug="rice", stock=5)
    BundleFactory(slug="combo", components=[(rice, 1)])
    add(auth_client, "combo")
    Product.objects.filter(pk=rice.pk).update(is_active=False)
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 409
    assert response.json()["code"] == "product_unavailable"
    assert_nothing_changed(user, [rice], [5], ["combo"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": "all"}, "items"),
        ({"items": [0]}, "items"),
        ({"items": ["x"]}, "items"),
        ({"items": [2**70]}, "items"),
        ({"phone": "call me"}, "phone"),
        ({"notes": "x" * 501}, "notes"),
    ],
)
def test_checkout_bad_input_is_400(auth_client, user, body, field):
    a = ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    response = auth_client.post(ORDERS, body)
    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_changed(user, [a], [5], ["a"])


def test_checkout_needs_a_user(api_client):
    assert api_client.post(ORDERS, {}).status_code == 401


# The checkout throttle: orders/tests/test_checkout_throttle.py


# --- Idempotency-Key --------------------------------------------------------------------


def test_same_key_same_body_replays_the_first_response(auth_client, user):
    a = ProductFactory(slug="a", stock=5)
    add(auth_client, "a", 2)
    first = auth_client.post(ORDERS, {"notes": "x"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    add(auth_client, "a", 1)  # something new in the cart must not be checked out by a retry
    second = auth_client.post(ORDERS, {"notes": "x"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert stock(a) == [3]
    assert cart_slugs(user) == ["a"]


def test_same_key_other_body_is_422(auth_client):
    ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    assert auth_client.post(ORDERS, {"notes": "x"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    response = auth_client.post(ORDERS, {"notes": "y"}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_keys_are_per_user(auth_client):
    ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    other = bearer_client(UserFactory())
    add(other, "a")
    assert auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert other.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert Order.objects.count() == 2


def key_record(user, *, stale: bool = False, order: Order | None = None) -> IdempotencyKey:
    """A claim on key "k" for `POST orders/ {}`, as a first request leaves it: fresh (still
    running) or stale (that request died), with or without the order it placed."""
    claimed = timezone.now()
    if stale:
        claimed -= timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS + 1)
    return IdempotencyKey.objects.create(
        user=user,
        key="k",
        request_hash=request_fingerprint(method="POST", path=ORDERS, body={}),
        order=order,
        created_at=claimed,
        locked_at=claimed,
    )


def test_key_still_in_flight_is_409(auth_client, user):
    a = ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    key_record(user)
    response = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert_nothing_changed(user, [a], [5], ["a"])


def test_key_of_a_request_that_died_before_placing_is_taken_over(auth_client, user):
    a = ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    key_record(user, stale=True)
    response = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201
    order = Order.objects.get()
    assert response.json()["number"] == order.number
    assert stock(a) == [4]
    record = IdempotencyKey.objects.get()
    assert (record.state, record.order, record.response_body) == ("completed", order, response.json())


def test_key_of_a_request_that_died_after_placing_replays_that_order(auth_client, user):
    a = ProductFactory(slug="a", stock=5)
    order = place_order(user=user, items=[(a, 1)])
    key_record(user, stale=True, order=order)
    add(auth_client, "a")
    response = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201
    assert response.json()["number"] == order.number
    assert Order.objects.count() == 1
    assert stock(a) == [4]


def test_a_failed_attempt_does_not_burn_the_key(auth_client, user):
    a = ProductFactory(slug="a", stock=1)
    add(auth_client, "a", 2)
    assert auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k").status_code == 409
    assert IdempotencyKey.objects.count() == 0
    Product.objects.filter(pk=a.pk).update(stock=2)
    assert auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_keys_older_than_the_ttl_are_forgotten(auth_client, user):
    ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    assert auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    add(auth_client, "a")
    response = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.parametrize("key", ["x" * 256, "ключ"])
def test_bad_key_is_400(auth_client, user, key):
    ProductFactory(slug="a", stock=5)
    add(auth_client, "a")
    response = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert Order.objects.count() == 0
