"""The kitchen board and the admin dashboard, and the selectors behind them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog import options as option_services
from catalog.tests.factories import ProductFactory
from orders import placing, selectors, services
from orders.models import Order, OrderStatus
from orders.selectors import DashboardCounts, dashboard_counts, kitchen_orders
from orders.tests.factories import PickupSlotFactory, place_order

pytestmark = pytest.mark.django_db

BOARD = reverse("admin:orders_order_kitchen")


def paid(order):
    with transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=OrderStatus.PAID, actor=services.GATEWAY
        )
    order.refresh_from_db()
    return order


@pytest.fixture
def dish():
    product = ProductFactory(name="Nasi Goreng", slug="nasi-goreng", stock=20)
    group = option_services.option_group_create(name="Spice level", min_choices=1, max_choices=1)
    option_services.option_create(group=group, name="Pedas level 3", slug="level-3", price_delta=2_000)
    option_services.product_set_option_groups(product=product, groups=[group])
    return product


def test_board_shows_paid_orders_with_options_and_notes_and_moves_them(admin_client_staff, user, dish):
    order = paid(_order_with_choice(user, dish))
    pending = place_order(user=UserFactory(), items=[(ProductFactory(name="Teh"), 1)])

    page = admin_client_staff.get(BOARD)

    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert pending.number not in html
    assert "Spice level: <strong>Pedas level 3</strong>" in html
    assert "Note: tanpa bawang" in html
    assert 'http-equiv="refresh"' in html

    move = reverse("admin:orders_order_move", args=[order.pk])
    response = admin_client_staff.post(move, {"to_status": "preparing", "next": "kitchen"})
    assert response.status_code == 302
    assert response["Location"] == BOARD
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING
    assert order.events.latest("id").actor_user.is_staff


def _order_with_choice(user, dish):
    cart_add_item(user=user, product=dish, quantity=2, options=["level-3"], note="tanpa bawang")
    return placing.order_place(user=user)


def test_board_and_dashboard_need_staff(client, user):
    client.force_login(user)
    assert client.get(BOARD).status_code == 302  # to the admin login
    assert client.get(reverse("admin:index")).status_code == 302


def test_dashboard_counts_today(admin_client_staff, user, dish):
    paid(_order_with_choice(user, dish))
    ProductFactory(name="Gone", stock=0)
    html = admin_client_staff.get(reverse("admin:index")).content.decode()
    assert "Orders placed today" in html
    assert (
        'Waiting (paid or preparing)</a></th>\n        <td class="dashboard-count" style="text-align: right; font-weight: bold">1</td>'
        in html
    )
    assert "Sold out or unavailable" in html


# --- the selectors: one query set for the board, one for the dashboard ------------------------

DAY = datetime(2030, 1, 7).date()  # a Monday
JAKARTA_MIDNIGHT = datetime(2030, 1, 6, 17, tzinfo=UTC)  # 2030-01-07 00:00 in Jakarta


def _at(order, *, status, paid_at=None, placed_at=None, slot=None):
    Order.objects.filter(pk=order.pk).update(
        status=status, paid_at=paid_at, placed_at=placed_at or order.placed_at, pickup_slot=slot
    )
    return order.number


def test_kitchen_orders_of_a_day_in_pickup_order_with_their_lines(user, settings, django_assert_num_queries):
    settings.MAX_UNPAID_ORDERS = 8  # one shopper's eight orders on the board
    product = ProductFactory(stock=50)
    orders = [place_order(user=user, items=[(product, 2)]) for _ in range(8)]
    noon = PickupSlotFactory(start=JAKARTA_MIDNIGHT + timedelta(hours=12))
    morning = PickupSlotFactory(start=JAKARTA_MIDNIGHT + timedelta(hours=9))
    yesterday = PickupSlotFactory(start=JAKARTA_MIDNIGHT - timedelta(hours=5))
    tomorrow = PickupSlotFactory(start=JAKARTA_MIDNIGHT + timedelta(days=1, hours=9))
    just_after_midnight = JAKARTA_MIDNIGHT + timedelta(minutes=1)
    asap = _at(orders[0], status=OrderStatus.PAID, paid_at=just_after_midnight + timedelta(hours=2))
    asap_first = _at(orders[1], status=OrderStatus.READY, paid_at=just_after_midnight)
    at_noon = _at(orders[2], status=OrderStatus.PREPARING, paid_at=just_after_midnight, slot=noon)
    at_nine = _at(orders[3], status=OrderStatus.PAID, paid_at=just_after_midnight, slot=morning)
    next_day = _at(orders[4], status=OrderStatus.PAID, paid_at=just_after_midnight, slot=tomorrow)
    # Not the board's: picked up yesterday, paid before the day began, done, not paid.
    _at(orders[5], status=OrderStatus.PAID, paid_at=just_after_midnight, slot=yesterday)
    _at(orders[6], status=OrderStatus.PAID, paid_at=JAKARTA_MIDNIGHT - timedelta(minutes=1))
    _at(orders[7], status=OrderStatus.COMPLETED, paid_at=just_after_midnight, slot=noon)

    with django_assert_num_queries(2):  # the orders with their slots, and all their lines
        board = kitchen_orders(day=DAY)
        lines = [[(line.quantity, line.product_name) for line in order.lines.all()] for order in board]
        slots = [order.pickup_slot for order in board]

    assert [order.number for order in board] == [asap_first, asap, at_nine, at_noon, next_day]
    assert lines == [[(2, product.name)]] * 5
    assert slots == [None, None, morning, noon, tomorrow]


def test_dashboard_counts_of_a_day(user, settings, django_assert_num_queries):
    settings.MAX_UNPAID_ORDERS = 6  # one shopper's six orders
    product = ProductFactory(stock=50)
    orders = [place_order(user=user, items=[(product, 1)]) for _ in range(6)]
    today = JAKARTA_MIDNIGHT + timedelta(hours=8)
    _at(orders[0], status=OrderStatus.PAID, placed_at=today)
    _at(orders[1], status=OrderStatus.PAID, placed_at=today)
    _at(orders[2], status=OrderStatus.PREPARING, placed_at=today)
    _at(orders[3], status=OrderStatus.PENDING_PAYMENT, placed_at=today)
    _at(orders[4], status=OrderStatus.READY, placed_at=today)
    # Placed the day before: not today's, but still waiting for the kitchen.
    _at(orders[5], status=OrderStatus.PREPARING, placed_at=JAKARTA_MIDNIGHT - timedelta(minutes=1))

    with django_assert_num_queries(2):  # counts by status, then the kitchen's waiting ones
        counts = dashboard_counts(day=DAY)

    assert counts == DashboardCounts(
        placed_by_status={"paid": 2, "preparing": 1, "pending_payment": 1, "ready": 1}, kitchen_waiting=4
    )


def test_board_and_dashboard_pages_read_through_the_selectors(admin_client_staff, user, dish, monkeypatch):
    paid(_order_with_choice(user, dish))
    days = []

    def board(*, day):
        days.append(("board", day))
        return kitchen_orders(day=day)

    def counts(*, day):
        days.append(("dashboard", day))
        return dashboard_counts(day=day)

    monkeypatch.setattr(selectors, "kitchen_orders", board)
    monkeypatch.setattr("config.dashboard.dashboard_counts", counts)

    assert admin_client_staff.get(BOARD).status_code == 200
    assert admin_client_staff.get(reverse("admin:index")).status_code == 200
    assert days == [("board", timezone.localdate()), ("dashboard", timezone.localdate())]
