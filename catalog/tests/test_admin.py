"""The catalog admin, driven like a browser: pages are fetched, their forms read back and
posted with a few fields changed, so hidden inputs and formset prefixes are the real ones."""

import io
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import UserFactory
from catalog.models import BundleItem, Category, Product, StockMovement
from catalog.tests.factories import BundleFactory, CategoryFactory, ProductFactory, ProductPriceFactory

pytestmark = pytest.mark.django_db

CATEGORIES = reverse("admin:catalog_category_changelist")
PRODUCTS = reverse("admin:catalog_product_changelist")
PRODUCT_ADD = reverse("admin:catalog_product_add")


def product_url(product: Product) -> str:
    return reverse("admin:catalog_product_change", args=[product.pk])


def category_url(category: Category) -> str:
    return reverse("admin:catalog_category_change", args=[category.pk])


class FormValues(HTMLParser):
    """The fields a browser would submit from the <form> with the given id (buttons and file
    inputs left out)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.values: dict[str, str] = {}
        self._inside = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "form":
            self._inside = attrs.get("id") == self.form_id
        elif not self._inside or "disabled" in attrs:
            return
        elif tag == "input" and "name" in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.values[attrs["name"]] = attrs.get("value") or "on"
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self.values[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select:
            # A browser sends the first option unless another one is selected.
            if "selected" in attrs or self._select not in self.values:
                self.values[self._select] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(client, url: str, form_id: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    parser = FormValues(form_id)
    parser.feed(response.content.decode())
    assert parser.values, f"no form {form_id!r} on {url}"
    return parser.values


def row_prefix(values: dict[str, str], pk: int, formset: str = "form") -> str:
    """The prefix of the formset row that edits the object with this pk."""
    return next(
        key.removesuffix("-id")
        for key, value in values.items()
        if re.fullmatch(rf"{formset}-\d+-id", key) and value == str(pk)
    )


def split_datetime(name: str, moment: datetime) -> dict[str, str]:
    """A datetime as the admin's separate date and time inputs take it (local time)."""
    moment = timezone.localtime(moment)
    return {f"{name}_0": moment.strftime("%Y-%m-%d"), f"{name}_1": moment.strftime("%H:%M:%S")}


def result_pks(response) -> set[int]:
    return {product.pk for product in response.context["cl"].result_list}


def prices_of(product: Product) -> list[tuple[int, int, datetime]]:
    return list(product.prices.order_by("version").values_list("version", "amount", "valid_from"))


def components_of(bundle: Product) -> list[tuple[int, int]]:
    return list(bundle.bundle_items.order_by("component_id").values_list("component_id", "quantity"))


def column(response, name: str) -> list[str]:
    """The text of one changelist column, top to bottom."""
    cells = re.findall(rf'<td class="field-{name}[^"]*">(.*?)</td>', response.content.decode(), re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


@pytest.fixture
def rice():
    return ProductFactory(name="Rice", sku="RICE-1", stock=7)


@pytest.fixture
def egg():
    return ProductFactory(name="Egg", sku="EGG-1", stock=20)


@pytest.fixture
def combo(rice, egg):
    return BundleFactory(name="Rice and egg", sku="COMBO-1", components=[(rice, 2), (egg, 1)])


# --- pages and access -----------------------------------------------------------------------


def test_category_pages_load(admin_client_staff):
    category = CategoryFactory()

    for url in (CATEGORIES, reverse("admin:catalog_category_add"), category_url(category)):
        assert admin_client_staff.get(url).status_code == 200


def test_product_pages_load(admin_client_staff, rice, combo):
    for url in (PRODUCTS, PRODUCT_ADD, product_url(rice), product_url(combo)):
        assert admin_client_staff.get(url).status_code == 200


def test_change_form_shows_components_only_for_a_bundle_and_no_stock_input(admin_client_staff, rice, combo):
    single = form_values(admin_client_staff, product_url(rice), "product_form")
    bundle = form_values(admin_client_staff, product_url(combo), "product_form")

    assert "bundle_items-TOTAL_FORMS" not in single
    assert single["stock"] == "7"
    assert bundle["bundle_items-INITIAL_FORMS"] == "2"
    assert "stock" not in bundle  # read-only: a bundle's stock is its components'
    assert "kind" not in bundle  # fixed once created


def test_product_and_category_cannot_be_deleted(admin_client_staff, rice):
    # Both are deactivated instead, as the API's DELETE does; prices are append-only.
    delete = reverse("admin:catalog_product_delete", args=[rice.pk])
    category_delete = reverse("admin:catalog_category_delete", args=[rice.category.pk])

    assert admin_client_staff.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client_staff.post(category_delete, {"post": "yes"}).status_code == 403
    assert Product.objects.filter(pk=rice.pk).exists()
    assert Category.objects.filter(pk=rice.category.pk).exists()


@pytest.mark.parametrize("url", [CATEGORIES, PRODUCTS, PRODUCT_ADD])
def test_non_staff_cannot_reach_the_admin(client, url):
    client.force_login(UserFactory(is_staff=False))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_cannot_run_an_action(client, rice):
    client.force_login(UserFactory(is_staff=False))

    response = client.post(PRODUCTS, {"action": "deactivate", "_selected_action": [rice.pk], "index": "0"})

    assert response.status_code == 302
    rice.refresh_from_db()
    assert rice.is_active is True


# --- categories -------------------------------------------------------------------------------


def test_category_list_is_ordered_by_position(admin_client_staff):
    third = CategoryFactory(name="Drinks", position=30)
    first = CategoryFactory(name="Mains", position=10)
    second = CategoryFactory(name="Sides", position=20)

    response = admin_client_staff.get(CATEGORIES)

    assert list(response.context["cl"].result_list) == [first, second, third]


def test_category_search_by_name(admin_client_staff):
    drinks = CategoryFactory(name="Drinks")
    CategoryFactory(name="Mains")

    response = admin_client_staff.get(CATEGORIES, {"q": "drink"})

    assert list(response.context["cl"].result_list) == [drinks]


def test_category_add_and_change(admin_client_staff):
    values = form_values(admin_client_staff, reverse("admin:catalog_category_add"), "category_form")
    values.update(name_ind="Desserts", slug="desserts", position="5", is_active="on")

    response = admin_client_staff.post(reverse("admin:catalog_category_add"), values)

    assert response.status_code == 302
    category = Category.objects.get(slug="desserts")
    assert (category.name, category.position, category.is_active) == ("Desserts", 5, True)

    values = form_values(admin_client_staff, category_url(category), "category_form")
    values.update(name_ind="Sweets", position="6")
    del values["is_active"]
    response = admin_client_staff.post(category_url(category), values)

    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.slug, category.position, category.is_active) == (
        "Sweets",
        "desserts",
        6,
        False,
    )


def test_category_add_refuses_a_taken_slug(admin_client_staff):
    CategoryFactory(name="Drinks", slug="drinks")
    values = form_values(admin_client_staff, reverse("admin:catalog_category_add"), "category_form")
    values.update(name_ind="Drinks too", slug="drinks")

    response = admin_client_staff.post(reverse("admin:catalog_category_add"), values)

    assert response.status_code == 200
    assert "Category with this Slug already exists." in response.content.decode()
    assert Category.objects.filter(slug="drinks").count() == 1


def test_category_list_edit_changes_position_and_active(admin_client_staff):
    mains = CategoryFactory(name="Mains", position=1, is_active=True)
    drinks = CategoryFactory(name="Drinks", position=2, is_active=True)
    values = form_values(admin_client_staff, CATEGORIES, "changelist-form")
    row = row_prefix(values, mains.pk)
    values[f"{row}-position"] = "9"
    del values[f"{row}-is_active"]

    response = admin_client_staff.post(CATEGORIES, {**values, "_save": "Save"})

    assert response.status_code == 302
    mains.refresh_from_db()
    drinks.refresh_from_db()
    assert (mains.position, mains.is_active) == (9, False)
    assert (drinks.position, drinks.is_active) == (2, True)


# --- product list: search, filters, columns, query budget ------------------------------------


def test_product_search_by_name_and_sku(admin_client_staff, rice, egg, combo):
    assert result_pks(admin_client_staff.get(PRODUCTS, {"q": "rice"})) == {rice.pk, combo.pk}
    assert result_pks(admin_client_staff.get(PRODUCTS, {"q": "EGG-1"})) == {egg.pk}


def test_product_filters_by_category_kind_and_active(admin_client_staff, rice, egg, combo):
    drinks = CategoryFactory(name="Drinks")
    tea = ProductFactory(name="Tea", category=drinks, is_active=False)

    def filtered(**params) -> set[int]:
        return result_pks(admin_client_staff.get(PRODUCTS, params))

    assert filtered(category__id__exact=drinks.pk) == {tea.pk}
    assert filtered(kind__exact="bundle") == {combo.pk}
    assert filtered(kind__exact="single") == {rice.pk, egg.pk, tea.pk}
    assert filtered(is_active__exact="0") == {tea.pk}
    assert filtered(is_active__exact="1") == {rice.pk, egg.pk, combo.pk}


def test_in_stock_filter_uses_a_bundles_computed_availability(admin_client_staff, rice, egg, combo):
    sold_out = ProductFactory(stock=0)
    one_rice = ProductFactory(stock=1)
    # Needs two of a component with one left: none can be made, though its component is in stock.
    short_bundle = BundleFactory(components=[(one_rice, 2)])

    yes = result_pks(admin_client_staff.get(PRODUCTS, {"in_stock": "yes"}))
    no = result_pks(admin_client_staff.get(PRODUCTS, {"in_stock": "no"}))

    assert yes == {rice.pk, egg.pk, combo.pk, one_rice.pk}
    assert no == {sold_out.pk, short_bundle.pk}


def test_product_list_shows_price_version_stock_and_availability(admin_client_staff, rice, egg, combo):
    ProductPriceFactory(
        product=rice, version=2, amount=12_500, valid_from=timezone.now() - timedelta(hours=1)
    )
    ProductPriceFactory(product=rice, version=3, amount=99_000, valid_from=timezone.now() + timedelta(days=1))
    unpriced = ProductFactory(name="Soup", price=False, stock=4)

    response = admin_client_staff.get(PRODUCTS)

    # Ordered by name: Egg, Rice, Rice and egg, Soup.
    assert list(response.context["cl"].result_list) == [egg, rice, combo, unpriced]
    assert column(response, "current_price") == ["Rp 10.000", "Rp 12.500", "Rp 10.000", "-"]
    assert column(response, "current_version") == ["1", "2", "1", "-"]
    # The rice's 7 units make 3 combos (2 each); the combo has no stock of its own.
    assert column(response, "available_units") == ["20", "7", "3", "4"]
    assert re.findall(r'name="form-\d+-stock" value="(\d+)"', response.content.decode()) == [
        "20",
        "7",
        "0",
        "4",
    ]


def test_product_changelist_query_count_does_not_grow(admin_client_staff, django_assert_max_num_queries):
    singles = ProductFactory.create_batch(30)
    for i in range(6):
        BundleFactory(components=[(singles[i], 1), (singles[i + 10], 2), (singles[i + 20], 3)])

    # Session, user, two counts, the page, the bundles' components, the category filter's
    # choices, and the time of the next scheduled price (cached after the first read).
    with django_assert_max_num_queries(8):
        response = admin_client_staff.get(PRODUCTS)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 36


def test_image_preview_on_the_change_form_and_in_the_list(admin_client_staff, rice):
    Product.objects.filter(pk=rice.pk).update(image="products/rice.png")

    page = admin_client_staff.get(product_url(rice)).content.decode()
    listing = admin_client_staff.get(PRODUCTS).content.decode()

    assert '<img src="/media/products/rice.png" alt="Rice" style="max-height: 15rem">' in page
    assert '<img src="/media/products/rice.png" alt="" style="height: 2.5rem">' in listing


# --- list edit of stock ------------------------------------------------------------------------


def test_list_edit_changes_stock(admin_client_staff, rice, egg, combo):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, rice.pk)}-stock"] = "15"

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"})

    assert response.status_code == 302
    assert dict(Product.objects.values_list("name", "stock")) == {"Rice": 15, "Egg": 20, "Rice and egg": 0}


def test_list_edit_refuses_stock_on_a_bundle_and_changes_nothing(admin_client_staff, rice, egg, combo):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, combo.pk)}-stock"] = "5"
    values[f"{row_prefix(values, rice.pk)}-stock"] = "15"

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"})

    assert response.status_code == 200
    assert "A bundle has no stock of its own" in response.content.decode()
    assert dict(Product.objects.values_list("name", "stock")) == {"Rice": 7, "Egg": 20, "Rice and egg": 0}


def test_list_edit_refuses_negative_stock(admin_client_staff, rice):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, rice.pk)}-stock"] = "-1"

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"})

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    rice.refresh_from_db()
    assert rice.stock == 7


# --- list edit of price -------------------------------------------------------------------------


def test_list_new_price_creates_the_next_version_and_leaves_the_other_rows(admin_client_staff, rice, egg):
    egg_movements = egg.stock_movements.count()
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    assert values[f"{row_prefix(values, rice.pk)}-new_price"] == ""
    values[f"{row_prefix(values, rice.pk)}-new_price"] = "12500"

    started = timezone.now()
    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["1 product was changed successfully."]
    after = prices_of(rice)
    assert [(version, amount) for version, amount, _ in after] == [(1, 10_000), (2, 12_500)]
    assert started <= after[1][2] <= timezone.now()
    rice.refresh_from_db()
    assert (rice.current_price, rice.current_price_version, rice.stock) == (12_500, 2, 7)
    assert [(version, amount) for version, amount, _ in prices_of(egg)] == [(1, 10_000)]
    assert egg.stock_movements.count() == egg_movements
    assert column(response, "current_price_display") == ["Rp 10.000", "Rp 12.500"]  # Egg, Rice


def test_list_new_price_on_a_bundle(admin_client_staff, rice, egg, combo):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, combo.pk)}-new_price"] = "18000"

    assert admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"}).status_code == 302

    combo.refresh_from_db()
    assert (combo.current_price, combo.current_price_version, combo.stock) == (18_000, 2, 0)
    assert [prices_of(p)[-1][:2] for p in (rice, egg)] == [(1, 10_000), (1, 10_000)]


def test_list_saved_with_no_price_typed_changes_nothing(admin_client_staff, rice, egg, combo):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    movements = list(StockMovement.objects.order_by("id").values_list("id", flat=True))

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == []
    assert [prices_of(p)[-1][:2] for p in (rice, egg, combo)] == [(1, 10_000), (1, 10_000), (1, 10_000)]
    assert list(StockMovement.objects.order_by("id").values_list("id", flat=True)) == movements


def test_list_new_price_and_stock_in_one_row(admin_client_staff, rice):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    prefix = row_prefix(values, rice.pk)
    values[f"{prefix}-new_price"] = "11000"
    values[f"{prefix}-stock"] = "9"

    assert admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"}).status_code == 302

    rice.refresh_from_db()
    assert (rice.current_price, rice.current_price_version, rice.stock) == (11_000, 2, 9)
    movement = rice.stock_movements.latest("id")
    assert (movement.reason, movement.quantity, movement.stock_after) == ("adjustment", 2, 9)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("0", "A price must be above zero."),
        ("-100", "A price must be above zero."),
        ("12.5", "Enter a whole number."),
        ("abc", "Enter a whole number."),
        (str(10**12 + 1), "Ensure this value is less than or equal to 1000000000000."),
    ],
)
def test_list_invalid_new_price_is_a_form_error_and_nothing_is_saved(
    admin_client_staff, rice, egg, typed, error
):
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, rice.pk)}-new_price"] = typed
    values[f"{row_prefix(values, egg.pk)}-stock"] = "25"  # a valid change beside it is not saved either

    response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert [prices_of(p)[-1][:2] for p in (rice, egg)] == [(1, 10_000), (1, 10_000)]
    assert dict(Product.objects.values_list("name", "stock")) == {"Rice": 7, "Egg": 20}


def test_list_new_price_while_the_stock_changed_elsewhere_keeps_that_stock(admin_client_staff, rice):
    """The price is set; the stock input, left alone, writes nothing over a sale made since."""
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, rice.pk)}-new_price"] = "11000"
    Product.objects.filter(pk=rice.pk).update(stock=4)  # a checkout took 3 meanwhile

    assert admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"}).status_code == 302

    rice.refresh_from_db()
    assert (rice.current_price, rice.stock) == (11_000, 4)


def test_list_without_change_permission_has_no_price_or_stock_inputs(client, rice):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(viewer)

    page = client.get(PRODUCTS)
    post = client.post(
        PRODUCTS,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(rice.pk),
            "form-0-new_price": "1",
            "_save": "Save",
        },
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "new_price" not in html
    assert 'name="form-0-stock"' not in html
    assert "column-new_price" not in html
    assert post.status_code == 403
    assert prices_of(rice)[-1][:2] == (1, 10_000)


# --- actions ------------------------------------------------------------------------------------


def run_action(client, action: str, products: list[Product], query: str = "", **extra) -> list[str]:
    """Run an admin action on the selected products; the messages shown afterwards."""
    data = {"action": action, "_selected_action": [p.pk for p in products], "index": "0", **extra}
    response = client.post(PRODUCTS + query, data, follow=True)
    assert response.redirect_chain == [(PRODUCTS + query, 302)]
    return [str(message) for message in response.context["messages"]]


def test_deactivate_and_activate_change_exactly_the_selected_rows(admin_client_staff, rice, egg, combo):
    tea = ProductFactory(name="Tea", is_active=False)

    assert run_action(admin_client_staff, "deactivate", [rice, combo, tea]) == ["2 products deactivated."]
    assert dict(Product.objects.values_list("name", "is_active")) == {
        "Rice": False,
        "Egg": True,
        "Rice and egg": False,
        "Tea": False,
    }

    assert run_action(admin_client_staff, "activate", [rice, egg]) == ["1 product activated."]
    assert dict(Product.objects.values_list("name", "is_active")) == {
        "Rice": True,
        "Egg": True,
        "Rice and egg": False,
        "Tea": False,
    }


def test_mark_sold_out_zeroes_the_selected_singles_only(admin_client_staff, rice, egg, combo):
    tea = ProductFactory(name="Tea", stock=3)

    messages = run_action(admin_client_staff, "mark_sold_out", [rice, combo, tea])

    assert messages == [
        "2 products marked sold out. 1 bundle left as it is: it sells out with its components."
    ]
    assert dict(Product.objects.values_list("name", "stock")) == {
        "Rice": 0,
        "Egg": 20,
        "Rice and egg": 0,
        "Tea": 0,
    }


def test_action_on_all_rows_of_a_filtered_list(admin_client_staff, rice, egg, combo):
    sold_out = ProductFactory(name="Tea", stock=0)
    query = "?in_stock=yes&kind__exact=single"

    messages = run_action(admin_client_staff, "deactivate", [rice], query, select_across="1")

    assert messages == ["2 products deactivated."]
    assert set(Product.objects.filter(is_active=False)) == {rice, egg}
    assert sold_out in Product.objects.filter(is_active=True)


# --- prices -------------------------------------------------------------------------------------


@pytest.fixture
def priced(rice):
    """Rice at version 1 (10,000, since yesterday) and version 2 (12,000, since an hour ago)."""
    ProductPriceFactory(
        product=rice, version=2, amount=12_000, valid_from=timezone.now() - timedelta(hours=1)
    )
    return rice


def test_adding_a_price_creates_the_next_version_and_keeps_the_old_ones(admin_client_staff, priced):
    before = prices_of(priced)
    values = form_values(admin_client_staff, product_url(priced), "product_form")
    values["new_prices-0-amount"] = "15000"

    started = timezone.now()
    response = admin_client_staff.post(product_url(priced), values)

    assert response.status_code == 302
    after = prices_of(priced)
    assert after[:2] == before
    assert [(version, amount) for version, amount, _ in after] == [(1, 10_000), (2, 12_000), (3, 15_000)]
    assert started <= after[2][2] <= timezone.now()  # empty "valid from" means now


def test_a_future_price_is_scheduled(admin_client_staff, priced):
    starts = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    values = form_values(admin_client_staff, product_url(priced), "product_form")
    values["new_prices-0-amount"] = "13000"
    values.update(split_datetime("new_prices-0-valid_from", starts))

    assert admin_client_staff.post(product_url(priced), values).status_code == 302

    assert prices_of(priced)[2] == (3, 13_000, starts)
    page = admin_client_staff.get(product_url(priced)).content.decode()
    statuses = re.findall(r'<td class="field-status">\s*<p>(\w+)</p>', page)
    assert statuses == ["scheduled", "current", "past"]  # newest version first


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_a_non_positive_price_is_a_form_error(admin_client_staff, priced, amount):
    before = prices_of(priced)
    values = form_values(admin_client_staff, product_url(priced), "product_form")
    values["new_prices-0-amount"] = amount

    response = admin_client_staff.post(product_url(priced), values)

    assert response.status_code == 200
    assert "A price must be above zero." in response.content.decode()
    assert prices_of(priced) == before


def test_a_backdated_price_is_a_form_error(admin_client_staff, priced):
    before = prices_of(priced)
    earlier = timezone.now() - timedelta(hours=2)
    values = form_values(admin_client_staff, product_url(priced), "product_form")
    values["new_prices-0-amount"] = "15000"
    values.update(split_datetime("new_prices-0-valid_from", earlier))

    response = admin_client_staff.post(product_url(priced), values)

    assert response.status_code == 200
    assert "A new price cannot start in the past." in response.content.decode()
    assert prices_of(priced) == before


def test_existing_versions_cannot_be_edited_or_deleted(admin_client_staff, priced):
    before = prices_of(priced)
    values = form_values(admin_client_staff, product_url(priced), "product_form")
    assert values["prices-INITIAL_FORMS"] == "2"
    assert not any(key.endswith(("-amount", "-DELETE")) and key.startswith("prices-") for key in values)
    # A forged post that tries anyway.
    values.update({"prices-0-amount": "1", "prices-0-DELETE": "on", "prices-1-amount": "1"})

    response = admin_client_staff.post(product_url(priced), values)

    assert response.status_code == 302
    assert prices_of(priced) == before


# --- adding and changing products and bundles -----------------------------------------------


def add_form(client, **fields) -> dict[str, str]:
    values = form_values(client, PRODUCT_ADD, "product_form")
    values.update(fields)
    return values


def test_add_a_single_product_with_an_image_and_a_price(admin_client_staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    category = CategoryFactory()
    png = io.BytesIO()
    Image.new("RGB", (2, 2)).save(png, "PNG")
    values = add_form(
        admin_client_staff,
        name_ind="Iced tea",
        slug="iced-tea",
        sku="TEA-1",
        category=str(category.pk),
        stock="12",
        **{"new_prices-0-amount": "8000"},
    )

    response = admin_client_staff.post(
        PRODUCT_ADD, {**values, "image": SimpleUploadedFile("tea.png", png.getvalue(), "image/png")}
    )

    assert response.status_code == 302
    tea = Product.objects.get(slug="iced-tea")
    assert (tea.name, tea.sku, tea.category, tea.kind, tea.stock, tea.is_active) == (
        "Iced tea",
        "TEA-1",
        category,
        "single",
        12,
        True,
    )
    assert tea.image.name.startswith("products/tea")
    assert (tmp_path / tea.image.name).exists()
    assert [(version, amount) for version, amount, _ in prices_of(tea)] == [(1, 8_000)]
    assert response["Location"] == PRODUCTS


def test_add_a_bundle_with_components(admin_client_staff, rice, egg):
    values = add_form(
        admin_client_staff,
        name_ind="Breakfast",
        slug="breakfast",
        sku="BRK-1",
        category=str(rice.category.pk),
        kind="bundle",
        stock="0",
        **{
            "bundle_items-TOTAL_FORMS": "2",
            "bundle_items-0-component": str(rice.pk),
            "bundle_items-0-quantity": "2",
            "bundle_items-1-component": str(egg.pk),
            "bundle_items-1-quantity": "3",
            "new_prices-0-amount": "25000",
        },
    )

    response = admin_client_staff.post(PRODUCT_ADD, values)

    assert response.status_code == 302
    bundle = Product.objects.get(slug="breakfast")
    assert (bundle.kind, bundle.stock) == ("bundle", 0)
    assert components_of(bundle) == sorted([(rice.pk, 2), (egg.pk, 3)])
    assert [(version, amount) for version, amount, _ in prices_of(bundle)] == [(1, 25_000)]


@pytest.mark.parametrize(
    ("kind", "stock", "with_components", "error"),
    [
        ("single", "0", True, "Only a bundle has components"),
        ("bundle", "0", False, "A bundle needs at least one component."),
        ("bundle", "5", True, "A bundle has no stock of its own"),
    ],
)
def test_add_view_refuses_an_inconsistent_product(
    admin_client_staff, rice, kind, stock, with_components, error
):
    fields = {"name_ind": "Odd", "slug": "odd", "sku": "ODD-1", "category": str(rice.category.pk)}
    fields.update(kind=kind, stock=stock)
    if with_components:
        fields.update({"bundle_items-0-component": str(rice.pk), "bundle_items-0-quantity": "1"})
    values = add_form(admin_client_staff, **fields)

    response = admin_client_staff.post(PRODUCT_ADD, values)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Product.objects.filter(slug="odd").exists()
    assert BundleItem.objects.count() == 0


def test_add_view_refuses_a_bundle_inside_a_new_bundle(admin_client_staff, rice, combo):
    before = BundleItem.objects.count()
    values = add_form(
        admin_client_staff,
        name_ind="Big combo",
        slug="big-combo",
        sku="BIG-1",
        category=str(rice.category.pk),
        kind="bundle",
        **{"bundle_items-0-component": str(combo.pk), "bundle_items-0-quantity": "1"},
    )

    response = admin_client_staff.post(PRODUCT_ADD, values)

    assert response.status_code == 200
    assert "A bundle cannot contain another bundle" in response.content.decode()
    assert not Product.objects.filter(slug="big-combo").exists()
    assert BundleItem.objects.count() == before


def test_change_a_bundles_components(admin_client_staff, rice, egg, combo):
    tea = ProductFactory(name="Tea")
    values = form_values(admin_client_staff, product_url(combo), "product_form")
    rice_row = row_prefix(values, combo.bundle_items.get(component=rice).pk, "bundle_items")
    egg_row = row_prefix(values, combo.bundle_items.get(component=egg).pk, "bundle_items")
    values.update(
        {
            f"{rice_row}-quantity": "3",
            f"{egg_row}-DELETE": "on",
            "bundle_items-2-component": str(tea.pk),
            "bundle_items-2-quantity": "1",
            "name_ind": "Rice and tea",
        }
    )

    response = admin_client_staff.post(product_url(combo), values)

    assert response.status_code == 302
    combo.refresh_from_db()
    assert (combo.name, combo.kind, combo.stock) == ("Rice and tea", "bundle", 0)
    assert components_of(combo) == sorted([(rice.pk, 3), (tea.pk, 1)])


def bundle_row_post(client, bundle: Product, component: Product, quantity: str = "1"):
    values = form_values(client, product_url(bundle), "product_form")
    values.update({"bundle_items-2-component": str(component.pk), "bundle_items-2-quantity": quantity})
    return client.post(product_url(bundle), values)


def test_a_bundle_inside_a_bundle_is_a_form_error(admin_client_staff, combo):
    other = BundleFactory(components=[(ProductFactory(), 1)])
    before = components_of(combo)

    response = bundle_row_post(admin_client_staff, combo, other)

    assert response.status_code == 200
    assert "A bundle cannot contain another bundle; pick single products." in response.content.decode()
    assert components_of(combo) == before


def test_a_bundle_containing_itself_is_a_form_error(admin_client_staff, combo):
    before = components_of(combo)

    response = bundle_row_post(admin_client_staff, combo, combo)

    assert response.status_code == 200
    assert "A bundle cannot contain itself." in response.content.decode()
    assert components_of(combo) == before


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_a_non_positive_component_quantity_is_a_form_error(admin_client_staff, combo, quantity):
    before = components_of(combo)

    response = bundle_row_post(admin_client_staff, combo, ProductFactory(), quantity)

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert components_of(combo) == before


def test_a_component_listed_twice_is_a_form_error(admin_client_staff, rice, combo):
    before = components_of(combo)

    response = bundle_row_post(admin_client_staff, combo, rice)

    assert response.status_code == 200
    assert "Please correct the duplicate data for component" in response.content.decode()
    assert components_of(combo) == before


def test_change_a_single_products_details_and_stock(admin_client_staff, rice):
    values = form_values(admin_client_staff, product_url(rice), "product_form")
    values.update(name_ind="Steamed rice", stock="3", description_ind="Plain.")

    response = admin_client_staff.post(product_url(rice), values)

    assert response.status_code == 302
    rice.refresh_from_db()
    assert (rice.name, rice.stock, rice.description, rice.kind) == ("Steamed rice", 3, "Plain.", "single")
    assert [(version, amount) for version, amount, _ in prices_of(rice)] == [(1, 10_000)]


@pytest.mark.postgres_only
def test_list_edit_locks_rows_in_primary_key_order_before_writing(admin_client_staff):
    """Checkout takes product locks in id order; a list edit saves rows in display order. The
    edit must lock every row it may write in id order first, or the two can deadlock."""
    first = ProductFactory(name="Zucchini", stock=5)  # lower id, shown last (name order)
    second = ProductFactory(name="Apple", stock=5)
    values = form_values(admin_client_staff, PRODUCTS, "changelist-form")
    values[f"{row_prefix(values, first.pk)}-stock"] = "7"
    values[f"{row_prefix(values, second.pk)}-stock"] = "8"

    with CaptureQueriesContext(connection) as queries:
        response = admin_client_staff.post(PRODUCTS, {**values, "_save": "Save"})

    assert response.status_code == 302
    sql = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, q in enumerate(sql) if "FOR UPDATE" in q and '"catalog_product"' in q)
    writes = [i for i, q in enumerate(sql) if q.startswith('UPDATE "catalog_product"')]
    assert len(writes) == 2
    assert lock < writes[0]
    assert re.search(r'SELECT "catalog_product"."id" AS "pk" .* ORDER BY 1 ASC FOR UPDATE', sql[lock])
    assert dict(Product.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "stock")) == {
        first.pk: 7,
        second.pk: 8,
    }
