"""Requests an attacker (or a fuzzer) sends: each must get a clear JSON 4xx and change nothing.

Issue 7, items 4 to 9. The clients here never re-raise a server error into the test, so a
regression shows up as the 500 (or HTML page) a real client would get. Elsewhere: item 8
(refresh-token rotation, with a PostgreSQL race) in accounts/tests/test_token_rotation.py,
the checkout throttle in orders/tests/test_checkout_throttle.py, gunicorn's limits in
config/tests/test_server_limits.py, the schema in config/tests/test_schema.py."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from cart.models import CartItem
from catalog.models import BundleItem, Category, Product
from catalog.tests.factories import BundleFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


def client_for(user=None, **kwargs) -> APIClient:
    client = APIClient(raise_request_exception=False, **kwargs)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return client_for()


@pytest.fixture
def shopper(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def staff(staff_user) -> APIClient:
    return client_for(staff_user)


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
        assert isinstance(body["detail"], str)
        assert body["detail"]
    return body


def post_raw(client: APIClient, path: str, body: str, method: str = "POST"):
    return client.generic(method, path, body.encode(), content_type="application/json")


# --- 4. deeply nested JSON --------------------------------------------------------------

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
DEEP_INSIDE = '{"email": "x@example.com", "password": "p", "name": ' + DEEP_ARRAY + "}"


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, DEEP_INSIDE], ids=["array", "object", "inside"])
@pytest.mark.parametrize("path", ["/auth/register/", "/auth/token/", "/auth/token/refresh/"])
def test_deeply_nested_json_is_a_parse_error_for_anyone(anon, path, body):
    users = User.objects.count()
    assert_json_error(post_raw(anon, API + path, body), 400, "parse_error")
    assert User.objects.count() == users


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT])
def test_deeply_nested_json_to_the_cart(anon, shopper, user, body):
    assert_json_error(post_raw(anon, API + "/cart/items/", body), 401, "not_authenticated")
    assert_json_error(post_raw(shopper, API + "/cart/items/", body), 400, "parse_error")
    assert not CartItem.objects.filter(cart__user=user).exists()


def nested(depth: int):
    value: object = 1
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_up_to_the_limit_is_parsed_and_one_more_is_refused(shopper, user):
    from config.api.parsers import JSONParser

    ProductFactory(slug="nasi")
    limit = JSONParser.max_depth
    # The body object is level 1 and nested(n) adds n - 1 lists: exactly `limit` levels.
    ok = post_raw(shopper, API + "/cart/items/", json.dumps({"product": "nasi", "quantity": nested(limit)}))
    assert ok.status_code == 400
    assert set(ok.json()) == {"quantity"}  # parsed, then refused by the serializer
    too_deep = {"product": "nasi", "quantity": nested(limit + 1)}
    body = assert_json_error(
        post_raw(shopper, API + "/cart/items/", json.dumps(too_deep)), 400, "parse_error"
    )
    assert str(limit) in body["detail"]
    assert not CartItem.objects.filter(cart__user=user).exists()


# --- 5. NUL bytes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/products/a%00b/", "/products/a%00b/prices/", "/categories/a%00b/", "/orders/A%00B/", "/a%00b/"]
)
def test_nul_in_the_path_is_a_json_404(anon, staff, path):
    ProductFactory(slug="ab")
    for client in (anon, staff):
        assert_json_error(client.get(API + path), 404, "not_found")


def test_nul_in_an_admin_path_is_an_html_404(admin_client_staff):
    response = admin_client_staff.get("/admin/catalog/product/?q=a%00b")
    assert response.status_code == 400
    response = admin_client_staff.get("/admin/catalog/a%00b/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "query",
    ["category=a%00b", "search=a%00b", "kind=%00", "ordering=%00", "page=1%00", "a%00=1", "available=\x00"],
)
def test_nul_in_the_query_string_is_a_json_400(anon, query):
    CategoryFactory(slug="ab")
    assert_json_error(anon.get(f"{API}/products/?{query}"), 400, "bad_request")


def test_nul_in_an_order_filter_is_a_json_400(shopper):
    assert_json_error(shopper.get(f"{API}/orders/?status=paid%00"), 400, "bad_request")


def test_nul_in_a_cart_slug_is_a_parse_error(shopper, user):
    ProductFactory(slug="nasi-uduk")
    body = '{"product": "nasi\\u0000uduk", "quantity": 1}'
    assert_json_error(post_raw(shopper, API + "/cart/items/", body), 400, "parse_error")
    assert not CartItem.objects.filter(cart__user=user).exists()


@pytest.mark.parametrize(
    "body",
    [
        '{"na\\u0000me": "x"}',
        '{"name": ["\\u0000"]}',
        '{"name": {"x": "a\\u0000"}}',
    ],
    ids=["key", "in-list", "nested"],
)
def test_nul_anywhere_in_a_json_body_is_a_parse_error(anon, body):
    assert_json_error(post_raw(anon, API + "/auth/register/", body), 400, "parse_error")
    assert User.objects.count() == 0


def test_staff_product_create_with_a_nul_category_changes_nothing(staff):
    CategoryFactory(slug="rice")
    body = json.dumps({"name": "X", "sku": "X-1", "category": "\u0000", "price": 1000})
    assert_json_error(post_raw(staff, API + "/products/", body), 400, "parse_error")
    assert not Product.objects.exists()


def test_staff_product_patch_with_a_nul_component_changes_nothing(staff):
    rice = ProductFactory(slug="rice")
    bundle = BundleFactory(slug="combo", components=[(rice, 1)])
    body = json.dumps({"components": [{"product": "ri\u0000ce", "quantity": 2}]})
    assert_json_error(post_raw(staff, f"{API}/products/combo/", body, method="PATCH"), 400, "parse_error")
    assert list(BundleItem.objects.filter(bundle=bundle).values_list("component__slug", "quantity")) == [
        ("rice", 1)
    ]


def test_a_nul_free_body_still_works_on_this_database(staff):
    CategoryFactory(slug="rice")
    body = json.dumps({"name": "Nasi \u00e9", "sku": "X-1", "category": "rice", "price": 1000})
    response = post_raw(staff, API + "/products/", body)
    assert response.status_code == 201, response.content
    assert Category.objects.get(slug="rice").products.get().name == "Nasi \u00e9"


# --- 6. unknown paths with unsafe methods -------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "GET", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/orders/FD-1/cancel", "/api/v1/nope", "/api/x"])
@pytest.mark.parametrize("as_user", [False, True], ids=["anonymous", "bearer"])
def test_unknown_api_paths_are_a_json_404_for_every_method(user, method, path, as_user):
    # CSRF checks on, as a browser or curl meets them (the test client skips them by default).
    client = client_for(user if as_user else None, enforce_csrf_checks=True)
    response = client.generic(method, path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_known_api_paths_keep_their_405(user):
    client = client_for(user, enforce_csrf_checks=True)
    assert_json_error(client.put(f"{API}/cart/", {}), 405, "method_not_allowed")


# --- 7. JSON in every mode ------------------------------------------------------------------


@override_settings(DEBUG=True, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_json_413_with_debug_on(anon):
    body = json.dumps({"email": "a" * 2000 + "@example.com", "password": "p"})
    assert_json_error(post_raw(anon, API + "/auth/register/", body), 413, "request_too_large")
    assert User.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_json_413_with_debug_off(anon):
    body = json.dumps({"email": "a" * 2000 + "@example.com", "password": "p"})
    assert_json_error(post_raw(anon, API + "/auth/register/", body), 413, "request_too_large")


@override_settings(DEBUG=True, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_form_body_to_an_unknown_path_is_json_with_debug_on(user):
    client = client_for(user, enforce_csrf_checks=True)
    response = client.post(
        API + "/nope/", "x=" + "a" * 2000, content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(response, 404, "not_found")


@override_settings(DEBUG=True)
def test_debug_404_under_api_is_json(anon):
    assert_json_error(anon.get(API + "/products/nope/"), 404, "not_found")
    assert_json_error(anon.get(API + "/nope/"), 404, "not_found")


@override_settings(DEBUG=True, ALLOWED_HOSTS=["testserver"])
def test_debug_disallowed_host_under_api_is_json(anon):
    assert_json_error(anon.get(API + "/health/", HTTP_HOST="evil.example"), 400, "bad_request")


@override_settings(DEBUG=True)
def test_debug_server_error_under_api_is_json(anon, monkeypatch):
    from config import views

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(views.HealthView, "get", boom)
    body = assert_json_error(anon.get(API + "/health/"), 500, "server_error")
    assert "kaboom" not in json.dumps(body)


@override_settings(DEBUG=True)
def test_debug_pages_outside_api_stay_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_staff_browsable_api_errors_are_left_alone(admin_client_staff):
    # A staff session asking for HTML gets the browsable API's own error page, with the
    # field errors in it: only Django's bare error pages are replaced.
    response = admin_client_staff.post(
        API + "/categories/", {"name": ""}, content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"This field may not be blank." in response.content


# --- 9. integers taken strictly -------------------------------------------------------------

NOT_INTEGERS = ["\u0661", "1", "1 ", " 1", "1.0", 1.0, True, "+1", "1_0", "\uff11", None, [1], {"n": 1}]


def cart_lines(user) -> list[tuple[str, int]]:
    return list(CartItem.objects.filter(cart__user=user).values_list("product__slug", "quantity"))


@pytest.mark.parametrize("quantity", NOT_INTEGERS, ids=repr)
def test_cart_add_takes_only_json_integers(shopper, user, quantity):
    ProductFactory(slug="nasi")
    response = shopper.post(f"{API}/cart/items/", {"product": "nasi", "quantity": quantity})
    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    assert cart_lines(user) == []


@pytest.mark.parametrize("quantity", NOT_INTEGERS, ids=repr)
def test_cart_update_takes_only_json_integers(shopper, user, quantity):
    ProductFactory(slug="nasi")
    item = shopper.post(f"{API}/cart/items/", {"product": "nasi", "quantity": 2}).json()["items"][0]["id"]
    response = shopper.patch(f"{API}/cart/items/{item}/", {"quantity": quantity})
    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    assert cart_lines(user) == [("nasi", 2)]


def test_cart_update_requires_the_quantity(shopper, user):
    ProductFactory(slug="nasi")
    item = shopper.post(f"{API}/cart/items/", {"product": "nasi", "quantity": 2}).json()["items"][0]["id"]
    response = shopper.patch(f"{API}/cart/items/{item}/", {})
    assert response.status_code == 400
    assert response.json() == {"quantity": ["This field is required."]}
    assert cart_lines(user) == [("nasi", 2)]


def test_a_json_integer_is_still_taken(shopper, user):
    ProductFactory(slug="nasi")
    assert shopper.post(f"{API}/cart/items/", {"product": "nasi", "quantity": 3}).status_code == 201
    assert cart_lines(user) == [("nasi", 3)]


@pytest.mark.parametrize("item", ["1", 1.0, True, "\u0661"], ids=repr)
def test_checkout_items_take_only_json_integers(shopper, user, item):
    nasi = ProductFactory(slug="nasi", stock=5)
    shopper.post(f"{API}/cart/items/", {"product": "nasi", "quantity": 1})
    response = shopper.post(f"{API}/orders/", {"items": [item]})
    assert response.status_code == 400
    assert list(response.json()) == ["items"]
    assert Product.objects.get(pk=nasi.pk).stock == 5
    assert cart_lines(user) == [("nasi", 1)]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/products/", {"stock": "5"}, "stock"),
        ("/products/", {"stock": 5.0}, "stock"),
        ("/products/", {"price": "1000"}, "price"),
        ("/products/", {"price": True}, "price"),
        ("/products/", {"components": [{"product": "rice", "quantity": "2"}]}, "components"),
        ("/categories/", {"name": "X", "position": "1"}, "position"),
        ("/products/rice/prices/", {"amount": "1000"}, "amount"),
        ("/products/rice/prices/", {"amount": 1000.0}, "amount"),
    ],
)
def test_staff_integer_inputs_are_strict(staff, path, body, field):
    CategoryFactory(slug="cat")
    rice = ProductFactory(slug="rice", price=5000)
    base = {"name": "X", "sku": "X-1", "category": "cat", "price": 1000, "kind": "single"}
    if "components" in body:
        base["kind"] = "bundle"
    payload = {**base, **body} if path == "/products/" else body
    products, categories, prices = Product.objects.count(), Category.objects.count(), rice.prices.count()
    response = staff.post(API + path, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert (Product.objects.count(), Category.objects.count(), rice.prices.count()) == (
        products,
        categories,
        prices,
    )


@pytest.mark.parametrize(
    "query",
    [
        "page_size=\u0665",
        "page_size=%205",
        "page_size=%2B5",
        "page_size=5.0",
        "page_size=5_0",
        "min_price=\u0661",
        "min_price=1.0",
        "max_price=%201",
        "max_price=1e3",
    ],
)
def test_integer_query_parameters_are_ascii_digits(anon, query):
    ProductFactory()
    body = assert_json_error(anon.get(f"{API}/products/?{query}"), 400)
    assert list(body) == [query.split("=")[0]]


@pytest.mark.parametrize("page", ["\u0661", "%201", "1.0", "%2B1", ""])
def test_page_numbers_are_ascii_digits(anon, page):
    ProductFactory()
    assert_json_error(anon.get(f"{API}/products/?page={page}"), 404, "not_found")


def test_ascii_integer_query_parameters_still_work(anon):
    ProductFactory(price=5000)
    response = anon.get(f"{API}/products/?page=1&page_size=5&min_price=1000&max_price=6000")
    assert response.status_code == 200
    assert response.json()["count"] == 1


# --- 9. error messages do not echo input back -----------------------------------------------


def assert_short_errors(response, field: str) -> list[str]:
    assert response.status_code == 400, response.content[:300]
    messages = response.json()[field]
    text = json.dumps(messages)
    assert len(text) < 200, text
    assert "{'" not in text  # no Python repr
    return messages


def test_a_non_string_slug_is_not_echoed_as_a_python_repr(shopper, user):
    response = shopper.post(f"{API}/cart/items/", {"product": {"slug": "x"}, "quantity": 1})
    assert assert_short_errors(response, "product") == ["Expected a slug (text), got an object."]
    assert cart_lines(user) == []


def test_a_long_unknown_slug_is_echoed_truncated(shopper, user):
    response = shopper.post(f"{API}/cart/items/", {"product": "x" * 5000, "quantity": 1})
    [message] = assert_short_errors(response, "product")
    assert message == 'No product with slug "' + "x" * 40 + '\u2026".'
    assert cart_lines(user) == []


def test_a_short_unknown_slug_is_echoed_whole(shopper):
    response = shopper.post(f"{API}/cart/items/", {"product": "nasi-uduk", "quantity": 1})
    assert response.json() == {"product": ['No product with slug "nasi-uduk".']}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/products/", {"name": "X", "sku": "X", "category": "y" * 5000}, "category"),
        ("/products/", {"name": "X", "sku": "X", "category": "cat", "kind": "k" * 5000}, "kind"),
        ("/products/", {"name": "X", "sku": "X", "category": "cat", "kind": {"a": 1}}, "kind"),
        ("/products/", {"name": "X", "sku": "X", "category": ["cat"]}, "category"),
    ],
)
def test_staff_errors_do_not_echo_input_in_full(staff, path, body, field):
    CategoryFactory(slug="cat")
    assert_short_errors(staff.post(API + path, body), field)
    assert not Product.objects.exists()


def test_component_errors_do_not_echo_input_in_full(staff):
    CategoryFactory(slug="cat")
    body = {"name": "X", "sku": "X", "category": "cat", "kind": "bundle"}
    response = staff.post(
        API + "/products/", {**body, "components": [{"product": "z" * 5000, "quantity": 1}]}
    )
    assert response.status_code == 400
    assert len(json.dumps(response.json())) < 200
    assert not Product.objects.exists()


def test_status_change_errors_do_not_echo_input_in_full(staff, user):
    from orders.tests.factories import place_order

    order = place_order(user=user, items=[(ProductFactory(), 1)])
    response = staff.post(f"{API}/orders/{order.number}/status/", {"status": "s" * 5000})
    assert_short_errors(response, "status")
    order.refresh_from_db()
    assert order.status == "pending_payment"


@pytest.mark.parametrize("param", ["kind", "available", "ordering", "category"])
def test_filter_errors_do_not_echo_input_in_full(anon, param):
    ProductFactory()
    assert_short_errors(anon.get(f"{API}/products/?{param}={'q' * 5000}"), param)


def test_order_filter_errors_do_not_echo_input_in_full(shopper):
    assert_short_errors(shopper.get(f"{API}/orders/?status={'q' * 5000}"), "status")


# --- 9. emails are stored in a form the project's own validator accepts ----------------------


def test_an_email_that_lowercases_into_an_invalid_one_is_refused(anon):
    response = anon.post(
        f"{API}/auth/register/", {"email": "\u0130dris@example.com", "password": "a-long-Passphrase-9"}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "email",
    [
        "Idris@Example.COM",
        "idris@B\u00dcCHER.de",
        "a@\u0130stanbul.com",
        "\u0130dris@example.com",
        "x@\u212a.com",
    ],
)
def test_whatever_registers_is_stored_valid_and_normalized(anon, email):
    from django.core.validators import validate_email

    response = anon.post(f"{API}/auth/register/", {"email": email, "password": "a-long-Passphrase-9"})
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert list(response.json()) == ["email"]
        assert User.objects.count() == 0
        return
    stored = User.objects.get().email
    validate_email(stored)
    assert stored == stored.lower()
    assert response.json()["email"] == stored


def test_the_admin_refuses_such_an_email_too(admin_client_staff):
    users = User.objects.count()
    response = admin_client_staff.post(
        "/admin/accounts/user/add/",
        {
            "email": "\u0130dris@example.com",
            "name": "Idris",
            "usable_password": "true",
            "password1": "a-long-Passphrase-9",
            "password2": "a-long-Passphrase-9",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"Enter a valid email address." in response.content
    assert User.objects.count() == users


@pytest.mark.parametrize(
    "path",
    ["/products/" + "a" * 201 + "/", "/categories/" + "a" * 101 + "/", "/products/nasi%20uduk/prices/"],
)
def test_slugs_that_cannot_exist_are_a_json_404(anon, staff, path):
    for client in (anon, staff):
        assert_json_error(client.get(API + path), 404, "not_found")
    assert_json_error(staff.patch(API + path, {"name": "x"}), 404, "not_found")


@pytest.mark.parametrize("value", [0, 1, "true", "yes", "1", None], ids=repr)
def test_booleans_are_json_booleans(staff, value):
    category = CategoryFactory(slug="rice", is_active=True)
    response = staff.patch(f"{API}/categories/rice/", {"is_active": value})
    assert response.status_code == 400
    assert list(response.json()) == ["is_active"]
    category.refresh_from_db()
    assert category.is_active is True
    product = ProductFactory(slug="nasi", category=category)
    response = staff.patch(f"{API}/products/nasi/", {"is_active": value})
    assert response.status_code == 400
    assert list(response.json()) == ["is_active"]
    assert Product.objects.get(pk=product.pk).is_active is True
