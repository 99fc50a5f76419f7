"""The admin's CSV of the invoices and credit notes issued in a period (shop time zone)."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from invoices.models import CreditNote, Invoice
from invoices.services import credit_note_issue
from invoices.tests.factories import pay
from orders.shop_settings import shop_settings_update
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

EXPORT = "/admin/invoices/invoice/export.csv"


def jakarta(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour - 7, tzinfo=UTC)


@pytest.fixture
def documents(user, settings, tmp_path):
    """PB1 10% on subtotal + 5% service. Invoiced 20 Nov 10:00 WIB (2 x 25.000: 57.750) and
    21 Nov 06:30 WIB (20 Nov in UTC; 1 x 5.000: 5.775) and 1 Dec (outside); a credit note of
    28.875 on the first, 22 Nov."""
    settings.PRIVATE_ROOT = tmp_path
    settings.MAX_UNPAID_ORDERS = 10
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000)
    nasi = ProductFactory(name="Nasi Campur", price=25_000, stock=50)
    teh = ProductFactory(name="Es Teh", price=5_000, stock=50)
    first = pay(place_order(user=user, items=[(nasi, 2)]), now=jakarta(20, 10))
    second = pay(place_order(user=user, items=[(teh, 1)]), now=datetime(2026, 11, 20, 23, 30, tzinfo=UTC))
    pay(place_order(user=user, items=[(teh, 1)]), now=datetime(2026, 12, 1, 3, tzinfo=UTC))
    note = credit_note_issue(invoice=first, amount=28_875, reason="Cold", now=jakarta(22, 9))
    return first, second, note


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_periods_invoices_and_credit_notes_in_issue_order(admin_client_staff, documents):
    first, second, note = documents

    response = admin_client_staff.get(EXPORT, {"date_from": "2026-11-20", "date_to": "2026-11-30"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-11-20-2026-11-30.csv"'
    rows = rows_of(response)
    assert [(r["document"], r["number"], r["issued_at"]) for r in rows] == [
        ("invoice", first.number, "2026-11-20T10:00:00+07:00"),
        ("invoice", second.number, "2026-11-21T06:30:00+07:00"),
        ("credit_note", note.number, "2026-11-22T09:00:00+07:00"),
    ]
    assert {k: rows[0][k] for k in ("subtotal", "service_charge", "tax", "total", "credited", "status")} == {
        "subtotal": "50000",
        "service_charge": "2500",
        "tax": "5250",
        "total": "57750",
        "credited": "28875",
        "status": "partially_credited",
    }
    assert (rows[0]["order"], rows[0]["customer_email"]) == (first.order.number, first.order.customer_email)
    assert {k: rows[2][k] for k in ("invoice", "order", "total", "tax", "reason", "subtotal")} == {
        "invoice": first.number,
        "order": first.order.number,
        "total": "28875",
        "tax": str(note.tax),
        "reason": "Cold",
        "subtotal": "",
    }
    assert rows[1]["total"] == "5775"


def test_a_day_is_the_shops_day(admin_client_staff, documents):
    _, second, _ = documents

    rows = rows_of(admin_client_staff.get(EXPORT, {"date_from": "2026-11-21", "date_to": "2026-11-21"}))

    assert [r["number"] for r in rows] == [second.number]  # 20 Nov in UTC, 21 Nov in Jakarta


def test_bad_dates_are_a_400_and_viewing_needs_the_invoice_permission(client, documents):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    other = UserFactory(is_staff=True)
    other.user_permissions.add(Permission.objects.get(codename="view_order"))

    client.force_login(viewer)
    bad = client.get(EXPORT, {"date_from": "x"})
    good = client.get(EXPORT, {"date_from": "2026-11-01", "date_to": "2026-12-31"})
    client.force_login(other)
    refused = client.get(EXPORT, {"date_from": "2026-11-01", "date_to": "2026-12-31"})

    assert bad.status_code == 400
    assert len(rows_of(good)) == Invoice.objects.count() + CreditNote.objects.count() == 4
    assert refused.status_code == 403
