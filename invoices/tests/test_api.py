"""The invoices API: owner-only lists and details, PDF downloads, the order's invoice."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from conftest import bearer_client
from invoices import pdf
from invoices.models import Invoice
from invoices.selectors import invoice_credited, invoice_get
from invoices.services import credit_note_issue
from invoices.tests.factories import invoiced_order, pdf_text
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

INVOICES = "/api/v1/invoices/"
BASE = "http://testserver"
NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


@pytest.fixture
def rice():
    return ProductFactory(name="Nasi Goreng Spesial", price=25_000, stock=1_000)


@pytest.fixture
def invoice(user, rice):
    return invoiced_order(user=user, items=[(rice, 2)], now=NOW)


def pdf_url(number: str) -> str:
    return f"{BASE}{INVOICES}{number}/pdf/"


def test_detail(auth_client, invoice):
    note = credit_note_issue(invoice=invoice, amount=20_000, reason="One plate was cold", now=NOW)

    response = auth_client.get(f"{INVOICES}{invoice.number}/")

    assert response.status_code == 200
    assert response.json() == {
        "number": "INV-2026-000001",
        "order_number": invoice.order.number,
        "issued_at": "2026-11-21T14:00:00+07:00",
        "total": 50_000,
        "currency": "IDR",
        "status": "partially_credited",
        "credited": 20_000,
        "pdf_url": pdf_url("INV-2026-000001"),
        "credit_notes": [
            {
                "number": note.number,
                "issued_at": "2026-11-21T14:00:00+07:00",
                "amount": 20_000,
                "currency": "IDR",
                "reason": "One plate was cold",
                "pdf_url": f"{BASE}{INVOICES}INV-2026-000001/credit-notes/CN-2026-000001/pdf/",
            }
        ],
    }


def test_list_is_own_newest_first_and_paginated(auth_client, user, rice, django_assert_num_queries):
    mine = [invoiced_order(user=user, items=[(rice, 1)], now=NOW + timedelta(minutes=i)) for i in range(5)]
    others = invoiced_order(user=UserFactory(), items=[(rice, 1)], now=NOW)
    for invoice in mine:
        credit_note_issue(invoice=invoice, amount=1_000)

    # user (JWT), count, page of invoices with their orders, their credit notes
    with django_assert_num_queries(4):
        response = auth_client.get(INVOICES)

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 5
    assert (body["next"], body["previous"]) == (None, None)
    assert [i["number"] for i in body["results"]] == [i.number for i in reversed(mine)]
    assert others.number not in {i["number"] for i in body["results"]}
    assert all(len(i["credit_notes"]) == 1 for i in body["results"])

    page = auth_client.get(f"{INVOICES}?page_size=2&page=2").json()
    assert [i["number"] for i in page["results"]] == [mine[2].number, mine[1].number]


def test_staff_see_every_invoice(staff_client, invoice, rice):
    other = invoiced_order(user=UserFactory(), items=[(rice, 1)], now=NOW + timedelta(hours=1))
    assert [i["number"] for i in staff_client.get(INVOICES).json()["results"]] == [
        other.number,
        invoice.number,
    ]
    assert staff_client.get(f"{INVOICES}{invoice.number}/").status_code == 200
    response = staff_client.get(f"{INVOICES}{invoice.number}/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_another_users_invoice_is_not_found(invoice):
    stranger = bearer_client(UserFactory())
    for path in ("", "pdf/", "credit-notes/CN-2026-000001/pdf/"):
        response = stranger.get(f"{INVOICES}{invoice.number}/{path}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert stranger.get(INVOICES).json()["count"] == 0
    assert Invoice.objects.get(pk=invoice.pk).pdf.name == ""  # nothing was rendered for them


def test_anonymous_callers_are_refused(api_client, invoice):
    for path in ("", f"{invoice.number}/", f"{invoice.number}/pdf/"):
        response = api_client.get(f"{INVOICES}{path}")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_unknown_numbers_are_not_found(auth_client, invoice):
    for path in (
        "INV-2026-999999/",
        "INV-2026-999999/pdf/",
        f"{'X' * 40}/",
        f"{invoice.number}/credit-notes/X/pdf/",
    ):
        response = auth_client.get(f"{INVOICES}{path}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"


def test_pdf_download_renders_once_then_streams_the_stored_file(auth_client, invoice, monkeypatch):
    response = auth_client.get(f"{INVOICES}{invoice.number}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}
    content = b"".join(response.streaming_content)
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (int(response["Content-Length"]), len(content)) == (stored.pdf_size, stored.pdf_size)
    assert "INV-2026-000001" in pdf_text(content)

    def must_not_render(**kwargs):
        raise AssertionError("a stored PDF is streamed, never rendered again")

    monkeypatch.setattr(pdf, "document_pdf", must_not_render)
    again = auth_client.get(f"{INVOICES}{invoice.number}/pdf/", HTTP_ACCEPT="application/pdf")
    assert again.status_code == 200
    assert b"".join(again.streaming_content) == content


def test_a_pdf_request_that_fails_still_answers_json(auth_client):
    response = auth_client.get(f"{INVOICES}INV-2026-000404/pdf/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_credit_note_pdf(auth_client, user, invoice, rice):
    note = credit_note_issue(invoice=invoice, amount=50_000, now=NOW)
    other_invoice = invoiced_order(user=user, items=[(rice, 1)], now=NOW)

    response = auth_client.get(f"{INVOICES}{invoice.number}/credit-notes/{note.number}/pdf/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="CN-2026-000001.pdf"'
    text = pdf_text(b"".join(response.streaming_content))
    assert "CN-2026-000001" in text
    assert "Full refund of invoice INV-2026-000001" in text
    # A credit note is found only under its own invoice.
    wrong = auth_client.get(f"{INVOICES}{other_invoice.number}/credit-notes/{note.number}/pdf/")
    assert wrong.status_code == 404


def test_pdf_query_budget(auth_client, invoice, django_assert_num_queries):
    auth_client.get(f"{INVOICES}{invoice.number}/pdf/")  # rendered now
    # user (JWT), the invoice (no snapshot, no credit notes: a download needs neither)
    with django_assert_num_queries(2):
        assert auth_client.get(f"{INVOICES}{invoice.number}/pdf/").status_code == 200


# --- the order shows its invoice ---------------------------------------------------------


def test_order_shows_its_invoice_once_paid(auth_client, user, rice):
    pending = place_order(user=user, items=[(rice, 1)])
    assert auth_client.get(f"/api/v1/orders/{pending.number}/").json()["invoice"] is None

    invoice = invoiced_order(user=user, items=[(rice, 1)])
    order = auth_client.get(f"/api/v1/orders/{invoice.order.number}/").json()
    assert order["invoice"] == {"number": invoice.number, "pdf_url": pdf_url(invoice.number)}


def test_an_order_action_answers_with_an_absolute_invoice_url(staff_client, user, rice, settings):
    """The schema promises a URI (the fuzzer found a bare path in the answer of an action)."""
    invoice = invoiced_order(user=user, items=[(rice, 1)])
    response = staff_client.post(f"/api/v1/orders/{invoice.order.number}/status/", {"status": "preparing"})
    assert response.status_code == 200
    assert response.json()["invoice"] == {"number": invoice.number, "pdf_url": pdf_url(invoice.number)}

    from orders.api.checkout import order_body  # a stored checkout answer: no request at hand

    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    assert (
        order_body(invoice.order)["invoice"]["pdf_url"]
        == f"https://shop.example.com{INVOICES}{invoice.number}/pdf/"
    )


def test_order_list_query_count_stays_flat_with_invoices(auth_client, user, rice, django_assert_num_queries):
    for _ in range(6):
        invoiced_order(user=user, items=[(rice, 1)])
    place_order(user=user, items=[(rice, 1)])
    # user (JWT), count, orders joined with their invoices, lines, events, payments
    with django_assert_num_queries(6):
        response = auth_client.get("/api/v1/orders/")
    invoices = [o["invoice"] for o in response.json()["results"]]
    assert invoices[0] is None
    assert all(i is not None for i in invoices[1:])


# --- the selectors behind the views -------------------------------------------------------


def test_invoice_get_sees_only_what_the_user_may(user, staff_user, invoice):
    assert invoice_get(user=user, number=invoice.number).pk == invoice.pk
    assert invoice_get(user=staff_user, number=invoice.number).pk == invoice.pk
    with pytest.raises(Invoice.DoesNotExist):
        invoice_get(user=UserFactory(), number=invoice.number)
    assert invoice_credited(invoice=invoice) == 0
    credit_note_issue(invoice=invoice, amount=1_500)
    credit_note_issue(invoice=invoice, amount=500)
    assert invoice_credited(invoice=invoice) == 2_000
