"""Mealtimes (issue 20): serving windows on a category or product, judged at the order's
ready time: breakfast is orderable tonight for tomorrow morning, and not for tonight."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from cart.services import cart_add_item
from catalog.mealtimes import served_at, serving_windows_clean
from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from orders.models import Order, PickupSlot
from orders.pickup import services as pickup_services

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 23)
TUESDAY = MONDAY + timedelta(days=1)
SATURDAY = MONDAY + timedelta(days=5)
WEEKDAY_BREAKFAST = [{"days": [0, 1, 2, 3, 4], "from": "06:00", "until": "10:30"}]
ORDERS = "/api/v1/orders/"
PRODUCTS = "/api/v1/products/"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def _shop(settings, monkeypatch, db):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.PICKUP_SLOT_MINUTES = 15
    settings.PICKUP_SLOT_CAPACITY = 5
    settings.KITCHEN_PREP_MINUTES = 15
    pickup_services.hours_seed_demo()  # every day 08:00-21:00
    pickup_services.pickup_slots_materialise(now=local(MONDAY, 6))
    monkeypatch.setattr("django.utils.timezone.now", lambda: local(MONDAY, 20))  # Monday night


@pytest.fixture
def bubur():
    breakfast = CategoryFactory(slug="breakfast", serving_windows=WEEKDAY_BREAKFAST)
    return ProductFactory(slug="bubur", category=breakfast, stock=10)


def test_breakfast_ordered_tonight_for_tomorrow_morning(auth_client, user, bubur):
    slot = PickupSlot.objects.get(start=local(TUESDAY, 8))
    cart_add_item(user=user, product=bubur, quantity=2)  # the cart takes it tonight

    response = auth_client.post(ORDERS, {"pickup_slot": slot.pk})

    assert response.status_code == 201, response.content
    assert response.json()["ready_at"] == "2026-11-24T08:00:00+07:00"


def test_breakfast_is_not_served_tonight_and_nothing_changes(auth_client, user, bubur):
    cart_add_item(user=user, product=bubur, quantity=2)

    asap = auth_client.post(ORDERS, {})  # ready tonight at 20:15
    lunch = auth_client.post(ORDERS, {"pickup_slot": PickupSlot.objects.get(start=local(TUESDAY, 12)).pk})

    for response in (asap, lunch):
        assert response.status_code == 409
        assert response.json()["code"] == "product_unavailable"
        assert response.json()["products"] == [
            {"slug": "bubur", "name": bubur.name, "reason": "not_served_then"}
        ]
    assert Product.objects.get(pk=bubur.pk).stock == 10
    assert Order.objects.count() == 0
    assert sum(PickupSlot.objects.values_list("taken", flat=True)) == 0
    assert user.cart.items.count() == 1


def test_a_products_own_windows_replace_its_categorys(auth_client, user, bubur):
    Product.objects.filter(pk=bubur.pk).update(serving_windows=[{"from": "19:00", "until": "22:00"}])
    cart_add_item(user=user, product=bubur, quantity=1)

    assert auth_client.post(ORDERS, {}).status_code == 201  # tonight 20:15, every day


def test_the_menu_shows_the_windows_and_leaves_the_judgement_to_checkout(api_client, bubur):
    body = api_client.get(f"{PRODUCTS}bubur/").json()

    assert body["serving_windows"] == WEEKDAY_BREAKFAST
    assert (body["available"], body["unavailable_reason"]) == (True, None)


def test_windows_by_day_and_time(bubur):
    assert served_at(bubur, local(TUESDAY, 6)) is True
    assert served_at(bubur, local(TUESDAY, 10, 29)) is True
    assert served_at(bubur, local(TUESDAY, 10, 30)) is False  # the end is excluded
    assert served_at(bubur, local(SATURDAY, 8)) is False  # weekdays only
    assert served_at(ProductFactory(), local(SATURDAY, 3)) is True  # no windows: always


@pytest.mark.parametrize(
    "windows",
    [
        [{"from": "10:30", "until": "06:00"}],
        [{"from": "6:00", "until": "10:30"}],
        [{"from": "06:00"}],
        [{"days": [7], "from": "06:00", "until": "10:30"}],
        [{"days": [], "from": "06:00", "until": "10:30"}],
        [{"from": "06:00", "until": "10:30", "note": "x"}],
        "breakfast",
    ],
)
def test_bad_windows_are_refused_and_change_nothing(staff_client, bubur, windows):
    with pytest.raises(ValidationError):
        serving_windows_clean(windows)

    response = staff_client.patch(f"{PRODUCTS}bubur/", {"serving_windows": windows}, format="json")

    assert response.status_code == 400, response.content
    assert Product.objects.get(pk=bubur.pk).serving_windows == []


def test_staff_set_windows_over_the_api(staff_client, bubur):
    lunch = [{"days": [5, 6], "from": "11:00", "until": "14:00"}]

    response = staff_client.patch(f"{PRODUCTS}bubur/", {"serving_windows": lunch}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["serving_windows"] == lunch


def test_the_admin_sets_a_categorys_windows(admin_client_staff, bubur):
    from django.urls import reverse

    from catalog.tests.test_admin import form_values

    url = reverse("admin:catalog_category_change", args=[bubur.category.pk])
    values = form_values(admin_client_staff, url, "category_form")
    values["serving_windows"] = '[{"from": "06:00", "until": "11:00"}]'

    response = admin_client_staff.post(url, values)

    assert response.status_code == 302, response.content.decode()[:500]
    bubur.category.refresh_from_db()
    assert bubur.category.serving_windows == [{"from": "06:00", "until": "11:00"}]

    values["serving_windows"] = '[{"from": "11:00", "until": "06:00"}]'
    assert admin_client_staff.post(url, values).status_code == 200  # the form again, with the error
    bubur.category.refresh_from_db()
    assert bubur.category.serving_windows == [{"from": "06:00", "until": "11:00"}]
