"""Menu CSV export and import (catalog/menu_csv.py, `manage.py menu_csv`)."""

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.audit import catalog_audit
from catalog.menu_csv import menu_import
from catalog.models import Product, ProductPrice, StockMovement, StockReason
from catalog.stock import Why, stock_adjust, stock_audit, stock_take
from catalog.tests.factories import BundleFactory, CategoryFactory, ProductFactory
from catalog.version import catalog_version
from conftest import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit version bumps run

HEADER = "sku,name,category,price,stock,exported_stock,active,track_stock,kind,listed"
# Exports carry the English name too; imports may leave it out (HEADER).
EXPORT_HEADER = "sku,name,name_en,category,price,stock,exported_stock,active,track_stock,kind,listed"


@pytest.fixture
def menu():
    rice = CategoryFactory(name="Rice", slug="rice")
    drinks = CategoryFactory(name="Drinks", slug="drinks")
    nasi = ProductFactory(name="Nasi Goreng", sku="NG-1", category=rice, stock=10, price=25_000)
    teh = ProductFactory(name="Es Teh", sku="ET-1", category=drinks, stock=40, price=5_000)
    return {"rice": rice, "drinks": drinks, "nasi": nasi, "teh": teh}


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("menu_csv", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def tables() -> tuple:
    return (
        list(ProductPrice.objects.order_by("pk").values_list("pk", "product_id", "version", "amount")),
        list(StockMovement.objects.order_by("pk").values_list("pk", "product_id", "quantity", "reason")),
        list(Product.objects.order_by("pk").values_list("pk", "name", "stock", "current_price", "is_active")),
    )


def write(tmp_path, *lines: str):
    path = tmp_path / "menu.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_export_writes_every_product_by_sku(menu, tmp_path):
    path = tmp_path / "out.csv"
    code, out = run("export", str(path))

    assert (code, out) == (0, f"Exported 2 product(s) to {path}.\n")
    assert path.read_text(encoding="utf-8").splitlines() == [
        EXPORT_HEADER,
        "ET-1,Es Teh,,drinks,5000,40,40,true,true,single,true",
        "NG-1,Nasi Goreng,,rice,25000,10,10,true,true,single,true",
    ]


def test_import_makes_a_price_version_and_a_ledger_adjustment_and_the_audits_stay_clean(menu, tmp_path):
    nasi = menu["nasi"]
    version_before = catalog_version()
    path = write(
        tmp_path,
        "NG-1,Nasi Goreng Spesial,rice,27000,14,10,true,true,single,true",
        "ET-1,Es Teh,drinks,5000,40,40,true,true,single,true",
    )

    code, out = run("import", str(path))

    assert code == 0
    assert out.splitlines() == [
        "line 2: NG-1: name 'Nasi Goreng' -> 'Nasi Goreng Spesial'",
        "line 2: NG-1: price 25000 -> 27000 (new version)",
        "line 2: NG-1: stock 10 -> 14 (adjustment +4 from the current stock)",
        "1 product(s) changed, 0 skipped.",
    ]
    assert list(nasi.prices.order_by("version").values_list("version", "amount")) == [
        (1, 25_000),
        (2, 27_000),
    ]
    nasi.refresh_from_db()
    assert (nasi.name, nasi.stock, nasi.current_price, nasi.current_price_version) == (
        "Nasi Goreng Spesial",
        14,
        27_000,
        2,
    )
    last = StockMovement.objects.filter(product=nasi).first()
    assert (last.quantity, last.stock_after, last.reason, last.note) == (
        4,
        14,
        "adjustment",
        "Menu CSV import, line 2",
    )
    assert StockMovement.objects.filter(product=menu["teh"]).count() == 1  # its initial stock only
    assert stock_audit() == []
    assert catalog_audit() == []
    assert catalog_version() > version_before


def test_stock_that_moved_since_the_export_is_adjusted_from_the_current_value(menu, tmp_path):
    nasi, teh = menu["nasi"], menu["teh"]
    stock_adjust(product=nasi, delta=-3, user=None, note="sold at the counter")  # 10 -> 7
    stock_adjust(product=teh, delta=-5, user=None, note="spilt")  # 40 -> 35
    path = write(
        tmp_path,
        "NG-1,Nasi Goreng,rice,25000,20,10,true,true,single,true",  # restocked to 20 in the sheet
        "ET-1,Es Teh,drinks,5000,40,40,true,true,single,true",  # stock not edited in the sheet
    )

    code, out = run("import", str(path))

    assert code == 0
    assert out.splitlines() == [
        "line 2: NG-1: stock 7 -> 20 (adjustment +13 from the current stock)",
        "line 2: NG-1: note: stock moved since the export: 10 then, 7 now",
        "line 3: ET-1: note: stock moved since the export: 40 then, 35 now",
        "1 product(s) changed, 0 skipped.",
    ]
    assert Product.objects.get(pk=nasi.pk).stock == 20
    assert Product.objects.get(pk=teh.pk).stock == 35  # the spill is not undone
    assert StockMovement.objects.filter(product=nasi).first().quantity == 13
    assert stock_audit() == []


def test_bad_rows_are_reported_by_line_and_nothing_is_applied(menu, tmp_path):
    BundleFactory(name="Paket", sku="PK-1", category=menu["rice"], components=[(menu["nasi"], 1)])
    before = tables()
    path = write(
        tmp_path,
        "NG-1,Nasi Goreng,rice,30000,12,10,true,true,single,true",  # fine on its own
        "ET-1,Es Teh,soup,abc,-1,40,maybe,true,single,true",
        "NG-1,Nasi Goreng,rice,25000,10,10,true,true,single,true",
        "PK-1,Paket,rice,30000,5,0,true,true,bundle,true",
    )

    code, out = run("import", str(path))

    assert code == 1
    assert out.splitlines() == [
        "line 3: price must be a whole number from 1 to 1000000000000, not 'abc'",
        "line 3: stock must be a whole number from 0 to 2000000000, not '-1'",
        "line 3: active must be true or false, not 'maybe'",
        "line 3: no category with the slug 'soup'",
        "line 4: sku NG-1 is also on line 2",
        "line 5: stock: this product keeps no stock of its own (a bundle, or made to order)",
        "6 error(s): nothing was changed.",
    ]
    assert tables() == before


def test_a_refusal_while_applying_rolls_back_the_rows_before_it(menu, tmp_path):
    """A SKU too long for the column passes the file checks but is refused by the model's
    validation in `product_create`: the price and stock of the row before it are undone."""
    before = tables()
    sku = "X" * 65
    path = write(
        tmp_path,
        "NG-1,Nasi Goreng,rice,30000,12,10,true,true,single,true",
        f"{sku},Sate,rice,5000,3,,true,true,,",
    )

    code, out = run("import", str(path), "--create")

    assert code == 1
    assert out.splitlines() == [
        "line 3: Ensure this value has at most 64 characters (it has 65).",
        "1 error(s): nothing was changed.",
    ]
    assert tables() == before
    assert stock_audit() == []


def test_dry_run_prints_the_plan_and_changes_nothing(menu, tmp_path):
    before, version_before = tables(), catalog_version()
    path = write(tmp_path, "NG-1,Nasi Goreng,rice,26000,9,10,false,true,single,true")

    code, out = run("import", str(path), "--dry-run")

    assert code == 0
    assert out.splitlines() == [
        "line 2: NG-1: active true -> false",
        "line 2: NG-1: price 25000 -> 26000 (new version)",
        "line 2: NG-1: stock 10 -> 9 (adjustment -1 from the current stock)",
        "1 product(s) would change, 0 skipped.",
    ]
    assert tables() == before
    assert catalog_version() == version_before


def test_unknown_sku_is_skipped_unless_create(menu, tmp_path):
    path = write(tmp_path, "SAT-1,Sate Ayam,rice,30000,8,,true,true,,")

    skipped = run("import", str(path))
    assert skipped == (
        0,
        "line 2: SAT-1: unknown SKU, skipped (create it with --create)\n0 product(s) changed, 1 skipped.\n",
    )
    assert not Product.objects.filter(sku="SAT-1").exists()

    code, out = run("import", str(path), "--create")

    assert code == 0
    assert out.splitlines() == [
        "line 2: SAT-1: new product 'Sate Ayam' in rice, price 30000, stock 8",
        "1 product(s) changed, 0 skipped.",
    ]
    sate = Product.objects.get(sku="SAT-1")
    assert (sate.name, sate.slug, sate.category_id, sate.stock, sate.current_price, sate.listed) == (
        "Sate Ayam",
        "sate-ayam",
        menu["rice"].pk,
        8,
        30_000,
        True,
    )
    assert list(sate.stock_movements.values_list("quantity", "reason")) == [(8, "initial")]
    assert list(sate.prices.values_list("version", "amount")) == [(1, 30_000)]
    assert stock_audit() == []
    assert catalog_audit() == []


def test_a_file_with_only_some_columns_changes_only_those(menu):
    result = menu_import("sku,price\nET-1,6000\n")

    assert result.applied
    assert result.errors == []
    teh = Product.objects.get(pk=menu["teh"].pk)
    assert (teh.name, teh.stock, teh.current_price) == ("Es Teh", 40, 6_000)


def test_price_change_without_the_price_permission_is_a_row_error(menu):
    before = tables()

    result = menu_import("sku,price\nET-1,6000\n", may_price=False)

    assert not result.applied
    assert result.errors == [(2, "you may not change prices (catalog.add_productprice)")]
    assert tables() == before


def test_bad_header_is_refused(menu):
    result = menu_import("sku,prise\nET-1,6000\n")

    assert result.errors == [(1, "unknown column(s): prise; known: " + EXPORT_HEADER.replace(",", ", "))]


def test_the_audit_commands_stay_clean_after_an_import(menu, tmp_path):
    path = write(
        tmp_path,
        "NG-1,Nasi Goreng,rice,26000,3,10,false,true,single,true",
        "ET-1,Es Teh,rice,5500,45,40,true,true,single,true",
        "NEW-1,Sate,drinks,12000,6,,true,true,,",
    )
    code, out = run("import", str(path), "--create")
    assert code == 0, out

    stock = io.StringIO()
    call_command("stock_audit", stdout=stock)
    columns = io.StringIO()
    call_command("catalog_audit", stdout=columns)

    assert stock.getvalue() == "Stock matches the ledger for all 3 products.\n"
    assert columns.getvalue() == "The maintained catalog columns match their sources for all 3 products.\n"
    assert (Product.objects.get(sku="NG-1").listed, Product.objects.get(sku="ET-1").category_id) == (
        False,
        menu["rice"].pk,
    )


def test_export_to_standard_output_and_a_missing_file(menu, tmp_path):
    code, out = run("export", "-")

    assert code == 0
    assert out.splitlines()[0] == EXPORT_HEADER
    assert len(out.splitlines()) == 3
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("menu_csv", "import", str(tmp_path / "nope.csv"))


@pytest.mark.postgres_only
def test_an_import_racing_a_sale_never_loses_either(menu):
    """The import locks the rows and reads the stock under the lock: a sale of 2 racing an
    import that restocks to 30 ends at 28 (import first) or 30 (sale first, the import's
    adjustment then +22 from the 8 left), and the ledger sums to it either way."""
    outcomes = set()
    for round_ in range(4):
        rice = ProductFactory(sku=f"RACE-{round_}", category=menu["rice"], stock=10)
        text = f"sku,stock,exported_stock\nRACE-{round_},30,10\n"

        def sale(rice=rice):
            return stock_take(demand={rice.pk: 2}, why=Why(StockReason.SALE))

        def restock(text=text):
            return menu_import(text)

        _, result = run_at_once([sale, restock])

        assert result.applied, result.report()
        stock = Product.objects.get(pk=rice.pk).stock
        adjustment = StockMovement.objects.get(product=rice, reason="adjustment").quantity
        assert (stock, adjustment) in {(28, 20), (30, 22)}
        outcomes.add(stock)
    assert stock_audit() == []
    assert outcomes <= {28, 30}


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", [(1, "the header needs a sku column")]),
        ("name;price\nx;1\n", [(1, "the header needs a sku column")]),
        ('sku,price\nET-1,"60"00\n', [(2, "not valid CSV: ',' expected after '\"'")]),
        ("sku,price\nET-1,6000,7\n", [(2, "more cells than the header has columns")]),
        ("sku,price\n,6000\n", [(2, "sku is empty")]),
    ],
)
def test_malformed_files_are_reported_and_change_nothing(menu, text, errors):
    before = tables()

    result = menu_import(text)

    assert (result.errors, result.applied) == (errors, False)
    assert tables() == before
