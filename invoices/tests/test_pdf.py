"""PDF rendering: content, storage, idempotency, races, and the fetcher that keeps WeasyPrint
away from anything but the project's own assets."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
import weasyprint
import weasyprint.pdf.fonts
from pypdf import PdfReader

from cart.services import cart_add_item
from catalog import options as option_services
from catalog.tests.factories import BundleFactory, ProductFactory
from config.money import rupiah
from invoices import pdf, services
from invoices.models import Invoice
from invoices.pdf import ASSETS_DIR, AssetOnlyFetcher, AssetRefused, html_to_pdf
from invoices.templatetags.invoice_format import shop_date, shop_datetime
from invoices.tests.factories import invoiced_order, pay, pdf_text
from orders.placing import order_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(user):
    rice = ProductFactory(name="Nasi Goreng Spesial", sku="RIC-001", price=25_000)
    tea = ProductFactory(name="Es Teh Manis", sku="DRK-001", price=5_000)
    combo = BundleFactory(name="Paket Hemat", components=[(rice, 1), (tea, 2)], price=30_000)
    return invoiced_order(user=user, items=[(rice, 2), (tea, 1), (combo, 3)], transaction_id="MID-TX-42")


def stored_pdfs(root) -> list:
    return sorted(root.rglob("*.pdf"))


def test_rupiah_format():
    assert [rupiah(n) for n in (0, 500, 25_000, 1_885_500)] == ["Rp 0", "Rp 500", "Rp 25.000", "Rp 1.885.500"]


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("2026-11-21T14:05:09+07:00", "21 Nov 2026, 14:05 WIB"),
        ("2026-01-02T08:00:00+08:00", "2 Jan 2026, 08:00 WITA"),
        ("2026-12-31T23:59:00+09:00", "31 Dec 2026, 23:59 WIT"),
        ("2026-05-01T03:04:00+00:00", "1 May 2026, 03:04 UTC"),
        ("2026-05-01T03:04:00+05:30", "1 May 2026, 03:04 UTC+05:30"),
        ("2026-05-01T03:04:00-03:00", "1 May 2026, 03:04 UTC-03:00"),
        (None, ""),
    ],
)
def test_dates_print_in_the_zone_they_were_frozen_in(value, printed):
    assert shop_datetime(value) == printed
    assert shop_date(value) == printed.split(",")[0]


def test_render_stores_a_valid_pdf_with_everything_printed(invoice, private_root):
    rendered = services.invoice_render_pdf(invoice=invoice)

    number = invoice.number
    assert rendered.pdf.name == f"invoices/{invoice.year}/{number}.pdf"
    content = (private_root / rendered.pdf.name).read_bytes()
    assert content.startswith(b"%PDF-")
    assert (rendered.pdf_sha256, rendered.pdf_size) == (hashlib.sha256(content).hexdigest(), len(content))
    assert rendered.rendered_at is not None
    assert Invoice.objects.filter(pk=invoice.pk, pdf_sha256=rendered.pdf_sha256).exists()
    assert len(PdfReader(BytesIO(content)).pages) == 1

    text = pdf_text(content)
    order = invoice.order
    for printed in (
        "INVOICE",
        number,
        order.number,
        "Nasi Goreng Spesial",
        "Es Teh Manis",
        "Paket Hemat",
        "1 \u00d7 Nasi Goreng Spesial (per bundle)",  # a multiplication sign
        "2 \u00d7 Es Teh Manis (per bundle)",
        order.customer_name,
        order.customer_email,
        "QRIS",
        "MID-TX-42",
        "Midtrans",
        "Subtotal Rp 145.000",
        "Total Rp 145.000",
        "Rp 25.000 Rp 50.000",
        "Rp 30.000 Rp 90.000",
        "WIB",
        "Page 1 of 1",
    ):
        assert printed in text, printed


def test_private_files_have_no_url(invoice):
    rendered = services.invoice_render_pdf(invoice=invoice)
    with pytest.raises(NotImplementedError):
        _ = rendered.pdf.url


def test_render_is_idempotent(invoice, monkeypatch):
    first = services.invoice_render_pdf(invoice=invoice)
    state = (first.pdf.name, first.pdf_sha256, first.rendered_at)

    def must_not_render(**kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(pdf, "document_pdf", must_not_render)
    stale = Invoice.objects.get(pk=invoice.pk)
    again = services.invoice_render_pdf(invoice=stale)
    assert (again.pdf.name, again.pdf_sha256, again.rendered_at) == state


def test_forced_render_replaces_the_file(invoice, private_root, django_capture_on_commit_callbacks):
    first = services.invoice_render_pdf(invoice=invoice)
    old_name, old_text = first.pdf.name, pdf_text((private_root / first.pdf.name).read_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        forced = services.invoice_render_pdf(invoice=Invoice.objects.get(pk=invoice.pk), force=True)

    assert forced.pdf.name != old_name
    assert stored_pdfs(private_root) == [private_root / forced.pdf.name]
    assert pdf_text((private_root / forced.pdf.name).read_bytes()) == old_text


@pytest.mark.skipif(
    weasyprint.pdf.fonts.harfbuzz_subset is None,
    reason="fontTools stamps the subset fonts with the time; libharfbuzz-subset0 renders byte for byte",
)
def test_a_rerender_is_byte_identical_with_harfbuzz_subset(invoice):
    first = services.invoice_render_pdf(invoice=invoice).pdf_sha256
    assert services.invoice_render_pdf(invoice=invoice, force=True).pdf_sha256 == first


def test_a_render_that_loses_a_race_leaves_the_winners_file(invoice, private_root, monkeypatch):
    real = pdf.document_pdf

    def racing(**kwargs):
        # Another worker renders and records its file while this one is still rendering.
        monkeypatch.setattr(pdf, "document_pdf", real)
        services.invoice_render_pdf(invoice=Invoice.objects.get(pk=invoice.pk))
        return b"%PDF-1.7 the loser's bytes"

    monkeypatch.setattr(pdf, "document_pdf", racing)
    result = services.invoice_render_pdf(invoice=invoice)

    winner = Invoice.objects.get(pk=invoice.pk)
    assert (result.pdf.name, result.pdf_sha256) == (winner.pdf.name, winner.pdf_sha256)
    assert stored_pdfs(private_root) == [private_root / winner.pdf.name]
    content = (private_root / winner.pdf.name).read_bytes()
    assert hashlib.sha256(content).hexdigest() == winner.pdf_sha256
    assert b"loser" not in content


def test_a_lost_file_is_rendered_again_on_open(invoice, private_root):
    rendered = services.invoice_render_pdf(invoice=invoice)
    (private_root / rendered.pdf.name).unlink()

    with services.invoice_pdf_open(invoice=Invoice.objects.get(pk=invoice.pk)) as file:
        content = file.read()

    assert content.startswith(b"%PDF-")
    assert stored_pdfs(private_root) == [private_root / rendered.pdf.name]
    assert Invoice.objects.get(pk=invoice.pk).pdf_sha256 == hashlib.sha256(content).hexdigest()


def test_customer_text_is_printed_as_text_never_as_markup(user, private_root):
    user.name = '<img src="http://127.0.0.1:9/x.png"> Ani & <b>Co</b>'
    user.save()
    invoice = invoiced_order(user=user, items=[(ProductFactory(name="<script>Es</script>"), 1)])
    rendered = services.invoice_render_pdf(invoice=invoice)
    text = pdf_text((private_root / rendered.pdf.name).read_bytes())
    assert '<img src="http://127.0.0.1:9/x.png"> Ani & <b>Co</b>' in text
    assert "<script>Es</script>" in text


def test_many_lines_flow_over_pages(settings, user, private_root):
    settings.CART_MAX_LINES = 60  # an order from a shop that allows long carts
    products = [ProductFactory(name=f"Menu item {i:02d}", price=1_000 + i) for i in range(60)]
    invoice = invoiced_order(user=user, items=[(p, 1) for p in products])
    content = (private_root / services.invoice_render_pdf(invoice=invoice).pdf.name).read_bytes()
    pages = len(PdfReader(BytesIO(content)).pages)
    text = pdf_text(content)
    assert pages >= 2
    assert f"Page {pages} of {pages}" in text
    assert all(f"Menu item {i:02d}" in text for i in range(60))
    assert f"Total {rupiah(sum(1_000 + i for i in range(60)))}" in text


# --- the restricted fetcher -------------------------------------------------------------


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b"p { color: red }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def test_fetcher_serves_the_projects_assets():
    response = AssetOnlyFetcher().fetch("foodies-asset:invoice.css")
    assert response.content_type == "text/css"
    assert response.read() == (ASSETS_DIR / "invoice.css").read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/invoice.css",
        "http://127.0.0.1:9/invoice.css",
        "file:///etc/passwd",
        f"file://{ASSETS_DIR / 'invoice.css'}",  # even the asset itself, by another scheme
        "data:text/css,p{color:red}",
        "foodies-asset:../models.py",
        "foodies-asset:/etc/passwd",
        "foodies-asset:missing.css",
        "ftp://example.com/x.css",
    ],
)
def test_fetcher_refuses_everything_else(url):
    with pytest.raises(AssetRefused):
        AssetOnlyFetcher().fetch(url)


def test_a_remote_stylesheet_stops_the_render_unfetched(http_server):
    base, hits = http_server
    html = f'<link rel="stylesheet" href="{base}/evil.css"><p>Invoice</p>'

    with pytest.raises(AssetRefused):
        html_to_pdf(html)
    assert hits == []

    # The same page with WeasyPrint's own fetcher does reach the server: the test can fail.
    weasyprint.HTML(string=html).write_pdf()
    assert hits == ["/evil.css"]


@pytest.mark.parametrize("src", ["file:///etc/hostname", "http://127.0.0.1:9/logo.png"])
def test_a_local_or_remote_image_stops_the_render(src):
    with pytest.raises(AssetRefused):
        html_to_pdf(f'<p>Invoice</p><img src="{src}">')


def test_the_invoice_prints_each_lines_options_and_note(user, private_root):
    """Issue 12's order: "Nasi Goreng, pedas level 3, extra telur, tanpa bawang"."""
    nasi = ProductFactory(name="Nasi Goreng", sku="RIC-001", price=25_000)
    spice = option_services.option_group_create(name="Tingkat pedas", min_choices=1, max_choices=1)
    option_services.option_create(group=spice, name="Pedas level 3", slug="pedas-level-3", price_delta=2_000)
    extras = option_services.option_group_create(name="Tambahan", min_choices=0, max_choices=3, position=1)
    option_services.option_create(group=extras, name="Extra telur", slug="extra-telur", price_delta=5_000)
    option_services.product_set_option_groups(product=nasi, groups=[spice, extras])
    cart_add_item(
        user=user, product=nasi, quantity=1, options=["pedas-level-3", "extra-telur"], note="tanpa bawang"
    )
    invoice = pay(order_place(user=user))

    assert invoice.snapshot["lines"][0]["options"] == [
        {"group": "Tingkat pedas", "name": "Pedas level 3", "price_delta": 2000},
        {"group": "Tambahan", "name": "Extra telur", "price_delta": 5000},
    ]
    services.invoice_render_pdf(invoice=invoice)
    invoice.refresh_from_db()
    text = pdf_text(invoice.pdf.read())
    assert "Tingkat pedas: Pedas level 3 (+Rp 2.000)" in text
    assert "Tambahan: Extra telur (+Rp 5.000)" in text
    assert "Note: tanpa bawang" in text
    assert "Rp 32.000" in text  # 25.000 + 2.000 + 5.000
