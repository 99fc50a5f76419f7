from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cart.models import CartItem
from cart.tests.factories import CartItemFactory
from catalog.services import price_add
from catalog.tests.factories import BundleFactory, CategoryFactory, ProductFactory, ProductPriceFactory

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"
ITEMS = "/api/v1/cart/items/"


def lines(user) -> list[tuple[str, int]]:
    return list(CartItem.objects.filter(cart__user=user).values_list("product__slug", "quantity"))


def test_empty_cart(auth_client):
    response = auth_client.get(CART)
    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "item_count": 0,
        "voucher": None,
        "subtotal": 0,
        "discount": 0,
        "charges": [],
        "tax": 0,
        "total": 0,
        "currency": "IDR",
    }


def test_cart_needs_a_user(api_client):
    assert api_client.get(CART).status_code == 401
    assert api_client.post(ITEMS, {"product": "x"}).status_code == 401


def test_add_items_and_see_current_prices_and_totals(auth_client, user):
    ProductFactory(slug="nasi", name="Nasi", price=25_000, stock=10)
    ProductFactory(slug="teh", name="Teh", price=5_000, stock=10)
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 2})
    assert response.status_code == 201
    auth_client.post(ITEMS, {"product": "teh", "quantity": 3})
    body = auth_client.get(CART).json()
    assert body["items"] == [
        {
            "id": body["items"][0]["id"],
            "product": {"slug": "nasi", "name": "Nasi", "kind": "single"},
            "quantity": 2,
            "options": [],
            "note": "",
            "unit_price": 25_000,
            "line_total": 50_000,
            "problem": None,
        },
        {
            "id": body["items"][1]["id"],
            "product": {"slug": "teh", "name": "Teh", "kind": "single"},
            "quantity": 3,
            "options": [],
            "note": "",
            "unit_price": 5_000,
            "line_total": 15_000,
            "problem": None,
        },
    ]
    assert (body["item_count"], body["total"], body["currency"]) == (5, 65_000, "IDR")


def test_adding_again_merges_the_line(auth_client, user):
    ProductFactory(slug="nasi")
    auth_client.post(ITEMS, {"product": "nasi", "quantity": 2})
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 3})
    assert response.status_code == 201
    assert lines(user) == [("nasi", 5)]
    assert response.json()["item_count"] == 5


def test_merge_past_the_limit_is_400_and_keeps_the_line(auth_client, user):
    ProductFactory(slug="nasi", stock=1000)
    auth_client.post(ITEMS, {"product": "nasi", "quantity": settings.CART_MAX_QUANTITY - 1})
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 2})
    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    assert lines(user) == [("nasi", settings.CART_MAX_QUANTITY - 1)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": "nasi", "quantity": 0}, "quantity"),
        ({"product": "nasi", "quantity": -1}, "quantity"),
        ({"product": "nasi", "quantity": 51}, "quantity"),
        ({"product": "nasi", "quantity": "two"}, "quantity"),
        ({"product": "no-such", "quantity": 1}, "product"),
        ({"quantity": 1}, "product"),
        ({"product": ["nasi"], "quantity": 1}, "product"),
    ],
)
def test_add_bad_input_is_400_and_changes_nothing(auth_client, user, body, field):
    ProductFactory(slug="nasi")
    ProductFactory(slug="inactive", is_active=False)
    ProductFactory(slug="unpriced", price=False)
    ProductFactory(slug="hidden-cat", category=CategoryFactory(is_active=False))
    future = ProductFactory(slug="future-only", price=False)
    ProductPriceFactory(product=future, version=1, valid_from=timezone.now() + timedelta(days=1))
    response = auth_client.post(ITEMS, body)
    assert response.status_code == 400
    assert field in response.json()
    assert lines(user) == []


def test_more_than_in_stock_is_allowed_but_flagged(auth_client):
    ProductFactory(slug="nasi", stock=2)
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 3})
    assert response.status_code == 201
    assert response.json()["items"][0]["problem"] == "insufficient_stock"
    assert response.json()["total"] == 30_000


def test_lines_that_went_off_the_menu_are_flagged_not_dropped(auth_client, user):
    gone = ProductFactory(slug="gone", price=7_000)
    ProductFactory(slug="ok", price=3_000)
    auth_client.post(ITEMS, {"product": "gone", "quantity": 1})
    auth_client.post(ITEMS, {"product": "ok", "quantity": 1})
    gone.is_active = False
    gone.save()
    body = auth_client.get(CART).json()
    assert [
        (i["product"]["slug"], i["problem"], i["unit_price"], i["line_total"]) for i in body["items"]
    ] == [
        ("gone", "inactive", None, None),
        ("ok", None, 3_000, 3_000),
    ]
    assert (body["item_count"], body["total"]) == (2, 3_000)


def test_cart_shows_the_current_price_after_a_price_change(auth_client):
    product = ProductFactory(slug="nasi", price=10_000)
    auth_client.post(ITEMS, {"product": "nasi", "quantity": 2})
    price_add(product=product, amount=12_000)
    body = auth_client.get(CART).json()
    assert (body["items"][0]["unit_price"], body["total"]) == (12_000, 24_000)


def test_bundle_line_uses_component_availability(auth_client):
    rice = ProductFactory(stock=3)
    BundleFactory(slug="combo", components=[(rice, 2)], price=15_000)
    auth_client.post(ITEMS, {"product": "combo", "quantity": 2})
    item = auth_client.get(CART).json()["items"][0]
    assert (item["product"]["kind"], item["problem"], item["line_total"]) == (
        "bundle",
        "insufficient_stock",
        30_000,
    )


def test_patch_and_delete_a_line(auth_client, user):
    ProductFactory(slug="nasi")
    item_id = auth_client.post(ITEMS, {"product": "nasi", "quantity": 1}).json()["items"][0]["id"]
    response = auth_client.patch(f"{ITEMS}{item_id}/", {"quantity": 4})
    assert response.status_code == 200
    assert response.json()["item_count"] == 4
    assert auth_client.patch(f"{ITEMS}{item_id}/", {"quantity": 0}).status_code == 400
    assert auth_client.patch(f"{ITEMS}{item_id}/", {"quantity": 51}).status_code == 400
    assert auth_client.patch(f"{ITEMS}{item_id}/", {}).status_code == 400
    assert lines(user) == [("nasi", 4)]
    assert auth_client.delete(f"{ITEMS}{item_id}/").status_code == 204
    assert lines(user) == []
    assert auth_client.delete(f"{ITEMS}{item_id}/").status_code == 404


def test_another_users_line_is_404_and_untouched(auth_client):
    theirs = CartItemFactory(quantity=2)
    assert auth_client.patch(f"{ITEMS}{theirs.id}/", {"quantity": 5}).status_code == 404
    assert auth_client.delete(f"{ITEMS}{theirs.id}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.quantity == 2


@pytest.mark.parametrize("item_id", ["abc", "99999999999999999999999", "-1", "1.5"])
def test_odd_item_ids_are_404_not_500(auth_client, item_id):
    response = auth_client.patch(f"{ITEMS}{item_id}/", {"quantity": 1})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_clear_cart(auth_client, user):
    ProductFactory(slug="a")
    ProductFactory(slug="b")
    auth_client.post(ITEMS, {"product": "a"})
    auth_client.post(ITEMS, {"product": "b"})
    other = CartItemFactory()
    assert auth_client.delete(CART).status_code == 204
    assert lines(user) == []
    assert CartItem.objects.filter(pk=other.pk).exists()


def test_cart_query_count_does_not_grow(auth_client, user, django_assert_max_num_queries):
    for product in ProductFactory.create_batch(20):
        CartItemFactory(cart__user=user, product=product)
    bundle_parts = ProductFactory.create_batch(3)
    CartItemFactory(cart__user=user, product=BundleFactory(components=[(p, 1) for p in bundle_parts]))
    # auth user, cart lines, bundle components, time of the next scheduled price (cached),
    # the shop's charge settings, the cart's voucher
    with django_assert_max_num_queries(6):
        response = auth_client.get(CART)
    assert len(response.json()["items"]) == 21
