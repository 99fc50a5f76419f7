"""The API names charges in the language of the answer (Accept-Language, Content-Language),
from their codes, for the cart and for orders whatever language they were placed in; the
Snap request names them in the order's language, as the shopper reads them on Snap's page."""

import pytest

from catalog.tests.factories import ProductFactory
from orders.models import Order
from orders.shop_settings import shop_settings_update

pytestmark = pytest.mark.django_db

CART, ITEMS, ORDERS = "/api/v1/cart/", "/api/v1/cart/items/", "/api/v1/orders/"
NAMES = {
    "id": [
        ("service", "Biaya layanan"),
        ("tax", "PB1"),
        ("packaging", "Kemasan"),
        ("rounding", "Pembulatan"),
    ],
    "en": [
        ("service", "Service charge"),
        ("tax", "PB1"),
        ("packaging", "Packaging"),
        ("rounding", "Rounding"),
    ],
}


def names(body: dict) -> list[tuple[str, str]]:
    return [(charge["code"], charge["name"]) for charge in body["charges"]]


@pytest.fixture
def in_cart(auth_client):
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000, packaging_fee=2_000, rounding_unit=100)
    ProductFactory(slug="nasi-campur", sku="NC-1", name="Nasi Campur", price=33_000, stock=10)
    auth_client.post(ITEMS, {"product": "nasi-campur", "quantity": 1}, format="json")
    return auth_client


@pytest.mark.parametrize("placed_in", ["id", "en"])
def test_charges_are_named_in_the_language_of_each_answer(in_cart, midtrans, placed_in):
    other = "en" if placed_in == "id" else "id"
    cart = in_cart.get(CART, HTTP_ACCEPT_LANGUAGE=placed_in)
    placed = in_cart.post(ORDERS, {}, format="json", HTTP_ACCEPT_LANGUAGE=placed_in)
    number = placed.json()["number"]
    read_in_other = in_cart.get(f"{ORDERS}{number}/", HTTP_ACCEPT_LANGUAGE=other)

    assert names(cart.json()) == NAMES[placed_in]
    assert placed.status_code == 201, placed.content
    assert names(placed.json()) == NAMES[placed_in]
    assert read_in_other["Content-Language"] == other
    assert names(read_in_other.json()) == NAMES[other]
    # Frozen with the English names whatever the language: the words come from the codes.
    assert names(Order.objects.get(number=number).__dict__) == NAMES["en"]


@pytest.mark.parametrize(
    ("placed_in", "expected"),
    [
        ("id", ["Nasi Campur", "Biaya layanan 5%", "PB1 10%", "Kemasan", "Pembulatan"]),
        ("en", ["Nasi Campur", "Service charge 5%", "PB1 10%", "Packaging", "Rounding"]),
    ],
)
def test_snap_items_are_named_in_the_order_language(in_cart, midtrans, placed_in, expected):
    placed = in_cart.post(ORDERS, {}, format="json", HTTP_ACCEPT_LANGUAGE=placed_in)

    assert placed.status_code == 201, placed.content
    [snap] = midtrans.requests_to("/snap/v1/transactions")
    assert [item["name"] for item in snap.body["item_details"]] == expected
    assert sum(item["price"] * item["quantity"] for item in snap.body["item_details"]) == 40_100


def test_snap_items_follow_the_order_language_not_the_request(in_cart, midtrans, user):
    user.language = "id"  # the profile's language wins for the order (README: Languages)
    user.save(update_fields=["language"])

    placed = in_cart.post(ORDERS, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert placed.status_code == 201, placed.content
    assert names(placed.json()) == NAMES["en"]  # the answer speaks the request's language
    [snap] = midtrans.requests_to("/snap/v1/transactions")
    assert [item["name"] for item in snap.body["item_details"]][1:] == [
        "Biaya layanan 5%",
        "PB1 10%",
        "Kemasan",
        "Pembulatan",
    ]
