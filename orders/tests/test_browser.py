"""Staff and shopper pages in a real browser (Chromium through Playwright, against the live
server): the admin's menu and kitchen work, a refund, and the mock gateway's payment page.
The data each test starts from is made through the services, as the app makes it; what
the browser does is then checked through the API and the database.

Skipped without Debian's Chromium (config/tests/browser.py says how to get it)."""

import re
import time

import pytest
from django.contrib.auth.models import Permission

from accounts.tests.factories import PASSWORD, UserFactory
from catalog.models import Product, StockMovement
from catalog.tests.factories import ProductFactory
from invoices.models import CreditNote, Invoice
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.factories import place_order
from payments.models import Payment
from payments.services.opening import payment_open
from payments.services.webhook import payment_mock_complete

pytestmark = pytest.mark.browser


def expect(target):
    from playwright.sync_api import expect as playwright_expect  # imported only where it runs

    return playwright_expect(target)


@pytest.fixture
def shop(settings, live_server, tmp_path):
    """The mock gateway, its payment page on the live server, PDFs in a scratch directory."""
    settings.PAYMENT_GATEWAY = "mock"
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PRIVATE_ROOT = tmp_path / "private"
    return live_server


@pytest.fixture
def rice(transactional_db) -> Product:
    return ProductFactory(name="Nasi Goreng", slug="nasi-goreng", sku="NG-1", stock=40, price=25_000)


@pytest.fixture
def staff(transactional_db):
    return UserFactory(email="kitchen@example.com", name="Kitchen Staff", is_staff=True, is_superuser=True)


def paid_order(*, product: Product, quantity: int = 2) -> Order:
    """A shopper's order paid by QRIS through the mock gateway (the webhook path): invoice
    issued. QRIS: a payment type the gateway refunds (a bank transfer it does not)."""
    order = place_order(user=UserFactory(), items=[(product, quantity)])
    payment = payment_open(order=order)
    status, answer = payment_mock_complete(
        token=payment.token, transaction_status="settlement", payment_type="qris"
    )
    assert (status, answer["outcome"]) == (200, "applied")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def log_in(page, user) -> None:
    """Through the admin's own login form."""
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_have_text("Foodies admin")
    expect(page.locator("#dashboard")).to_be_visible()


def app_list_link(page, app: str, model: str):
    """A model's link in the index page's app list."""
    return page.locator(f"#content-main th#{app}-{model} > a")


def success_message(page):
    return page.locator("ul.messagelist li.success")


# --- 1. the menu: a price and the stock, then the API -------------------------------------------


def test_staff_change_a_price_and_the_stock_and_the_api_shows_them(page, shop, staff, rice):
    log_in(page, staff)

    app_list_link(page, "catalog", "product").click()
    row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name="Nasi Goreng"))
    expect(row.locator("td.field-current_price_display")).to_have_text("Rp 25.000")
    row.locator("input[name$='-new_price']").fill("27500")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(success_message(page)).to_have_text("1 product was changed successfully.")
    expect(row.locator("td.field-current_price_display")).to_have_text("Rp 27.500")
    expect(row.locator("td.field-current_version")).to_have_text("2")
    expect(row.locator("input[name$='-new_price']")).to_have_value("")
    expect(row.locator("input[name$='-stock']")).to_have_value("40")  # untouched, so not written
    assert rice.stock_movements.count() == 1  # the initial stock only

    row.get_by_role("link", name="Nasi Goreng").click()
    page.get_by_label("Adjust stock by").fill("5")
    page.get_by_label("Reason").fill("Delivery from the market")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(success_message(page)).to_contain_text("was changed successfully")
    expect(page.locator("#id_stock")).to_have_value("45")
    page.get_by_text("Stock ledger", exact=True).click()  # the collapsed fieldset
    ledger_row = page.locator(".field-stock_ledger tbody tr").first
    expect(ledger_row).to_be_visible()
    cells = ledger_row.locator("td")
    expect(cells).to_have_text(
        [
            re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d"),
            "Staff adjustment",
            "+5",
            "45",
            staff.email,
            "Delivery from the market",
        ]
    )

    answer = page.request.get("/api/v1/products/nasi-goreng/")
    assert answer.status == 200
    body = answer.json()
    assert (body["price"], body["price_version"], body["stock"], body["available"]) == (27_500, 2, 45, True)
    movement = StockMovement.objects.filter(product=rice).latest("id")
    assert (movement.reason, movement.quantity, movement.stock_after, movement.user_id, movement.note) == (
        "adjustment",
        5,
        45,
        staff.pk,
        "Delivery from the market",
    )
    assert list(rice.prices.order_by("version").values_list("version", "amount")) == [
        (1, 25_000),
        (2, 27_500),
    ]


# --- 2. the kitchen: a paid order through to completed, and its invoice ------------------------


def test_staff_move_a_paid_order_to_completed_and_download_its_invoice(page, shop, staff, rice):
    order = paid_order(product=rice)
    invoice = Invoice.objects.get(order=order)
    log_in(page, staff)

    app_list_link(page, "orders", "order").click()
    page.locator("#searchbar").fill(order.number)
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=order.number).click()
    status = page.locator(".field-status_display .readonly")
    expect(status).to_have_text("Paid")

    page.get_by_role("button", name="Mark preparing").click()
    expect(success_message(page)).to_have_text("1 order marked preparing.")
    expect(status).to_have_text("Preparing")

    page.goto("/admin/orders/order/kitchen/")
    card = page.locator(f"#order-{order.number}")
    expect(card).to_contain_text("2 \N{MULTIPLICATION SIGN} Nasi Goreng")
    card.get_by_role("button", name="Mark ready").click()
    expect(success_message(page)).to_have_text("1 order marked ready.")
    expect(card).to_contain_text("Ready")

    card.get_by_role("link", name=order.number).click()
    expect(status).to_have_text("Ready")
    page.get_by_role("button", name="Mark completed").click()
    expect(success_message(page)).to_have_text("1 order marked completed.")
    expect(status).to_have_text("Completed")
    expect(page.get_by_role("button", name=re.compile("^Mark "))).to_have_count(0)

    documents = page.locator(".field-invoice_link .readonly")
    expect(documents.get_by_role("link", name=invoice.number)).to_be_visible()
    with page.expect_download() as download_info:
        documents.get_by_role("link", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    fetched = page.request.get(documents.get_by_role("link", name="PDF").get_attribute("href"))
    assert (fetched.status, fetched.headers["content-type"]) == (200, "application/pdf")
    assert fetched.body()[:5] == b"%PDF-"

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    moves = order.events.filter(type=OrderEvent.Type.STATUS_CHANGED, actor_user=staff).order_by("id")
    assert list(moves.values_list("to_status", flat=True)) == ["preparing", "ready", "completed"]


# --- 3. a refund from the payments list -------------------------------------------------------------


def test_staff_refund_a_paid_order_and_a_credit_note_is_issued(page, shop, staff, rice):
    kept = paid_order(product=rice, quantity=1)
    order = paid_order(product=rice, quantity=3)
    payment = order.payments.get()
    log_in(page, staff)

    app_list_link(page, "payments", "payment").click()
    row = page.locator("#result_list tbody tr", has=page.get_by_text(payment.gateway_order_id, exact=True))
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label="Refund in full through the gateway")
    page.get_by_role("button", name="Go", exact=True).click()

    expect(success_message(page)).to_have_text(f"Refunded. {payment.gateway_order_id}: refunded")
    expect(row.locator("td.field-status")).to_have_text("Refunded")
    row.get_by_role("link", name=order.number, exact=True).click()
    expect(page.locator(".field-status_display .readonly")).to_have_text("Refunded")
    credit_note = CreditNote.objects.get(invoice__order=order)
    expect(page.locator(".field-invoice_link .readonly")).to_contain_text(
        f"Credit note {credit_note.number}, Rp 75.000"
    )

    assert credit_note.amount == order.total == 75_000
    assert Payment.objects.get(pk=payment.pk).status == "refunded"
    assert Order.objects.get(pk=kept.pk).status == OrderStatus.PAID
    assert not CreditNote.objects.filter(invoice__order=kept).exists()


# --- 4. a shopper pays on the mock gateway's page ------------------------------------------------


def test_shopper_pays_on_the_mock_page_and_the_api_shows_the_order_paid(page, shop, rice):
    shopper = UserFactory(email="shopper@example.com")
    order = place_order(user=shopper, items=[(rice, 2)])
    payment = payment_open(order=order)
    assert payment.redirect_url == f"{shop.url}/payments/mock/{payment.token}/"

    page.goto(payment.redirect_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.number}")
    expect(page.locator("#order-status")).to_have_text("Pending payment")
    page.get_by_label("Payment method").select_option("qris")
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.locator(".messages li.success")).to_have_text("The shop answered 200 (applied).")
    expect(page.locator("#transaction-status")).to_have_text("settlement")
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.get_by_text("This payment is closed.")).to_be_visible()

    tokens = page.request.post("/api/v1/auth/token/", data={"email": shopper.email, "password": PASSWORD})
    assert tokens.status == 200
    bearer = {"Authorization": f"Bearer {tokens.json()['access']}"}
    answer = page.request.get(f"/api/v1/orders/{order.number}/", headers=bearer)
    assert answer.status == 200
    body = answer.json()
    assert (body["status"], body["payment"]["status"], body["total"]) == ("paid", "settled", 50_000)
    assert body["invoice"]["number"] == Invoice.objects.get(order=order).number


# --- permissions in the browser --------------------------------------------------------------------


def test_kitchen_staff_without_menu_permissions_see_no_products(page, shop, rice):
    cook = UserFactory(email="cook@example.com", is_staff=True)
    cook.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    log_in(page, cook)

    expect(app_list_link(page, "orders", "order")).to_have_text("Orders")
    expect(app_list_link(page, "catalog", "product")).to_have_count(0)
    expect(page.locator("#content-main .app-catalog")).to_have_count(0)
    expect(page.locator("#dashboard caption")).to_have_text(["Orders placed today", "Kitchen"])
    response = page.goto("/admin/catalog/product/")
    assert response.status == 403


# --- 4. the kitchen board live -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _streams_notice_a_closed_page_soon(monkeypatch):
    """The live server is WSGI: a board's stream polls on a server thread that learns the page
    is gone only when a heartbeat fails to write. Short here, so no stream outlives its test
    (and its database)."""
    from orders import streams

    monkeypatch.setattr(streams, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(streams, "WSGI_HEARTBEAT_SECONDS", 0.3)


def test_the_kitchen_board_shows_a_new_paid_order_without_a_reload_and_beeps(page, shop, staff, rice):
    """The board's EventSource (kitchen/events/, the admin session) redraws the board when an
    order is paid; the page is the same document throughout (a marker set on it survives)."""
    log_in(page, staff)
    page.goto("/admin/orders/order/kitchen/")
    expect(page.locator("#kitchen-live")).to_have_text("Live")
    page.evaluate("window.sameDocument = true")
    expect(page.locator(".kitchen-order")).to_have_count(0)

    order = paid_order(product=rice)

    card = page.locator(f"#order-{order.number}")
    expect(card).to_contain_text("2 \N{MULTIPLICATION SIGN} Nasi Goreng")
    assert page.evaluate("window.sameDocument") is True
    assert page.evaluate("document.body.dataset.kitchenBeeps") == "1"

    page.goto("about:blank")  # the stream's thread ends at its next heartbeats
    time.sleep(1)
