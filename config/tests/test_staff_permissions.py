"""Staff powers are Django permissions, not `is_staff` (issue 24, item 2).

The defect, through the API as a cook whose only permissions were the order ones (refused in
the admin's menu pages): `POST products/nasi/prices/ {"amount": 1}` made Rp 1 the price,
`POST products/nasi/stock/` moved stock, `POST categories/` made a category,
`GET invoices/{n}/pdf/` and `.../credit-notes/{n}/pdf/` served every customer's documents,
and `POST orders/{n}/status/ {"status": "refunded"}` marked a paid order refunded with no money
moved (config/permissions.py IsStaffOrReadOnly, orders/api/views.py set_status's IsAdminUser,
invoices/selectors.py).

The sweep runs every staff operation as three staff users: one with no permission, one in
"Kitchen", one in "Manager". A refused write is a JSON 403 and changes nothing; another
user's object the caller may not see is a 404 like a missing one (DESIGN §5). The sweep also
fails when the schema grows an operation that neither it nor the list of shopper and public
operations names."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import KITCHEN, MANAGER
from accounts.tests.factories import UserFactory
from catalog.models import Category, Product, ProductPrice, StockMovement
from catalog.sold_out import product_sold_out_set
from catalog.tests.factories import CategoryFactory, ProductFactory
from invoices.services import credit_note_issue
from invoices.tests.factories import invoiced_order
from orders.models import KitchenState, Order, OrderEvent, ShopSettings, Voucher
from orders.pickup.kitchen import kitchen_pause, kitchen_resume
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

API = "/api/v1/"
ROLES = ("nobody", "kitchen", "manager")


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    path: str  # under /api/v1/, with {placeholders} from the world
    body: dict | None
    nobody: int
    kitchen: int
    manager: int

    @property
    def writes(self) -> bool:
        return self.method != "GET"


# Every operation that shows or does more for staff than for a shopper, with what each role
# gets. The same (method, path) may appear more than once with other bodies.
STAFF_OPERATIONS = [
    Op("create a category", "POST", "categories/", {"name": "Drinks", "slug": "drinks"}, 403, 403, 201),
    Op("rename a category", "PATCH", "categories/{category}/", {"name": "Rice"}, 403, 403, 200),
    Op("deactivate a category", "DELETE", "categories/{category}/", None, 403, 403, 204),
    Op("see a hidden category", "GET", "categories/{hidden_category}/", None, 404, 404, 200),
    Op(
        "create a product with stock and a price",
        "POST",
        "products/",
        {"name": "Es teh", "sku": "TEH-1", "category": "{category}", "stock": 5, "price": 5_000},
        403,
        403,
        201,
    ),
    Op("rename a product", "PATCH", "products/{product}/", {"name": "Nasi uduk"}, 403, 403, 200),
    Op(
        "set a product's stock",
        "PATCH",
        "products/{product}/",
        {"stock": 99, "expected_stock": 8},
        403,
        403,
        200,
    ),
    Op("deactivate a product", "DELETE", "products/{product}/", None, 403, 403, 204),
    Op("see a hidden product", "GET", "products/{hidden_product}/", None, 404, 404, 200),
    Op(
        "adjust stock",
        "POST",
        "products/{product}/stock/",
        {"delta": -3, "reason": "waste"},
        403,
        403,
        200,
    ),
    Op("set the price to Rp 1", "POST", "products/{product}/prices/", {"amount": 1}, 403, 403, 201),
    Op("see the shop settings", "GET", "shop/settings/", None, 403, 403, 200),
    Op("set a service charge", "PATCH", "shop/settings/", {"service_charge_bp": 500}, 403, 403, 200),
    Op(
        "see the sales report",
        "GET",
        "reports/sales/?date_from=2026-11-01&date_to=2026-11-30",
        None,
        403,
        403,
        200,
    ),
    Op("see the tax report", "GET", "reports/tax/?month=2026-11", None, 403, 403, 200),
    Op("list vouchers", "GET", "vouchers/", None, 403, 403, 200),
    Op("see a voucher", "GET", "vouchers/{voucher}/", None, 403, 403, 200),
    Op(
        "create a voucher",
        "POST",
        "vouchers/",
        {"code": "hemat10", "kind": "percent", "value": 10, "usage_limit": 5},
        403,
        403,
        201,
    ),
    Op("stop a voucher", "PATCH", "vouchers/{voucher}/", {"active": False}, 403, 403, 200),
    Op("see another's order", "GET", "orders/{paid}/", None, 404, 200, 200),
    # Streams: the answer is read no further than its status (the paid order's stays open).
    Op("follow another's order live", "GET", "orders/{paid}/events/", None, 404, 200, 200),
    Op("follow the kitchen live", "GET", "kitchen/events/", None, 403, 200, 200),
    Op("start cooking", "POST", "orders/{paid}/status/", {"status": "preparing"}, 403, 200, 200),
    Op("cancel through status", "POST", "orders/{pending}/status/", {"status": "cancelled"}, 403, 403, 200),
    Op("refund through status", "POST", "orders/{paid}/status/", {"status": "refunded"}, 403, 403, 200),
    Op(
        "refund through the refund endpoint",
        "POST",
        "orders/{paid}/refund/",
        {"reason": "Burnt", "method": "offline", "reference": "TRF-1"},
        403,
        403,
        200,
    ),
    Op("cancel another's order", "POST", "orders/{pending}/cancel/", {}, 404, 403, 200),
    Op("accept a paid order", "POST", "orders/{paid}/accept/", None, 403, 200, 200),
    Op(
        "reject a paid order",
        "POST",
        "orders/{paid}/reject/",
        {"reason": "Out of rice", "method": "offline", "reference": "TRF-2"},
        403,
        403,
        200,
    ),
    # The world's paid order has no attempt at the gateway: the manager gets past the door.
    Op("re-check a payment", "POST", "orders/{paid}/payment-recheck/", None, 403, 403, 409),
    Op(
        "mark a dish sold out", "POST", "products/{product}/sold-out/", {"until": "end_of_day"}, 403, 200, 200
    ),
    Op("end a sold-out mark", "DELETE", "products/{sold_out}/sold-out/", None, 403, 200, 200),
    Op("pause new orders", "POST", "shop/pause/", {"minutes": 20, "reason": "rush"}, 403, 200, 200),
    Op("resume orders", "POST", "shop/resume/", {}, 403, 200, 200),
    Op("delay the kitchen", "POST", "shop/delay/", {"minutes": 10}, 403, 200, 200),
    Op("see another's invoice", "GET", "invoices/{invoice}/", None, 404, 404, 200),
    Op("download another's invoice", "GET", "invoices/{invoice}/pdf/", None, 404, 404, 200),
    Op(
        "download another's credit note",
        "GET",
        "invoices/{invoice}/credit-notes/{credit_note}/pdf/",
        None,
        404,
        404,
        200,
    ),
]

# Everything else in the schema: public, or a user's own things (the shopper's sweep is
# config/tests/test_security.py).
OTHER_OPERATIONS = {
    ("POST", "auth/logout/"),
    ("GET", "auth/me/"),
    ("PATCH", "auth/me/"),
    ("DELETE", "auth/me/"),
    ("POST", "auth/password/"),
    ("POST", "auth/password/reset/"),
    ("POST", "auth/password/reset/confirm/"),
    ("POST", "auth/email/verify/"),
    ("POST", "auth/email/verify/resend/"),
    ("POST", "auth/register/"),
    ("POST", "auth/token/"),
    ("POST", "auth/token/refresh/"),
    ("GET", "cart/"),
    ("POST", "cart/voucher/"),
    ("DELETE", "cart/voucher/"),
    ("DELETE", "cart/"),
    ("POST", "cart/items/"),
    ("PATCH", "cart/items/{id}/"),
    ("DELETE", "cart/items/{id}/"),
    ("GET", "categories/"),
    ("GET", "health/"),
    ("GET", "ready/"),
    ("GET", "invoices/"),
    ("GET", "orders/"),
    ("POST", "orders/"),
    ("POST", "orders/{number}/pay/"),
    ("POST", "payments/midtrans/notification/"),
    ("POST", "payments/mock/{token}/"),
    ("GET", "products/"),
    ("GET", "products/{slug}/prices/"),
    ("GET", "shop/"),
    ("GET", "shop/slots/"),
}

# The schema's names for the path parameters.
SCHEMA_NAMES = {
    "{category}": "{slug}",
    "{hidden_category}": "{slug}",
    "{product}": "{slug}",
    "{hidden_product}": "{slug}",
    "{sold_out}": "{slug}",
    "{paid}": "{number}",
    "{pending}": "{number}",
    "{invoice}": "{number}",
    "{credit_note}": "{credit_note_number}",
    "{voucher}": "{id}",
}


def schema_path(path: str) -> str:
    for ours, theirs in SCHEMA_NAMES.items():
        path = path.replace(ours, theirs)
    return path


def staff(role: str):
    user = UserFactory(email=f"{role}@example.com", is_staff=True)
    if role != "nobody":
        user.groups.add(Group.objects.get(name={"kitchen": KITCHEN, "manager": MANAGER}[role]))
    return user


def client_for(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture
def world() -> dict[str, str]:
    """A shopper's pending order and paid order (invoiced, with a credit note) of a dish at
    Rp 20,000 (8 left in stock), a dish sold out for the day, a hidden dish and category,
    and the kitchen paused."""
    shopper = UserFactory(email="shopper@example.com")
    category = CategoryFactory(slug="mains", name="Mains")
    hidden_category = CategoryFactory(slug="secret-menu", is_active=False)
    nasi = ProductFactory(slug="nasi", category=category, price=20_000, stock=10)
    hidden = ProductFactory(slug="off-menu", category=category, is_active=False, stock=4)
    invoice = invoiced_order(user=shopper, items=[(nasi, 1)])
    credit_note = credit_note_issue(invoice=invoice, amount=1_000, reason="Late")
    pending = place_order(user=shopper, items=[(nasi, 1)])
    voucher = Voucher.objects.create(code="MAKAN5", kind="fixed", value=5_000)
    sold_out = ProductFactory(slug="rendang", category=category, stock=3)
    product_sold_out_set(product=sold_out)
    kitchen_pause(minutes=30, reason="a pause to resume")  # busy mode's writes each change something
    return {
        "voucher": str(voucher.pk),
        "category": category.slug,
        "hidden_category": hidden_category.slug,
        "product": nasi.slug,
        "hidden_product": hidden.slug,
        "sold_out": sold_out.slug,
        "paid": invoice.order.number,
        "pending": pending.number,
        "invoice": invoice.number,
        "credit_note": credit_note.number,
    }


def fill(value, world: dict[str, str]):
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {key: fill(item, world) for key, item in value.items()}
    return value


def snapshot() -> dict:
    """What a staff write could change."""
    return {
        "categories": list(Category.objects.order_by("id").values_list("slug", "name", "is_active")),
        "products": list(
            Product.objects.order_by("id").values_list(
                "slug", "name", "is_active", "stock", "current_price", "sold_out_until"
            )
        ),
        "prices": list(ProductPrice.objects.order_by("id").values_list("product__slug", "version", "amount")),
        "stock_movements": StockMovement.objects.count(),
        "orders": list(Order.objects.order_by("id").values_list("number", "status")),
        "order_events": OrderEvent.objects.count(),
        "vouchers": list(Voucher.objects.order_by("id").values_list("code", "active")),
        "shop_settings": list(ShopSettings.objects.values_list("service_charge_bp", "tax_rate_bp")),
        "busy_mode": list(KitchenState.objects.values_list("paused_until", "delay_minutes")),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("op", STAFF_OPERATIONS, ids=lambda op: op.name)
def test_every_staff_operation_needs_its_permission(world, op, role):
    client = client_for(staff(role))
    before = snapshot()

    call = getattr(client, op.method.lower())
    response = call(
        API + fill(op.path, world), None if op.body is None else fill(op.body, world), format="json"
    )

    expected = getattr(op, role)
    assert response.status_code == expected, response.content[:300]
    if expected in (403, 404):
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == {403: "permission_denied", 404: "not_found"}[expected]
        assert snapshot() == before
    elif op.writes and expected < 300:
        assert snapshot() != before  # it took effect
    else:
        assert snapshot() == before  # a read, or refused past the door (409)


def test_a_refused_price_leaves_the_price_and_a_kitchen_move_moves_the_order(world):
    """The reported ones, with their exact outcome."""
    cook = client_for(staff("kitchen"))

    price = cook.post(f"{API}products/nasi/prices/", {"amount": 1}, format="json")
    moved = cook.post(f"{API}orders/{world['paid']}/status/", {"status": "preparing"}, format="json")
    refund = cook.post(f"{API}orders/{world['paid']}/status/", {"status": "refunded"}, format="json")

    assert (price.status_code, moved.status_code, refund.status_code) == (403, 200, 403)
    assert Product.objects.get(slug="nasi").current_price == 20_000
    assert list(ProductPrice.objects.filter(product__slug="nasi").values_list("amount", flat=True)) == [
        20_000
    ]
    assert Order.objects.get(number=world["paid"]).status == "preparing"
    assert refund.json() == {
        "detail": "Setting an order refunded needs its permission.",
        "code": "permission_denied",
    }


@pytest.mark.parametrize(
    ("role", "orders", "invoices", "products", "categories"),
    [("nobody", 0, 0, 2, 1), ("kitchen", 2, 0, 2, 1), ("manager", 2, 1, 3, 2)],  # 2 dishes shown: 1 sold out
)
def test_lists_show_staff_what_their_permissions_allow(world, role, orders, invoices, products, categories):
    """Staff without orders.view_order see their own orders like a shopper (none here); the
    hidden dish and category only with the catalog's view permissions."""
    client = client_for(staff(role))
    counts = [client.get(f"{API}{path}").json()["count"] for path in ("orders/", "invoices/", "products/")]
    listed = client.get(f"{API}categories/").json()
    assert counts == [orders, invoices, products]
    assert (listed["count"] if isinstance(listed, dict) else len(listed)) == categories


def test_staff_without_view_order_still_see_and_cancel_their_own_orders(world):
    cook = staff("nobody")
    nasi = Product.objects.get(slug="nasi")
    kitchen_resume()  # the world's kitchen is paused
    own = place_order(user=cook, items=[(nasi, 1)])
    client = client_for(cook)

    listed = client.get(f"{API}orders/").json()
    cancelled = client.post(f"{API}orders/{own.number}/cancel/", {}, format="json")

    assert [order["number"] for order in listed["results"]] == [own.number]
    assert cancelled.status_code == 200
    assert Order.objects.get(pk=own.pk).status == "cancelled"


def test_permissions_without_is_staff_grant_nothing(world):
    """Like the admin: a shopper account given model permissions is still a shopper."""
    shopper = UserFactory(email="holder@example.com")
    shopper.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_productprice", "view_invoice"])
    )
    client = client_for(shopper)
    before = snapshot()

    price = client.post(f"{API}products/nasi/prices/", {"amount": 1}, format="json")
    invoice = client.get(f"{API}invoices/{world['invoice']}/")

    assert (price.status_code, invoice.status_code) == (403, 404)
    assert snapshot() == before


def test_creating_a_product_with_a_price_needs_the_price_permission_too(world):
    editor = staff("nobody")
    editor.user_permissions.add(Permission.objects.get(codename="add_product"))
    client = client_for(editor)
    body = {"name": "Es teh", "sku": "TEH-1", "category": "mains"}

    priced = client.post(f"{API}products/", {**body, "price": 5_000}, format="json")
    unpriced = client.post(f"{API}products/", body, format="json")

    assert priced.status_code == 403
    assert unpriced.status_code == 201
    assert list(Product.objects.filter(sku="TEH-1").values_list("current_price", flat=True)) == [None]


def test_the_sweep_covers_every_operation_in_the_schema(api_client):
    """A new staff route must be added to STAFF_OPERATIONS (or, if it is not one, to
    OTHER_OPERATIONS) before this passes."""
    schema = api_client.get("/api/schema/?format=json").json()
    in_schema = {
        (method.upper(), path.removeprefix(API))
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    swept = {(op.method, schema_path(op.path).split("?")[0]) for op in STAFF_OPERATIONS}

    assert not swept & OTHER_OPERATIONS
    assert in_schema == swept | OTHER_OPERATIONS
