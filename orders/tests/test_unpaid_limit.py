"""Issue 24, item 6: unpaid orders hold stock and pickup places for the whole payment
window, so a shopper may have at most MAX_UNPAID_ORDERS of them at once."""

import pytest

from accounts.tests.factories import UserFactory
from cart.models import CartItem
from cart.services import cart_add_item
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from conftest import bearer_client, run_at_once
from orders.models import Order, OrderStatus, PickupSlot
from orders.pickup import services as pickup
from orders.tests.factories import place_order
from orders.tests.test_checkout_pickup import MONDAY, local, slot_at

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
ITEMS = "/api/v1/cart/items/"


def state(user, product, slot=None) -> tuple:
    """Stock, the shopper's orders, their cart, the slot's places taken."""
    return (
        Product.objects.get(pk=product.pk).stock,
        sorted(Order.objects.filter(user=user).values_list("number", "status")),
        sorted(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity")),
        PickupSlot.objects.get(pk=slot.pk).taken if slot else None,
    )


def test_the_next_checkout_past_the_limit_is_409_and_changes_nothing(
    settings, monkeypatch, auth_client, user
):
    """One account held 102 units of a drink and a whole pickup slot with unpaid orders.
    Reproduction: `POST /api/v1/orders/` again and again, each with another cart line."""
    settings.MAX_UNPAID_ORDERS = 2
    settings.PICKUP_SLOT_CAPACITY = 5
    pickup.hours_seed_demo()  # every day 08:00-21:00
    monkeypatch.setattr("django.utils.timezone.now", lambda: local(MONDAY, 10))
    product = ProductFactory(slug="es-teh", stock=10)
    slot = slot_at(12)  # the slot rows exist (orders as soon as possible take a place too)
    first = place_order(user=user, items=[(product, 1)])
    second = place_order(user=user, items=[(product, 1)])
    auth_client.post(ITEMS, {"product": "es-teh", "quantity": 3})
    before = state(user, product, slot)

    response = auth_client.post(ORDERS, {"pickup_slot": slot.pk}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": "You have 2 orders waiting for payment (at most 2); pay or cancel one first.",
            "code": "too_many_unpaid_orders",
            "limit": 2,
            "unpaid": [first.number, second.number],
        },
    )
    assert state(user, product, slot) == before
    assert (before[0], before[3]) == (8, 0)

    # Paying or cancelling one makes room again; the same key can be used (it was released).
    assert auth_client.post(f"{ORDERS}{first.number}/cancel/").status_code == 200
    assert Order.objects.get(pk=first.pk).status == OrderStatus.CANCELLED
    response = auth_client.post(ORDERS, {"pickup_slot": slot.pk}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.content
    assert PickupSlot.objects.get(pk=slot.pk).taken == 1


def test_other_shoppers_and_other_statuses_do_not_count(settings, auth_client, user):
    settings.MAX_UNPAID_ORDERS = 1
    product = ProductFactory(slug="nasi", stock=10)
    place_order(user=UserFactory(), items=[(product, 1)])  # someone else's
    paid = place_order(user=user, items=[(product, 1)])
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.PAID)
    auth_client.post(ITEMS, {"product": "nasi", "quantity": 1})
    assert auth_client.post(ORDERS, {}).status_code == 201
    auth_client.post(ITEMS, {"product": "nasi", "quantity": 1})
    assert auth_client.post(ORDERS, {}).json()["code"] == "too_many_unpaid_orders"


def test_a_replay_of_a_placed_order_still_replays_at_the_limit(settings, auth_client, user):
    settings.MAX_UNPAID_ORDERS = 1
    ProductFactory(slug="nasi", stock=10)
    auth_client.post(ITEMS, {"product": "nasi", "quantity": 1})
    first = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == 201

    replay = auth_client.post(ORDERS, {}, HTTP_IDEMPOTENCY_KEY="same")

    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert replay.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_cannot_both_take_the_last_place(settings):
    """Two checkouts of the same shopper at once, one unpaid order already: exactly one
    passes (the cart row lock serialises them; the count is read after it)."""
    settings.MAX_UNPAID_ORDERS = 2
    user = UserFactory()
    product = ProductFactory(stock=10)
    place_order(user=user, items=[(product, 1)])
    ids = [cart_add_item(user=user, product=product, quantity=1, note=note).pk for note in ("a", "b")]
    client = bearer_client(user)

    def checkout(item_id):
        def task():
            response = client.post(ORDERS, {"items": [item_id]}, format="json")
            return response.status_code, response.json().get("code")

        return task

    results = run_at_once([checkout(item_id) for item_id in ids])

    assert sorted(results, key=str) == [(201, None), (409, "too_many_unpaid_orders")]
    assert Order.objects.filter(user=user, status=OrderStatus.PENDING_PAYMENT).count() == 2
    assert Product.objects.get(pk=product.pk).stock == 8
    assert CartItem.objects.filter(cart__user=user).count() == 1
