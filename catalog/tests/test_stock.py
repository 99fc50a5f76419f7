"""Stock has one owner (`catalog.stock`) and a ledger: every entry point that changes stock
goes through it, a sale made in between is never undone by a staff write, and for every
product the ledger sums to the stock."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from cart.tests.factories import CartItemFactory
from catalog.models import Product, StockMovement
from catalog.services import product_deactivate
from catalog.stock import MAX_STOCK, stock_audit
from catalog.tests.factories import BundleFactory, CategoryFactory, ProductFactory
from catalog.tests.test_admin import PRODUCTS, form_values, product_url, row_prefix
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

API = "/api/v1/products/"


def stock_of(product: Product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def ledger_of(product: Product) -> list[tuple[str, int, int]]:
    return list(
        StockMovement.objects.filter(product=product)
        .order_by("id")
        .values_list("reason", "quantity", "stock_after")
    )


@pytest.fixture
def rice():
    return ProductFactory(name="Rice", slug="rice", sku="RICE-1", stock=7)


@pytest.fixture
def egg():
    return ProductFactory(name="Egg", slug="egg", sku="EGG-1", stock=20)


# --- defect 1: a staff write that sets stock never undoes a sale ------------------------------


def test_list_edit_of_another_row_does_not_put_sold_stock_back(admin_client_staff, rice, egg, user):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")  # shows rice 7, egg 20
    place_order(user=user, items=[(rice, 2)])  # a checkout while the page is open: rice 5
    values[f"{row_prefix(values, egg.pk)}-stock"] = "25"

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"})

    assert response.status_code == 302
    assert (stock_of(rice), stock_of(egg)) == (5, 25)
    assert ledger_of(rice) == [("initial", 7, 7), ("sale", -2, 5)]
    assert ledger_of(egg) == [("initial", 20, 20), ("adjustment", 5, 25)]


def test_list_edit_of_a_row_sold_from_meanwhile_is_refused_as_a_row_error(admin_client_staff, rice, user):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    place_order(user=user, items=[(rice, 2)])
    values[f"{row_prefix(values, rice.pk)}-stock"] = "30"

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"}, follow=True)

    assert "The stock of Rice changed from 7 to 5 since the page was loaded" in response.content.decode()
    assert stock_of(rice) == 5
    assert ledger_of(rice) == [("initial", 7, 7), ("sale", -2, 5)]


def test_change_form_set_with_a_stale_value_is_a_form_error(admin_client_staff, rice, user):
    values = form_values(admin_client_staff, product_url(rice), "product_form")
    place_order(user=user, items=[(rice, 3)])
    values["stock"] = "50"

    response = admin_client_staff.post(product_url(rice), values)

    assert response.status_code == 200
    assert (
        "The stock of Rice changed from 7 to 4 since the page was loaded; check the new value"
        in response.content.decode()
    )
    assert stock_of(rice) == 4
    # The re-shown form now carries the current value, so saving again sets it.
    assert 'name="stock_seen" value="4"' in response.content.decode()


def test_change_form_rename_leaves_stock_sold_meanwhile_alone(admin_client_staff, rice, user):
    values = form_values(admin_client_staff, product_url(rice), "product_form")
    place_order(user=user, items=[(rice, 3)])
    values["name_ind"] = "Steamed rice"

    response = admin_client_staff.post(product_url(rice), values)

    assert response.status_code == 302
    rice.refresh_from_db()
    assert (rice.name, rice.stock) == ("Steamed rice", 4)


def test_change_form_adjusts_stock_with_a_reason(admin_client_staff, rice, staff_user, user):
    values = form_values(admin_client_staff, product_url(rice), "product_form")
    place_order(user=user, items=[(rice, 3)])
    values.update(adjust_stock="12", adjust_reason="delivery")

    response = admin_client_staff.post(product_url(rice), values)

    assert response.status_code == 302
    assert stock_of(rice) == 16  # 7 - 3 sold + 12 delivered
    movement = StockMovement.objects.filter(product=rice).latest("id")
    assert (movement.reason, movement.quantity, movement.stock_after, movement.user, movement.note) == (
        "adjustment",
        12,
        16,
        staff_user,
        "delivery",
    )


def test_change_form_adjustment_below_zero_is_refused(admin_client_staff, rice):
    values = form_values(admin_client_staff, product_url(rice), "product_form")
    values.update(adjust_stock="-8", adjust_reason="waste")

    response = admin_client_staff.post(product_url(rice), values)

    assert response.status_code == 200
    assert "There are 7 in stock; removing 8 would go below zero." in response.content.decode()
    assert ledger_of(rice) == [("initial", 7, 7)]


def test_product_page_shows_the_ledger(admin_client_staff, rice, user):
    order = place_order(user=user, items=[(rice, 2)])
    page = admin_client_staff.get(product_url(rice)).content.decode()
    assert "Stock ledger" in page
    assert re.search(rf"<td>Sale</td><td>-2</td><td>5</td><td>{order.number}</td>", page)
    ledger = admin_client_staff.get(reverse("admin:catalog_stockmovement_changelist"))
    assert ledger.status_code == 200
    assert ledger.context["cl"].result_count == 2


def test_mark_sold_out_writes_the_ledger(admin_client_staff, rice, egg):
    admin_client_staff.post(
        PRODUCTS, {"action": "mark_sold_out", "_selected_action": [rice.pk, egg.pk]}, follow=True
    )
    assert (stock_of(rice), stock_of(egg)) == (0, 0)
    assert ledger_of(rice)[-1] == ("adjustment", -7, 0)
    assert ledger_of(egg)[-1] == ("adjustment", -20, 0)


# --- the API: set with the expected value, or adjust by a delta ------------------------------


def test_patch_stock_without_expected_stock_is_400_and_changes_nothing(staff_client, rice):
    response = staff_client.patch(f"{API}rice/", {"stock": 40})
    assert response.status_code == 400
    assert "expected_stock" in response.json()
    assert stock_of(rice) == 7


def test_patch_stock_after_a_sale_is_409_stock_changed(staff_client, rice, user):
    place_order(user=user, items=[(rice, 2)])
    response = staff_client.patch(f"{API}rice/", {"stock": 40, "expected_stock": 7, "name": "Renamed"})
    assert response.status_code == 409
    assert response.json()["code"] == "stock_changed"
    assert response.json()["stock"] == 5
    rice.refresh_from_db()
    assert (rice.stock, rice.name) == (5, "Rice")  # the whole PATCH is refused


def test_patch_stock_with_the_right_expected_value_sets_it(staff_client, staff_user, rice):
    response = staff_client.patch(f"{API}rice/", {"stock": 40, "expected_stock": 7})
    assert response.status_code == 200
    assert response.json()["stock"] == 40
    movement = StockMovement.objects.filter(product=rice).latest("id")
    assert (movement.reason, movement.quantity, movement.stock_after, movement.user) == (
        "adjustment",
        33,
        40,
        staff_user,
    )


def test_post_stock_adjusts_by_delta(staff_client, staff_user, rice, user):
    place_order(user=user, items=[(rice, 2)])
    response = staff_client.post(f"{API}rice/stock/", {"delta": 20, "reason": "delivery", "note": "Pak Budi"})
    assert response.status_code == 200
    assert response.json()["stock"] == 25
    assert ledger_of(rice)[-1] == ("adjustment", 20, 25)
    assert StockMovement.objects.filter(product=rice).latest("id").note == "delivery: Pak Budi"


def test_post_stock_below_zero_is_409_and_changes_nothing(staff_client, rice):
    response = staff_client.post(f"{API}rice/stock/", {"delta": -8, "reason": "waste"})
    assert response.status_code == 409
    assert response.json()["code"] == "stock_negative"
    assert response.json()["stock"] == 7
    assert ledger_of(rice) == [("initial", 7, 7)]


def test_post_stock_above_the_limit_is_400_and_changes_nothing(staff_client, rice):
    """The sum is checked before the 32-bit column could overflow (the fuzzer's delta of two
    billion on 21,142 units was a 500)."""
    response = staff_client.post(f"{API}rice/stock/", {"delta": MAX_STOCK, "reason": "recount"})
    assert response.status_code == 400
    assert response.json() == {"delta": [f"That would take the stock above {MAX_STOCK}."]}
    assert ledger_of(rice) == [("initial", 7, 7)]
    assert Product.objects.get(pk=rice.pk).stock == 7
    exact = staff_client.post(f"{API}rice/stock/", {"delta": MAX_STOCK - 7, "reason": "recount"})
    assert (exact.status_code, exact.json()["stock"]) == (200, MAX_STOCK)


@pytest.mark.parametrize(
    "body",
    [{"delta": 0, "reason": "x"}, {"delta": 5}, {"delta": "many", "reason": "x"}, {"reason": "x"}, {}],
)
def test_post_stock_bad_input_is_400(staff_client, rice, body):
    response = staff_client.post(f"{API}rice/stock/", body)
    assert response.status_code == 400
    assert stock_of(rice) == 7


def test_bundle_stock_cannot_be_adjusted(staff_client, rice):
    BundleFactory(slug="combo", components=[(rice, 1)])
    response = staff_client.post(f"{API}combo/stock/", {"delta": 5, "reason": "delivery"})
    assert response.status_code == 400
    assert "stock" in response.json()


def test_only_staff_adjust_stock(api_client, auth_client, rice):
    assert api_client.post(f"{API}rice/stock/", {"delta": 5, "reason": "x"}).status_code == 401
    assert auth_client.post(f"{API}rice/stock/", {"delta": 5, "reason": "x"}).status_code == 403
    assert stock_of(rice) == 7


def test_creating_a_product_with_stock_writes_an_initial_movement(staff_client, staff_user):
    CategoryFactory(slug="rice")
    response = staff_client.post(
        API, {"name": "Nasi", "sku": "N-1", "category": "rice", "stock": 12, "price": 9000}
    )
    assert response.status_code == 201
    product = Product.objects.get(sku="N-1")
    assert ledger_of(product) == [("initial", 12, 12)]
    assert StockMovement.objects.get(product=product).user == staff_user


# --- the ledger sums to the stock, after everything ------------------------------------------


def test_ledger_follows_sale_cancel_expiry_and_late_payment(user, rice, egg):
    combo = BundleFactory(slug="combo", components=[(rice, 2), (egg, 1)])
    cancelled = place_order(user=user, items=[(combo, 1), (egg, 3)])
    expired = place_order(user=user, items=[(rice, 1)])
    order_services.order_cancel(order=cancelled, actor=order_services.Actor.of(user))
    Order.objects.filter(pk=expired.pk).update(expires_at=expired.placed_at)
    assert order_services.order_expire(order_id=expired.pk) is True
    with transaction.atomic():
        late = order_services.order_lock(order_id=expired.pk)
        order_services.order_transition(order=late, to_status="paid", actor=order_services.GATEWAY)

    assert ledger_of(rice) == [
        ("initial", 7, 7),
        ("sale", -2, 5),
        ("sale", -1, 4),
        ("release_cancel", 2, 6),
        ("release_expire", 1, 7),
        ("retake_late_payment", -1, 6),
    ]
    assert ledger_of(egg) == [("initial", 20, 20), ("sale", -4, 16), ("release_cancel", 4, 20)]
    sale = StockMovement.objects.filter(product=rice, reason="sale").order_by("id").first()
    assert (sale.order_id, sale.order_number) == (cancelled.pk, cancelled.number)
    assert stock_audit() == []


def test_reset_data_gives_stock_back_through_the_ledger(user, rice):
    place_order(user=user, items=[(rice, 4)])
    call_command("reset_data", "--force", stdout=StringIO())
    assert stock_of(rice) == 7
    assert ledger_of(rice)[-1] == ("reset", 4, 7)
    assert stock_audit() == []


def test_stock_audit_reports_drift_and_exits_1(rice, egg):
    out = StringIO()
    call_command("stock_audit", stdout=out)
    assert out.getvalue().strip() == "Stock matches the ledger for all 2 products."

    Product.objects.filter(pk=rice.pk).update(stock=9)  # a write that bypassed the stock module
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("stock_audit", stdout=out)
    assert exit_info.value.code == 1
    assert f"rice (id {rice.pk}): stock 9, ledger 7, drift +2" in out.getvalue()


# --- defect 2: a bundle with an inactive component gets one answer everywhere ---------------


def test_bundle_with_an_inactive_component_gets_one_answer_everywhere(
    api_client, auth_client, user, rice, egg
):
    combo = BundleFactory(slug="combo", name="Combo", components=[(rice, 1), (egg, 1)])
    CartItemFactory(cart__user=user, product=combo, quantity=1)  # in the cart before the change
    product_deactivate(product=egg)

    catalog = api_client.get(f"{API}combo/").json()
    assert (catalog["available"], catalog["unavailable_reason"], catalog["stock"]) == (
        False,
        "component_inactive",
        0,
    )
    assert api_client.get(API, {"available": "true"}).json()["count"] == 1  # rice only

    cart = auth_client.get("/api/v1/cart/").json()
    assert [(i["product"]["slug"], i["problem"], i["unit_price"]) for i in cart["items"]] == [
        ("combo", "component_inactive", None)
    ]
    assert cart["total"] == 0

    add = auth_client.post("/api/v1/cart/items/", {"product": "combo", "quantity": 1})
    assert (add.status_code, add.json()) == (
        409,
        {
            "detail": "Combo has a component that is off the menu.",
            "code": "product_unavailable",
            "products": [{"slug": "combo", "name": "Combo", "reason": "component_inactive"}],
        },
    )

    checkout = auth_client.post("/api/v1/orders/", {})
    assert checkout.status_code == 409
    assert checkout.json()["code"] == "product_unavailable"
    assert checkout.json()["products"] == [{"slug": "combo", "name": "Combo", "reason": "component_inactive"}]
    assert (stock_of(rice), Order.objects.count()) == (7, 0)
