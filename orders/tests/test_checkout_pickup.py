"""Checkout with opening hours and pickup slots, through the API: the shop refuses
"as soon as possible" orders while closed, a slot is booked like stock, and cancel and
expiry give it back."""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from conftest import bearer_client, run_at_once
from orders import placing, services
from orders.models import Order, OrderStatus, PickupSlot
from orders.pickup import schedule
from orders.pickup import services as pickup_services

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 23)
ORDERS = "/api/v1/orders/"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def _shop(settings, monkeypatch, db):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.PICKUP_SLOT_MINUTES = 15
    settings.PICKUP_DAYS_AHEAD = 3
    settings.PICKUP_SLOT_CAPACITY = 2
    settings.PICKUP_MIN_LEAD_MINUTES = 15
    pickup_services.hours_seed_demo()  # every day 08:00-21:00 (Friday with a lunch break)


@pytest.fixture
def at(monkeypatch):
    def freeze(moment: datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)

    return freeze


@pytest.fixture
def product():
    return ProductFactory(slug="nasi", stock=10)


def slot_at(hour: int, minute: int = 0) -> PickupSlot:
    pickup_services.pickup_slots_materialise(now=local(MONDAY, 6))  # what the hourly run does
    return PickupSlot.objects.get(start=local(MONDAY, hour, minute))


def stock_of(product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def test_a_pickup_slot_is_booked_and_shown_on_the_order(auth_client, user, product, at):
    at(local(MONDAY, 10))
    slot = slot_at(12, 30)
    cart_add_item(user=user, product=product, quantity=2)

    response = auth_client.post(ORDERS, {"pickup_slot": slot.pk})

    assert response.status_code == 201, response.content
    assert response.json()["pickup_slot"] == {
        "id": slot.pk,
        "start": "2026-11-23T12:30:00+07:00",
        "end": "2026-11-23T12:45:00+07:00",
    }
    assert PickupSlot.objects.get(pk=slot.pk).taken == 1


def test_closed_shop_refuses_asap_orders_and_changes_nothing(auth_client, user, product, at):
    at(local(MONDAY, 6))
    cart_add_item(user=user, product=product, quantity=2)

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 409
    assert response.json()["code"] == "shop_closed"
    assert response.json()["next_opening"] == "2026-11-23T08:00:00+07:00"
    assert (stock_of(product), Order.objects.count(), user.cart.items.count()) == (10, 0, 1)


def test_closed_shop_takes_an_order_for_a_later_slot(auth_client, user, product, at):
    at(local(MONDAY, 6))
    slot = slot_at(9)
    cart_add_item(user=user, product=product, quantity=1)

    response = auth_client.post(ORDERS, {"pickup_slot": slot.pk})

    assert response.status_code == 201
    assert stock_of(product) == 9


def test_a_full_slot_is_409_naming_the_next_free_ones_and_changes_nothing(auth_client, user, product, at):
    at(local(MONDAY, 10))
    slot = slot_at(12)
    PickupSlot.objects.filter(pk=slot.pk).update(taken=2)
    cart_add_item(user=user, product=product, quantity=3)

    response = auth_client.post(ORDERS, {"pickup_slot": slot.pk})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_full"
    assert [s["start"] for s in body["next_slots"]] == [
        "2026-11-23T12:15:00+07:00",
        "2026-11-23T12:30:00+07:00",
        "2026-11-23T12:45:00+07:00",
    ]
    assert (stock_of(product), Order.objects.count(), PickupSlot.objects.get(pk=slot.pk).taken) == (10, 0, 2)


@pytest.mark.parametrize("slot_id", [999_999, "x", 0])
def test_an_unknown_or_malformed_slot_is_400(auth_client, user, product, at, slot_id):
    at(local(MONDAY, 10))
    cart_add_item(user=user, product=product, quantity=1)
    response = auth_client.post(ORDERS, {"pickup_slot": slot_id})
    assert response.status_code == 400
    assert stock_of(product) == 10


def test_cancel_and_expiry_give_the_slot_back(auth_client, user, product, at):
    at(local(MONDAY, 10))
    slot = slot_at(13)
    cart_add_item(user=user, product=product, quantity=1)
    first = auth_client.post(ORDERS, {"pickup_slot": slot.pk}).json()["number"]
    cart_add_item(user=user, product=product, quantity=1)
    second = Order.objects.get(number=auth_client.post(ORDERS, {"pickup_slot": slot.pk}).json()["number"])
    assert PickupSlot.objects.get(pk=slot.pk).taken == 2

    assert auth_client.post(f"{ORDERS}{first}/cancel/").status_code == 200
    assert PickupSlot.objects.get(pk=slot.pk).taken == 1

    assert services.order_expire(order_id=second.pk, now=second.expires_at) is True
    assert PickupSlot.objects.get(pk=slot.pk).taken == 0
    assert stock_of(product) == 10


def test_a_late_payment_takes_the_slot_again_or_drops_it_when_full(user, product, at):
    at(local(MONDAY, 10))
    slot = slot_at(13)
    cart_add_item(user=user, product=product, quantity=1)
    order = placing.order_place(user=user, pickup_slot_id=slot.pk)
    services.order_cancel(order=order, actor=services.Actor.of(user))
    PickupSlot.objects.filter(pk=slot.pk).update(taken=2)  # others booked it meanwhile

    with transaction.atomic():
        locked = services.order_lock(order_id=order.pk)
        event = services.order_transition(order=locked, to_status=OrderStatus.PAID, actor=services.GATEWAY)

    order.refresh_from_db()
    assert (order.status, order.pickup_slot_id) == (OrderStatus.PAID, None)
    assert event.data == {"pickup_slot_lost": slot.pk}
    assert PickupSlot.objects.get(pk=slot.pk).taken == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_shoppers_racing_for_the_last_places_never_overbook(at):
    at(local(MONDAY, 10))
    product = ProductFactory(stock=100)
    slot = slot_at(14)
    clients = []
    for _ in range(10):
        user = UserFactory()
        cart_add_item(user=user, product=product, quantity=1)
        clients.append(bearer_client(user))

    def checkout(client):
        def task():
            response = client.post(ORDERS, {"pickup_slot": slot.pk})
            return response.status_code, response.json().get("code")

        return task

    results = run_at_once([checkout(c) for c in clients])

    assert Counter(results) == {(201, None): 2, (409, "slot_full"): 8}
    assert PickupSlot.objects.get(pk=slot.pk).taken == 2
    assert stock_of(product) == 98
    assert Order.objects.filter(pickup_slot=slot).count() == 2


def test_slot_listing_window_is_three_days(at):
    at(local(MONDAY, 10))
    assert schedule.pickup_window(now=local(MONDAY, 10)) == (MONDAY, MONDAY + timedelta(days=3))
