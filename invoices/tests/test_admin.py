"""Invoices in the admin: read-only pages, PDF downloads for staff, the re-render action,
and the link from an order's page."""

import pytest
from django.contrib.messages import ERROR, SUCCESS

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BundleFactory, ProductFactory
from invoices import pdf
from invoices.models import Invoice
from invoices.services import credit_note_issue, invoice_render_pdf
from invoices.tests.factories import invoiced_order, pdf_text

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/invoices/invoice/"


@pytest.fixture
def invoice(user):
    rice = ProductFactory(name="Nasi Goreng Spesial", price=25_000)
    combo = BundleFactory(name="Paket Hemat", components=[(rice, 2)], price=45_000)
    return invoiced_order(user=user, items=[(rice, 1), (combo, 1)])


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def test_changelist_and_search(admin_client_staff, invoice, user, django_assert_max_num_queries):
    other = invoiced_order(user=UserFactory(email="someone@example.com"), items=[(ProductFactory(), 1)])

    with django_assert_max_num_queries(8):
        response = admin_client_staff.get(CHANGELIST)

    page = response.content.decode()
    assert response.status_code == 200
    for shown in (invoice.number, invoice.order.number, user.email, "Rp 70.000", "Issued", other.number):
        assert shown in page
    assert f"{CHANGELIST}{invoice.pk}/pdf/" in page
    assert "Add invoice" not in page

    found = admin_client_staff.get(CHANGELIST, {"q": "someone@example.com"}).content.decode()
    assert other.number in found
    assert invoice.number not in found
    assert invoice.number in admin_client_staff.get(CHANGELIST, {"q": invoice.order.number}).content.decode()


def test_invoice_page_is_read_only_with_credit_notes(admin_client_staff, invoice):
    note = credit_note_issue(invoice=invoice, amount=5_000, reason="Late delivery")

    response = admin_client_staff.get(f"{CHANGELIST}{invoice.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    for shown in (
        note.number,
        "Rp 5.000",
        "Late delivery",
        "Paket Hemat",
        "2 x Nasi Goreng Spesial (per bundle)",
    ):
        assert shown in page
    assert f"/admin/invoices/invoice/credit-notes/{note.pk}/pdf/" in page
    assert 'name="_save"' not in page
    assert admin_client_staff.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client_staff.post(f"{CHANGELIST}{invoice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_staff_download_invoice_and_credit_note(admin_client_staff, invoice):
    note = credit_note_issue(invoice=invoice, amount=5_000)

    response = admin_client_staff.get(f"{CHANGELIST}{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert invoice.number in pdf_text(b"".join(response.streaming_content))

    response = admin_client_staff.get(f"{CHANGELIST}credit-notes/{note.pk}/pdf/")
    assert response.status_code == 200
    assert note.number in pdf_text(b"".join(response.streaming_content))

    assert admin_client_staff.get(f"{CHANGELIST}999999/pdf/").status_code == 404


def test_shoppers_cannot_download_from_the_admin(client, user, invoice):
    client.force_login(user)
    response = client.get(f"{CHANGELIST}{invoice.pk}/pdf/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_rerender_action(admin_client_staff, invoice, private_root, monkeypatch):
    note = credit_note_issue(invoice=invoice, amount=5_000)
    old = invoice_render_pdf(invoice=invoice).pdf.name

    response = admin_client_staff.post(
        CHANGELIST, {"action": "rerender_pdf", "_selected_action": [invoice.pk]}, follow=True
    )

    invoice.refresh_from_db()
    note.refresh_from_db()
    assert messages_of(response) == [(SUCCESS, "Re-rendered 1 invoice.")]
    assert invoice.pdf.name != old
    assert note.pdf.name == f"credit-notes/{note.year}/{note.number}.pdf"
    assert (private_root / note.pdf.name).exists()

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pdf, "document_pdf", broken)
    response = admin_client_staff.post(
        CHANGELIST, {"action": "rerender_pdf", "_selected_action": [invoice.pk]}, follow=True
    )
    assert messages_of(response) == [(ERROR, f"Failed: {invoice.number}: disk full")]
    assert Invoice.objects.get(pk=invoice.pk).pdf.name == invoice.pdf.name


def test_order_page_links_to_its_invoice(admin_client_staff, invoice):
    page = admin_client_staff.get(f"/admin/orders/order/{invoice.order_id}/change/").content.decode()
    assert f'<a href="{CHANGELIST}{invoice.pk}/change/">{invoice.number}</a>' in page
    assert f"{CHANGELIST}{invoice.pk}/pdf/" in page


def test_order_page_links_to_its_credit_notes(admin_client_staff, invoice):
    first = credit_note_issue(invoice=invoice, amount=5_000, reason="Late delivery")
    second = credit_note_issue(invoice=invoice, amount=7_000, reason="Cold soup")

    page = admin_client_staff.get(f"/admin/orders/order/{invoice.order_id}/change/").content.decode()

    for note, amount in ((first, "Rp 5.000"), (second, "Rp 7.000")):
        assert (
            f'Credit note <a href="{CHANGELIST}{invoice.pk}/change/">{note.number}</a>, {amount} '
            f'(<a href="{CHANGELIST}credit-notes/{note.pk}/pdf/">PDF</a>)'
        ) in page
    assert page.index(first.number) < page.index(second.number)
