"""A ready time for every order (issue 20): an order "as soon as possible" takes a place in
the first slot with room after the kitchen's preparation time, under the same conditional
UPDATE as a booked slot; slots may also count dish units (`capacity_items`)."""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product
from catalog.tests.factories import BundleFactory, ProductFactory
from conftest import bearer_client, run_at_once
from orders import services
from orders.models import Order, OrderStatus, PickupSlot
from orders.pickup import services as pickup_services
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 23)
ORDERS = "/api/v1/orders/"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


def iso(day: date, hour: int, minute: int = 0) -> str:
    return local(day, hour, minute).isoformat()


@pytest.fixture(autouse=True)
def _shop(settings, db):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.PICKUP_SLOT_MINUTES = 15
    settings.PICKUP_DAYS_AHEAD = 3
    settings.PICKUP_SLOT_CAPACITY = 2
    settings.PICKUP_MIN_LEAD_MINUTES = 15
    settings.KITCHEN_PREP_MINUTES = 15


@pytest.fixture
def hours(db):
    pickup_services.hours_seed_demo()  # every day 08:00-21:00 (Friday with a lunch break)
    pickup_services.pickup_slots_materialise(now=local(MONDAY, 6))  # what the hourly run does


@pytest.fixture
def at(monkeypatch):
    def freeze(moment: datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)

    return freeze


@pytest.fixture
def product():
    return ProductFactory(slug="nasi", stock=50)


def slot(hour: int, minute: int = 0, day: date = MONDAY) -> PickupSlot:
    return PickupSlot.objects.get(start=local(day, hour, minute))


def taken(*starts: tuple[int, int]) -> list[tuple[int, int]]:
    return [
        tuple(PickupSlot.objects.filter(pk=slot(*s).pk).values_list("taken", "taken_items")[0])
        for s in starts
    ]


def test_asap_order_is_ready_in_the_first_slot_after_the_preparation_time(
    auth_client, user, product, hours, at
):
    at(local(MONDAY, 10, 2))
    cart_add_item(user=user, product=product, quantity=2)

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 201, response.content
    body = response.json()
    # 10:02 + 15 minutes: 10:17; the first slot starting then or later is 10:30.
    assert body["ready_at"] == iso(MONDAY, 10, 30)
    assert body["pickup_slot"] == {
        "id": slot(10, 30).pk,
        "start": iso(MONDAY, 10, 30),
        "end": iso(MONDAY, 10, 45),
    }
    assert taken((10, 15), (10, 30)) == [(0, 0), (1, 2)]
    assert Order.objects.get().ready_at == local(MONDAY, 10, 30)


def test_the_preparation_time_is_a_setting(settings, auth_client, user, product, hours, at):
    settings.KITCHEN_PREP_MINUTES = 45
    at(local(MONDAY, 10))
    cart_add_item(user=user, product=product, quantity=1)

    assert auth_client.post(ORDERS, {}).json()["ready_at"] == iso(MONDAY, 10, 45)


def test_asap_goes_past_full_slots(auth_client, user, product, hours, at):
    at(local(MONDAY, 10))
    PickupSlot.objects.filter(pk=slot(10, 15).pk).update(taken=2)
    PickupSlot.objects.filter(pk=slot(10, 30).pk).update(capacity=0)
    cart_add_item(user=user, product=product, quantity=1)

    assert auth_client.post(ORDERS, {}).json()["ready_at"] == iso(MONDAY, 10, 45)
    assert taken((10, 15), (10, 30), (10, 45)) == [(2, 0), (0, 0), (1, 1)]


def test_a_booked_slot_is_the_ready_time(auth_client, user, product, hours, at):
    at(local(MONDAY, 10))
    cart_add_item(user=user, product=product, quantity=1)

    body = auth_client.post(ORDERS, {"pickup_slot": slot(13).pk}).json()

    assert (body["ready_at"], body["pickup_slot"]["start"]) == (iso(MONDAY, 13), iso(MONDAY, 13))


def test_no_room_left_today_is_409_kitchen_full_with_later_slots_and_changes_nothing(
    auth_client, user, product, hours, at
):
    at(local(MONDAY, 20, 10))  # the last slots of the day: 20:30 and 20:45
    PickupSlot.objects.filter(start__gte=local(MONDAY, 20, 25), start__lt=local(MONDAY, 21)).update(taken=2)
    cart_add_item(user=user, product=product, quantity=3)

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "kitchen_full"
    assert [s["start"] for s in body["next_slots"]] == [
        iso(MONDAY + timedelta(days=1), 8),
        iso(MONDAY + timedelta(days=1), 8, 15),
        iso(MONDAY + timedelta(days=1), 8, 30),
    ]
    assert body["next_slots"][0]["id"] == slot(8, day=MONDAY + timedelta(days=1)).pk
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=product.pk).stock == 50
    assert user.cart.items.count() == 1
    assert taken((20, 30), (20, 45)) == [(2, 0), (2, 0)]


def test_a_shop_without_opening_hours_is_ready_after_the_preparation_time(auth_client, user, product, at):
    at(local(MONDAY, 3))  # no hours set: the shop takes orders at any time and has no slots
    cart_add_item(user=user, product=product, quantity=1)

    body = auth_client.post(ORDERS, {}).json()

    assert (body["pickup_slot"], body["ready_at"]) == (None, iso(MONDAY, 3, 15))


# --- capacity in items -------------------------------------------------------------------


def test_a_slot_counting_items_takes_orders_while_their_units_fit(user, product, hours, at):
    at(local(MONDAY, 10))
    PickupSlot.objects.filter(pk=slot(10, 15).pk).update(capacity=5, capacity_items=5)
    other = UserFactory()

    first = place_order(user=user, items=[(product, 3)])
    second = place_order(user=other, items=[(product, 3)])  # 3 + 3 > 5: the next slot
    third = place_order(user=other, items=[(product, 2)])  # 3 + 2 = 5: fits

    assert [o.ready_at for o in (first, second, third)] == [
        local(MONDAY, 10, 15),
        local(MONDAY, 10, 30),
        local(MONDAY, 10, 15),
    ]
    assert taken((10, 15), (10, 30)) == [(2, 5), (1, 3)]


def test_a_bundle_counts_its_dishes(user, hours, at):
    at(local(MONDAY, 10))
    bundle = BundleFactory(components=[(ProductFactory(stock=20), 2), (ProductFactory(stock=20), 1)])
    PickupSlot.objects.filter(pk=slot(10, 15).pk).update(capacity_items=5)

    order = place_order(user=user, items=[(bundle, 2)])  # 2 x (2 + 1) = 6 units: not at 10:15

    assert order.ready_at == local(MONDAY, 10, 30)
    assert taken((10, 15), (10, 30)) == [(0, 0), (1, 6)]


def test_a_booked_slot_without_item_room_is_slot_full(auth_client, user, product, hours, at):
    at(local(MONDAY, 10))
    PickupSlot.objects.filter(pk=slot(13).pk).update(capacity_items=4, taken_items=3, taken=1)
    cart_add_item(user=user, product=product, quantity=2)

    response = auth_client.post(ORDERS, {"pickup_slot": slot(13).pk})

    assert response.status_code == 409
    assert response.json()["code"] == "slot_full"
    assert response.json()["next_slots"][0]["start"] == iso(MONDAY, 13, 15)
    assert taken((13,)) == [(1, 3)]


def test_cancel_gives_back_the_place_and_the_items(user, product, hours, at):
    at(local(MONDAY, 10))
    PickupSlot.objects.filter(pk=slot(10, 15).pk).update(capacity_items=10)
    order = place_order(user=user, items=[(product, 4)])
    assert taken((10, 15)) == [(1, 4)]

    services.order_cancel(order=order, actor=services.SYSTEM)

    assert taken((10, 15)) == [(0, 0)]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_staff_cannot_set_an_item_capacity_below_the_items_taken(hours):
    target = slot(12)
    PickupSlot.objects.filter(pk=target.pk).update(capacity_items=10, taken_items=6, taken=2)

    with pytest.raises(ValidationError):
        pickup_services.pickup_slot_set_capacity(slot_id=target.pk, capacity=5, capacity_items=5)
    assert PickupSlot.objects.filter(pk=target.pk).values_list("capacity", "capacity_items").get() == (2, 10)

    pickup_services.pickup_slot_set_capacity(slot_id=target.pk, capacity=5, capacity_items=6)
    assert PickupSlot.objects.filter(pk=target.pk).values_list("capacity", "capacity_items").get() == (5, 6)


# --- under concurrency ---------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_thirty_asap_checkouts_fill_slots_in_order_and_never_exceed_a_capacity(at, hours):
    """30 shoppers check out "as soon as possible" at once (real threads, one connection
    each) against slots of capacity 2: the first 15 slots after the preparation time are
    full, in order, and no other slot holds an order."""
    at(local(MONDAY, 10))
    product = ProductFactory(stock=100)
    users = UserFactory.create_batch(30)
    for shopper in users:
        cart_add_item(user=shopper, product=product, quantity=1)
    clients = [bearer_client(shopper) for shopper in users]

    results = run_at_once([lambda c=c: c.post(ORDERS, {}) for c in clients])

    assert [r.status_code for r in results] == [201] * 30, [
        r.content for r in results if r.status_code != 201
    ]
    starts = [local(MONDAY, 10, 15) + timedelta(minutes=15 * n) for n in range(15)]
    assert list(PickupSlot.objects.filter(taken__gt=0).order_by("start").values_list("start", "taken")) == [
        (start, 2) for start in starts
    ]
    assert Counter(Order.objects.values_list("ready_at", flat=True)) == dict.fromkeys(starts, 2)
    assert not PickupSlot.objects.filter(taken__gt=F("capacity")).exists()


def test_asap_stops_at_the_lunch_break_and_names_the_slots_after_it(auth_client, user, product, hours, at):
    friday = MONDAY + timedelta(days=4)  # 08:00-11:30, then 13:00-21:00
    pickup_services.pickup_slots_materialise(now=local(friday, 6))
    at(local(friday, 11))
    PickupSlot.objects.filter(start__in=[local(friday, 11, 15)]).update(taken=2)
    cart_add_item(user=user, product=product, quantity=1)

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 409
    assert response.json()["code"] == "kitchen_full"
    assert [s["start"] for s in response.json()["next_slots"]] == [
        iso(friday, 13),
        iso(friday, 13, 15),
        iso(friday, 13, 30),
    ]


def test_asap_runs_past_midnight_in_a_night_range(auth_client, user, product, at):
    from datetime import time

    for weekday in range(7):
        pickup_services.weekly_hours_add(weekday=weekday, opens_at=time(18), closes_at=time(2))
    pickup_services.pickup_slots_materialise(now=local(MONDAY, 17))
    at(local(MONDAY, 23, 50))
    cart_add_item(user=user, product=product, quantity=1)

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 201, response.content
    assert response.json()["ready_at"] == iso(MONDAY + timedelta(days=1), 0, 15)
