"""Dishes made to order and availability that resets itself (issue 20): `track_stock` off
sells while active and writes nothing to the stock ledger; a dish marked sold out is
`sold_out` until its time and comes back by itself; both through the one sellability rule."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group

from accounts.roles import KITCHEN
from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product, StockMovement
from catalog.tests.factories import BundleFactory, ProductFactory
from conftest import bearer_client
from orders import services
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
NOON = datetime(2026, 11, 23, 12, tzinfo=JAKARTA)
PRODUCTS = "/api/v1/products/"
ORDERS = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def clock(settings, monkeypatch):
    settings.TIME_ZONE = "Asia/Jakarta"
    clock = {"now": NOON}
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock["now"])
    return clock


@pytest.fixture
def kitchen_client(db):
    cook = UserFactory(email="cook@example.com", is_staff=True)
    cook.groups.add(Group.objects.get(name=KITCHEN))
    return bearer_client(cook)


def ledger_rows() -> int:
    return StockMovement.objects.count()


# --- made to order -------------------------------------------------------------------------


def test_a_dish_made_to_order_is_for_sale_with_no_stock(api_client):
    ProductFactory(slug="soto", stock=0, track_stock=False)

    body = api_client.get(f"{PRODUCTS}soto/").json()
    listed = [p["slug"] for p in api_client.get(PRODUCTS, {"available": "true"}).json()["results"]]

    assert (body["available"], body["unavailable_reason"], body["stock"], body["track_stock"]) == (
        True,
        None,
        None,
        False,
    )
    assert listed == ["soto"]


def test_checking_out_a_dish_made_to_order_writes_no_ledger_row(auth_client, user):
    soto = ProductFactory(slug="soto", stock=0, track_stock=False)
    before = ledger_rows()
    cart_add_item(user=user, product=soto, quantity=3)

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 201, response.content
    assert (ledger_rows(), Product.objects.get(pk=soto.pk).stock) == (before, 0)
    order = services.Order.objects.get()
    services.order_cancel(order=order, actor=services.SYSTEM)
    assert (ledger_rows(), Product.objects.get(pk=soto.pk).stock) == (before, 0)


def test_a_bundle_follows_its_components(api_client, user):
    soto = ProductFactory(slug="soto", stock=0, track_stock=False)
    tea = ProductFactory(slug="tea", stock=4)
    BundleFactory(slug="lunch", components=[(soto, 1), (tea, 2)])
    BundleFactory(slug="two-sotos", components=[(soto, 2)])

    lunch = api_client.get(f"{PRODUCTS}lunch/").json()
    sotos = api_client.get(f"{PRODUCTS}two-sotos/").json()

    assert (lunch["available"], lunch["stock"]) == (True, 2)  # the tea counts: 4 // 2
    assert (sotos["available"], sotos["stock"]) == (True, None)  # nothing counted

    before = ledger_rows()
    place_order(user=user, items=[(Product.objects.get(slug="lunch"), 2)])
    moves = list(StockMovement.objects.order_by("id").values_list("product__slug", "quantity")[before:])
    assert moves == [("tea", -4)]  # none for the soto
    assert Product.objects.get(slug="tea").stock == 0


# --- sold out ------------------------------------------------------------------------------


def test_sold_out_until_a_time_then_back_by_itself(
    settings, kitchen_client, api_client, auth_client, user, clock, django_capture_on_commit_callbacks
):
    settings.CATALOG_CACHE = True  # a cached menu answer must not outlive the mark
    ProductFactory(slug="rendang", stock=10)
    cart_add_item(user=user, product=Product.objects.get(slug="rendang"), quantity=1)
    assert api_client.get(f"{PRODUCTS}rendang/").json()["available"] is True  # cached now

    with django_capture_on_commit_callbacks(execute=True):  # the version moves on commit
        marked = kitchen_client.post(
            f"{PRODUCTS}rendang/sold-out/", {"until": "2026-11-23T14:00:00+07:00"}, format="json"
        )
    shown = api_client.get(f"{PRODUCTS}rendang/").json()
    listed = api_client.get(PRODUCTS, {"available": "true"}).json()["results"]
    checkout = auth_client.post(ORDERS, {})

    assert marked.status_code == 200, marked.content
    assert (shown["available"], shown["unavailable_reason"], shown["sold_out_until"]) == (
        False,
        "sold_out",
        "2026-11-23T14:00:00+07:00",
    )
    assert listed == []
    assert checkout.status_code == 409
    assert checkout.json()["products"] == [{"slug": "rendang", "name": shown["name"], "reason": "sold_out"}]
    assert Product.objects.get(slug="rendang").stock == 10

    clock["now"] = NOON + timedelta(hours=2)  # 14:00: back, with no write

    shown = api_client.get(f"{PRODUCTS}rendang/").json()
    assert (shown["available"], shown["unavailable_reason"]) == (True, None)
    assert [p["slug"] for p in api_client.get(PRODUCTS, {"available": "true"}).json()["results"]] == [
        "rendang"
    ]
    assert auth_client.post(ORDERS, {}).status_code == 201


def test_cart_add_of_a_sold_out_dish_is_409(kitchen_client, auth_client):
    ProductFactory(slug="rendang", stock=10)
    kitchen_client.post(f"{PRODUCTS}rendang/sold-out/", {}, format="json")

    response = auth_client.post("/api/v1/cart/items/", {"product": "rendang", "quantity": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["products"][0]["reason"] == "sold_out"


@pytest.mark.parametrize("body", [{}, {"until": "end_of_day"}])
def test_sold_out_by_default_until_the_end_of_the_shops_day(kitchen_client, body):
    ProductFactory(slug="rendang", stock=10)

    response = kitchen_client.post(f"{PRODUCTS}rendang/sold-out/", body, format="json")

    assert response.json()["sold_out_until"] == "2026-11-24T00:00:00+07:00"


def test_delete_ends_it_early(kitchen_client, api_client):
    ProductFactory(slug="rendang", stock=10)
    kitchen_client.post(f"{PRODUCTS}rendang/sold-out/", {}, format="json")

    response = kitchen_client.delete(f"{PRODUCTS}rendang/sold-out/")

    assert response.status_code == 200
    assert (response.json()["available"], response.json()["sold_out_until"]) == (True, None)
    assert kitchen_client.delete(f"{PRODUCTS}rendang/sold-out/").status_code == 200  # nothing to end


def test_a_bundle_with_a_sold_out_component_is_sold_out(kitchen_client, api_client):
    rice = ProductFactory(slug="rice", stock=10)
    BundleFactory(slug="lunch", components=[(rice, 1), (ProductFactory(stock=5), 1)])
    kitchen_client.post(f"{PRODUCTS}rice/sold-out/", {}, format="json")

    body = api_client.get(f"{PRODUCTS}lunch/").json()

    assert (body["available"], body["unavailable_reason"]) == (False, "sold_out")
    assert "lunch" not in [
        p["slug"] for p in api_client.get(PRODUCTS, {"available": "true"}).json()["results"]
    ]


@pytest.mark.parametrize("until", ["2026-11-23T11:59:00+07:00", "soon", "2026-12-24T12:00:00+07:00", 5, ""])
def test_bad_until_is_400_and_changes_nothing(kitchen_client, until):
    ProductFactory(slug="rendang", stock=10)

    response = kitchen_client.post(f"{PRODUCTS}rendang/sold-out/", {"until": until}, format="json")

    assert response.status_code == 400, response.content
    assert "until" in response.json()
    assert Product.objects.get(slug="rendang").sold_out_until is None


def test_shoppers_and_anonymous_callers_cannot_mark_sold_out(auth_client, api_client):
    ProductFactory(slug="rendang", stock=10)

    assert auth_client.post(f"{PRODUCTS}rendang/sold-out/", {}, format="json").status_code == 403
    assert api_client.post(f"{PRODUCTS}rendang/sold-out/", {}, format="json").status_code == 401
    assert auth_client.delete(f"{PRODUCTS}rendang/sold-out/").status_code == 403
    assert Product.objects.get(slug="rendang").sold_out_until is None


def test_staff_switch_stock_counting_off_over_the_api(staff_client, api_client):
    ProductFactory(slug="soto", stock=0)

    response = staff_client.patch(f"{PRODUCTS}soto/", {"track_stock": False}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["track_stock"], response.json()["available"]) == (False, True)
    assert Product.objects.get(slug="soto").track_stock is False


def test_the_admin_marks_sold_out_for_today_and_back(admin_client_staff):
    from django.urls import reverse

    rendang = ProductFactory(slug="rendang", stock=10)
    changelist = reverse("admin:catalog_product_changelist")

    admin_client_staff.post(changelist, {"action": "sold_out_today", "_selected_action": [rendang.pk]})
    assert Product.objects.get(pk=rendang.pk).sold_out_until == datetime(2026, 11, 24, tzinfo=JAKARTA)

    admin_client_staff.post(changelist, {"action": "back_on_sale", "_selected_action": [rendang.pk]})
    assert Product.objects.get(pk=rendang.pk).sold_out_until is None
    assert Product.objects.get(pk=rendang.pk).stock == 10  # a mark, not a stock change
