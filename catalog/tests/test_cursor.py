"""Cursor pagination of the product list (`?cursor=`, config.api.pagination.PageOrCursorPagination),
for infinite scroll: the same items as page numbers, none repeated or skipped when the menu
changes between pages."""

import pytest

from catalog.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def slugs(body: dict) -> list[str]:
    return [product["slug"] for product in body["results"]]


def walk(client, first_url: str) -> tuple[list[str], list[dict]]:
    seen, bodies, url = [], [], first_url
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        bodies.append(body)
        seen += slugs(body)
        url = body["next"]
        assert len(bodies) < 50
    return seen, bodies


@pytest.fixture
def menu():
    category = CategoryFactory(slug="rice")
    prices = [5_000, 7_000, 5_000, 9_000, 5_000, 7_000, 12_000]
    return [
        ProductFactory(slug=f"dish-{i}", name=f"Dish {i}", category=category, price=price)
        for i, price in enumerate(prices)
    ]


@pytest.mark.parametrize("ordering", ["", "name", "-name", "price", "-price", "created", "-created"])
def test_a_cursor_walk_gives_the_same_items_as_the_pages(api_client, menu, ordering):
    query = f"ordering={ordering}&" if ordering else ""
    everything = slugs(api_client.get(f"{PRODUCTS}?{query}page_size=100").json())

    seen, bodies = walk(api_client, f"{PRODUCTS}?{query}cursor=start&page_size=2")

    assert seen == everything
    assert [len(body["results"]) for body in bodies] == [2, 2, 2, 1]
    assert {body["count"] for body in bodies} == {7}
    assert bodies[0]["previous"] is None
    assert bodies[1]["next"].startswith("http://testserver/api/v1/products/?")
    assert "cursor=" in bodies[1]["next"]
    assert "page=" not in bodies[1]["next"]


def test_previous_goes_back_to_the_same_page(api_client, menu):
    _, bodies = walk(api_client, f"{PRODUCTS}?ordering=price&cursor=start&page_size=3")
    back = api_client.get(bodies[2]["previous"]).json()
    assert slugs(back) == slugs(bodies[1])
    assert slugs(api_client.get(back["previous"]).json()) == slugs(bodies[0])


def test_a_product_added_before_the_cursor_neither_repeats_nor_shifts_items(api_client, menu):
    """With page numbers, a dish added at the top moves every item down one place: page 2
    repeats the last item of page 1. A cursor remembers the position, not the offset."""
    first = api_client.get(f"{PRODUCTS}?cursor=start&page_size=3").json()
    ProductFactory(slug="aaa-new", name="Aaa New", category=menu[0].category)
    second = api_client.get(first["next"]).json()
    assert slugs(second) == ["dish-3", "dish-4", "dish-5"]
    assert not set(slugs(first)) & set(slugs(second))


def test_staff_walk_by_price_includes_unpriced_products(staff_client, menu):
    ProductFactory(slug="no-price", name="No Price", category=menu[0].category, price=False)
    everything = slugs(staff_client.get(f"{PRODUCTS}?ordering=price&page_size=100").json())
    assert "no-price" in everything
    seen, _ = walk(staff_client, f"{PRODUCTS}?ordering=price&cursor=start&page_size=2")
    assert sorted(seen) == sorted(everything)
    assert len(seen) == len(set(seen)) == 8
    assert seen[0] == "no-price"  # no price sorts first


@pytest.mark.parametrize("cursor", ["nonsense", "eyJkIjoiYWZ0ZXIiLCJ2IjpbXX0", "eyJ", "%F0%9F%8D%9C"])
def test_a_cursor_not_issued_here_is_a_json_404(api_client, menu, cursor):
    response = api_client.get(f"{PRODUCTS}?cursor={cursor}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor.", "code": "not_found"}


def test_page_and_cursor_together_are_a_400(api_client, menu):
    response = api_client.get(f"{PRODUCTS}?cursor=start&page=2")
    assert response.status_code == 400
    assert response.json() == {"cursor": ["Give either page or cursor, not both."]}


def test_an_empty_cursor_means_page_numbers(api_client, menu):
    body = api_client.get(f"{PRODUCTS}?cursor=&page_size=2").json()
    assert body["next"] == "http://testserver/api/v1/products/?cursor=&page=2&page_size=2"


def test_the_cursor_is_documented(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert "cursor" in parameters
    assert "`start`" in parameters["cursor"]["description"]
    assert {"page", "page_size"} <= set(parameters)
