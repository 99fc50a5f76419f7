"""Issue 23: cart add in at most 4 queries (an existing cart, a dish without options),
`Prefer: return=minimal`, and the limits under concurrent adds."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from cart.models import CartItem
from cart.services import cart_add_item
from cart.tests.factories import CartItemFactory
from catalog import options as option_services
from catalog.selectors import menu_products
from catalog.tests.factories import BundleFactory, ProductFactory
from conftest import bearer_client, run_at_once

ITEMS = "/api/v1/cart/items/"
CART = "/api/v1/cart/"
MINIMAL = {"HTTP_PREFER": "return=minimal"}


def lines(user) -> list[tuple[str, int, str]]:
    return list(
        CartItem.objects.filter(cart__user=user)
        .order_by("id")
        .values_list("product__slug", "quantity", "note")
    )


def is_transaction_control(sql: str) -> bool:
    return sql.startswith("BEGIN") or sql == "COMMIT"  # SQLite's is BEGIN IMMEDIATE


def queries_of(call) -> tuple[object, list[str]]:
    """The response and the SQL statements it ran, BEGIN and COMMIT aside; the round trips
    (every query sent, BEGIN and COMMIT included) go on `response.round_trips`. A
    transactional test (no test transaction around it), so what is counted is what
    production runs: no SAVEPOINTs. In the steady state: the due-price and sold-out checks
    have cached their next time (a product write forgets it; then one query)."""
    menu_products()
    with CaptureQueriesContext(connection) as captured:
        response = call()
    sent = [q["sql"] for q in captured.captured_queries]
    response.round_trips = sent
    statements = [part for q in sent for part in q.split(";\n")]  # the one-trip add sends two
    return response, [q for q in statements if not is_transaction_control(q)]


ONE_TRIP = connection.vendor == "postgresql"


@pytest.fixture
def shopper_with_cart(transactional_db):
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(slug="teh", stock=10))
    return user, bearer_client(user)


# --- query budgets ---------------------------------------------------------------------------


def check_add_statements(response, sql: list[str]) -> None:
    """User (token version), product, the cart's row lock, one upsert: four statements. On
    PostgreSQL the last two go in one round trip with no BEGIN or COMMIT (three round trips
    in all); elsewhere in a transaction (SQLite: BEGIN IMMEDIATE takes the write lock, there
    is no FOR UPDATE)."""
    assert len(sql) == 4, "\n".join(q[:120] for q in sql)
    assert sql[0].startswith('SELECT "accounts_user"')
    assert sql[1].startswith('SELECT "catalog_product"')
    assert sql[2].startswith("SELECT id FROM cart_cart WHERE user_id")
    assert ("FOR UPDATE" in sql[2]) == connection.features.has_select_for_update
    assert sql[3].lstrip().startswith("INSERT INTO cart_cartitem")
    trips = [q.split()[0] for q in response.round_trips]
    if ONE_TRIP:
        assert trips == ["SELECT", "SELECT", "SELECT"], trips
    else:
        assert trips == ["SELECT", "SELECT", "BEGIN", "SELECT", "INSERT", "COMMIT"], trips


def test_minimal_add_of_a_new_line_is_four_queries(shopper_with_cart):
    user, client = shopper_with_cart
    ProductFactory(slug="nasi", stock=10)
    response, sql = queries_of(lambda: client.post(ITEMS, {"product": "nasi", "quantity": 2}, **MINIMAL))
    assert (response.status_code, response.content) == (204, b"")
    assert response["Preference-Applied"] == "return=minimal"
    check_add_statements(response, sql)
    assert lines(user) == [("teh", 1, ""), ("nasi", 2, "")]


def test_minimal_add_to_an_existing_line_is_four_queries(shopper_with_cart):
    user, client = shopper_with_cart
    response, sql = queries_of(lambda: client.post(ITEMS, {"product": "teh", "quantity": 3}, **MINIMAL))
    assert response.status_code == 204
    check_add_statements(response, sql)
    assert lines(user) == [("teh", 4, "")]


def test_add_answering_the_cart_is_six_queries(shopper_with_cart):
    """The four of the add, then the cart: lines, then shop settings with the voucher's id."""
    _, client = shopper_with_cart
    ProductFactory(slug="nasi", price=25_000, stock=10)
    response, sql = queries_of(lambda: client.post(ITEMS, {"product": "nasi", "quantity": 2}))
    assert response.status_code == 201
    assert "Preference-Applied" not in response
    assert [(i["product"]["slug"], i["quantity"]) for i in response.json()["items"]] == [
        ("teh", 1),
        ("nasi", 2),
    ]
    assert len(sql) == 6, sql


def test_a_refused_add_takes_the_locked_path_and_changes_nothing(settings, shopper_with_cart):
    """The one trip gives no row; the add is tried again under the lock, and the limit named."""
    settings.CART_MAX_LINES = 1
    user, client = shopper_with_cart
    ProductFactory(slug="nasi", stock=10)
    response, _ = queries_of(lambda: client.post(ITEMS, {"product": "nasi"}, **MINIMAL))
    assert (response.status_code, response.json()["code"]) == (409, "cart_line_limit")
    assert lines(user) == [("teh", 1, "")]


def test_a_dish_with_options_is_added_under_the_lock_with_its_options(shopper_with_cart):
    _, client = shopper_with_cart
    group = option_services.option_group_create(name="Level", min_choices=1, max_choices=1, position=1)
    hot = option_services.option_create(group=group, name="Hot", slug="hot", price_delta=1_000)
    kopi = ProductFactory(slug="kopi", stock=10)
    option_services.product_set_option_groups(product=kopi, groups=[group])
    response, _ = queries_of(lambda: client.post(ITEMS, {"product": "kopi", "options": ["hot"]}, **MINIMAL))
    assert response.status_code == 204
    assert "BEGIN" in [q.split()[0] for q in response.round_trips]
    item = CartItem.objects.get(product=kopi)
    assert (item.options_key, list(item.options.all())) == (str(hot.pk), [hot])
    again = client.post(ITEMS, {"product": "kopi", "options": ["hot"]}, **MINIMAL)
    assert again.status_code == 204
    assert CartItem.objects.get(product=kopi).quantity == 2


def test_cart_read_is_three_queries_and_one_more_for_bundles(shopper_with_cart):
    """The user, the lines, the shop's charges with the cart voucher's id."""
    user, client = shopper_with_cart
    response, sql = queries_of(lambda: client.get(CART))
    assert response.status_code == 200
    assert len(sql) == 3, sql
    combo = BundleFactory(components=[(ProductFactory(stock=5), 1)])
    cart_add_item(user=user, product=combo, quantity=1)
    response, sql = queries_of(lambda: client.get(CART))
    assert len(response.json()["items"]) == 2
    assert len(sql) == 4, sql


# --- Prefer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefer",
    ["return=minimal", "RETURN=MINIMAL", 'respond-async, return="minimal"', "return=minimal; foo=bar"],
)
def test_prefer_return_minimal_spellings(auth_client, user, prefer):
    ProductFactory(slug="nasi", stock=10)
    response = auth_client.post(ITEMS, {"product": "nasi"}, HTTP_PREFER=prefer)
    assert (response.status_code, response.content, response["Preference-Applied"]) == (
        204,
        b"",
        "return=minimal",
    )
    assert lines(user) == [("nasi", 1, "")]


@pytest.mark.parametrize("prefer", [None, "return=representation", "handling=lenient", "return=minimalist"])
def test_without_return_minimal_the_cart_comes_back(auth_client, user, prefer):
    ProductFactory(slug="nasi", price=25_000, stock=10)
    headers = {"HTTP_PREFER": prefer} if prefer else {}
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 2}, **headers)
    assert response.status_code == 201
    assert "Preference-Applied" not in response
    assert (response.json()["item_count"], response.json()["subtotal"]) == (2, 50_000)


def test_minimal_add_still_answers_errors_with_a_body(settings, auth_client, user):
    settings.CART_MAX_UNITS_PER_PRODUCT = 3
    ProductFactory(slug="nasi", name="Nasi", stock=10)
    assert auth_client.post(ITEMS, {"product": "nasi", "quantity": 3}, **MINIMAL).status_code == 204
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 1, "note": "x"}, **MINIMAL)
    assert (response.status_code, response.json()["code"], response.json()["in_cart"]) == (
        409,
        "cart_product_limit",
        3,
    )
    unknown = auth_client.post(ITEMS, {"product": "nope"}, **MINIMAL)
    assert (unknown.status_code, unknown.json()) == (400, {"product": ['No product with slug "nope".']})


def test_a_full_line_is_refused_with_the_quantity_message(settings, auth_client, user):
    settings.CART_MAX_QUANTITY = 5
    ProductFactory(slug="nasi", stock=10)
    assert auth_client.post(ITEMS, {"product": "nasi", "quantity": 4}, **MINIMAL).status_code == 204
    response = auth_client.post(ITEMS, {"product": "nasi", "quantity": 2}, **MINIMAL)
    assert (response.status_code, response.json()) == (
        400,
        {"quantity": ["The cart already holds 4; at most 5 in all."]},
    )
    assert lines(user) == [("nasi", 4, "")]


def test_the_first_add_makes_the_cart(auth_client, user):
    ProductFactory(slug="nasi", stock=10)
    assert auth_client.post(ITEMS, {"product": "nasi"}, **MINIMAL).status_code == 204
    assert auth_client.post(ITEMS, {"product": "nasi"}, **MINIMAL).status_code == 204
    assert lines(user) == [("nasi", 2, "")]


# --- concurrent adds (row lock on the cart) -----------------------------------------------------


def adder(user, slug: str, quantity: int = 1, note: str = ""):
    client = bearer_client(user)

    def task():
        response = client.post(ITEMS, {"product": slug, "quantity": quantity, "note": note}, **MINIMAL)
        return response.status_code, response.json().get("code") if response.content else None

    return task


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_line_merge(settings):
    user = UserFactory()
    ProductFactory(slug="nasi", stock=100)
    results = run_at_once([adder(user, "nasi") for _ in range(8)])
    assert results == [(204, None)] * 8
    assert lines(user) == [("nasi", 8, "")]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_never_pass_the_line_cap(settings):
    settings.CART_MAX_LINES = 3
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(slug="teh", stock=10))
    for i in range(6):
        ProductFactory(slug=f"dish-{i}", stock=10)
    results = run_at_once([adder(user, f"dish-{i}") for i in range(6)])
    assert Counter(results) == {(204, None): 2, (409, "cart_line_limit"): 4}
    assert CartItem.objects.filter(cart__user=user).count() == 3


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_never_pass_the_product_cap(settings):
    settings.CART_MAX_UNITS_PER_PRODUCT = 10
    user = UserFactory()
    CartItemFactory(cart__user=user, product=ProductFactory(slug="teh", stock=10))
    ProductFactory(slug="nasi", stock=100)
    results = run_at_once([adder(user, "nasi", quantity=3, note=str(i)) for i in range(6)])
    assert Counter(results) == {(204, None): 3, (409, "cart_product_limit"): 3}
    assert sum(q for slug, q, _ in lines(user) if slug == "nasi") == 9


@pytest.mark.django_db(transaction=True)
def test_a_price_that_comes_due_shows_in_the_cart_and_lists_its_dish_without_the_job(monkeypatch):
    """Cart add and cart read switch due prices themselves (no `switch_prices` run, no
    version-row read on every request): a line's next price, and a dish whose first price
    comes due (unlisted until then, so a 400 like an unknown slug), as soon as it is due."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.services import price_add

    user = UserFactory()
    client = bearer_client(user)
    nasi = ProductFactory(slug="nasi", price=10_000, stock=10)
    soto = ProductFactory(slug="soto", price=False, stock=10)
    takes_over = timezone.now() + timedelta(hours=2)
    price_add(product=nasi, amount=15_000, valid_from=takes_over)
    price_add(product=soto, amount=20_000, valid_from=takes_over)
    assert client.post(ITEMS, {"product": "nasi"}, format="json").status_code == 201
    refused = client.post(ITEMS, {"product": "soto"}, format="json")
    assert (refused.status_code, refused.json()) == (400, {"product": ['No product with slug "soto".']})
    assert [line["unit_price"] for line in client.get(CART).json()["items"]] == [10_000]

    later = takes_over + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert [line["unit_price"] for line in client.get(CART).json()["items"]] == [15_000]
    added = client.post(ITEMS, {"product": "soto"}, format="json")
    assert added.status_code == 201, added.content
    assert [(line["product"]["slug"], line["unit_price"]) for line in added.json()["items"]] == [
        ("nasi", 15_000),
        ("soto", 20_000),
    ]


def test_the_product_lookup_answers_as_the_slug_field_did(auth_client, user):
    """The add's product is read with SQL compiled once (cart.api.serializers): a hidden
    product is unknown, and a slug that is not text is refused as before."""
    ProductFactory(slug="nasi", stock=10)
    ProductFactory(slug="hidden", stock=10, is_active=False)
    hidden = auth_client.post(ITEMS, {"product": "hidden"}, format="json", **MINIMAL)
    assert (hidden.status_code, hidden.json()) == (400, {"product": ['No product with slug "hidden".']})
    number = auth_client.post(ITEMS, {"product": 7}, format="json", **MINIMAL)
    assert (number.status_code, number.json()) == (
        400,
        {"product": ["Expected a slug (text), got a number."]},
    )
    assert auth_client.post(ITEMS, {"product": "nasi"}, format="json", **MINIMAL).status_code == 204
    assert lines(user) == [("nasi", 1, "")]


PLAIN_GRID = [
    {"product": "nasi"},
    {"product": "nasi", "quantity": 3},
    {"product": "nasi", "quantity": 50},  # CART_MAX_QUANTITY
    # Anything else goes to the serializer (None here): its errors, options, notes.
    {"product": "nasi", "quantity": 0},
    {"product": "nasi", "quantity": 51},
    {"product": "nasi", "quantity": True},
    {"product": "nasi", "quantity": 2.0},
    {"product": "nasi", "quantity": "2"},
    {"product": "nasi", "note": ""},
    {"product": "nasi", "options": []},
    {"product": "unknown"},
    {"product": "hidden"},
    {"product": "Nasi Goreng"},
    {"product": ""},
    {"product": 7},
    {"quantity": 1},
    {},
    [],
    "nasi",
]


@pytest.mark.django_db
@pytest.mark.parametrize("data", PLAIN_GRID, ids=repr)
def test_a_plain_add_is_read_as_the_serializer_reads_it(data):
    """`add_arguments_plain` (cart add without building the serializer) gives exactly the
    serializer's validated data, or None and leaves the request to it."""
    from cart.api.serializers import CartItemAddSerializer, add_arguments_plain

    ProductFactory(slug="nasi")
    ProductFactory(slug="hidden", is_active=False)
    plain = add_arguments_plain(data)
    serializer = CartItemAddSerializer(data=data)
    valid = serializer.is_valid()
    if plain is None:
        plainly_valid = isinstance(data, dict) and set(data) <= {"product", "quantity"} and valid
        assert not plainly_valid, serializer.validated_data  # a plain valid add is never left out
    else:
        assert valid
        assert plain == dict(serializer.validated_data)
        assert (plain["product"].slug, plain["quantity"]) == ("nasi", data.get("quantity", 1))
    assert add_arguments_plain({"product": "nasi\x00"}) is None  # the request parser refuses NUL first
