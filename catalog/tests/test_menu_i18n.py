"""Menu names and descriptions per language (catalog/i18n.py): shown in the reader's
language (Accept-Language) with the Indonesian text when there is no English one, written
as the Indonesian text of record plus `*_en`, cached per language, frozen on an order in
the order's language."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog import i18n
from catalog.models import Category, OptionGroup, Product
from catalog.options import option_create, option_group_create, product_set_option_groups
from catalog.tests.factories import CategoryFactory, ProductFactory
from catalog.tests.test_admin import form_values, product_url
from conftest import bearer_client
from orders.placing import order_place

pytestmark = pytest.mark.django_db

API = "/api/v1/products/"
CATEGORIES_API = "/api/v1/categories/"
CART = "/api/v1/cart/"


@pytest.fixture
def menu():
    rice = CategoryFactory(name="Nasi", name_en="Rice dishes", slug="rice")
    nasi = ProductFactory(
        slug="nasi",
        name="Nasi Goreng",
        name_en="Fried Rice",
        description="Nasi goreng dengan telur.",
        description_en="Fried rice with an egg.",
        category=rice,
    )
    # No English: English readers see the Indonesian text.
    teh = ProductFactory(slug="teh", name="Es Teh", description="Teh manis dingin.", category=rice)
    spice = option_group_create(name="Tingkat pedas", name_en="Spice level", min_choices=1, max_choices=1)
    option_create(group=spice, name="Pedas", name_en="Spicy", slug="pedas")
    option_create(group=spice, name="Sedang", slug="sedang")  # no English name
    product_set_option_groups(product=nasi, groups=[spice])
    return {"rice": rice, "nasi": nasi, "teh": teh, "spice": spice}


def read(client, path: str, language: str, **params):
    response = client.get(path, params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    assert response["Content-Language"] == language
    return response


def texts(product: dict) -> tuple:
    groups = [(g["name"], [o["name"] for o in g["options"]]) for g in product["option_groups"]]
    return product["name"], product["description"], product["category"]["name"], groups


# --- reads -----------------------------------------------------------------------------------


def test_a_detail_speaks_the_readers_language_with_options(api_client, menu):
    english = read(api_client, f"{API}nasi/", "en").json()
    indonesian = read(api_client, f"{API}nasi/", "id").json()

    assert texts(english) == (
        "Fried Rice",
        "Fried rice with an egg.",
        "Rice dishes",
        [("Spice level", ["Spicy", "Sedang"])],
    )
    assert texts(indonesian) == (
        "Nasi Goreng",
        "Nasi goreng dengan telur.",
        "Nasi",
        [("Tingkat pedas", ["Pedas", "Sedang"])],
    )


def test_an_empty_english_text_reads_as_the_indonesian(api_client, menu):
    Product.objects.filter(pk=menu["nasi"].pk).update(name_en="", description_en=None)

    assert texts(read(api_client, f"{API}teh/", "en").json())[:2] == ("Es Teh", "Teh manis dingin.")
    assert texts(read(api_client, f"{API}nasi/", "en").json())[:2] == (
        "Nasi Goreng",
        "Nasi goreng dengan telur.",
    )


def test_the_list_speaks_the_readers_language_in_one_order_by_the_indonesian_name(api_client, menu):
    # "Es Teh" < "Nasi Goreng" in Indonesian; in English "Fried Rice" would come after
    # "Es Teh" too, but "Nasi Goreng"/"Fried Rice" must not move by language.
    ProductFactory(slug="bakso", name="Bakso", name_en="Meatball Soup", category=menu["rice"])

    english = read(api_client, API, "en", ordering="name").json()["results"]
    indonesian = read(api_client, API, "id", ordering="-name").json()["results"]

    assert [p["name"] for p in english] == ["Meatball Soup", "Es Teh", "Fried Rice"]
    assert [p["name"] for p in indonesian] == ["Nasi Goreng", "Es Teh", "Bakso"]


def test_search_finds_a_dish_by_either_languages_name(api_client, menu):
    def found(term: str, language: str) -> list[str]:
        return [p["slug"] for p in read(api_client, API, language, search=term).json()["results"]]

    assert found("goreng", "en") == ["nasi"]
    assert found("fried", "id") == ["nasi"]
    assert found("dingin", "en") == ["teh"]


def test_categories_speak_the_readers_language(api_client, menu):
    english = read(api_client, CATEGORIES_API, "en").json()
    indonesian = read(api_client, CATEGORIES_API, "id").json()

    rows = english["results"] if isinstance(english, dict) else english
    rows_id = indonesian["results"] if isinstance(indonesian, dict) else indonesian
    assert [c["name"] for c in rows] == ["Rice dishes"]
    assert [c["name"] for c in rows_id] == ["Nasi"]


def test_cart_lines_speak_the_readers_language(menu):
    client = bearer_client(UserFactory())
    added = client.post(f"{CART}items/", {"product": "nasi", "quantity": 1, "options": ["pedas"]})
    assert added.status_code == 201, added.content

    def line(language: str) -> tuple:
        item = read(client, CART, language).json()["items"][0]
        return item["product"]["name"], [(o["group"], o["name"]) for o in item["options"]]

    assert line("en") == ("Fried Rice", [("Spice level", "Spicy")])
    assert line("id") == ("Nasi Goreng", [("Tingkat pedas", "Pedas")])


# --- the response cache ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [API, f"{API}nasi/", CATEGORIES_API])
def test_the_cache_keeps_one_body_per_language(api_client, menu, settings, path):
    settings.CATALOG_CACHE = True
    first_id = read(api_client, path, "id")
    first_en = read(api_client, path, "en")
    hit_id = read(api_client, path, "id")  # from the cache now
    hit_en = read(api_client, path, "en")

    assert hit_id.content == first_id.content
    assert hit_en.content == first_en.content
    assert hit_id.content != hit_en.content
    assert b"Nasi" in hit_id.content
    assert b"Rice dishes" in hit_en.content
    for response in (first_id, first_en, hit_id, hit_en):
        assert "Accept-Language" in response["Vary"]
    assert hit_id["ETag"] != hit_en["ETag"]
    # An Indonesian validator never gets an English reader a 304 for the Indonesian body.
    again = api_client.get(path, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=hit_id["ETag"])
    assert again.status_code == 200
    assert (
        api_client.get(path, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=hit_en["ETag"]).status_code == 304
    )


def test_the_raw_row_rule_matches_the_models(menu):
    rows = {r["slug"]: r for r in Product.objects.values("slug", *i18n.columns("name"))}

    assert [i18n.text(rows["nasi"], "name", "en"), i18n.text(rows["nasi"], "name", "id")] == [
        "Fried Rice",
        "Nasi Goreng",
    ]
    assert i18n.text(rows["teh"], "name", "en") == "Es Teh"
    with translation.override("en"):
        assert i18n.text(rows["nasi"], "name") == menu["nasi"].name == "Fried Rice"


# --- writes ----------------------------------------------------------------------------------


def test_staff_write_the_indonesian_name_and_the_english_one_whatever_their_language(staff_client, menu):
    created = staff_client.post(
        API,
        {
            "name": "Soto Ayam",
            "name_en": "Chicken Soup",
            "description": "Soto kuning.",
            "description_en": "Yellow chicken soup.",
            "sku": "SOP-1",
            "category": "rice",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert created.status_code == 201, created.content
    assert (created.json()["name"], created.json()["description"]) == ("Chicken Soup", "Yellow chicken soup.")
    slug = created.json()["slug"]

    renamed = staff_client.patch(
        f"{API}{slug}/", {"name": "Soto Betawi"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert renamed.status_code == 200, renamed.content
    soup = Product.objects.get(sku="SOP-1")
    assert (soup.name_ind, soup.name_en, soup.description_ind) == (
        "Soto Betawi",
        "Chicken Soup",
        "Soto kuning.",
    )

    cleared = staff_client.patch(f"{API}{slug}/", {"name_en": ""}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert cleared.json()["name"] == "Soto Betawi"


def test_staff_create_and_rename_a_category_in_both_languages(staff_client, menu):
    created = staff_client.post(
        CATEGORIES_API,
        {"name": "Sup", "name_en": "Soups", "slug": "soups"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Soups"
    assert "name_en" not in created.json()  # written, not shown: `name` is the reader's

    staff_client.patch(f"{CATEGORIES_API}soups/", {"name": "Sop"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert Category.objects.values_list("name_ind", "name_en").get(slug="soups") == ("Sop", "Soups")


def test_the_admin_edits_both_languages(admin_client_staff, menu):
    teh = menu["teh"]
    values = form_values(admin_client_staff, product_url(teh), "product_form")
    assert (values["name_ind"], values["name_en"]) == ("Es Teh", "")
    values.update(name_ind="Es Teh Manis", name_en="Sweet Iced Tea", description_en="Cold and sweet.")

    response = admin_client_staff.post(product_url(teh), values)

    assert response.status_code == 302, response.content.decode()[:2000]
    teh.refresh_from_db()
    assert (teh.name_ind, teh.name_en, teh.description_ind, teh.description_en) == (
        "Es Teh Manis",
        "Sweet Iced Tea",
        "Teh manis dingin.",
        "Cold and sweet.",
    )
    page = admin_client_staff.get(product_url(teh)).content.decode()
    assert "Name (Indonesian)" in page
    assert "Name (English)" in page


def test_the_admin_finds_a_dish_by_either_name(admin_client_staff, menu):
    products = reverse("admin:catalog_product_changelist")
    for term in ("goreng", "fried"):
        listed = admin_client_staff.get(products, {"q": term}).context["cl"].result_list
        assert [p.slug for p in listed] == ["nasi"]


# --- orders ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "request_language", "expected"),
    [
        ("id", "en", ("Nasi Goreng", "Tingkat pedas", "Pedas")),
        ("", "en", ("Fried Rice", "Spice level", "Spicy")),
        ("en", "id", ("Fried Rice", "Spice level", "Spicy")),
    ],
)
def test_an_order_freezes_names_in_its_own_language(menu, account, request_language, expected):
    user = UserFactory(language=account)
    spicy = menu["spice"].options.get(slug="pedas")
    with translation.override(request_language):
        cart_add_item(user=user, product=menu["nasi"], quantity=1, options=[spicy.pk])
        order = order_place(user=user)

    line = order.lines.get()
    assert (line.product_name, line.options[0]["group"], line.options[0]["name"]) == expected
    assert order.language == (account or request_language)


# --- the migration -----------------------------------------------------------------------------


@pytest.fixture
def back_to_the_latest_migrations():
    """A migration test moves the database back; every later test needs every migration
    (later ones too: catalog 0010's version table) applied again, whatever the outcome."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_the_existing_text_into_the_indonesian_columns(back_to_the_latest_migrations):
    before, after = [("catalog", "0008_low_stock")], [("catalog", "0009_menu_translations")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    category = old.get_model("catalog", "Category").objects.create(name="Minuman", slug="minuman")
    old.get_model("catalog", "Product").objects.create(
        name="Es Teh", slug="es-teh", sku="ET-1", description="Dingin.", category=category
    )
    group = old.get_model("catalog", "OptionGroup").objects.create(name="Tambahan")
    old.get_model("catalog", "Option").objects.create(group=group, name="Es batu", slug="es-batu")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps

    def row(model: str, *fields: str) -> tuple:
        return new.get_model("catalog", model).objects.values_list(*fields).get()

    assert row("Category", "name_ind", "name_en") == ("Minuman", None)
    assert row("Product", "name_ind", "name_en", "description_ind", "description_en") == (
        "Es Teh",
        None,
        "Dingin.",
        None,
    )
    assert row("OptionGroup", "name_ind", "name_en") == ("Tambahan", None)
    assert row("Option", "name_ind", "name_en") == ("Es batu", None)
    assert OptionGroup.objects.get().name == "Tambahan"  # and the model reads it in English too
