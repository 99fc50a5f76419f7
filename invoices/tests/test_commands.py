from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from invoices import pdf
from invoices.models import CreditNote, Invoice, InvoiceSequence
from invoices.services import credit_note_issue, invoice_render_pdf
from invoices.tests.factories import invoiced_order
from orders.models import Order

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def documents(user):
    product = ProductFactory(stock=20)
    invoices = [invoiced_order(user=user, items=[(product, 1)]) for _ in range(3)]
    note = credit_note_issue(invoice=invoices[0], amount=5_000)
    invoice_render_pdf(invoice=invoices[1])
    return invoices, note


def test_render_invoices_renders_the_missing_ones(documents):
    invoices, note = documents
    already = Invoice.objects.get(pk=invoices[1].pk).pdf.name

    output = run("render_invoices")

    lines = output.splitlines()
    # Not a terminal: a line per document (the bar is drawn on a terminal only).
    assert lines[0].startswith(f"1/3 {invoices[0].number} (")
    assert lines[1].startswith(f"2/3 {invoices[2].number} (")
    assert lines[2].startswith(f"3/3 {note.number} (")
    assert lines[3].startswith("Rendered 3 PDF(s) in")
    assert not Invoice.objects.filter(pdf="").exists()
    assert not CreditNote.objects.filter(pdf="").exists()
    assert Invoice.objects.get(pk=invoices[1].pk).pdf.name == already

    assert run("render_invoices") == "Every invoice and credit note has its PDF.\n"


def test_render_invoices_draws_a_bar_on_a_terminal(documents):
    invoices, note = documents
    out = Terminal()

    call_command("render_invoices", stdout=out, stderr=out)

    bar, _, rest = out.getvalue().partition("\n")
    # tqdm pads a redrawn line with spaces where the previous one was longer (timing decides).
    last = bar.rsplit("\r", 1)[-1].rstrip()
    assert last.startswith("100%|")
    assert "3/3 [" in last
    assert last.endswith(f"{note.number}]")
    assert invoices[0].number not in rest  # no line per document on a terminal
    assert rest.startswith("Rendered 3 PDF(s) in")


def test_render_invoices_force_rerenders_all(documents):
    invoices, _ = documents
    run("render_invoices")
    before = Invoice.objects.get(pk=invoices[1].pk).rendered_at

    output = run("render_invoices", "--force")

    assert "4/4" in output
    assert Invoice.objects.get(pk=invoices[1].pk).rendered_at > before


def test_render_invoices_reports_failures_and_goes_on(documents, monkeypatch):
    real = pdf.document_pdf
    invoices, _ = documents

    def fails_for_the_first(*, number, **kwargs):
        if number == invoices[0].number:
            raise OSError("disk full")
        return real(number=number, **kwargs)

    monkeypatch.setattr(pdf, "document_pdf", fails_for_the_first)
    out = StringIO()
    with pytest.raises(CommandError, match=f"1 PDF\\(s\\) failed: {invoices[0].number}"):
        call_command("render_invoices", stdout=out, stderr=out)
    assert f"{invoices[0].number}: OSError: disk full" in out.getvalue()
    assert list(Invoice.objects.filter(pdf="").values_list("number", flat=True)) == [invoices[0].number]


def test_reset_data_removes_invoices_their_files_and_series(
    settings, user, documents, private_root, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    run("render_invoices")
    assert len(list(private_root.rglob("*.pdf"))) == 4

    with django_capture_on_commit_callbacks(execute=True):
        output = run("reset_data")

    assert Invoice.objects.count() == CreditNote.objects.count() == InvoiceSequence.objects.count() == 0
    assert Order.objects.count() == 0
    assert list(private_root.rglob("*.pdf")) == []
    assert "Removed 3 invoices." in output
    assert "Removed 1 credit notes." in output
    assert "Removed 2 invoice sequences." in output
    assert Product.objects.exists()
    # Numbering starts again after a reset.
    assert invoiced_order(user=user, items=[(ProductFactory(), 1)]).serial == 1


def test_reset_data_keeps_invoices_when_refused(settings, documents):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        run("reset_data")
    assert (Invoice.objects.count(), CreditNote.objects.count()) == (3, 1)
