"""Busy mode (issue 20): staff pause new orders and add a delay to the preparation time;
both end by themselves. Checkout reads busy mode under a shared lock, so a pause lets
through only the orders placed before it."""

import threading
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from conftest import bearer_client, run_at_once
from orders.models import KitchenState, Order, PickupSlot
from orders.pickup import kitchen
from orders.pickup import services as pickup_services

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 23)
API = "/api/v1/"
ORDERS = f"{API}orders/"


def local(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def _shop(settings, db):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.PICKUP_SLOT_MINUTES = 15
    settings.PICKUP_SLOT_CAPACITY = 5
    settings.KITCHEN_PREP_MINUTES = 15


@pytest.fixture
def hours(db):
    pickup_services.hours_seed_demo()  # every day 08:00-21:00
    pickup_services.pickup_slots_materialise(now=local(6))


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        def set(self, moment: datetime) -> None:
            monkeypatch.setattr("django.utils.timezone.now", lambda: moment)

    return Clock()


@pytest.fixture
def kitchen_client(db):
    from django.contrib.auth.models import Group

    from accounts.roles import KITCHEN

    cook = UserFactory(email="cook@example.com", is_staff=True)
    cook.groups.add(Group.objects.get(name=KITCHEN))
    return bearer_client(cook)


@pytest.fixture
def product():
    return ProductFactory(slug="nasi", stock=10)


def state(user, product) -> tuple:
    """Stock, orders, the shopper's cart lines, places taken in slots."""
    return (
        Product.objects.get(pk=product.pk).stock,
        Order.objects.count(),
        user.cart.items.count(),
        sum(PickupSlot.objects.values_list("taken", flat=True)),
    )


def test_a_pause_refuses_checkouts_with_the_time_it_ends_and_changes_nothing(
    kitchen_client, auth_client, api_client, user, product, hours, clock
):
    clock.set(local(12))
    cart_add_item(user=user, product=product, quantity=2)

    paused = kitchen_client.post(f"{API}shop/pause/", {"minutes": 20, "reason": "Rush hour"}, format="json")
    before = state(user, product)
    response = auth_client.post(ORDERS, {})
    booked = auth_client.post(ORDERS, {"pickup_slot": PickupSlot.objects.get(start=local(15)).pk})

    assert paused.status_code == 200, paused.content
    assert paused.json() == {
        "paused_until": "2026-11-23T12:20:00+07:00",
        "pause_reason": "Rush hour",
        "delay_minutes": 0,
        "delay_until": None,
        "prep_minutes": 15,
    }
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The kitchen has paused new orders (Rush hour) until 12:20.",
        "code": "shop_paused",
        "resumes_at": "2026-11-23T12:20:00+07:00",
        "reason": "Rush hour",
    }
    assert (booked.status_code, booked.json()["code"]) == (409, "shop_paused")  # for later, too
    assert state(user, product) == before == (10, 0, 1, 0)
    shop = api_client.get(f"{API}shop/").json()
    assert (shop["paused_until"], shop["pause_reason"]) == ("2026-11-23T12:20:00+07:00", "Rush hour")


def test_a_pause_ends_by_itself(kitchen_client, auth_client, api_client, user, product, hours, clock):
    clock.set(local(12))
    kitchen_client.post(f"{API}shop/pause/", {"minutes": 20}, format="json")
    cart_add_item(user=user, product=product, quantity=1)

    clock.set(local(12, 20))  # the end is exclusive: taking orders again at 12:20

    assert api_client.get(f"{API}shop/").json()["paused_until"] is None
    response = auth_client.post(ORDERS, {})
    assert response.status_code == 201, response.content
    assert response.json()["ready_at"] == "2026-11-23T12:45:00+07:00"  # 12:35 or later


def test_resume_ends_a_pause_now(kitchen_client, auth_client, user, product, hours, clock):
    clock.set(local(12))
    kitchen_client.post(f"{API}shop/pause/", {"minutes": 60}, format="json")
    cart_add_item(user=user, product=product, quantity=1)

    resumed = kitchen_client.post(f"{API}shop/resume/")

    assert resumed.status_code == 200
    assert resumed.json()["paused_until"] is None
    assert auth_client.post(ORDERS, {}).status_code == 201
    # Nothing to resume is not an error.
    assert kitchen_client.post(f"{API}shop/resume/").status_code == 200


def test_a_delay_moves_ready_times_until_it_ends(kitchen_client, api_client, user, product, hours, clock):
    from orders.tests.factories import place_order

    clock.set(local(12))
    delayed = kitchen_client.post(
        f"{API}shop/delay/", {"minutes": 30, "until": "2026-11-23T13:00:00+07:00"}, format="json"
    )

    assert delayed.json() == {
        "paused_until": None,
        "pause_reason": "",
        "delay_minutes": 30,
        "delay_until": "2026-11-23T13:00:00+07:00",
        "prep_minutes": 45,
    }
    assert api_client.get(f"{API}shop/").json()["prep_minutes"] == 45
    assert place_order(user=user, items=[(product, 1)]).ready_at == local(12, 45)

    clock.set(local(13))  # ended by itself
    assert place_order(user=UserFactory(), items=[(product, 1)]).ready_at == local(13, 15)


def test_a_delay_without_an_end_lasts_until_cleared(kitchen_client, user, product, hours, clock):
    from orders.tests.factories import place_order

    clock.set(local(12))
    kitchen_client.post(f"{API}shop/delay/", {"minutes": 15}, format="json")
    clock.set(local(17))
    assert place_order(user=user, items=[(product, 1)]).ready_at == local(17, 30)

    cleared = kitchen_client.post(f"{API}shop/delay/", {"minutes": 0}, format="json")

    assert (cleared.json()["delay_minutes"], cleared.json()["prep_minutes"]) == (0, 15)
    assert place_order(user=UserFactory(), items=[(product, 1)]).ready_at == local(17, 15)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("shop/pause/", {"minutes": 0}, "minutes"),
        ("shop/pause/", {"minutes": "20"}, "minutes"),
        ("shop/pause/", {"minutes": 24 * 60 + 1}, "minutes"),
        ("shop/pause/", {}, "minutes"),
        ("shop/pause/", {"minutes": 10, "reason": "x" * 201}, "reason"),
        ("shop/pause/", {"minutes": 10, "reason": "bad\x1b[31m"}, "reason"),
        ("shop/delay/", {"minutes": -5}, "minutes"),
        ("shop/delay/", {"minutes": 10, "until": "2026-11-23T11:00:00+07:00"}, "until"),
        ("shop/delay/", {"minutes": 10, "until": "soon"}, "until"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(kitchen_client, clock, path, body, field):
    clock.set(local(12))
    before = list(KitchenState.objects.values())

    response = kitchen_client.post(f"{API}{path}", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert list(KitchenState.objects.values()) == before


def test_shoppers_and_anonymous_callers_cannot_pause(auth_client, api_client, clock):
    clock.set(local(12))

    assert auth_client.post(f"{API}shop/pause/", {"minutes": 5}, format="json").status_code == 403
    assert api_client.post(f"{API}shop/pause/", {"minutes": 5}, format="json").status_code == 401
    assert kitchen.busy_read(now=local(12)).paused_until is None


# --- under concurrency ---------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_pause_during_a_checkout_race_lets_through_only_orders_placed_before_it(monkeypatch):
    """Shoppers check out while staff pause (real threads, one connection each). Staff press
    the button while checkouts are under way (at least 3 of them past busy mode's check);
    more shoppers check out in the moment between the pause reading the clock and its
    commit. Every order that got through was placed before the pause began, and every
    checkout after it was refused with shop_paused: without checkout's shared lock, those
    late ones would read the row before the pause commits and be placed after it. No opening
    hours: the shop takes orders at any time, so the real clock is safe here."""
    product = ProductFactory(stock=100)
    shoppers = UserFactory.create_batch(21)
    for shopper in shoppers:
        cart_add_item(user=shopper, product=product, quantity=1)
    clients = [bearer_client(shopper) for shopper in shoppers]
    past_the_check = threading.Semaphore(0)
    pause_has_its_time = threading.Event()
    real_check, real_changed = pickup_services.check_can_order, kitchen.catalog_changed

    def slow_check(**kwargs):  # inside checkout's transaction, right after busy mode's check
        past_the_check.release()
        time.sleep(0.1)
        return real_check(**kwargs)

    def slow_changed():  # inside the pause's transaction, after it read the clock
        pause_has_its_time.set()
        time.sleep(0.3)
        return real_changed()

    monkeypatch.setattr(pickup_services, "check_can_order", slow_check)
    monkeypatch.setattr(kitchen, "catalog_changed", slow_changed)

    def pause() -> kitchen.Busy:
        for _ in range(3):
            assert past_the_check.acquire(timeout=30)
        return kitchen.kitchen_pause(minutes=30)

    def late(client):
        assert pause_has_its_time.wait(timeout=30)
        return client.post(ORDERS, {})

    early = [lambda c=c: c.post(ORDERS, {}) for c in clients[:10]]
    results = run_at_once([*early, pause, *[lambda c=c: late(c) for c in clients[10:20]]])

    paused_at = KitchenState.objects.get().paused_at
    assert isinstance(results[10], kitchen.Busy), results[10]
    answers = results[:10] + results[11:]
    assert all(r.status_code in (201, 409) for r in answers), [r.content for r in answers]
    refused = [r.json() for r in answers if r.status_code == 409]
    assert {body["code"] for body in refused} <= {"shop_paused"}
    assert [r.status_code for r in results[11:]] == [409] * 10  # every checkout after the pause
    placed = list(Order.objects.values_list("placed_at", flat=True))
    assert len(placed) >= 3  # those under way when staff pressed the button
    assert len(placed) + len(refused) == 20
    assert all(at < paused_at for at in placed)
    assert Product.objects.get(pk=product.pk).stock == 100 - len(placed)

    after = clients[20].post(ORDERS, {})
    assert (after.status_code, after.json()["code"]) == (409, "shop_paused")


# --- the kitchen board and the admin -------------------------------------------------------


def staff_browser(client, *, busy: bool):
    """A staff member logged in to the admin: the Kitchen role, or view_order alone."""
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import KITCHEN

    member = UserFactory(is_staff=True)
    if busy:
        member.groups.add(Group.objects.get(name=KITCHEN))
    else:
        member.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(member)
    return client


def test_the_board_shows_busy_mode_and_its_buttons_pause_and_resume(client, clock):
    from django.urls import reverse

    clock.set(local(12))
    board = staff_browser(client, busy=True)

    page = board.get(reverse("admin:orders_order_kitchen")).content.decode()
    paused = board.post(reverse("admin:orders_order_kitchen_busy"), {"button": "pause-30"}, follow=True)

    assert "Taking orders." in page
    assert 'value="pause-30"' in page
    assert kitchen.busy_read(now=local(12)).paused_until == local(12, 30)
    assert "New orders paused until 12:30" in paused.content.decode()

    board.post(reverse("admin:orders_order_kitchen_busy"), {"button": "delay-15"})
    assert kitchen.busy_read(now=local(12)).prep_minutes == 30
    board.post(reverse("admin:orders_order_kitchen_busy"), {"button": "resume"})
    assert kitchen.busy_read(now=local(12)).paused_until is None
    assert board.post(reverse("admin:orders_order_kitchen_busy"), {"button": "pause-9999"}).status_code == 400


def test_the_board_hides_busy_mode_buttons_from_staff_without_the_permission(client, clock):
    from django.urls import reverse

    clock.set(local(12))
    board = staff_browser(client, busy=False)

    page = board.get(reverse("admin:orders_order_kitchen")).content.decode()
    refused = board.post(reverse("admin:orders_order_kitchen_busy"), {"button": "pause-30"})

    assert "Taking orders." in page
    assert 'value="pause-30"' not in page
    assert refused.status_code == 403
    assert kitchen.busy_read(now=local(12)).paused_until is None


def test_the_admin_action_pauses(client, clock):
    from django.urls import reverse

    clock.set(local(12))
    kitchen.state_row_ensure()
    admin = staff_browser(client, busy=True)

    response = admin.post(
        reverse("admin:orders_kitchenstate_changelist"),
        {"action": "busy_pause_15", "_selected_action": [kitchen.STATE_ID]},
        follow=True,
    )

    assert response.status_code == 200
    assert kitchen.busy_read(now=local(12)).paused_until == local(12, 15)
    assert "New orders paused until 12:15" in response.content.decode()


def test_the_board_marks_a_dish_sold_out_for_today(client, clock, user):
    from django.urls import reverse

    from orders.tests.factories import place_order

    clock.set(local(12))
    rendang = ProductFactory(slug="rendang", name="Rendang", stock=10)
    order = place_order(user=user, items=[(rendang, 1)])
    Order.objects.filter(pk=order.pk).update(status="paid", paid_at=local(12))
    board = staff_browser(client, busy=True)

    page = board.get(reverse("admin:orders_order_kitchen")).content.decode()
    marked = board.post(reverse("admin:orders_order_kitchen_sold_out"), {"product": rendang.pk}, follow=True)

    assert f'name="product" value="{rendang.pk}"' in page
    assert "Rendang is sold out until Tue 00:00." in marked.content.decode()
    assert Product.objects.get(pk=rendang.pk).sold_out_until == local(0, day=MONDAY.replace(day=24))
    for bad in ("x", "99999999999999999999999", str(10**12)):
        assert board.post(reverse("admin:orders_order_kitchen_sold_out"), {"product": bad}).status_code == 400
    # Staff without the permission see no button and are refused.
    other = staff_browser(client, busy=False)
    assert (
        'value="' + str(rendang.pk) + '"'
        not in other.get(reverse("admin:orders_order_kitchen")).content.decode()
    )
    assert (
        other.post(reverse("admin:orders_order_kitchen_sold_out"), {"product": rendang.pk}).status_code == 403
    )
