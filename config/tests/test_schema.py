"""The OpenAPI schema says what the server does (issue 7): the error statuses each operation
really gives, who may call it, and the input rules the server enforces."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def op(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][V1 + path][method]


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = schema["components"][kind][name]
    return node


def response_schema(schema: dict, operation: dict, status: str) -> dict:
    response = resolve(schema, operation["responses"][status])
    return response["content"]["application/json"]["schema"]


def param(operation: dict, name: str, location: str = "query") -> dict:
    return next(p for p in operation.get("parameters", []) if p["name"] == name and p["in"] == location)


def request_schema(schema: dict, operation: dict) -> dict:
    return resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])


# --- shared error components ----------------------------------------------------------------


def test_error_components_are_defined_once(schema):
    error = schema["components"]["schemas"]["Error"]
    assert sorted(error["required"]) == ["code", "detail"]
    assert {name: prop["type"] for name, prop in error["properties"].items()} == {
        "detail": "string",
        "code": "string",
    }
    field_errors = schema["components"]["schemas"]["FieldErrors"]
    assert field_errors["type"] == "object"
    assert "additionalProperties" in field_errors
    assert set(schema["components"]["responses"]) >= {
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "PayloadTooLarge",
        "UnsupportedMediaType",
        "TooManyRequests",
    }


def test_400_is_field_errors_or_an_error(schema):
    body = response_schema(schema, op(schema, "post", "/cart/items/"), "400")
    assert body == {
        "anyOf": [
            {"$ref": "#/components/schemas/FieldErrors"},
            {"$ref": "#/components/schemas/Error"},
        ]
    }


def test_every_operation_documents_an_error_body_for_each_4xx(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                content = resolve(schema, response).get("content")
                assert content, (method, path, status)


def test_operations_with_a_body_document_400_413_415(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(operation["responses"]), (method, path)
        else:
            assert "415" not in operation["responses"], (method, path)


def test_authenticated_operations_document_401(schema):
    for path, method, operation in operations(schema):
        security = operation.get("security", [{}])
        needs_user = security != [] and {} not in security  # []: takes no credentials
        if needs_user:
            assert "401" in operation["responses"], (method, path)
    # A wrong password or a bad refresh token is a 401 too; registering never is.
    assert "401" in op(schema, "post", "/auth/token/")["responses"]
    assert "401" in op(schema, "post", "/auth/token/refresh/")["responses"]
    assert "401" not in op(schema, "post", "/auth/register/")["responses"]
    assert "401" not in op(schema, "get", "/health/")["responses"]


def test_staff_only_operations_document_403(schema):
    for method, path in [
        ("post", "/products/"),
        ("patch", "/products/{slug}/"),
        ("delete", "/products/{slug}/"),
        ("post", "/products/{slug}/prices/"),
        ("post", "/categories/"),
        ("post", "/orders/{number}/status/"),
    ]:
        assert "403" in op(schema, method, path)["responses"], (method, path)
    assert "403" not in op(schema, "get", "/products/")["responses"]
    assert "403" not in op(schema, "get", "/cart/")["responses"]


def test_path_parameters_and_pages_document_404(schema):
    for path, method, operation in operations(schema):
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
    assert "404" in op(schema, "get", "/products/")["responses"]  # past the last page
    assert "404" in op(schema, "get", "/orders/")["responses"]
    # a product off the menu is as unknown as a slug that never was
    assert "404" in op(schema, "post", "/cart/items/")["responses"]


def test_throttled_operations_document_429_with_retry_after(schema):
    for method, path in [("post", "/auth/token/"), ("post", "/orders/")]:
        response = resolve(schema, op(schema, method, path)["responses"]["429"])
        assert "Retry-After" in response["headers"]
    assert "429" not in op(schema, "get", "/orders/")["responses"]


def test_checkout_documents_its_conflicts(schema):
    responses = op(schema, "post", "/orders/")["responses"]
    assert {"201", "400", "401", "409", "413", "415", "422", "429"} <= set(responses)
    # One component per code (test_schema_errors); a 400 is still field errors or an Error too.
    assert "oneOf" in response_schema(schema, op(schema, "post", "/orders/"), "409")
    body_400 = response_schema(schema, op(schema, "post", "/orders/"), "400")["anyOf"]
    assert {"$ref": "#/components/schemas/FieldErrors"} in body_400
    assert {"$ref": "#/components/schemas/Error"} in body_400


# --- who may call what ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/categories/", "/categories/{slug}/", "/products/", "/products/{slug}/", "/products/{slug}/prices/"],
)
def test_public_catalog_reads_need_no_authentication(schema, path):
    security = op(schema, "get", path)["security"]
    assert {} in security
    assert {"jwtAuth": []} in security  # a token is accepted (staff see hidden items)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/products/"), ("post", "/products/{slug}/prices/"), ("get", "/cart/"), ("get", "/orders/")],
)
def test_writes_and_private_reads_need_a_user(schema, method, path):
    assert {} not in op(schema, method, path)["security"]


# --- input rules ------------------------------------------------------------------------


EMPTY = {"type": "string", "enum": [""]}  # an empty query value reads as absent


def test_available_filter_is_a_string_enum(schema):
    """Not widened to any string (issue 18): generated clients keep the enum's values."""
    available = param(op(schema, "get", "/products/"), "available")
    assert available["schema"] == {"type": "string", "enum": ["false", "true", ""]}
    assert param(op(schema, "get", "/orders/"), "status")["schema"]["enum"][-1] == ""


def test_price_filters_are_bounded_integers(schema):
    for name in ("min_price", "max_price"):
        assert param(op(schema, "get", "/products/"), name)["schema"] == {
            "anyOf": [{"type": "integer", "minimum": 0, "maximum": 10**12}, EMPTY]
        }


def test_every_query_parameter_admits_the_empty_value(schema):
    """`?status=` is read as absent everywhere; the schema says so (the fuzzer found "" for
    an enum accepted)."""
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query" or parameter["name"] in ("page", "page_size"):
                continue
            node = parameter["schema"]
            plain = node.get("type") == "string" and not {"enum", "format"} & node.keys()
            # An array (ordering) admits "" among its items: a repeated parameter stays a plain array.
            listed = node.get("type") == "array" and "" in node["items"].get("enum", [""])
            enum = "" in node.get("enum", [])
            assert plain or listed or enum or EMPTY in node.get("anyOf", []), (
                method,
                path,
                parameter["name"],
            )


def test_empty_query_values_read_as_absent(api_client, auth_client, user):
    from catalog.tests.factories import ProductFactory

    ProductFactory(slug="nasi", price=10_000, stock=3)
    empty = api_client.get("/api/v1/products/?available=&min_price=&max_price=&kind=&category=&ordering=")
    assert empty.status_code == 200
    assert empty.json() == api_client.get("/api/v1/products/").json()
    orders = auth_client.get("/api/v1/orders/?status=")
    assert (orders.status_code, orders.json()["count"]) == (200, 0)
    assert api_client.get("/api/v1/shop/slots/?date=").status_code == 200
    # The pagination is strict, and its schema says so (no empty alternative).
    assert api_client.get("/api/v1/products/?page=").status_code == 404
    assert api_client.get("/api/v1/products/?page_size=").status_code == 400


def test_long_request_lines_are_documented_as_414(schema):
    for path, method, operation in operations(schema):
        if any(p["in"] in ("query", "path") for p in operation.get("parameters", [])):
            assert "414" in operation["responses"], (method, path)


def test_search_has_its_length_limit(schema):
    assert param(op(schema, "get", "/products/"), "search")["schema"] == {
        "type": "string",
        "maxLength": 100,
        "pattern": r"^[^\x00]*$",
    }


def test_text_input_is_documented_without_nul(schema):
    register = request_schema(schema, op(schema, "post", "/auth/register/"))
    assert register["properties"]["name"] == {
        "type": "string",
        "default": "",
        "maxLength": 150,
        "pattern": r"^[^\x00]*$",
    }
    assert register["properties"]["password"]["pattern"] == r"^[^\x00]*$"
    assert "pattern" not in register["properties"]["email"]  # format: email says more
    checkout = request_schema(schema, op(schema, "post", "/orders/"))
    assert checkout["properties"]["notes"]["pattern"] == r"^[^\x00]*$"
    assert checkout["properties"]["phone"]["pattern"].startswith("^\\+?[0-9]")  # its own, stricter
    # Responses are not input: no pattern there.
    product = schema["components"]["schemas"]["Product"]
    assert "pattern" not in product["properties"]["name"]


def test_page_and_page_size_are_bounded(schema):
    operation = op(schema, "get", "/products/")
    assert param(operation, "page_size")["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert param(operation, "page")["schema"] == {"type": "integer", "minimum": 1}


def test_cart_item_patch_requires_a_bounded_quantity(schema):
    body = request_schema(schema, op(schema, "patch", "/cart/items/{id}/"))
    assert body["required"] == ["quantity"]
    assert body["properties"]["quantity"]["minimum"] == 1
    assert body["properties"]["quantity"]["maximum"] == settings.CART_MAX_QUANTITY
    assert op(schema, "patch", "/cart/items/{id}/")["requestBody"]["required"] is True


def test_cart_item_add_quantity_is_bounded(schema):
    body = request_schema(schema, op(schema, "post", "/cart/items/"))
    assert body["properties"]["quantity"]["maximum"] == settings.CART_MAX_QUANTITY


def test_account_deletion_documents_its_password_body(schema):
    operation = op(schema, "delete", "/auth/me/")
    assert operation["requestBody"]["required"] is True
    body = request_schema(schema, operation)
    assert body["required"] == ["password"]
    assert {"400", "401", "415"} <= set(operation["responses"])


def test_other_deletes_have_no_body(schema):
    for method, path in [
        ("delete", "/products/{slug}/"),
        ("delete", "/cart/"),
        ("delete", "/cart/items/{id}/"),
    ]:
        assert "requestBody" not in op(schema, method, path), path


def test_product_patch_does_not_offer_a_price(schema):
    patch = request_schema(schema, op(schema, "patch", "/products/{slug}/"))
    assert "price" not in patch["properties"]
    assert "name" in patch["properties"]
    assert "required" not in patch  # a partial update
    create = request_schema(schema, op(schema, "post", "/products/"))
    assert "price" in create["properties"]


def test_idempotency_key_header_has_its_rule(schema):
    header = param(op(schema, "post", "/orders/"), "Idempotency-Key", "header")
    assert header.get("required", False) is False
    assert header["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]([ -~]*[!-~])?$",
    }


def test_integer_inputs_are_integers(schema):
    checkout = request_schema(schema, op(schema, "post", "/orders/"))
    assert checkout["properties"]["items"]["items"]["type"] == "integer"
    product = request_schema(schema, op(schema, "post", "/products/"))
    assert product["properties"]["stock"]["type"] == "integer"
    assert product["properties"]["price"]["maximum"] > 0


def test_slug_path_parameters_have_their_pattern(schema):
    slug = param(op(schema, "get", "/products/{slug}/"), "slug", "path")
    assert slug["schema"] == {"type": "string", "pattern": "^[-a-zA-Z0-9_]{1,200}$"}
    slug = param(op(schema, "get", "/categories/{slug}/"), "slug", "path")
    assert slug["schema"] == {"type": "string", "pattern": "^[-a-zA-Z0-9_]{1,100}$"}


def test_ordering_is_documented_as_a_repeated_parameter(schema):
    """Generated clients send arrays repeated (`?ordering=-price&ordering=name`); the
    server reads that form as well as the comma-separated one (catalog test_api)."""
    ordering = param(op(schema, "get", "/products/"), "ordering")
    assert (ordering["style"], ordering["explode"]) == ("form", True)
    assert "repeat the parameter" in ordering["description"]


# --- response fields (issue 18, item 4) -------------------------------------------------------

# Left out of some answers on purpose: the webhook's answer, a charge's rate and included tax
# (only the charges they belong to), and the optional keys of errors.
OPTIONAL_IN_RESPONSES = {
    "Charge": ["rate_bp", "included"],
    "NotificationAnswer": ["outcome", "detail", "code"],
    "InvalidTransitionError": ["status"],
    "PaymentGatewayError": ["order"],
    "PaymentNotAllowedError": ["status"],
    "TokenNotValidError": ["messages"],
}


def test_response_fields_always_present_are_required(schema):
    optional = {}
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") or "properties" not in component:
            continue
        missing = [key for key in component["properties"] if key not in component.get("required", [])]
        if missing:
            optional[name] = missing
    assert optional == OPTIONAL_IN_RESPONSES
    components = schema["components"]["schemas"]
    assert {"status", "placed_at", "paid_at"} <= set(components["Order"]["required"])
    assert {"name", "phone"} <= set(components["Profile"]["required"])
    assert "slug" in components["Category"]["required"]


def test_every_page_has_next_and_previous(schema):
    for name, component in schema["components"]["schemas"].items():
        if name.startswith("Paginated"):
            assert component["required"] == ["count", "next", "previous", "results"], name
            assert component["properties"]["next"]["nullable"] is True


def test_nullable_objects_are_one_of_the_object_or_null(schema):
    """OpenAPI 3.0.3 reads `nullable` only next to a `type`: `allOf` + `nullable` is not
    nullable to openapi-core (test_schema_traffic has the real answers)."""
    order = schema["components"]["schemas"]["Order"]["properties"]
    for name, component in [
        ("invoice", "InvoiceRef"),
        ("pickup_slot", "PickupSlotRef"),
        ("payment", "Payment"),
    ]:
        assert order[name]["oneOf"] == [
            {"$ref": f"#/components/schemas/{component}"},
            {"$ref": "#/components/schemas/NullEnum"},
        ]
        assert order[name]["nullable"] is True
        assert "allOf" not in order[name]
    assert schema["components"]["schemas"]["NullEnum"] == {"enum": [None]}


# --- smaller points of issue 18 (item 6) -------------------------------------------------------


def test_operations_that_take_no_credentials_say_so(schema):
    for method, path in [
        ("post", "/auth/register/"),
        ("post", "/auth/token/"),
        ("post", "/auth/token/refresh/"),
        ("get", "/shop/"),
        ("get", "/shop/slots/"),
        ("post", "/payments/mock/{token}/"),
        ("post", "/payments/midtrans/notification/"),
        ("get", "/health/"),
    ]:
        assert op(schema, method, path)["security"] == [], (method, path)


def test_pdfs_are_binary_with_their_200(schema):
    for path in ("/invoices/{number}/pdf/", "/invoices/{number}/credit-notes/{credit_note_number}/pdf/"):
        ok = op(schema, "get", path)["responses"]["200"]
        assert ok["content"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
        assert "304" not in op(schema, "get", path)["responses"]  # streamed: no ETag


def test_integer_ids_in_paths_are_integers(schema):
    for method in ("patch", "delete"):
        assert param(op(schema, method, "/cart/items/{id}/"), "id", "path")["schema"] == {
            "type": "integer",
            "minimum": 0,
            "maximum": 10**18 - 1,
        }


def test_conditional_gets_and_replays_are_documented(schema):
    products = op(schema, "get", "/products/")
    assert set(products["responses"]["200"]["headers"]) >= {"ETag", "Cache-Control"}
    assert products["responses"]["304"]["description"].startswith("Not modified")
    assert "content" not in products["responses"]["304"]
    assert param(products, "If-None-Match", "header")["required"] is False
    orders = op(schema, "get", "/orders/")
    assert "ETag" in orders["responses"]["200"]["headers"]
    assert "Cache-Control" not in orders["responses"]["200"]["headers"]  # private answers
    replayed = op(schema, "post", "/orders/")["responses"]["201"]["headers"]["Idempotent-Replayed"]
    assert replayed["schema"] == {"type": "string", "enum": ["true"]}


def test_status_and_kind_fields_are_enums(schema):
    components = schema["components"]["schemas"]
    price_status = components["ProductPrice"]["properties"]["status"]["allOf"][0]
    assert resolve(schema, price_status)["enum"] == ["past", "current", "scheduled"]
    event = components["OrderEvent"]["properties"]
    for name in ("from_status", "to_status"):
        assert event[name]["oneOf"] == [
            {"$ref": "#/components/schemas/OrderStatusEnum"},
            {"$ref": "#/components/schemas/NullEnum"},
        ]
    assert components["OrderLine"]["properties"]["kind"]["allOf"] == [
        {"$ref": "#/components/schemas/KindEnum"}
    ]
