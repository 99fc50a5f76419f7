import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.api.serializers import ProductSerializer
from catalog.models import BundleItem, Category, Product, ProductPrice
from catalog.services import product_update
from catalog.stock import stock_sell_out
from catalog.tests.factories import BundleFactory, CategoryFactory, ProductFactory, ProductPriceFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
CATEGORIES = "/api/v1/categories/"


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["slug"] for p in response.json()["results"]]


# --- representation ---------------------------------------------------------------------


def test_product_detail_has_the_contract_fields(api_client):
    rice = CategoryFactory(slug="rice", name="Rice")
    product = ProductFactory(slug="nasi-goreng", name="Nasi Goreng", category=rice, stock=7, price=25_000)
    response = api_client.get(f"{PRODUCTS}nasi-goreng/")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": product.id,
        "slug": "nasi-goreng",
        "name": "Nasi Goreng",
        "description": "",
        "sku": product.sku,
        "category": {"slug": "rice", "name": "Rice"},
        "kind": "single",
        "price": 25_000,
        "price_version": 1,
        "currency": "IDR",
        "available": True,
        "unavailable_reason": None,
        "stock": 7,
        "track_stock": True,
        "serving_windows": [],
        "sold_out_until": None,
        "image_url": None,
        "components": [],
        "option_groups": [],
        "is_active": True,
        "created_at": body["created_at"],
    }
    assert list(body) == list(ProductSerializer().fields)  # the documented shape is the real one


def test_bundle_shows_components_and_computed_availability(api_client):
    rice = ProductFactory(slug="rice", stock=9)
    tea = ProductFactory(slug="tea", stock=4)
    BundleFactory(slug="combo", components=[(rice, 2), (tea, 1)], price=30_000)
    body = api_client.get(f"{PRODUCTS}combo/").json()
    assert body["kind"] == "bundle"
    assert body["stock"] == 4  # min(9 // 2, 4 // 1)
    assert body["available"] is True
    assert body["components"] == [
        {"product": {"slug": "rice", "name": rice.name}, "quantity": 2},
        {"product": {"slug": "tea", "name": tea.name}, "quantity": 1},
    ]


@pytest.mark.parametrize(
    ("rice_stock", "tea_stock", "tea_active", "expected"),
    [(9, 4, True, 4), (3, 4, True, 1), (1, 4, True, 0), (9, 0, True, 0), (9, 4, False, 0)],
)
def test_bundle_availability_is_the_scarcest_component(
    api_client, rice_stock, tea_stock, tea_active, expected
):
    rice = ProductFactory(stock=rice_stock)
    tea = ProductFactory(stock=tea_stock, is_active=tea_active)
    BundleFactory(slug="combo", components=[(rice, 2), (tea, 1)])
    body = api_client.get(f"{PRODUCTS}combo/").json()
    assert (body["stock"], body["available"]) == (expected, expected > 0)


def test_bundle_without_components_is_unavailable(api_client):
    BundleFactory(slug="empty")
    body = api_client.get(f"{PRODUCTS}empty/").json()
    assert (body["stock"], body["available"]) == (0, False)


def test_sold_out_product_is_listed_as_unavailable(api_client):
    ProductFactory(slug="gone", stock=0)
    body = api_client.get(f"{PRODUCTS}gone/").json()
    assert (body["stock"], body["available"]) == (0, False)


# --- current price ----------------------------------------------------------------------


def test_current_price_is_the_latest_valid_from_not_in_the_future(api_client):
    product = ProductFactory(slug="mie", price=False)
    now = timezone.now()
    ProductPriceFactory(product=product, version=1, amount=10_000, valid_from=now - timedelta(days=30))
    ProductPriceFactory(product=product, version=2, amount=12_000, valid_from=now - timedelta(days=1))
    ProductPriceFactory(product=product, version=3, amount=15_000, valid_from=now + timedelta(days=7))
    body = api_client.get(f"{PRODUCTS}mie/").json()
    assert (body["price"], body["price_version"]) == (12_000, 2)

    history = api_client.get(f"{PRODUCTS}mie/prices/").json()
    assert [(p["version"], p["amount"], p["status"]) for p in history] == [
        (3, 15_000, "scheduled"),
        (2, 12_000, "current"),
        (1, 10_000, "past"),
    ]


def test_scheduled_price_takes_over_when_its_time_comes(api_client):
    product = ProductFactory(slug="mie", price=False)
    now = timezone.now()
    ProductPriceFactory(product=product, version=1, amount=10_000, valid_from=now - timedelta(days=1))
    ProductPriceFactory(product=product, version=2, amount=15_000, valid_from=now - timedelta(seconds=1))
    assert api_client.get(f"{PRODUCTS}mie/").json()["price"] == 15_000


def test_product_with_only_a_future_price_is_not_for_sale(api_client):
    product = ProductFactory(slug="soon", price=False)
    ProductPriceFactory(
        product=product, version=1, amount=10_000, valid_from=timezone.now() + timedelta(hours=1)
    )
    assert api_client.get(f"{PRODUCTS}soon/").status_code == 404
    assert "soon" not in slugs(api_client.get(PRODUCTS))


# --- visibility -------------------------------------------------------------------------


def test_inactive_unpriced_and_hidden_category_products_are_invisible(api_client):
    hidden = CategoryFactory(slug="hidden", is_active=False)
    ProductFactory(slug="visible")
    ProductFactory(slug="inactive", is_active=False)
    ProductFactory(slug="unpriced", price=False)
    ProductFactory(slug="in-hidden", category=hidden)
    assert slugs(api_client.get(PRODUCTS)) == ["visible"]
    for slug in ("inactive", "unpriced", "in-hidden", "no-such-thing"):
        response = api_client.get(f"{PRODUCTS}{slug}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api_client.get(f"{PRODUCTS}inactive/prices/").status_code == 404


def test_staff_see_hidden_products(staff_client):
    ProductFactory(slug="inactive", is_active=False)
    ProductFactory(slug="unpriced", price=False)
    assert sorted(slugs(staff_client.get(PRODUCTS))) == ["inactive", "unpriced"]
    body = staff_client.get(f"{PRODUCTS}unpriced/").json()
    assert (body["price"], body["available"]) == (None, False)


def test_categories_list_only_active_in_position_order(api_client):
    CategoryFactory(slug="drinks", name="Drinks", position=2)
    CategoryFactory(slug="rice", name="Rice", position=1)
    CategoryFactory(slug="old", position=0, is_active=False)
    response = api_client.get(CATEGORIES)
    assert [c["slug"] for c in response.json()["results"]] == ["rice", "drinks"]
    assert api_client.get(f"{CATEGORIES}old/").status_code == 404
    assert api_client.get(f"{CATEGORIES}rice/").json()["name"] == "Rice"


# --- filters, search, ordering ----------------------------------------------------------


@pytest.fixture
def menu():
    rice = CategoryFactory(slug="rice")
    drinks = CategoryFactory(slug="drinks")
    a = ProductFactory(slug="nasi-goreng", name="Nasi Goreng", category=rice, price=25_000, stock=5)
    b = ProductFactory(slug="nasi-uduk", name="Nasi Uduk", category=rice, price=18_000, stock=0)
    c = ProductFactory(
        slug="es-teh", name="Es Teh", category=drinks, price=5_000, stock=50, description="Sweet iced tea"
    )
    BundleFactory(slug="paket", name="Paket Hemat", category=rice, components=[(a, 1), (c, 1)], price=27_000)
    return a, b, c


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=rice", ["nasi-goreng", "nasi-uduk", "paket"]),
        ("category=drinks", ["es-teh"]),
        ("kind=bundle", ["paket"]),
        ("kind=single", ["es-teh", "nasi-goreng", "nasi-uduk"]),
        ("available=true", ["es-teh", "nasi-goreng", "paket"]),
        ("available=false", ["nasi-uduk"]),
        ("min_price=18000", ["nasi-goreng", "nasi-uduk", "paket"]),
        ("max_price=18000", ["es-teh", "nasi-uduk"]),
        ("min_price=6000&max_price=25000", ["nasi-goreng", "nasi-uduk"]),
        ("search=nasi", ["nasi-goreng", "nasi-uduk"]),
        ("search=ICED", ["es-teh"]),
        ("search=", ["es-teh", "nasi-goreng", "nasi-uduk", "paket"]),
        ("category=rice&available=true&kind=single", ["nasi-goreng"]),
    ],
)
def test_filters(api_client, menu, query, expected):
    assert sorted(slugs(api_client.get(f"{PRODUCTS}?{query}"))) == expected


def test_search_matches_sku(api_client, menu):
    assert slugs(api_client.get(f"{PRODUCTS}?search={menu[2].sku}")) == ["es-teh"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["es-teh", "nasi-goreng", "nasi-uduk", "paket"]),
        ("name", ["es-teh", "nasi-goreng", "nasi-uduk", "paket"]),
        ("-name", ["paket", "nasi-uduk", "nasi-goreng", "es-teh"]),
        ("price", ["es-teh", "nasi-uduk", "nasi-goreng", "paket"]),
        ("-price", ["paket", "nasi-goreng", "nasi-uduk", "es-teh"]),
        ("created", ["nasi-goreng", "nasi-uduk", "es-teh", "paket"]),
        ("-created", ["paket", "es-teh", "nasi-uduk", "nasi-goreng"]),
    ],
)
def test_ordering(api_client, menu, ordering, expected):
    # created_at can tie within a clock tick; make the creation order explicit.
    base = timezone.now() - timedelta(hours=1)
    for i, slug in enumerate(["nasi-goreng", "nasi-uduk", "es-teh", "paket"]):
        Product.objects.filter(slug=slug).update(created_at=base + timedelta(minutes=i))
    assert slugs(api_client.get(f"{PRODUCTS}?ordering={ordering}")) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ordering=-price&ordering=-name", ["soto", "bakso", "teh"]),
        ("ordering=-price,-name", ["soto", "bakso", "teh"]),
        ("ordering=-price&ordering=name", ["bakso", "soto", "teh"]),
        ("ordering=-price,name", ["bakso", "soto", "teh"]),
        ("ordering=-name", ["teh", "soto", "bakso"]),
    ],
)
def test_ordering_by_several_keys_repeated_or_comma_separated(api_client, query, expected):
    """Generated clients send an array parameter repeated (openapi-fetch, openapi-python-client:
    `?ordering=-price&ordering=-name`); every key counts, not only the last (issue 18)."""
    for slug, price in [("teh", 5_000), ("bakso", 20_000), ("soto", 20_000)]:
        ProductFactory(slug=slug, name=slug.title(), price=price, stock=5)
    assert slugs(api_client.get(f"{PRODUCTS}?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ordering=name&ordering=stock", "ordering"),
        ("category=no-such-category", "category"),
        ("kind=combo", "kind"),
        ("available=maybe", "available"),
        ("min_price=abc", "min_price"),
        ("max_price=12.5", "max_price"),
        ("min_price=-1", "min_price"),
        ("max_price=99999999999999999999999", "max_price"),
        ("ordering=stock", "ordering"),
        ("ordering=-password", "ordering"),
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=ten", "page_size"),
        (f"search={'x' * 101}", "search"),
    ],
)
def test_bad_filter_values_are_400_naming_the_field(api_client, menu, query, field):
    response = api_client.get(f"{PRODUCTS}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_hidden_category_filter_is_400_for_shoppers(api_client):
    CategoryFactory(slug="hidden", is_active=False)
    assert api_client.get(f"{PRODUCTS}?category=hidden").status_code == 400


def test_a_page_past_the_end_is_an_empty_page(api_client, menu):
    """An infinite scroll that asks once too often, or a list that shrank while paged, gets
    an empty page, not a 404 (issue 18: GET products/?page=99 on a 4-product menu was 404)."""
    response = api_client.get(f"{PRODUCTS}?page=99&page_size=3")
    assert response.status_code == 200
    assert response.json() == {
        "count": 4,
        "next": None,
        "previous": "http://testserver/api/v1/products/?page=2&page_size=3",
        "results": [],
    }


def test_past_the_end_of_a_one_page_list_points_back_to_the_first(api_client, menu):
    body = api_client.get(f"{PRODUCTS}?page=5").json()
    assert (body["results"], body["next"]) == ([], None)
    assert body["previous"] == "http://testserver/api/v1/products/"


def test_page_zero_is_still_not_a_page(api_client, menu):
    response = api_client.get(f"{PRODUCTS}?page=0")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_pagination_shape(api_client, menu):
    body = api_client.get(f"{PRODUCTS}?page_size=3").json()
    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/v1/products/?page=2&page_size=3"
    second = api_client.get(body["next"]).json()
    assert second["previous"] == "http://testserver/api/v1/products/?page_size=3"
    assert [p["slug"] for p in second["results"]] not in ([], [r["slug"] for r in body["results"]])


# --- query budget -----------------------------------------------------------------------


@pytest.fixture
def big_menu():
    category = CategoryFactory()
    singles = ProductFactory.create_batch(30, category=category, stock=20)
    for i in range(6):
        BundleFactory(
            category=category, components=[(singles[i], 1), (singles[i + 1], 2), (singles[i + 2], 3)]
        )
    return singles


def test_product_list_query_count_does_not_grow(api_client, big_menu, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):  # the 4 of the list, and busy mode's row
        response = api_client.get(f"{PRODUCTS}?page_size=36")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 36
    assert sum(1 for p in results if p["kind"] == "bundle") == 6
    assert all(len(p["components"]) == 3 for p in results if p["kind"] == "bundle")


def test_product_list_with_filters_stays_in_budget(api_client, big_menu, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):  # the 4 of the list, and busy mode's row
        response = api_client.get(f"{PRODUCTS}?page_size=100&available=true&ordering=-price&min_price=1")
    assert len(response.json()["results"]) == 36


def test_bundle_detail_query_count(api_client, django_assert_max_num_queries):
    components = ProductFactory.create_batch(12)
    BundleFactory(slug="big", components=[(c, 1) for c in components])
    with django_assert_max_num_queries(4):  # the 3 of the detail, and busy mode's row
        response = api_client.get(f"{PRODUCTS}big/")
    assert len(response.json()["components"]) == 12


# --- staff writes -----------------------------------------------------------------------


def test_shoppers_cannot_write(auth_client, api_client):
    ProductFactory(slug="p")
    CategoryFactory(slug="c")
    for client, expected in ((api_client, 401), (auth_client, 403)):
        assert client.post(PRODUCTS, {}).status_code == expected
        assert client.patch(f"{PRODUCTS}p/", {"stock": 1}).status_code == expected
        assert client.delete(f"{PRODUCTS}p/").status_code == expected
        assert client.post(f"{PRODUCTS}p/prices/", {"amount": 1}).status_code == expected
        assert client.post(CATEGORIES, {"name": "x"}).status_code == expected
        assert client.delete(f"{CATEGORIES}c/").status_code == expected
    assert Product.objects.get(slug="p").is_active
    assert ProductPrice.objects.filter(product__slug="p").count() == 1


def test_staff_create_single_product_with_price(staff_client):
    CategoryFactory(slug="rice")
    response = staff_client.post(
        PRODUCTS,
        {"name": "Nasi Kuning", "sku": "RIC-100", "category": "rice", "stock": 12, "price": 21_000},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["price"], body["price_version"], body["stock"]) == (
        "nasi-kuning",
        21_000,
        1,
        12,
    )
    assert body["available"] is True


def test_staff_create_bundle(staff_client):
    CategoryFactory(slug="bundles")
    ProductFactory(slug="rice")
    ProductFactory(slug="tea")
    response = staff_client.post(
        PRODUCTS,
        {
            "name": "Lunch",
            "sku": "BND-1",
            "category": "bundles",
            "kind": "bundle",
            "price": 20_000,
            "components": [{"product": "rice", "quantity": 2}, {"product": "tea", "quantity": 1}],
        },
    )
    assert response.status_code == 201, response.content
    assert [(c["product"]["slug"], c["quantity"]) for c in response.json()["components"]] == [
        ("rice", 2),
        ("tea", 1),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "bundle", "components": [{"product": "inner-bundle", "quantity": 1}]}, "components"),
        ({"kind": "bundle", "components": []}, "components"),
        ({"kind": "bundle", "components": [{"product": "rice", "quantity": 0}]}, "components"),
        ({"kind": "bundle", "components": [{"product": "rice", "quantity": 1}] * 2}, "components"),
        ({"kind": "bundle", "stock": 5, "components": [{"product": "rice", "quantity": 1}]}, "stock"),
        ({"components": [{"product": "rice", "quantity": 1}]}, "components"),
        ({"price": 0}, "price"),
        ({"price": -5}, "price"),
        ({"price": "abc"}, "price"),
        ({"stock": -1}, "stock"),
        ({"category": "nope"}, "category"),
        ({"sku": "TAKEN"}, "sku"),
        ({"kind": "combo"}, "kind"),
    ],
)
def test_staff_create_rejects_broken_invariants(staff_client, body, field):
    CategoryFactory(slug="rice-cat")
    ProductFactory(slug="rice", sku="TAKEN")
    inner = ProductFactory(slug="x")
    BundleFactory(slug="inner-bundle", components=[(inner, 1)])
    before = (Product.objects.count(), BundleItem.objects.count(), ProductPrice.objects.count())
    payload = {"name": "New", "sku": "NEW-1", "category": "rice-cat", **body}
    response = staff_client.post(PRODUCTS, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert (Product.objects.count(), BundleItem.objects.count(), ProductPrice.objects.count()) == before


def test_staff_update_stock_and_deactivate(staff_client, api_client):
    ProductFactory(slug="p", stock=3)
    response = staff_client.patch(f"{PRODUCTS}p/", {"stock": 40, "expected_stock": 3, "name": "Renamed"})
    assert response.status_code == 200
    assert (response.json()["stock"], response.json()["name"]) == (40, "Renamed")
    assert api_client.get(f"{PRODUCTS}p/").json()["stock"] == 40

    assert staff_client.delete(f"{PRODUCTS}p/").status_code == 204
    assert Product.objects.get(slug="p").is_active is False
    assert api_client.get(f"{PRODUCTS}p/").status_code == 404
    assert staff_client.patch(f"{PRODUCTS}p/", {"is_active": True}).json()["available"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"stock": -1, "expected_stock": 3},
        {"kind": "bundle"},
        {"price": 5000},
        {"components": []},
        {"stock": "many", "expected_stock": 3},
        {"stock": 5},
    ],
)
def test_staff_update_rejects_broken_invariants(staff_client, body):
    product = ProductFactory(slug="p", stock=3)
    response = staff_client.patch(f"{PRODUCTS}p/", body)
    assert response.status_code == 400
    product.refresh_from_db()
    assert (product.stock, product.kind) == (3, "single")
    assert product.prices.count() == 1


def test_staff_replace_bundle_components(staff_client):
    a, b, c = ProductFactory(slug="a"), ProductFactory(slug="b"), ProductFactory(slug="c")
    BundleFactory(slug="combo", components=[(a, 1), (b, 1)])
    response = staff_client.patch(f"{PRODUCTS}combo/", {"components": [{"product": "c", "quantity": 3}]})
    assert response.status_code == 200
    assert list(BundleItem.objects.filter(bundle__slug="combo").values_list("component", "quantity")) == [
        (c.id, 3)
    ]
    bad = staff_client.patch(f"{PRODUCTS}combo/", {"components": [{"product": "combo", "quantity": 1}]})
    assert bad.status_code == 400
    assert list(BundleItem.objects.filter(bundle__slug="combo").values_list("component", "quantity")) == [
        (c.id, 3)
    ]


def test_staff_add_price_version(staff_client, api_client):
    ProductFactory(slug="p", price=10_000)
    response = staff_client.post(f"{PRODUCTS}p/prices/", {"amount": 12_500})
    assert response.status_code == 201, response.content
    assert (response.json()["version"], response.json()["amount"], response.json()["status"]) == (
        2,
        12_500,
        "current",
    )
    assert (api_client.get(f"{PRODUCTS}p/").json()["price"]) == 12_500

    future = (timezone.now() + timedelta(days=3)).isoformat()
    scheduled = staff_client.post(f"{PRODUCTS}p/prices/", {"amount": 14_000, "valid_from": future})
    assert (scheduled.json()["version"], scheduled.json()["status"]) == (3, "scheduled")
    assert api_client.get(f"{PRODUCTS}p/").json()["price"] == 12_500
    assert list(ProductPrice.objects.filter(product__slug="p").values_list("version", "amount")) == [
        (3, 14_000),
        (2, 12_500),
        (1, 10_000),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -100},
        {"amount": "abc"},
        {"amount": 1.5},
        {},
        {"amount": 100, "valid_from": "yesterday"},
        {"amount": 100, "valid_from": "2020-01-01T00:00:00+07:00"},
        {"amount": 10**13},
    ],
)
def test_staff_add_price_rejects_bad_input(staff_client, body):
    ProductFactory(slug="p", price=10_000)
    response = staff_client.post(f"{PRODUCTS}p/prices/", body)
    assert response.status_code == 400
    assert list(ProductPrice.objects.filter(product__slug="p").values_list("version", "amount")) == [
        (1, 10_000)
    ]


def test_staff_category_management(staff_client, api_client):
    response = staff_client.post(CATEGORIES, {"name": "Soups", "position": 3})
    assert response.status_code == 201
    assert response.json()["slug"] == "soups"
    assert staff_client.patch(f"{CATEGORIES}soups/", {"position": 1}).json()["position"] == 1
    assert staff_client.delete(f"{CATEGORIES}soups/").status_code == 204
    assert Category.objects.get(slug="soups").is_active is False
    assert api_client.get(f"{CATEGORIES}soups/").status_code == 404
    assert staff_client.post(CATEGORIES, {"name": "Dup", "slug": "soups"}).status_code == 400
    assert staff_client.post(CATEGORIES, {"name": "Neg", "position": -1}).status_code == 400


def test_category_in_use_is_deactivated_not_deleted(staff_client):
    ProductFactory(category=CategoryFactory(slug="rice"))
    assert staff_client.delete(f"{CATEGORIES}rice/").status_code == 204
    assert Category.objects.filter(slug="rice").exists()


def test_product_update_writes_only_what_changed(staff_client):
    """A rename must not write back the stock it read: a checkout may have taken some since."""
    product = ProductFactory(slug="p", stock=10)
    stale = Product.objects.get(pk=product.pk)
    Product.objects.filter(pk=product.pk).update(stock=7)  # a checkout, meanwhile
    product_update(product=stale, name="Renamed")
    product.refresh_from_db()
    assert (product.name, product.stock) == ("Renamed", 7)


@pytest.mark.postgres_only
def test_bulk_product_writes_lock_in_primary_key_order():
    ProductFactory(name="B", stock=3)
    ProductFactory(name="A", stock=4)
    with CaptureQueriesContext(connection) as queries:
        assert stock_sell_out(products=Product.objects.order_by("name"), user=None) == 2
    lock = next(q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"])
    assert re.search(r'SELECT "catalog_product"."id" AS "pk" .* ORDER BY 1 ASC FOR UPDATE', lock)


def test_staff_patch_components_need_product_and_quantity(staff_client):
    a = ProductFactory(slug="a")
    BundleFactory(slug="combo", components=[(a, 1)])
    response = staff_client.patch(f"{PRODUCTS}combo/", {"components": [{"product": "a"}]})
    assert response.status_code == 400
    assert response.json() == {"components": {"0": {"quantity": ["This field is required."]}}}
    assert list(BundleItem.objects.filter(bundle__slug="combo").values_list("component", "quantity")) == [
        (a.id, 1)
    ]
