"""Races with real threads, each on its own database connection, against PostgreSQL.

SQLite serialises writers (IMMEDIATE transactions), so these run on PostgreSQL only,
where row locks and conditional updates are what keeps the numbers right."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product
from catalog.stock import stock_audit
from catalog.tests.factories import BundleFactory, ProductFactory
from conftest import bearer_client, run_at_once
from orders import idempotency, services
from orders.exceptions import InvalidTransition
from orders.models import IdempotencyKey, Order, OrderEvent
from orders.tests.factories import place_order

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _ledger_balances():
    """After every race, each product's stock still equals the sum of its ledger."""
    yield
    assert stock_audit() == []


ORDERS = "/api/v1/orders/"


def checkout(client, **headers) -> Callable[[], tuple[int, str | None]]:
    def task():
        response = client.post(ORDERS, {}, **headers)
        return response.status_code, response.json().get("code")

    return task


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def test_forty_shoppers_ten_units(settings):
    product = ProductFactory(stock=10)
    clients = []
    for _ in range(40):
        user = UserFactory()
        cart_add_item(user=user, product=product, quantity=1)
        clients.append(bearer_client(user))

    results = run_at_once([checkout(c) for c in clients])

    assert Counter(results) == {(201, None): 10, (409, "insufficient_stock"): 30}
    assert stock_of(product) == 0
    assert Order.objects.count() == 10


def test_opposite_cart_orders_do_not_deadlock():
    a, b = ProductFactory(stock=15), ProductFactory(stock=15)
    clients = []
    for i in range(20):
        user = UserFactory()
        first, second = (a, b) if i % 2 else (b, a)
        cart_add_item(user=user, product=first, quantity=1)
        cart_add_item(user=user, product=second, quantity=1)
        clients.append(bearer_client(user))

    results = run_at_once([checkout(c) for c in clients])

    assert Counter(results) == {(201, None): 15, (409, "insufficient_stock"): 5}
    assert (stock_of(a), stock_of(b)) == (0, 0)
    assert all(order.lines.count() == 2 for order in Order.objects.all())


def test_bundle_and_components_bought_together_never_oversell():
    rice, tea = ProductFactory(stock=10), ProductFactory(stock=5)
    combo = BundleFactory(components=[(rice, 2), (tea, 1)])
    clients = []
    for i in range(24):
        user = UserFactory()
        cart_add_item(user=user, product=combo if i % 2 else rice, quantity=1)
        clients.append(bearer_client(user))

    results = run_at_once([checkout(c) for c in clients])

    assert set(results) <= {(201, None), (409, "insufficient_stock")}
    combos = Order.objects.filter(lines__product=combo).count()
    singles = Order.objects.filter(lines__product=rice).count()
    assert combos + singles == Counter(results)[(201, None)] == Order.objects.count()
    # Exactly what the orders took, no more and no less.
    assert (stock_of(rice), stock_of(tea)) == (10 - 2 * combos - singles, 5 - combos)
    # Stock only falls during the run, so a refusal is right only if what it asked for is
    # still missing at the end.
    refused = [i for i, result in enumerate(results) if result[0] == 409]
    if any(i % 2 for i in refused):  # a combo was refused
        assert stock_of(rice) < 2 or stock_of(tea) < 1
    if any(i % 2 == 0 for i in refused):  # a plain rice was refused
        assert stock_of(rice) < 1


def test_same_idempotency_key_ten_times_at_once_makes_one_order():
    product = ProductFactory(stock=10)
    user = UserFactory()
    cart_add_item(user=user, product=product, quantity=2)
    clients = [bearer_client(user) for _ in range(10)]

    results = run_at_once([checkout(c, HTTP_IDEMPOTENCY_KEY="once") for c in clients])

    assert set(results) <= {(201, None), (409, "idempotency_key_in_flight")}
    assert (201, None) in results
    assert Order.objects.count() == 1
    assert stock_of(product) == 8


def test_key_released_while_a_repeat_waits_for_it_is_claimed_afresh():
    """A repeat of a checkout reads the first request's key, then waits for its row lock;
    the first request fails (short of stock, say) and gives the key up. The repeat then
    claims the key as new instead of failing on the vanished row (a 500 that `make stress`
    found with double submits)."""
    user = UserFactory()
    first = idempotency.idempotency_claim(user=user, key="double", request_hash="a" * 64)
    locked, release = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            IdempotencyKey.objects.select_for_update().get(pk=first.pk)
            locked.set()
            assert release.wait(30)
            idempotency.idempotency_release(record=first)
        return "released"

    def repeat():
        assert locked.wait(30)
        return idempotency.idempotency_claim(user=user, key="double", request_hash="a" * 64)

    def waiting_for_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0

    def referee():
        assert locked.wait(30)
        deadline = time.monotonic() + 30
        while not waiting_for_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
        release.set()

    results = run_at_once([holder, repeat, referee])

    claimed = results[1]
    assert results[0] == "released"
    assert isinstance(claimed, IdempotencyKey), claimed
    assert claimed.pk != first.pk
    assert claimed.state == IdempotencyKey.State.IN_PROGRESS
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [claimed.pk]


def test_expire_orders_twice_at_once_releases_stock_once():
    product = ProductFactory(stock=20)
    orders = [place_order(user=UserFactory(), items=[(product, 2)]) for _ in range(8)]
    Order.objects.update(expires_at=timezone.now())
    assert stock_of(product) == 4

    run_at_once([lambda: call_command("expire_orders", stdout=StringIO()) for _ in range(2)])

    assert stock_of(product) == 20
    assert set(Order.objects.values_list("status", flat=True)) == {"expired"}
    for order in orders:
        assert OrderEvent.objects.filter(order=order, to_status="expired").count() == 1


def test_cancel_racing_expiry_releases_stock_once():
    product = ProductFactory(stock=30)
    orders = [place_order(user=UserFactory(), items=[(product, 3)]) for _ in range(10)]
    Order.objects.update(expires_at=timezone.now())
    assert stock_of(product) == 0

    def cancel(order):
        def task():
            try:
                services.order_cancel(order=order, actor=services.Actor.of(order.user))
                return "cancelled"
            except InvalidTransition:
                return "refused"

        return task

    def expire(order):
        return lambda: "expired" if services.order_expire(order_id=order.pk) else "skipped"

    tasks = [cancel(o) for o in orders] + [expire(o) for o in orders]
    results = run_at_once(tasks)

    for i, order in enumerate(orders):
        pair = {results[i], results[i + len(orders)]}
        assert pair in ({"cancelled", "skipped"}, {"refused", "expired"}), pair
        assert OrderEvent.objects.filter(order=order, type="status_changed").count() == 1
    assert stock_of(product) == 30
