"""Issue 19's receipts over HTTP: the cart shows the totals, checkout charges them, the order
snapshots them and the Snap request carries them as items that sum to gross_amount (the fake
Midtrans refuses any request whose items do not, as Snap does:
https://docs.midtrans.com/reference/item-details-object)."""

import pytest

from catalog.tests.factories import ProductFactory
from orders.models import Order
from orders.shop_settings import shop_settings_update

pytestmark = pytest.mark.django_db

CART, ITEMS, ORDERS = "/api/v1/cart/", "/api/v1/cart/items/", "/api/v1/orders/"


def items_sum(body: dict) -> int:
    return sum(item["price"] * item["quantity"] for item in body["item_details"])


def test_service_and_pb1_from_cart_to_snap(auth_client, midtrans):
    shop_settings_update(service_charge_bp=500, tax_name="PB1", tax_rate_bp=1_000)
    ProductFactory(slug="nasi-campur", sku="NC-1", name="Nasi Campur", price=25_000, stock=10)
    auth_client.post(ITEMS, {"product": "nasi-campur", "quantity": 2}, format="json")

    cart = auth_client.get(CART).json()
    placed = auth_client.post(ORDERS, {}, format="json")

    expected = {
        "subtotal": 50_000,
        "discount": 0,
        "charges": [
            {"code": "service", "name": "Service charge", "rate_bp": 500, "base": 50_000, "amount": 2_500},
            {"code": "tax", "name": "PB1", "rate_bp": 1_000, "base": 52_500, "amount": 5_250},
        ],
        "tax": 5_250,
        "total": 57_750,
    }
    assert {key: cart[key] for key in expected} == expected
    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert {key: body[key] for key in expected} == expected
    assert body["payment"]["amount"] == 57_750
    order = Order.objects.get()
    assert (order.service_charge, order.tax, order.packaging, order.rounding) == (2_500, 5_250, 0, 0)
    assert order.pricing == {
        "service_charge_bp": 500,
        "tax_name": "PB1",
        "tax_rate_bp": 1_000,
        "tax_base": "subtotal_and_service",
        "prices_include_tax": False,
        "packaging_fee": 0,
        "rounding_unit": 1,
    }
    [snap] = midtrans.requests_to("/snap/v1/transactions")
    assert snap.body["transaction_details"]["gross_amount"] == 57_750
    assert snap.body["item_details"] == [
        {"id": "NC-1", "price": 25_000, "quantity": 2, "name": "Nasi Campur"},
        {"id": "SERVICE", "price": 2_500, "quantity": 1, "name": "Service charge 5%"},
        {"id": "TAX", "price": 5_250, "quantity": 1, "name": "PB1 10%"},
    ]
    assert items_sum(snap.body) == 57_750

    # A later change of the settings applies to later orders only.
    shop_settings_update(service_charge_bp=0, tax_rate_bp=0)
    again = auth_client.get(f"{ORDERS}{order.number}/").json()
    assert {key: again[key] for key in expected} == expected


def test_ppn_included_in_the_price_with_rounding_and_packaging(auth_client, midtrans):
    shop_settings_update(
        tax_name="PPN", tax_rate_bp=1_100, prices_include_tax=True, packaging_fee=1_950, rounding_unit=500
    )
    ProductFactory(slug="tumpeng", sku="TP-1", name="Tumpeng Mini", price=111_000, stock=3)
    auth_client.post(ITEMS, {"product": "tumpeng", "quantity": 1}, format="json")

    body = auth_client.post(ORDERS, {}, format="json").json()

    assert (body["subtotal"], body["tax"], body["total"]) == (111_000, 11_000, 113_000)
    assert body["charges"] == [
        {"code": "tax", "name": "PPN", "rate_bp": 1_100, "base": 100_000, "amount": 0, "included": 11_000},
        {"code": "packaging", "name": "Packaging", "base": 0, "amount": 1_950},
        {"code": "rounding", "name": "Rounding", "base": 112_950, "amount": 50},
    ]
    [snap] = midtrans.requests_to("/snap/v1/transactions")
    assert [item["id"] for item in snap.body["item_details"]] == ["TP-1", "PACKAGING", "ROUNDING"]
    assert items_sum(snap.body) == snap.body["transaction_details"]["gross_amount"] == 113_000


def test_the_fake_snap_refuses_items_that_do_not_sum_to_gross_amount(midtrans):
    """What makes the tests above able to fail: Snap's 400 for a mismatch."""
    import requests

    body = {
        "transaction_details": {"order_id": "FD-X-1", "gross_amount": 10_000},
        "item_details": [{"id": "A", "price": 9_000, "quantity": 1, "name": "A"}],
    }
    response = requests.post(
        f"{midtrans.base_url}/snap/v1/transactions", json=body, auth=(midtrans.server_key, ""), timeout=5
    )

    assert response.status_code == 400
    assert response.json() == {
        "error_messages": ["transaction_details.gross_amount is not equal to the sum of item_details"]
    }
