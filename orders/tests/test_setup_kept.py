"""The shop's setup (weekly hours, exceptions, charges) kept per process under the busy-mode
row's number (orders/setup.py): a checkout after any change of it sees the change, and
the change waits for the checkouts under way."""

import threading
from datetime import time, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from orders.models import Order
from orders.pickup import kitchen, schedule
from orders.pickup import services as pickup_services
from orders.pickup.models import HoursExceptionRange, KitchenState, WeeklyHours
from orders.setup import setup_scope
from orders.shop_settings import shop_settings_update

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
CART = "/api/v1/cart/items/"


@pytest.fixture(autouse=True)
def open_all_week():
    for weekday in range(7):
        pickup_services.weekly_hours_add(weekday=weekday, opens_at=time(0), closes_at=time(0))
    pickup_services.pickup_slots_materialise(now=timezone.now())


def _add(client, slug: str) -> None:
    ProductFactory(slug=slug, price=10_000, stock=10)
    assert client.post(CART, {"product": slug, "quantity": 1}).status_code == 201


def _checkout(client, slug: str):
    _add(client, slug)
    return client.post(ORDERS, {}, format="json")


def _setup_reads(client, slug: str) -> tuple[int, object]:
    """The checkout's answer, and how many of its statements read the setup's tables."""
    _add(client, slug)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(ORDERS, {}, format="json")
    tables = ('"orders_weeklyhours"', '"orders_hoursexception"', '"orders_shopsettings"')
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    return sum(any(table in sql for table in tables) for sql in reads), response


def test_a_second_checkout_reads_no_setup_table(auth_client):
    first, response = _setup_reads(auth_client, "one")
    assert (first, response.status_code) == (3, 201)  # weekly hours, exceptions, charges
    second, response = _setup_reads(auth_client, "two")
    assert (second, response.status_code) == (0, 201)


def test_a_changed_charge_reaches_the_next_checkout(auth_client):
    assert _checkout(auth_client, "one").json()["total"] == 10_000
    shop_settings_update(service_charge_bp=1_000)
    reads, response = _setup_reads(auth_client, "two")
    order = Order.objects.get(number=response.json()["number"])
    assert (reads, order.service_charge, response.json()["total"]) == (3, 1_000, 11_000)


def test_a_day_closed_since_refuses_the_next_checkout(auth_client):
    assert _checkout(auth_client, "one").status_code == 201
    today = schedule.local_date(timezone.now())
    pickup_services.hours_exception_save(day=today, is_closed=True, ranges=[])
    response = _checkout(auth_client, "two")
    assert (response.status_code, response.json()["code"]) == (409, "shop_closed")
    assert Order.objects.count() == 1  # nothing placed


def test_hours_taken_away_refuse_the_next_checkout(auth_client):
    assert _checkout(auth_client, "one").status_code == 201
    for hours in WeeklyHours.objects.all():
        pickup_services.weekly_hours_delete(hours=hours)
    # No weekly hours and no exceptions: the shop has no opening hours, so it takes orders
    # at any time with no slot (as a new shop does); the kept "configured" must not say
    # otherwise.
    response = _checkout(auth_client, "two")
    assert (response.status_code, response.json()["pickup_slot"]) == (201, None)


def _number() -> int:
    return KitchenState.objects.values_list("setup_version", flat=True).get(pk=1)


@pytest.mark.parametrize(
    "change",
    [
        lambda: shop_settings_update(tax_rate_bp=1_100),
        lambda: pickup_services.weekly_hours_update(
            hours=WeeklyHours.objects.first(), weekday=0, opens_at=time(1), closes_at=time(0)
        ),
        lambda: pickup_services.weekly_hours_delete(hours=WeeklyHours.objects.first()),
        lambda: pickup_services.hours_exception_save(
            day=timezone.localdate() + timedelta(days=2), is_closed=False, ranges=[(time(9), time(12))]
        ),
    ],
    ids=["settings", "hours changed", "hours deleted", "exception"],
)
def test_every_setup_writer_moves_the_number_on(change):
    before = _number()
    change()
    assert _number() > before


def test_an_exception_deleted_moves_the_number_on():
    exception = pickup_services.hours_exception_save(
        day=timezone.localdate() + timedelta(days=2), is_closed=False, ranges=[(time(9), time(12))]
    )
    before = _number()
    pickup_services.hours_exception_delete(exception=exception)
    assert (_number() > before, HoursExceptionRange.objects.count()) == (True, 0)


def test_the_number_is_ignored_outside_a_checkout(django_assert_num_queries):
    """Outside `setup_scope` (the menu, the shop status, staff pages) every read goes to the
    database: nothing there reads the number first."""
    from orders.pricing import current_charges

    with django_assert_num_queries(1):
        current_charges()
    with django_assert_num_queries(1):
        current_charges()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_change_waits_for_the_checkout_under_way():
    """A checkout holds the busy-mode row shared to its commit; the change's UPDATE of the
    number waits for it, so no checkout reads the old number after the change committed."""
    held, done = threading.Event(), threading.Event()
    order = []

    def checkout() -> None:
        try:
            with transaction.atomic(), setup_scope():
                kitchen.check_taking_orders(now=timezone.now())
                held.set()
                assert not done.wait(0.5)  # the change is blocked meanwhile
                order.append("checkout committed")
        finally:
            connections.close_all()

    def change() -> None:
        try:
            held.wait(5)
            shop_settings_update(service_charge_bp=500)
            order.append("change committed")
            done.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=checkout), threading.Thread(target=change)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["checkout committed", "change committed"]


def test_the_row_made_again_after_reset_data_takes_a_new_number():
    """reset_data deletes the busy-mode row; made again with the default 0 it could bring
    back a number a process keeps older hours under."""
    before = _number()
    KitchenState.objects.all().delete()
    kitchen.state_row_ensure()
    assert _number() > before
