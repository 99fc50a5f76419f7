"""The menu CSV import's report (the admin lists it, `manage.py menu_csv` prints it) is in
the active language: the staff member's in the admin, the shop's for the command. Column
names, SKUs and values stay as written in the file."""

import pytest
from django.utils import translation

from catalog.menu_csv import menu_import
from catalog.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = "sku,name,category,price,stock,exported_stock,active,track_stock,kind,listed"


@pytest.fixture
def menu():
    rice = CategoryFactory(name="Rice", slug="rice")
    ProductFactory(name="Nasi Goreng", sku="NG-1", category=rice, stock=10, price=25_000)


def report(language: str, *lines: str, **options) -> list[str]:
    with translation.override(language):
        return menu_import("\n".join([HEADER, *lines]) + "\n", dry_run=True, **options).report()


REPORTS = {
    "changes": {
        "id": [
            "baris 2: NG-1: harga 25000 -> 27000 (versi baru)",
            "baris 2: NG-1: stok 10 -> 12 (penyesuaian +2 dari stok saat ini)",
            "baris 2: NG-1: catatan: stok berubah sejak ekspor: 9 saat itu, 10 sekarang",
            "baris 3: NEW-1: produk baru 'Nasi Uduk' di rice, harga 20000, stok 5",
            "2 produk akan berubah, 0 dilewati.",
        ],
        "en": [
            "line 2: NG-1: price 25000 -> 27000 (new version)",
            "line 2: NG-1: stock 10 -> 12 (adjustment +2 from the current stock)",
            "line 2: NG-1: note: stock moved since the export: 9 then, 10 now",
            "line 3: NEW-1: new product 'Nasi Uduk' in rice, price 20000, stock 5",
            "2 product(s) would change, 0 skipped.",
        ],
    },
    "errors": {
        "id": [
            "baris 2: stock harus bilangan bulat dari 0 sampai 2000000000, bukan 'banyak'",
            "baris 2: active harus true atau false, bukan 'mungkin'",
            "baris 3: sku NG-1 juga ada di baris 2",
            "baris 4: tidak ada kategori dengan slug 'mie'",
            "4 kesalahan: tidak ada yang diubah.",
        ],
        "en": [
            "line 2: stock must be a whole number from 0 to 2000000000, not 'banyak'",
            "line 2: active must be true or false, not 'mungkin'",
            "line 3: sku NG-1 is also on line 2",
            "line 4: no category with the slug 'mie'",
            "4 error(s): nothing was changed.",
        ],
    },
    "skipped": {
        "id": ["baris 2: NEW-1: SKU tidak dikenal, dilewati (buat dengan --create)", "0 produk akan berubah, 1 dilewati."],
        "en": ["line 2: NEW-1: unknown SKU, skipped (create it with --create)", "0 product(s) would change, 1 skipped."],
    },
}  # fmt: skip


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_report_of_changes_is_in_the_active_language(menu, language):
    assert (
        report(language, "NG-1,,,27000,12,9,,,,", "NEW-1,Nasi Uduk,rice,20000,5,,,,,", create=True)
        == REPORTS["changes"][language]
    )


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_report_of_errors_is_in_the_active_language(menu, language):
    lines = ["NG-1,,,,banyak,,mungkin,,,", "NG-1,,,,,,,,,", "NEW-2,Mie,mie,1000,,,,,,"]
    assert report(language, *lines, create=True) == REPORTS["errors"][language]


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_report_of_skipped_lines_is_in_the_active_language(menu, language):
    assert report(language, "NEW-1,Nasi Uduk,rice,20000,5,,,,,") == REPORTS["skipped"][language]
