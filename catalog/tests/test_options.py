"""Dish options and notes: the choice rules, prices with deltas from cart to order, line
merging, snapshots, option stock through the ledger, and the admin."""

from collections import Counter

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog import options as option_services
from catalog.models import Option, OptionGroup, Product, StockMovement
from catalog.stock import stock_audit
from catalog.tests.factories import ProductFactory
from catalog.tests.test_admin import form_values, product_url
from conftest import bearer_client, run_at_once
from orders import placing
from orders import services as order_services
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"
ITEMS = "/api/v1/cart/items/"
ORDERS = "/api/v1/orders/"


@pytest.fixture
def nasi():
    return ProductFactory(slug="nasi-goreng", name="Nasi Goreng", price=25_000, stock=20)


@pytest.fixture
def spice(nasi):
    group = option_services.option_group_create(name="Spice level", min_choices=1, max_choices=1, position=1)
    for i, (slug, delta) in enumerate([("mild", 0), ("hot", 0), ("level-3", 2_000)]):
        option_services.option_create(
            group=group, name=slug.replace("-", " ").title(), slug=slug, price_delta=delta, position=i
        )
    return group


@pytest.fixture
def extras(nasi, spice):
    group = option_services.option_group_create(name="Extras", min_choices=0, max_choices=2, position=2)
    option_services.option_create(group=group, name="Egg", slug="egg", price_delta=5_000)
    option_services.option_create(group=group, name="Crackers", slug="crackers", price_delta=3_000)
    option_services.option_create(group=group, name="Satay", slug="satay", price_delta=9_000, stock=3)
    option_services.product_set_option_groups(product=nasi, groups=[spice, group])
    return group


def opt(slug: str) -> Option:
    return Option.objects.get(slug=slug)


def add(client, **body):
    return client.post(ITEMS, {"product": "nasi-goreng", "quantity": 1, **body})


# --- the product shows its choices ----------------------------------------------------------


def test_product_api_lists_option_groups(api_client, extras):
    Option.objects.filter(slug="hot").update(is_active=False)
    body = api_client.get("/api/v1/products/nasi-goreng/").json()
    assert body["option_groups"] == [
        {
            "id": OptionGroup.objects.get(name_ind="Spice level").pk,
            "name": "Spice level",
            "min_choices": 1,
            "max_choices": 1,
            "options": [
                {"id": opt("mild").pk, "slug": "mild", "name": "Mild", "price_delta": 0, "available": True},
                {
                    "id": opt("level-3").pk,
                    "slug": "level-3",
                    "name": "Level 3",
                    "price_delta": 2000,
                    "available": True,
                },
            ],
        },
        {
            "id": extras.pk,
            "name": "Extras",
            "min_choices": 0,
            "max_choices": 2,
            "options": [
                {"id": opt("egg").pk, "slug": "egg", "name": "Egg", "price_delta": 5000, "available": True},
                {
                    "id": opt("crackers").pk,
                    "slug": "crackers",
                    "name": "Crackers",
                    "price_delta": 3000,
                    "available": True,
                },
                {
                    "id": opt("satay").pk,
                    "slug": "satay",
                    "name": "Satay",
                    "price_delta": 9000,
                    "available": True,
                },
            ],
        },
    ]


# --- the choice rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "Spice level: choose 1."),
        (["mild", "hot"], "Spice level: choose 1."),
        (["mild", "egg", "crackers", "satay"], "Extras: choose up to 2."),
        (["mild", "nope"], "No such option: nope."),
        (["mild", "mild"], "An option is listed twice."),
    ],
)
def test_a_choice_that_breaks_a_rule_is_400_naming_the_group(auth_client, user, extras, options, message):
    response = add(auth_client, options=options)
    assert response.status_code == 400
    assert message in response.json()["options"]
    assert not user.cart.items.exists() if hasattr(user, "cart") else True


def test_an_inactive_option_or_one_of_another_dish_is_refused(auth_client, extras):
    Option.objects.filter(slug="egg").update(is_active=False)
    other = option_services.option_group_create(name="Drink size", min_choices=0, max_choices=1)
    option_services.option_create(group=other, name="Large", slug="large", price_delta=2_000)

    inactive = add(auth_client, options=["mild", "egg"])
    foreign = add(auth_client, options=["mild", "large"])

    assert inactive.json() == {"options": ["Egg is not available."]}
    assert foreign.json() == {"options": ["Large is not a choice for Nasi Goreng."]}


@pytest.mark.parametrize("bad", [True, 1.5, None, {"id": 1}, "x" * 121])
def test_option_refs_are_ids_or_slugs_only(auth_client, extras, bad):
    assert add(auth_client, options=["mild", bad]).status_code == 400


# --- prices, merging, notes -----------------------------------------------------------------


def test_unit_price_is_price_plus_deltas_on_cart_and_order(auth_client, user, extras):
    response = add(auth_client, options=["level-3", opt("egg").pk], quantity=2, note="  no   onions ")
    assert response.status_code == 201
    line = response.json()["items"][0]
    assert (line["unit_price"], line["line_total"], line["note"]) == (32_000, 64_000, "no onions")
    assert [(o["group"], o["name"], o["price_delta"]) for o in line["options"]] == [
        ("Spice level", "Level 3", 2000),
        ("Extras", "Egg", 5000),
    ]

    order = auth_client.post(ORDERS, {}).json()
    assert (order["total"], order["lines"][0]["unit_price"], order["lines"][0]["note"]) == (
        64_000,
        32_000,
        "no onions",
    )
    assert order["lines"][0]["options"] == [
        {"group": "Spice level", "name": "Level 3", "price_delta": 2000},
        {"group": "Extras", "name": "Egg", "price_delta": 5000},
    ]


def test_same_choice_and_note_merge_another_is_another_line(auth_client, user, extras):
    add(auth_client, options=["mild", "egg", "crackers"])
    add(auth_client, options=["crackers", "egg", "mild"])  # same choice, other order
    add(auth_client, options=["mild", "egg"])
    add(auth_client, options=["mild", "egg"], note="extra sambal")
    body = auth_client.get(CART).json()
    assert [(len(i["options"]), i["note"], i["quantity"]) for i in body["items"]] == [
        (3, "", 2),
        (2, "", 1),
        (2, "extra sambal", 1),
    ]


@pytest.mark.parametrize(("note", "status"), [("x" * 140, 201), ("x" * 141, 400), ("bell\x07", 400)])
def test_note_is_plain_text_with_a_limit(auth_client, extras, note, status):
    assert add(auth_client, options=["mild"], note=note).status_code == status


def test_the_order_keeps_the_choice_as_it_was(user, extras):
    cart_add_item(
        user=user, product=Product.objects.get(slug="nasi-goreng"), quantity=1, options=["hot", "egg"]
    )
    order = placing.order_place(user=user)
    option_services.option_update(option=opt("egg"), name="Telur ceplok", price_delta=7_000)
    line = OrderLine.objects.get(order=order)
    assert (line.unit_price, line.options[1]["name"], line.options[1]["price_delta"]) == (30_000, "Egg", 5000)


# --- option availability and stock ----------------------------------------------------------


def test_an_option_taken_off_the_menu_after_adding_flags_the_line_and_blocks_checkout(
    auth_client, user, extras
):
    add(auth_client, options=["mild", "egg"])
    Option.objects.filter(slug="egg").update(is_active=False)

    line = auth_client.get(CART).json()["items"][0]
    assert (line["problem"], line["unit_price"]) == ("option_unavailable", None)

    response = auth_client.post(ORDERS, {})
    assert response.status_code == 409
    assert response.json()["products"] == [
        {"slug": "nasi-goreng", "name": "Nasi Goreng", "reason": "option_unavailable"}
    ]


def test_option_stock_is_taken_and_released_through_the_ledger(user, extras):
    nasi = Product.objects.get(slug="nasi-goreng")
    cart_add_item(user=user, product=nasi, quantity=2, options=["mild", "satay"])
    order = placing.order_place(user=user)
    assert opt("satay").stock == 1
    order_services.order_cancel(order=order, actor=order_services.Actor.of(user))

    ledger = StockMovement.objects.filter(option__slug="satay").order_by("id")
    assert list(ledger.values_list("reason", "quantity", "stock_after")) == [
        ("initial", 3, 3),
        ("sale", -2, 1),
        ("release_cancel", 2, 3),
    ]
    assert opt("satay").stock == 3
    assert stock_audit() == []


def test_short_option_stock_is_409_naming_it_and_changes_nothing(auth_client, user, extras):
    add(auth_client, options=["mild", "satay"], quantity=4)
    assert auth_client.get(CART).json()["items"][0]["problem"] == "insufficient_stock"

    response = auth_client.post(ORDERS, {})

    assert response.status_code == 409
    assert response.json()["products"] == [
        {"option": "satay", "name": "Satay", "requested": 4, "available": 3}
    ]
    assert (opt("satay").stock, Product.objects.get(slug="nasi-goreng").stock, Order.objects.count()) == (
        3,
        20,
        0,
    )


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_shoppers_racing_for_a_limited_option_never_oversell_it(extras):
    nasi = Product.objects.get(slug="nasi-goreng")
    clients = []
    for _ in range(8):
        shopper = UserFactory()
        cart_add_item(user=shopper, product=nasi, quantity=1, options=["mild", "satay"])
        clients.append(bearer_client(shopper))

    def checkout(client):
        return lambda: client.post(ORDERS, {}).status_code

    results = run_at_once([checkout(c) for c in clients])

    assert Counter(results) == {201: 3, 409: 5}
    assert (opt("satay").stock, Product.objects.get(slug="nasi-goreng").stock) == (0, 17)
    assert stock_audit() == []


# --- the admin ------------------------------------------------------------------------------


def test_admin_adds_a_group_with_options_and_attaches_it(admin_client_staff, nasi):
    add_url = reverse("admin:catalog_optiongroup_add")
    values = form_values(admin_client_staff, add_url, "optiongroup_form")
    values.update(
        {
            "name_ind": "Sauce",
            "min_choices": "1",
            "max_choices": "1",
            "position": "5",
            "options-0-name_ind": "Sambal",
            "options-0-slug": "sambal",
            "options-0-price_delta": "0",
            "options-0-position": "0",
            "options-0-is_active": "on",
            "options-0-stock": "10",
        }
    )
    assert admin_client_staff.post(add_url, values).status_code == 302
    group = OptionGroup.objects.get(name_ind="Sauce")
    sambal = group.options.get()
    assert (sambal.slug, sambal.stock) == ("sambal", 10)
    assert list(StockMovement.objects.filter(option=sambal).values_list("reason", "quantity")) == [
        ("initial", 10)
    ]

    page = form_values(admin_client_staff, product_url(nasi), "product_form")
    page["option_groups"] = str(group.pk)
    assert admin_client_staff.post(product_url(nasi), page).status_code == 302
    nasi.refresh_from_db()
    assert (nasi.has_options, list(nasi.option_groups.all())) == (True, [group])


def test_admin_changes_option_stock_only_by_adjustment(admin_client_staff, extras):
    url = reverse("admin:catalog_optiongroup_change", args=[extras.pk])
    values = form_values(admin_client_staff, url, "optiongroup_form")
    row = next(
        k.removesuffix("-id") for k, v in values.items() if k.endswith("-id") and v == str(opt("satay").pk)
    )
    values[f"{row}-adjust_stock"] = "5"
    values[f"{row}-stock"] = "999"  # disabled: ignored

    assert admin_client_staff.post(url, values).status_code == 302
    assert opt("satay").stock == 8
    assert stock_audit() == []


def test_admin_option_adjustment_below_zero_is_a_row_error_and_nothing_is_saved(admin_client_staff, extras):
    """The refusal comes from `option_stock_adjust` (the form reads no stock); the whole
    save is undone, the row's rename included, instead of a message beside a partial save."""
    url = reverse("admin:catalog_optiongroup_change", args=[extras.pk])
    values = form_values(admin_client_staff, url, "optiongroup_form")
    row = next(
        k.removesuffix("-id") for k, v in values.items() if k.endswith("-id") and v == str(opt("satay").pk)
    )
    values.update({f"{row}-name_ind": "Sate ayam", f"{row}-adjust_stock": "-5", "name_ind": "Tambahan"})

    response = admin_client_staff.post(url, values)

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    satay_form = next(f for f in formset.forms if f.instance.pk == opt("satay").pk)
    assert satay_form.errors == {"adjust_stock": ["There are 3 in stock; removing 5 would go below zero."]}
    assert (opt("satay").name, opt("satay").stock) == ("Satay", 3)
    extras.refresh_from_db()
    assert extras.name == "Extras"
    assert stock_audit() == []
