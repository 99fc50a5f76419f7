"""The menu read path: current price from columns, query budgets, and HTTP caching that
never shows a stale price or stock once a write has committed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import BundleItem, Product
from catalog.services import price_add, prices_switch_due, product_update
from catalog.stock import stock_adjust
from catalog.tests.factories import BundleFactory, ProductFactory, ProductPriceFactory
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

API = "/api/v1/products/"


@pytest.fixture
def catalog_cache(settings):
    settings.CATALOG_CACHE = True
    settings.CATALOG_CACHE_MAX_AGE = 5


@pytest.fixture
def menu():
    singles = ProductFactory.create_batch(40)
    for i in range(5):
        BundleFactory(components=[(singles[i], 1), (singles[i + 10], 2)])
    return singles


# --- query budgets ---------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [5, 20, 100])
def test_a_list_page_costs_at_most_five_queries(api_client, menu, page_size, django_assert_max_num_queries):
    api_client.get(API)
    # Nothing kept (CATALOG_CACHE off): the catalog version (which says whether a price switch
    # is due), the listed ids, the page, components of the page's bundles, busy mode
    # (X-Shop-Paused-Until).
    with django_assert_max_num_queries(5):
        response = api_client.get(API, {"page_size": page_size})
    assert len(response.json()["results"]) == min(page_size, 45)


def test_a_page_of_singles_needs_no_component_query(api_client, menu, django_assert_num_queries):
    api_client.get(API)
    with django_assert_num_queries(4):  # the version, count, page, busy mode
        response = api_client.get(API, {"kind": "single", "page_size": 10})
    assert response.json()["count"] == 40


def test_a_detail_costs_at_most_four_queries(api_client, menu, django_assert_max_num_queries):
    bundle = Product.objects.filter(kind="bundle").first()
    api_client.get(f"{API}{bundle.slug}/")
    with django_assert_max_num_queries(4):  # the version, the product, its components, busy mode
        response = api_client.get(f"{API}{bundle.slug}/")
    assert response.json()["components"][0]["quantity"] == 1


# --- the current price ------------------------------------------------------------------------


def test_price_change_shows_at_once(api_client):
    product = ProductFactory(slug="p", price=10_000)
    price_add(product=product, amount=12_500)
    body = api_client.get(f"{API}p/").json()
    assert (body["price"], body["price_version"]) == (12_500, 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cached", [True, False])
def test_scheduled_price_comes_into_force_on_read_without_the_job(api_client, monkeypatch, settings, cached):
    settings.CATALOG_CACHE = cached
    product = ProductFactory(slug="p", price=10_000)
    takes_over = timezone.now() + timedelta(hours=2)
    price_add(product=product, amount=15_000, valid_from=takes_over)
    assert api_client.get(f"{API}p/").json()["price"] == 10_000
    product.refresh_from_db()
    assert product.price_changes_at == takes_over

    later = takes_over + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert api_client.get(f"{API}p/").json()["price"] == 15_000
    assert api_client.get(API, {"max_price": 12_000}).json()["count"] == 0
    product.refresh_from_db()
    assert (product.current_price, product.current_price_version, product.price_changes_at) == (
        15_000,
        2,
        None,
    )


def test_switch_prices_command_switches_only_due_products(monkeypatch):
    due = ProductFactory(price=10_000)
    later = ProductFactory(price=20_000)
    now = timezone.now()
    price_add(product=due, amount=11_000, valid_from=now + timedelta(minutes=10))
    price_add(product=later, amount=21_000, valid_from=now + timedelta(days=1))
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(minutes=11))
    out = StringIO()
    call_command("switch_prices", stdout=out)
    assert out.getvalue().strip() == "Switched the price of 1 product(s)."
    assert dict(Product.objects.values_list("pk", "current_price")) == {due.pk: 11_000, later.pk: 20_000}
    assert prices_switch_due() == 0


def test_checkout_never_charges_a_superseded_price(user, monkeypatch):
    product = ProductFactory(price=10_000, stock=5)
    takes_over = timezone.now() + timedelta(minutes=5)
    ProductPriceFactory(product=product, version=2, amount=13_000, valid_from=takes_over)
    monkeypatch.setattr(timezone, "now", lambda: takes_over + timedelta(seconds=1))
    order = place_order(user=user, items=[(product, 2)])
    line = order.lines.get()
    assert (line.unit_price, line.price_version, order.total) == (13_000, 2, 26_000)


# --- HTTP caching -----------------------------------------------------------------------------


def test_anonymous_reads_carry_etag_and_a_short_max_age(api_client, catalog_cache):
    ProductFactory(slug="p")
    response = api_client.get(f"{API}p/")
    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "public, max-age=5"
    assert "Authorization" in response["Vary"]


def test_matching_if_none_match_is_304_after_one_query(api_client, catalog_cache, django_assert_num_queries):
    ProductFactory(slug="p")
    etag = api_client.get(f"{API}p/")["ETag"]
    with django_assert_num_queries(1):  # the catalog version
        response = api_client.get(f"{API}p/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_a_repeated_read_is_served_from_the_cache(api_client, catalog_cache, menu, django_assert_num_queries):
    first = api_client.get(API, {"page": 2})
    with django_assert_num_queries(1):  # the catalog version
        again = api_client.get(API, {"page": 2})
    assert again.json() == first.json()


@pytest.mark.django_db(transaction=True)  # writes must commit: the version moves on commit
@pytest.mark.parametrize("cached", [True, False])
def test_every_write_shows_at_once(api_client, settings, user, cached):
    settings.CATALOG_CACHE = cached
    rice = ProductFactory(slug="rice", stock=10, price=10_000)
    egg = ProductFactory(slug="egg", stock=10, price=5_000)
    combo = BundleFactory(slug="combo", components=[(rice, 2)], price=18_000)

    def read(slug: str) -> tuple[dict, str]:
        response = api_client.get(f"{API}{slug}/")
        return response.json(), response["ETag"]

    body, etag = read("combo")
    assert (body["price"], body["stock"]) == (18_000, 5)

    price_add(product=combo, amount=17_000)  # a price change
    body, etag2 = read("combo")
    assert (body["price"], etag2 != etag) == (17_000, True)

    place_order(user=user, items=[(rice, 3)])  # a sale of a component
    body, etag3 = read("combo")
    assert (body["stock"], etag3 != etag2) == (3, True)

    stock_adjust(product=rice, delta=5, user=None, note="delivery")  # a staff adjustment
    assert read("combo")[0]["stock"] == 6

    BundleItem.objects.filter(bundle=combo).update(quantity=3)  # bypasses services: not cached-safe
    product_update(product=combo, components=[(rice, 3), (egg, 1)])  # the service path
    body, _ = read("combo")
    assert (body["stock"], [c["quantity"] for c in body["components"]]) == (4, [3, 1])

    product_update(product=egg, is_active=False)  # a component leaves the menu
    body, _ = read("combo")
    assert (body["available"], body["unavailable_reason"]) == (False, "component_inactive")


def test_without_the_version_cache_etags_come_from_the_body(api_client, settings):
    settings.CATALOG_CACHE = False
    product = ProductFactory(slug="p", price=10_000)
    etag = api_client.get(f"{API}p/")["ETag"]
    assert api_client.get(f"{API}p/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    price_add(product=product, amount=11_000)
    changed = api_client.get(f"{API}p/", HTTP_IF_NONE_MATCH=etag)
    assert (changed.status_code, changed.json()["price"]) == (200, 11_000)


def test_signed_in_reads_are_not_publicly_cacheable(auth_client, catalog_cache):
    ProductFactory(slug="p")
    response = auth_client.get(f"{API}p/")
    assert response.status_code == 200
    assert "public" not in response.get("Cache-Control", "")


def test_staff_never_get_a_cached_shopper_answer(api_client, staff_client, catalog_cache):
    ProductFactory(slug="p")
    hidden = ProductFactory(slug="hidden", is_active=False)
    assert api_client.get(API).json()["count"] == 1
    assert staff_client.get(API).json()["count"] == 2
    assert hidden.slug in {p["slug"] for p in staff_client.get(API).json()["results"]}


def test_queries_do_not_build_subqueries_per_row(api_client, menu):
    with CaptureQueriesContext(connection) as queries:
        api_client.get(API, {"ordering": "-price", "available": "true"})
    page = next(q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"])
    assert "catalog_productprice" not in page
