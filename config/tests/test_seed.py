from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import User
from catalog import demo_menu
from catalog.models import BundleItem, Category, Product, ProductPrice
from catalog.selectors import menu_products, product_queryset
from catalog.services import (
    category_deactivate,
    price_add,
    prices_switch_due,
    product_deactivate,
    product_update,
)
from catalog.stock import stock_set
from catalog.tests.factories import ProductFactory
from orders.models import PickupSlot, ShopSettings, Voucher, WeeklyHours

MENU_CATEGORIES = ["rice", "noodles", "snacks", "drinks", "desserts", "bundles"]
MENU_PRODUCTS = 40
MENU_PRICES = 46
NOTHING_NEW_HOURS = "Opening hours and pickup slots: nothing new."


def seed(*args: str, demo_accounts: bool = True) -> list[str]:
    """`manage.py seed`; the suite runs with DEBUG off, so the demo shoppers are asked for
    with --demo-accounts unless `demo_accounts` is False."""
    out = StringIO()
    call_command("seed", *args, *(["--demo-accounts"] if demo_accounts else []), stdout=out)
    return out.getvalue().splitlines()


DEMO_CHARGES = "Charges: PB1 10% on subtotal and 5% service, rounded to Rp 100; vouchers: 2 created."
NOTHING_NEW_CHARGES = "Charges: as staff set them; vouchers: 0 created."


def snapshot() -> dict[str, list[dict]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (User, Category, Product, BundleItem, ProductPrice, WeeklyHours, PickupSlot)
    }


def generated_skus() -> list[str]:
    return list(Product.objects.filter(sku__startswith="GEN-").order_by("sku").values_list("sku", flat=True))


def test_seed_creates_the_demo_menu(db):
    output = seed()

    # The slots depend on the time of day: orders/tests/test_pickup.py pins them down.
    assert output == [
        "Users: 2 created.",
        "Menu: 6 categories, 40 products, 46 prices created.",
        "Option groups: 2 created.",
        f"Opening hours: 8 weekly ranges, {PickupSlot.objects.count()} pickup slots created.",
        DEMO_CHARGES,
    ]
    assert WeeklyHours.objects.count() == 8
    charges = ShopSettings.objects.get()
    assert (
        charges.service_charge_bp,
        charges.tax_name,
        charges.tax_rate_bp,
        charges.tax_base,
        charges.rounding_unit,
    ) == (
        500,
        "PB1",
        1_000,
        "subtotal_and_service",
        100,
    )
    assert list(Voucher.objects.order_by("code").values_list("code", "kind", "value")) == [
        ("HEMAT10", "percent", 10),
        ("PERTAMA", "fixed", 15_000),
    ]
    assert list(Category.objects.order_by("position").values_list("slug", flat=True)) == MENU_CATEGORIES
    assert Product.objects.count() == MENU_PRODUCTS
    assert ProductPrice.objects.count() == MENU_PRICES
    assert menu_products().count() == MENU_PRODUCTS
    singles = Product.objects.filter(kind=Product.Kind.SINGLE)
    assert singles.count() == 35
    assert singles.filter(stock=0).count() == 0
    assert singles.filter(category__slug="bundles").count() == 0
    nasi_goreng = product_queryset().get(sku="RIC-001")
    # Indonesian of record, English beside it (catalog/i18n.py); the suite reads in English.
    assert (nasi_goreng.name_ind, nasi_goreng.category.name_ind) == ("Nasi Goreng Spesial", "Nasi")
    assert (nasi_goreng.name, nasi_goreng.slug, nasi_goreng.category.slug, nasi_goreng.stock) == (
        "Special Fried Rice",
        "nasi-goreng-spesial",
        "rice",
        40,
    )


def test_seed_bundles_cost_less_than_their_parts_now_and_after_scheduled_rises(db):
    seed()

    def price_against_parts(now):
        prices_switch_due(now=now)
        products = {p.sku: p for p in product_queryset()}
        return {
            p.sku: (
                p.current_price,
                sum(products[i.component.sku].current_price * i.quantity for i in p.bundle_items.all()),
            )
            for p in products.values()
            if p.is_bundle
        }

    assert price_against_parts(timezone.now()) == {
        "BDL-001": (27_000, 30_000),
        "BDL-002": (52_000, 58_000),
        "BDL-003": (50_000, 58_000),
        "BDL-004": (165_000, 187_000),
        "BDL-005": (30_000, 34_000),
    }
    assert price_against_parts(timezone.now() + timedelta(days=15)) == {
        "BDL-001": (27_000, 31_000),
        "BDL-002": (52_000, 58_000),
        "BDL-003": (50_000, 60_000),
        "BDL-004": (165_000, 191_000),
        "BDL-005": (30_000, 34_000),
    }
    bundles = Product.objects.filter(kind=Product.Kind.BUNDLE)
    assert set(bundles.values_list("stock", "category__slug")) == {(0, "bundles")}
    assert set(BundleItem.objects.values_list("component__kind", flat=True)) == {Product.Kind.SINGLE}


def test_seed_gives_nasi_goreng_a_price_history(db):
    seed()
    now = timezone.now()

    nasi_goreng = product_queryset().get(sku="RIC-001")
    history = list(nasi_goreng.prices.order_by("version").values_list("version", "amount", "valid_from"))

    assert [(version, amount) for version, amount, _ in history] == [(1, 20_000), (2, 23_000), (3, 25_000)]
    assert all(valid_from < now for _, _, valid_from in history)
    assert (nasi_goreng.current_price, nasi_goreng.current_price_version) == (25_000, 3)


def test_seed_schedules_a_price_rise_that_is_not_current_yet(db):
    seed()
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)

    scheduled = ProductPrice.objects.get(product__sku="DRK-001", version=2)
    es_teh = product_queryset().get(sku="DRK-001")
    prices_switch_due(now=scheduled.valid_from)
    es_teh_later = product_queryset().get(sku="DRK-001")

    assert scheduled.amount == 6_000
    assert scheduled.valid_from == midnight + timedelta(days=7)
    assert (es_teh.current_price, es_teh.current_price_version) == (5_000, 1)
    assert (es_teh_later.current_price, es_teh_later.current_price_version) == (6_000, 2)


def test_seed_twice_changes_nothing(db):
    seed()
    before = snapshot()

    output = seed()

    assert output == [
        "Users: 0 created.",
        "Menu: nothing new.",
        "Option groups: 0 created.",
        NOTHING_NEW_HOURS,
        NOTHING_NEW_CHARGES,
    ]
    assert snapshot() == before


def test_seed_keeps_what_staff_changed(db):
    seed()
    mie_ayam = Product.objects.get(sku="NOO-001")
    product_update(product=mie_ayam, name="Mie Ayam Jamur")
    stock_set(product=mie_ayam, value=3, expected=mie_ayam.stock, user=None)
    price_add(product=mie_ayam, amount=19_000)
    product_deactivate(product=Product.objects.get(sku="DSR-004"))
    category_deactivate(category=Category.objects.get(slug="desserts"))
    before = snapshot()

    assert seed() == [
        "Users: 0 created.",
        "Menu: nothing new.",
        "Option groups: 0 created.",
        NOTHING_NEW_HOURS,
        NOTHING_NEW_CHARGES,
    ]

    assert snapshot() == before
    mie_ayam = product_queryset().get(sku="NOO-001")
    assert (mie_ayam.name_ind, mie_ayam.stock, mie_ayam.current_price, mie_ayam.current_price_version) == (
        "Mie Ayam Jamur",
        3,
        19_000,
        2,
    )


def test_seed_recreates_a_product_staff_deleted(db):
    seed()
    Product.objects.get(sku="RIC-006").delete()

    output = seed()

    assert output == [
        "Users: 0 created.",
        "Menu: 0 categories, 1 product, 1 price created.",
        "Option groups: 0 created.",
        NOTHING_NEW_HOURS,
        NOTHING_NEW_CHARGES,
    ]
    nasi_kuning = product_queryset().get(sku="RIC-006")
    assert (
        nasi_kuning.slug,
        nasi_kuning.stock,
        nasi_kuning.current_price,
        nasi_kuning.current_price_version,
    ) == (
        "nasi-kuning",
        30,
        20_000,
        1,
    )
    assert Product.objects.count() == MENU_PRODUCTS


def test_seed_failure_leaves_nothing_behind(db, monkeypatch):
    broken = {
        "sku": "BAD-001",
        "name": "Free Lunch",
        "category": "rice",
        "description": "",
        "prices": [(0, 0)],
    }
    monkeypatch.setattr(demo_menu, "PRODUCTS", [*demo_menu.PRODUCTS, broken])

    with pytest.raises(ValidationError):
        seed()

    assert {name: rows for name, rows in snapshot().items() if rows} == {}


def test_seed_products_adds_exactly_that_many_priced_products(db):
    output = seed("--products", "250")

    assert output[0] == "Generating products: 250/250 (100%)"
    assert output[1:4] == [
        "Users: 2 created.",
        "Menu: 6 categories, 40 products, 46 prices created.",
        "Option groups: 2 created.",
    ]
    assert output[4].startswith("Opening hours: 8 weekly ranges, ")
    assert output[5] == DEMO_CHARGES
    assert output[6].startswith("Products: 250 generated in ")
    assert Product.objects.count() == MENU_PRODUCTS + 250
    assert generated_skus() == [f"GEN-{n:06d}" for n in range(1, 251)]
    generated = menu_products().filter(sku__startswith="GEN-")
    assert generated.count() == 250
    assert all(
        p.current_price is not None and p.current_price_version == 1 and p.stock > 0 for p in generated
    )
    assert set(generated.values_list("category__slug", flat=True)) == set(MENU_CATEGORIES) - {"bundles"}
    assert ProductPrice.objects.count() == MENU_PRICES + 250


def test_seed_products_twice_continues_the_numbering(db):
    seed("--products", "250")
    seed("--products", "250")

    generated = Product.objects.filter(sku__startswith="GEN-")
    assert generated_skus() == [f"GEN-{n:06d}" for n in range(1, 501)]
    assert len(set(generated.values_list("slug", flat=True))) == 500
    assert menu_products().filter(sku__startswith="GEN-").count() == 500


def test_seed_products_numbers_on_past_the_zero_padding(db):
    ProductFactory(sku="GEN-999999")
    ProductFactory(sku="GEN-1000000")
    ProductFactory(sku="GEN-SPECIAL")  # a staff product that only looks generated

    seed("--products", "2")

    assert generated_skus() == ["GEN-1000000", "GEN-1000001", "GEN-1000002", "GEN-999999", "GEN-SPECIAL"]
    assert Product.objects.get(sku="GEN-1000002").slug == "generated-dish-1000002"


def test_seed_products_reports_progress_by_tenths_when_not_a_terminal(db):
    out = StringIO()  # not a TTY: no bar redrawn with carriage returns

    call_command("seed", "--products", "2500", stdout=out)

    assert out.getvalue().startswith(
        "Generating products: 1000/2500 (40%)\n"
        "Generating products: 2000/2500 (80%)\n"
        "Generating products: 2500/2500 (100%)\n"
        "Users: no demo accounts (DEBUG is off; --demo-accounts creates them).\n"
    )
    assert "\r" not in out.getvalue()


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_seed_products_draws_a_bar_on_a_terminal(db):
    out = Terminal()

    call_command("seed", "--products", "2500", "--demo-accounts", stdout=out)

    bar, _, rest = out.getvalue().partition("\n")
    # tqdm's bar, redrawn in place: the last frame shows all 2500 done.
    assert bar.startswith("\rGenerating products:   0%|")
    assert "Generating products: 100%|" in bar.rsplit("\r", 1)[-1]
    assert "2500/2500" in bar.rsplit("\r", 1)[-1]
    assert rest.startswith("Users: 2 created.\n")


def test_seed_products_without_a_category_to_fill_changes_nothing(db):
    seed()
    for category in Category.objects.exclude(slug="bundles"):
        category_deactivate(category=category)
    before = snapshot()

    with pytest.raises(CommandError, match="Generated products need at least one category"):
        seed("--products", "10")

    assert snapshot() == before


def test_seed_refuses_a_negative_product_count(db):
    with pytest.raises(CommandError, match="--products takes a number of 0 or more"):
        seed("--products", "-1")

    assert Product.objects.count() == 0


def test_seed_creates_no_demo_account_with_debug_off(db, settings):
    """Issue 24 item 10: `manage.py seed` on a production site (DEBUG off) created
    budi@example.com and siti@example.com with the password printed in the README, so
        POST /api/v1/auth/token/ {"email": "budi@example.com", "password": "foodies-demo-123"}
    logged anyone in. Now they exist only with DEBUG on or --demo-accounts."""
    settings.DEBUG = False

    output = seed(demo_accounts=False)

    assert output[0] == "Users: no demo accounts (DEBUG is off; --demo-accounts creates them)."
    assert User.objects.count() == 0
    assert Product.objects.count() == MENU_PRODUCTS  # the rest of the demo shop is there


def test_seed_demo_accounts_without_debug_makes_shoppers_but_no_staff(db, settings):
    settings.DEBUG = False

    assert seed("--demo-accounts", demo_accounts=False)[0] == "Users: 2 created."

    assert list(User.objects.order_by("email").values_list("email", "is_staff")) == [
        ("budi@example.com", False),
        ("siti@example.com", False),
    ]
    assert User.objects.get(email="budi@example.com").check_password("foodies-demo-123")


def test_seed_creates_the_staff_account_only_with_debug_on(db, settings):
    settings.DEBUG = False
    seed()
    assert list(User.objects.values_list("email", "is_staff")) == [
        ("budi@example.com", False),
        ("siti@example.com", False),
    ]

    settings.DEBUG = True
    assert seed()[0] == "Users: 2 created."
    staff = User.objects.filter(is_staff=True).order_by("email")
    assert [(u.email, u.is_superuser, [g.name for g in u.groups.all()]) for u in staff] == [
        ("kitchen@example.com", False, ["Kitchen"]),
        ("staff@example.com", False, ["Manager"]),
    ]
    assert list(User.objects.filter(is_staff=False).values_list("email", "is_superuser")) == [
        ("budi@example.com", False),
        ("siti@example.com", False),
    ]


def test_seed_makes_the_staff_groups_again_after_a_flush(db, settings):
    """`reset_db` flushes every table, the groups the migration made included."""
    Group.objects.all().delete()
    settings.DEBUG = True
    seed()
    assert User.objects.get(email="staff@example.com").has_perm("orders.refund_order")
    kitchen = User.objects.get(email="kitchen@example.com")
    assert kitchen.has_perm("orders.change_order")
    assert not kitchen.has_perm("orders.cancel_order")


def test_seed_logins_only_prints(db, settings):
    settings.DEBUG = True

    output = seed("--logins")

    assert output == [
        "  Demo logins (password for all: foodies-demo-123):",
        "    shopper  budi@example.com  (Budi Santoso)",
        "    shopper  siti@example.com  (Siti Rahmawati)",
        "    staff    staff@example.com  (manager: menu, stock, orders, refunds, invoices)",
        "    staff    kitchen@example.com  (kitchen: orders and the kitchen board)",
    ]
    assert {name: rows for name, rows in snapshot().items() if rows} == {}
