"""The admin reads Indonesian for a staff member who chose it (issue 21): the apps', models'
and fields' names and the choice labels of accounts, cart, orders, payments and invoices are
translated (catalog's are the menu's own work)."""

import re

import pytest
from django.utils import translation

from accounts.models import User
from cart.models import Cart, CartItem
from catalog.tests.factories import ProductFactory
from invoices.models import CreditNote, Invoice, InvoiceStatus
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.pickup.models import PickupSlot, Weekday
from orders.shop_settings import ShopSettings, TaxBase
from orders.tests.factories import place_order
from orders.vouchers.models import Voucher
from payments.models import Payment, PaymentNotification, PaymentStatus

MODELS = [User, Cart, CartItem, Order, OrderLine, OrderEvent, PickupSlot, ShopSettings, Voucher, Payment, PaymentNotification, Invoice, CreditNote]  # fmt: skip
FIELDS = [(User, "email"), (Order, "customer_email"), (Order, "placed_at"), (OrderLine, "unit_price"), (ShopSettings, "tax_rate_bp"), (Payment, "gateway_order_id"), (Invoice, "issued_at"), (CartItem, "quantity")]  # fmt: skip
LABELS = [OrderStatus.PAID, OrderEvent.Type.REJECTED, OrderEvent.Actor.STAFF, PaymentStatus.PARTIAL_CHARGEBACK, InvoiceStatus.PARTIALLY_CREDITED, TaxBase.SUBTOTAL_AND_SERVICE, Weekday.FRIDAY, Voucher.Kind.FIXED]  # fmt: skip

EXPECTED = {
    "id": {
        "models": ["pengguna", "keranjang", "item keranjang", "pesanan", "baris pesanan", "peristiwa pesanan", "slot pengambilan", "pengaturan toko", "voucher", "pembayaran", "notifikasi pembayaran", "faktur", "nota kredit"],
        "fields": ["alamat e-mail", "e-mail pelanggan", "dipesan pada", "harga satuan", "tarif pajak (basis poin)", "ID pesanan di gateway", "diterbitkan pada", "jumlah"],
        "labels": ["Dibayar", "Ditolak oleh toko", "Staf", "Ditarik kembali sebagian oleh bank (chargeback)", "Dikreditkan sebagian", "Subtotal dan biaya layanan", "Jumat", "Potongan rupiah"],
    },
    "en": {
        "models": ["users", "carts", "cart items", "orders", "order lines", "order events", "pickup slots", "shop settings", "vouchers", "payments", "payment notifications", "invoices", "credit notes"],
        "fields": ["email address", "customer email", "placed at", "unit price", "tax rate (basis points)", "gateway order id", "issued at", "quantity"],
        "labels": ["Paid", "Rejected by the shop", "Staff", "Partially charged back", "Partially credited", "Subtotal and service charge", "Friday", "Rupiah off"],
    },
}  # fmt: skip


@pytest.mark.parametrize("language", ["id", "en"])
def test_models_fields_and_choices_are_named_in_the_active_language(language):
    with translation.override(language):
        assert [str(model._meta.verbose_name_plural) for model in MODELS] == EXPECTED[language]["models"]
        assert [str(model._meta.get_field(name).verbose_name) for model, name in FIELDS] == EXPECTED[
            language
        ]["fields"]
        assert [str(choice.label) for choice in LABELS] == EXPECTED[language]["labels"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", ["<h1>Pilih pesanan untuk melihat</h1>", '<a href="/admin/orders/" class="section"', ">Pesanan</a>"]),
        ("en", ["<h1>Select order to view</h1>", '<a href="/admin/orders/" class="section"', ">Orders</a>"]),
    ],
)  # fmt: skip
def test_the_admin_speaks_the_staff_members_language(client, language, expected):
    staff = User.objects.create_superuser(email="owner@example.com", password="x-Secret-1", language=language)
    client.force_login(staff)

    page = client.get("/admin/orders/order/", HTTP_ACCEPT_LANGUAGE="en" if language == "id" else "id")
    index = client.get("/admin/")

    assert page.status_code == 200
    html = re.sub(r"\s+", " ", page.content.decode())
    assert [text for text in expected if text not in html] == []
    apps = re.sub(r"\s+", " ", index.content.decode())
    names = {"id": ["Akun", "Keranjang", "Faktur", "Pesanan", "Pembayaran"], "en": ["Accounts", "Cart", "Invoices", "Orders", "Payments"]}  # fmt: skip
    assert [name for name in names[language] if f">{name}</a>" not in apps] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", ['class="fieldset-heading">Profil</h2>', 'class="fieldset-heading">Hak akses</h2>', 'class="fieldset-heading">Tanggal</h2>', 'class="fieldset-heading">Pelanggan</h2>', 'class="fieldset-heading">Jumlah uang</h2>', "Secepatnya", "Buat slot jendela pemesanan"]),
        ("en", ['class="fieldset-heading">Profile</h2>', 'class="fieldset-heading">Permissions</h2>', 'class="fieldset-heading">Dates</h2>', 'class="fieldset-heading">Customer</h2>', 'class="fieldset-heading">Amounts</h2>', "As soon as possible", "Make the booking window's slots"]),
    ],
)  # fmt: skip
def test_admin_fieldsets_and_buttons_speak_the_staff_members_language(client, user, language, expected):
    staff = User.objects.create_superuser(email="owner@example.com", password="x-Secret-1", language=language)
    client.force_login(staff)
    order = place_order(user=user, items=[(ProductFactory(price=10_000), 1)])

    pages = [
        client.get(f"/admin/accounts/user/{user.pk}/change/"),
        client.get(f"/admin/orders/order/{order.pk}/change/"),
        client.get("/admin/orders/order/"),
        client.get("/admin/orders/pickupslot/"),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    html = re.sub(r"\s+", " ", " ".join(page.content.decode() for page in pages)).replace("&#x27;", "'")
    assert [text for text in expected if text not in html] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", ["1 x Nasi Goreng seharga Rp 25.000 = Rp 25.000", "2 x Nasi Goreng (per paket)", "Transaksi", "Dibayar pada", "melalui", "Buat ulang PDF (beserta nota kreditnya)", "Penjual", "Baris"]),
        ("en", ["1 x Nasi Goreng at Rp 25.000 = Rp 25.000", "2 x Nasi Goreng (per bundle)", "Transaction", "Paid at", " via ", "Re-render PDF (with its credit notes)", "Seller", "Lines"]),
    ],
)  # fmt: skip
def test_the_invoice_admin_speaks_the_staff_members_language(client, user, language, expected):
    """The invoice's lines and payment as the admin prints them, and its action and columns."""
    from catalog.tests.factories import BundleFactory
    from invoices.tests.factories import invoiced_order

    staff = User.objects.create_superuser(email="owner@example.com", password="x-Secret-1", language=language)
    client.force_login(staff)
    rice = ProductFactory(name="Nasi Goreng", price=25_000)
    invoice = invoiced_order(
        user=user, items=[(rice, 1), (BundleFactory(components=[(rice, 2)], price=45_000), 1)]
    )

    pages = [
        client.get(f"/admin/invoices/invoice/{invoice.pk}/change/"),
        client.get("/admin/invoices/invoice/"),
    ]

    assert [page.status_code for page in pages] == [200, 200]
    html = re.sub(r"\s+", " ", " ".join(page.content.decode() for page in pages)).replace("&#x27;", "'")
    assert [text for text in expected if text not in html] == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", ["Rupiah bulat.", "Yang lebih kecil tampil lebih dulu.", "Persen bulat (1-100) atau rupiah.", "SHA-256 dari byte yang diterima."]),
        ("en", ["Whole rupiah.", "Lower comes first.", "Whole percent (1-100) or rupiah.", "SHA-256 of the bytes received."]),
    ],
)  # fmt: skip
def test_the_admins_help_texts_are_in_the_active_language(language, expected):
    from catalog.models import Category, ProductPrice

    fields = [
        (ProductPrice, "amount"),
        (Category, "position"),
        (Voucher, "value"),
        (PaymentNotification, "body_sha256"),
    ]
    with translation.override(language):
        assert [str(model._meta.get_field(name).help_text) for model, name in fields] == expected
