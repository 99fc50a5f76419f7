"""The menu CSV in the admin: export link and action, import upload -> preview -> apply."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from catalog.models import Product, ProductPrice, StockMovement
from catalog.stock import stock_adjust
from catalog.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/admin/catalog/product/"
EXPORT = PRODUCTS + "menu-csv/export/"
IMPORT = PRODUCTS + "menu-csv/import/"
HEADER = "sku,name,category,price,stock,exported_stock,active,track_stock,kind,listed"


@pytest.fixture
def nasi():
    rice = CategoryFactory(name="Rice", slug="rice")
    return ProductFactory(name="Nasi Goreng", sku="NG-1", category=rice, stock=10, price=25_000)


def staff_with(client, *codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
    )
    client.force_login(user)
    return user


def upload(text: str, **extra) -> dict:
    return {"file": SimpleUploadedFile("menu.csv", text.encode("utf-8-sig"), "text/csv"), **extra}


def counts() -> tuple[int, int]:
    return ProductPrice.objects.count(), StockMovement.objects.count()


def test_export_link_and_action_download_the_menu(admin_client_staff, nasi):
    ProductFactory(name="Es Teh", sku="ET-1", category=nasi.category, stock=4, price=5_000)

    page = admin_client_staff.get(PRODUCTS)
    whole = admin_client_staff.get(EXPORT)
    selected = admin_client_staff.post(
        PRODUCTS, {"action": "export_menu_csv", "_selected_action": [nasi.pk], "index": 0}
    )

    assert b'id="menu-csv-export"' in page.content
    assert b'id="menu-csv-import"' in page.content
    assert whole["Content-Type"] == "text/csv; charset=utf-8"
    header = HEADER.replace("name,", "name,name_en,")
    assert whole.content.decode().splitlines() == [
        header,
        "ET-1,Es Teh,,rice,5000,4,4,true,true,single,true",
        "NG-1,Nasi Goreng,,rice,25000,10,10,true,true,single,true",
    ]
    assert selected.content.decode().splitlines() == [
        header,
        "NG-1,Nasi Goreng,,rice,25000,10,10,true,true,single,true",
    ]


def test_upload_previews_then_apply_changes(admin_client_staff, nasi):
    text = f"{HEADER}\nNG-1,Nasi Goreng,rice,26000,12,10,true,true,single,true\n"
    before = counts()

    preview = admin_client_staff.post(IMPORT, upload(text))

    assert preview.status_code == 200
    assert preview.context["lines"] == [
        "line 2: NG-1: price 25000 -> 26000 (new version)",
        "line 2: NG-1: stock 10 -> 12 (adjustment +2 from the current stock)",
        "1 product(s) would change, 0 skipped.",
    ]
    assert b'id="menu-csv-confirm"' in preview.content
    assert counts() == before

    stock_adjust(product=nasi, delta=-1, user=None)  # a sale between preview and apply: 9
    applied = admin_client_staff.post(IMPORT, {"text": text, "create": "", "apply": "Apply"})

    assert applied.status_code == 302
    nasi.refresh_from_db()
    assert (nasi.stock, nasi.current_price, nasi.current_price_version) == (12, 26_000, 2)
    assert StockMovement.objects.filter(product=nasi).first().quantity == 3  # from 9, the stock then


def test_bad_file_shows_line_errors_and_no_apply_button(admin_client_staff, nasi):
    before = counts()

    response = admin_client_staff.post(
        IMPORT, upload(f"{HEADER}\nNG-1,Nasi Goreng,rice,0,10,10,true,true,single,true\n")
    )

    assert response.context["lines"] == [
        "line 2: price must be a whole number from 1 to 1000000000000, not '0'",
        "1 error(s): nothing was changed.",
    ]
    assert b'id="menu-csv-confirm"' not in response.content
    assert counts() == before


def test_a_file_that_is_not_utf8_is_a_form_error(admin_client_staff, nasi):
    response = admin_client_staff.post(
        IMPORT, {"file": SimpleUploadedFile("menu.csv", "sku,name\nNG-1,Nasi \xe9\n".encode("latin-1"))}
    )

    assert response.status_code == 200
    assert response.context["upload"].errors["file"] == [
        "The file is not UTF-8 text; save it from the spreadsheet as CSV UTF-8."
    ]


def test_import_needs_change_product_and_prices_need_the_price_permission(client, nasi):
    text = f"{HEADER}\nNG-1,Nasi Goreng,rice,26000,10,10,true,true,single,true\n"
    staff_with(client, "view_product")
    assert client.get(IMPORT).status_code == 403
    assert client.post(IMPORT, {"text": text, "apply": "Apply"}).status_code == 403
    assert client.get(EXPORT).status_code == 200

    staff_with(client, "view_product", "change_product")
    refused = client.post(IMPORT, {"text": text, "apply": "Apply"})
    created = client.post(
        IMPORT, {"text": "sku,name,category\nNEW-1,Sate,rice\n", "create": "on", "apply": "Apply"}
    )

    assert refused.context["lines"] == [
        "line 2: you may not change prices (catalog.add_productprice)",
        "1 error(s): nothing was changed.",
    ]
    assert created.status_code == 403
    assert Product.objects.get(pk=nasi.pk).current_price == 25_000
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_an_altered_confirmation_is_a_400_and_changes_nothing(admin_client_staff, nasi):
    before = counts()

    response = admin_client_staff.post(IMPORT, {"apply": "Apply"})

    assert response.status_code == 400
    assert counts() == before
