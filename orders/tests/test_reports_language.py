"""The admin's Reports page speaks the staff member's language (their profile's `language`):
headings, column names, the form and the chart's labels; the figures are the same."""

import re

import pytest
from django.contrib.auth.models import Group

from accounts.roles import MANAGER
from accounts.tests.factories import UserFactory
from orders.tests.test_reports import month  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

URL = "/admin/orders/shopsettings/reports/?date_from=2026-11-01&date_to=2026-11-30"

EXPECTED = {
    "id": [
        "Beranda",
        "Laporan",
        "Dari",
        "sampai",
        "per",
        '<option value="day" selected>Hari</option><option value="hour">Jam</option>'
        '<option value="product">Produk</option><option value="payment_type">Jenis pembayaran</option>',
        'value="Tampilkan"',
        "Pesanan dan faktur (CSV)",
        "Faktur dan nota kredit (CSV)",
        "<h2>Penjualan 1 Nov 2026 \u2013 30 Nov 2026</h2>",
        "<th>Hari</th><th>Pesanan</th><th>Penjualan kotor</th><th>Diskon</th><th>Biaya layanan</th>"
        "<th>Pajak</th><th>Kemasan</th><th>Pengembalian dana</th><th>Penjualan bersih</th>",
        'aria-label="Penjualan bersih per Hari"',
        "<title>2026-11-20: Rp 51.125</title>",
        "<h2>Pajak yang harus disetor, 2026-11</h2>",
        "Pajak terkumpul (3 pesanan lunas)",
        "Pajak dikreditkan (1 nota kredit)",
        "<th>Terutang</th>",
    ],
    "en": [
        "Home",
        "Reports",
        "From",
        "to",
        "by",
        '<option value="day" selected>Day</option><option value="hour">Hour</option>'
        '<option value="product">Product</option><option value="payment_type">Payment type</option>',
        'value="Show"',
        "Orders and invoices (CSV)",
        "Invoices and credit notes (CSV)",
        "<h2>Sales 1 Nov 2026 \u2013 30 Nov 2026</h2>",
        "<th>Day</th><th>Orders</th><th>Gross sales</th><th>Discounts</th><th>Service charge</th>"
        "<th>Tax</th><th>Packaging</th><th>Refunds</th><th>Net sales</th>",
        'aria-label="Net sales by Day"',
        "<title>2026-11-20: Rp 51.125</title>",
        "<h2>Tax to remit, 2026-11</h2>",
        "Tax collected (3 paid orders)",
        "Tax credited (1 credit notes)",
        "<th>Due</th>",
    ],
}


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_reports_page_speaks_the_staff_language(client, month, language):  # noqa: F811
    owner = UserFactory(is_staff=True, language=language)
    owner.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(owner)

    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en" if language == "id" else "id")

    assert page.status_code == 200
    html = re.sub(r">\s+<", "><", page.content.decode())
    missing = [text for text in EXPECTED[language] if text not in html]
    assert missing == []
    assert (page.context["sales"]["net_sales"], page.context["tax"]["tax_due"]) == (56_125, 6_300)
