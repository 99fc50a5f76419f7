"""Who reaches what in the admin: only staff get in, and a staff member sees and does only
what their model permissions allow: pages, actions, the dashboard's panels and the links
on an order's page."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from invoices.models import Invoice
from orders.models import Order, OrderStatus
from orders.tests.factories import place_order
from payments.models import Payment
from payments.services.opening import payment_open
from payments.services.webhook import payment_mock_complete

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
PRODUCTS = reverse("admin:catalog_product_changelist")
ORDERS = reverse("admin:orders_order_changelist")
PAYMENTS = reverse("admin:payments_payment_changelist")
KITCHEN = reverse("admin:orders_order_kitchen")


def staff_with(*codenames: str, **fields):
    user = UserFactory(**{"is_staff": True, **fields})
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    assert user.user_permissions.count() == len(codenames)
    return user


@pytest.fixture
def mock_gateway(settings, tmp_path):
    settings.PAYMENT_GATEWAY = "mock"
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture
def rice(db) -> Product:
    return ProductFactory(name="Nasi Goreng", slug="nasi-goreng", stock=50, price=25_000)


def paid_order(*, rice: Product) -> Order:
    """An order paid through the mock gateway, as a shopper pays it: invoice issued."""
    order = place_order(user=UserFactory(), items=[(rice, 2)])
    payment = payment_open(order=order)
    status, answer = payment_mock_complete(token=payment.token, transaction_status="settlement")
    assert (status, answer["outcome"]) == (200, "applied")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def flag_needs_refund(order: Order) -> Payment:
    payment = order.payments.get()
    Payment.objects.filter(pk=payment.pk).update(needs_refund=True, flag_reason="Paid twice.")
    return payment


def panel_rows(html: str) -> dict[str, tuple[int, str]]:
    """The dashboard's rows: label -> (count, link)."""
    rows = re.findall(
        r'<th scope="row"><a href="([^"]+)">([^<]+)</a></th>\s*<td class="dashboard-count"[^>]*>(\d+)</td>',
        html,
    )
    return {label: (int(count), link.replace("&amp;", "&")) for link, label, count in rows}


def app_models(response) -> set[str]:
    return {model["object_name"] for app in response.context["app_list"] for model in app["models"]}


# --- only staff ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [INDEX, PRODUCTS, ORDERS, PAYMENTS, KITCHEN])
def test_a_non_staff_user_with_every_permission_is_sent_to_the_login(client, url):
    user = staff_with("view_order", "change_order", "view_product", "change_product", is_staff=False)
    client.force_login(user)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_non_staff_user_cannot_log_in_to_the_admin(client):
    UserFactory(email="shopper@example.com", is_staff=False)

    response = client.post(
        "/admin/login/", {"username": "shopper@example.com", "password": "s3cure-Passw0rd!"}
    )

    assert response.status_code == 200
    assert (
        "Please enter the correct email address and password for a staff account."
        in response.content.decode()
    )
    assert "_auth_user_id" not in client.session


# --- a kitchen member: orders only -------------------------------------------------------------


@pytest.fixture
def kitchen_client(client):
    client.force_login(staff_with("view_order", "change_order"))
    return client


def test_kitchen_staff_see_orders_and_the_board_but_no_products_or_payments(kitchen_client, rice):
    index = kitchen_client.get(INDEX)

    assert index.status_code == 200
    assert app_models(index) == {"Order"}
    for url in (PRODUCTS, reverse("admin:catalog_product_change", args=[rice.pk]), PAYMENTS):
        assert kitchen_client.get(url).status_code == 403, url
    assert kitchen_client.get(ORDERS).status_code == 200
    assert kitchen_client.get(KITCHEN).status_code == 200


def test_kitchen_staff_cannot_run_product_actions_or_edit_the_list(kitchen_client, rice):
    action = kitchen_client.post(
        PRODUCTS, {"action": "mark_sold_out", "_selected_action": [rice.pk], "index": "0"}
    )
    edit = kitchen_client.post(
        PRODUCTS,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(rice.pk),
            "form-0-stock": "0",
            "form-0-stock_seen": "50",
            "form-0-new_price": "1",
            "_save": "Save",
        },
    )

    assert (action.status_code, edit.status_code) == (403, 403)
    rice.refresh_from_db()
    assert (rice.stock, rice.current_price, rice.current_price_version) == (50, 25_000, 1)
    assert rice.stock_movements.count() == 1


def test_kitchen_staff_dashboard_shows_order_panels_only(kitchen_client, mock_gateway, rice):
    flag_needs_refund(paid_order(rice=rice))

    html = kitchen_client.get(INDEX).content.decode()

    assert "Orders placed today" in html
    assert panel_rows(html)["Waiting (paid or preparing)"] == (1, KITCHEN)
    assert "Sold out or unavailable" not in html
    assert "needs refund" not in html


def test_kitchen_staff_move_an_order_from_its_page_and_see_its_lines(kitchen_client, mock_gateway, rice):
    order = paid_order(rice=rice)
    page = kitchen_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert [label for _, label in page.context["kitchen_moves"]] == ["Mark preparing"]
    assert 'value="preparing" class="button">Mark preparing</button>' in html
    assert "Nasi Goreng" in html  # the lines, though the user has no permission on order lines
    assert "Payment attempts" not in html  # payments are not theirs to see
    invoice = Invoice.objects.get(order=order)
    assert invoice.number in html
    assert reverse("admin:invoices_invoice_pdf", args=[invoice.pk]) not in html  # no link they cannot follow
    assert kitchen_client.get(reverse("admin:invoices_invoice_pdf", args=[invoice.pk])).status_code == 403

    moved = kitchen_client.post(
        reverse("admin:orders_order_move", args=[order.pk]), {"to_status": "preparing"}
    )

    assert moved.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING


def test_order_viewer_without_change_permission_cannot_move_from_the_board(client, mock_gateway, rice):
    order = paid_order(rice=rice)
    client.force_login(staff_with("view_order"))

    board = client.get(KITCHEN)
    move = client.post(reverse("admin:orders_order_move", args=[order.pk]), {"to_status": "preparing"})

    assert board.status_code == 200
    assert order.number in board.content.decode()
    assert "Mark preparing" not in board.content.decode()
    assert move.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


# --- the menu team: products only --------------------------------------------------------------


def test_menu_staff_see_products_but_no_orders_or_kitchen(client, rice):
    client.force_login(staff_with("view_product", "change_product"))

    index = client.get(INDEX)

    assert app_models(index) == {"Product", "StockMovement"}
    assert list(panel_rows(index.content.decode())) == ["Sold out or unavailable"]
    assert client.get(PRODUCTS).status_code == 200
    for url in (ORDERS, KITCHEN, PAYMENTS):
        assert client.get(url).status_code == 403, url


# --- payments: the needs-refund panel ----------------------------------------------------------


def test_dashboard_counts_payments_flagged_needs_refund_and_links_to_them(client, mock_gateway, rice):
    flagged = flag_needs_refund(paid_order(rice=rice))
    paid_order(rice=rice)  # paid, not flagged
    client.force_login(staff_with("view_payment"))

    html = client.get(INDEX).content.decode()
    label = "Flagged needs refund (money to give back)"
    count, link = panel_rows(html)[label]

    assert (count, link) == (1, f"{PAYMENTS}?needs_refund__exact=1")
    assert "Orders placed today" not in html
    listed = client.get(link)
    assert [p.pk for p in listed.context["cl"].result_list] == [flagged.pk]


def test_superuser_dashboard_has_every_panel(admin_client_staff):
    html = admin_client_staff.get(INDEX).content.decode()
    captions = re.findall(r"<caption>([^<]+)</caption>", html)
    assert captions == ["Orders placed today", "Kitchen", "Menu", "Payments"]
    assert panel_rows(html)["Flagged needs refund (money to give back)"] == (
        0,
        f"{PAYMENTS}?needs_refund__exact=1",
    )
