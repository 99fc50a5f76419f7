"""The owner's reports: sales by day, hour and product, and the tax to remit, equal to the
sums over the period's orders and credit notes, in JSON and CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.roles import KITCHEN, MANAGER
from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from invoices.services import credit_note_issue
from invoices.tests.factories import pay
from orders.models import Order
from orders.shop_settings import shop_settings_update
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

SALES, TAX = "/api/v1/reports/sales/", "/api/v1/reports/tax/"


def jakarta(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour - 7, tzinfo=UTC)


@pytest.fixture
def manager(api_client):
    user = UserFactory(email="owner@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER))
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def month(user, settings, tmp_path):
    """PB1 10% on subtotal + 5% service. Paid: 20 Nov 10:00 (2 nasi: 57.750), 20 Nov 15:00
    (1 nasi + 1 teh: 34.650), 21 Nov 08:30 WIB (1 teh: 5.775; on 21 Nov in Jakarta though
    20 Nov in UTC); 1 Dec (outside). A credit note of 28.875 on the first, issued 22 Nov;
    one pending order (not sold)."""
    settings.PRIVATE_ROOT = tmp_path
    settings.MAX_UNPAID_ORDERS = 10
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000)
    nasi = ProductFactory(name="Nasi Campur", price=25_000, stock=50)
    teh = ProductFactory(name="Es Teh", price=5_000, stock=50)
    first = pay(place_order(user=user, items=[(nasi, 2)]), now=jakarta(20, 10), payment_method="qris")
    pay(place_order(user=user, items=[(nasi, 1), (teh, 1)]), now=jakarta(20, 15), payment_method="gopay")
    pay(place_order(user=user, items=[(teh, 1)]), now=jakarta(21, 8), payment_method="qris")
    pay(place_order(user=user, items=[(teh, 1)]), now=datetime(2026, 12, 1, 3, tzinfo=UTC))
    place_order(user=user, items=[(nasi, 1)])
    credit_note_issue(invoice=first, amount=28_875, reason="Cold", now=jakarta(22, 9))
    return first


def test_sales_by_day_equal_the_sums_over_the_orders(manager, month):
    response = manager.get(SALES, {"date_from": "2026-11-01", "date_to": "2026-11-30", "group": "day"})

    assert response.status_code == 200
    body = response.json()
    november = Order.objects.filter(paid_at__lt=datetime(2026, 11, 30, 17, tzinfo=UTC))
    assert body["orders"] == november.count() == 3
    assert (body["gross_sales"], body["service_charge"], body["tax"]) == (
        sum(o.subtotal for o in november),
        sum(o.service_charge for o in november),
        sum(o.tax for o in november),
    )
    assert body["rows"] == [
        {
            "key": "2026-11-20",
            "orders": 2,
            "gross_sales": 80_000,
            "discounts": 0,
            "service_charge": 4_000,
            "tax": 8_400,
            "packaging": 0,
            "refunds": 28_875,
            "net_sales": 51_125,
        },
        {
            "key": "2026-11-21",
            "orders": 1,
            "gross_sales": 5_000,
            "discounts": 0,
            "service_charge": 250,
            "tax": 525,
            "packaging": 0,
            "refunds": 0,
            "net_sales": 5_000,
        },
    ]
    assert (body["refunds"], body["net_sales"]) == (28_875, 56_125)


def test_sales_by_hour_product_and_payment_type(manager, month):
    query = {"date_from": "2026-11-20", "date_to": "2026-11-21"}

    hours = manager.get(SALES, {**query, "group": "hour"}).json()["rows"]
    products = manager.get(SALES, {**query, "group": "product"}).json()
    types = manager.get(SALES, {**query, "group": "payment_type"}).json()["rows"]

    assert [(r["key"], r["orders"]) for r in hours] == [("8", 1), ("10", 1), ("15", 1)]
    assert [(r["key"], r["orders"], r["gross_sales"]) for r in products["rows"]] == [
        ("Es Teh", 2, 10_000),
        ("Nasi Campur", 2, 75_000),
    ]
    assert products["orders"] == 3
    assert [(r["key"], r["orders"], r["tax"]) for r in types] == [("gopay", 1, 3_150), ("qris", 2, 5_775)]


def test_tax_report_is_collected_minus_credited(manager, month):
    response = manager.get(TAX, {"month": "2026-11"})

    assert response.json() == {
        "month": "2026-11",
        "tax_collected": 8_925,
        "tax_credited": 2_625,
        "tax_due": 6_300,
        "orders": 3,
        "credit_notes": 1,
    }
    assert manager.get(TAX, {"month": "2026-12"}).json()["tax_due"] == 525


def test_csv_by_query_or_accept(manager, month):
    by_query = manager.get(SALES, {"date_from": "2026-11-20", "date_to": "2026-11-21", "format": "csv"})
    by_accept = manager.get(TAX, {"month": "2026-11"}, HTTP_ACCEPT="text/csv")

    assert by_query["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(by_query.content.decode())))
    assert [(r["key"], r["tax"], r["net_sales"]) for r in rows] == [
        ("2026-11-20", "8400", "51125"),
        ("2026-11-21", "525", "5000"),
    ]
    assert by_accept.content.decode().splitlines() == [
        "month,tax_collected,tax_credited,tax_due,orders,credit_notes",
        "2026-11,8925,2625,6300,3,1",
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-11-30", "date_to": "2026-11-01"},
        {"date_from": "yesterday", "date_to": "2026-11-01"},
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "group": "week"},
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "format": "csv", "group": "week"},
    ],
)
def test_bad_queries_are_a_json_400(manager, query):
    response = manager.get(SALES, query)
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        # Found by schemathesis: DRF answers an unknown ?format= with a 404, and date() has no year 0.
        (SALES, {"date_from": "2026-11-01", "date_to": "2026-11-30", "format": "xlsx"}, "format"),
        (TAX, {"month": "2026-11", "format": "\u00bbx"}, "format"),
        (TAX, {"month": "0000-01"}, "month"),
    ],
)
def test_an_unknown_format_or_year_zero_is_a_400_naming_it(manager, path, query, field):
    response = manager.get(path, query)
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert field in response.json()


def test_reports_need_the_managers_permissions(api_client, month):
    cook = UserFactory(is_staff=True)
    cook.groups.add(Group.objects.get(name=KITCHEN))
    api_client.force_authenticate(cook)
    assert api_client.get(TAX, {"month": "2026-11"}).status_code == 403
    assert api_client.get(TAX, {"month": "2026-11", "format": "csv"}).json()["code"] == "permission_denied"


def test_the_admin_reports_page_shows_the_same_figures_and_a_chart(client, month):
    owner = UserFactory(email="boss@example.com", is_staff=True)
    owner.groups.add(Group.objects.get(name=MANAGER))
    cook = UserFactory(email="cook@example.com", is_staff=True)
    cook.groups.add(Group.objects.get(name=KITCHEN))
    url = "/admin/orders/shopsettings/reports/?date_from=2026-11-01&date_to=2026-11-30"

    client.force_login(owner)
    page = client.get(url)
    index = client.get("/admin/")
    client.force_login(cook)
    refused = client.get(url)

    assert page.status_code == 200
    assert (page.context["sales"]["net_sales"], page.context["tax"]["tax_due"]) == (56_125, 6_300)
    assert [(bar["label"], bar["value"]) for bar in page.context["bars"]] == [
        ("2026-11-20", 51_125),
        ("2026-11-21", 5_000),
    ]
    assert b'<svg id="sales-chart"' in page.content
    assert b"reports-link" in index.content
    assert refused.status_code == 403


def test_the_admin_exports_the_periods_orders_with_invoices_as_csv(client, month):
    owner = UserFactory(email="boss@example.com", is_staff=True)
    owner.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(owner)

    today = timezone.localdate()  # the orders were placed now (paid at the fixture's dates)
    period = {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()}
    response = client.get("/admin/orders/shopsettings/reports/orders.csv", period)
    bad = client.get("/admin/orders/shopsettings/reports/orders.csv", {"date_from": "x"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == Order.objects.count() == 5
    first = next(row for row in rows if row["number"] == month.order.number)
    assert (first["total"], first["tax"], first["service_charge"], first["invoice"], first["credited"]) == (
        "57750",
        "5250",
        "2500",
        month.number,
        "28875",
    )
    assert sum(int(row["total"]) for row in rows) == sum(o.total for o in Order.objects.all())
    assert bad.status_code == 400
