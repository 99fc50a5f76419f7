"""The checkout throttle counts checkouts that did something: an order placed, or one refused
for stock. Retries of one Idempotency-Key, bad input and empty carts cost the shopper nothing."""

import pytest

from accounts.tests.factories import UserFactory
from cart.tests.factories import CartFactory, CartItemFactory
from catalog.tests.factories import ProductFactory
from conftest import bearer_client
from orders.api.throttling import CheckoutThrottle
from orders.models import Order

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
ALLOWED = 3


@pytest.fixture(autouse=True)
def _rate(monkeypatch, settings):
    monkeypatch.setitem(CheckoutThrottle.THROTTLE_RATES, "checkout", f"{ALLOWED}/min")
    settings.MAX_UNPAID_ORDERS = ALLOWED + 1  # the throttle, not the unpaid-order cap, is met first


def fill_cart(user, stock: int = 5) -> None:
    CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=stock), quantity=1)


def test_placed_orders_count_and_the_next_checkout_is_429(user):
    client = bearer_client(user)
    for _ in range(ALLOWED):
        fill_cart(user)
        assert client.post(ORDERS, {}).status_code == 201
    fill_cart(user)
    response = client.post(ORDERS, {})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert Order.objects.filter(user=user).count() == ALLOWED
    # Per user: someone else checks out freely; reading is not throttled.
    other = UserFactory()
    fill_cart(other)
    assert bearer_client(other).post(ORDERS, {}).status_code == 201
    assert client.get(ORDERS).status_code == 200


def test_refusals_for_stock_count(user):
    client = bearer_client(user)
    fill_cart(user, stock=0)
    for _ in range(ALLOWED):
        response = client.post(ORDERS, {})
        assert response.status_code == 409
        assert response.json()["code"] == "insufficient_stock"
    assert client.post(ORDERS, {}).status_code == 429


def test_bad_input_and_empty_carts_do_not_count(user):
    client = bearer_client(user)
    for _ in range(ALLOWED * 2):
        assert client.post(ORDERS, {}).json()["code"] == "cart_empty"
        assert client.post(ORDERS, {"items": ["x"]}).status_code == 400
        assert client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="\u00e9").status_code == 400
    fill_cart(user)
    assert client.post(ORDERS, {}).status_code == 201


def test_idempotent_replays_do_not_count(user):
    client = bearer_client(user)
    fill_cart(user)
    first = client.post(ORDERS, {"notes": "x"}, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert first.status_code == 201
    for _ in range(ALLOWED * 2):
        replay = client.post(ORDERS, {"notes": "x"}, HTTP_IDEMPOTENCY_KEY="retry-me")
        assert replay.status_code == 201
        assert replay["Idempotent-Replayed"] == "true"
        assert replay.json()["number"] == first.json()["number"]
    for _ in range(ALLOWED - 1):  # the first placement counted once; the rest of the budget is left
        fill_cart(user)
        assert client.post(ORDERS, {}).status_code == 201
    fill_cart(user)
    assert client.post(ORDERS, {}).status_code == 429


def test_a_throttled_checkout_changes_nothing_and_is_not_counted_again(user):
    client = bearer_client(user)
    for _ in range(ALLOWED):
        fill_cart(user)
        client.post(ORDERS, {})
    fill_cart(user)
    for _ in range(3):
        assert client.post(ORDERS, {}).status_code == 429
    assert Order.objects.filter(user=user).count() == ALLOWED
    history = CheckoutThrottle.cache.get(f"throttle_checkout_{user.pk}")
    assert len(history) == ALLOWED
