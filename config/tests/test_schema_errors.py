"""Typed error bodies (issue 18, items 1 and 2): one schema component per domain error
`code`, listed per operation and status, generated from the error classes; the README's
table of codes comes from the same classes."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from config.api.error_schema import error_catalogue
from config.tests.test_schema import op, resolve, response_schema

pytestmark = pytest.mark.django_db

SCHEMAS = "#/components/schemas/"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def refs(node: dict) -> list[str]:
    members = node.get("oneOf") or node.get("anyOf") or [node]
    return [member["$ref"].removeprefix(SCHEMAS) for member in members]


def test_readme_table_of_error_codes_is_the_commands_output():
    out = StringIO()
    call_command("error_codes", "--markdown", stdout=out)
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    table = re.search(r"<!-- error-codes:start -->\n(.*?)<!-- error-codes:end -->", readme, re.S)
    assert table is not None
    assert table.group(1) == out.getvalue()
    rows = table.group(1)
    assert (
        "| `slot_full` | 409 | This pickup slot is fully booked. | `next_slots` | `SlotFullError`: `POST orders/` |"
        in rows
    )
    assert "| `payment_gateway_error` | 502, 503 |" in rows
    assert "`StockChangedError`: `PATCH products/{slug}/`" in rows
    assert (
        "| `order_not_paid` | 409 | Only a paid order gets an invoice. | `order`, `status` | not in the API"
        in rows
    )


def test_classes_sharing_a_code_share_its_body():
    for entry in error_catalogue():
        for cls in entry.classes:
            assert cls.body_fields == entry.base.body_fields, cls
            assert cls.body_optional == entry.base.body_optional, cls
            assert set(cls.body_optional) <= set(cls.body_fields), cls


def test_each_code_component_has_its_code_as_a_one_value_enum(schema):
    components = schema["components"]["schemas"]
    used = [entry for entry in error_catalogue() if entry.component in components]
    assert len(used) >= 20
    for entry in used:
        component = components[entry.component]
        assert component["properties"]["code"] == {"type": "string", "enum": [entry.code]}
        assert component["required"][:2] == ["detail", "code"]
        assert component["additionalProperties"] is False


def test_recovery_fields_are_typed(schema):
    components = schema["components"]["schemas"]
    assert components["StockChangedError"]["properties"]["stock"] == {
        "type": "integer",
        "description": "The stock now.",
    }
    assert components["StockChangedError"]["required"] == ["detail", "code", "stock"]
    short = components["InsufficientStockError"]["properties"]["products"]["items"]
    assert short["required"] == ["name", "requested", "available"]
    assert short["properties"]["requested"]["type"] == "integer"
    unavailable = components["ProductUnavailableError"]["properties"]["products"]["items"]
    assert unavailable["properties"]["reason"] == {"$ref": SCHEMAS + "SellabilityReasonEnum"}
    slot = components["SlotFullError"]["properties"]["next_slots"]["items"]
    assert slot["properties"]["start"] == {"type": "string", "format": "date-time"}
    assert components["ShopClosedError"]["properties"]["next_opening"] == {
        "type": "string",
        "format": "date-time",
        "nullable": True,
    }
    assert components["SlotUnavailableError"]["properties"]["reason"]["enum"] == [
        "unknown",
        "past",
        "too_soon",
        "too_far",
        "closed",
    ]
    transition = components["InvalidTransitionError"]
    assert transition["properties"]["status"] == {"$ref": SCHEMAS + "OrderStatusEnum"}
    assert transition["required"] == ["detail", "code", "requested"]  # no status for a non-staff move
    messages = components["TokenNotValidError"]["properties"]["messages"]["items"]["properties"]
    assert set(messages) == {"token_class", "token_type", "message"}


def test_checkout_lists_its_errors_per_status(schema):
    checkout = op(schema, "post", "/orders/")
    assert refs(response_schema(schema, checkout, "400")) == [
        "FieldErrors",
        "CartEmptyError",
        "SlotUnavailableError",
        "Error",
    ]
    conflict = response_schema(schema, checkout, "409")
    assert refs(conflict) == [
        "InsufficientStockError",
        "ProductUnavailableError",
        "ShopClosedError",
        "SlotFullError",
        "TooManyUnpaidOrdersError",
        "IdempotencyKeyInFlightError",
    ]
    assert conflict["discriminator"]["propertyName"] == "code"
    assert conflict["discriminator"]["mapping"]["slot_full"] == SCHEMAS + "SlotFullError"
    assert refs(response_schema(schema, checkout, "422")) == ["IdempotencyKeyReusedError"]
    assert "`slot_full`: This pickup slot is fully booked." in checkout["responses"]["409"]["description"]


@pytest.mark.parametrize(
    ("method", "path", "status", "components"),
    [
        (
            "post",
            "/cart/items/",
            "409",
            ["ProductUnavailableError", "CartProductLimitError", "CartLineLimitError"],
        ),
        ("patch", "/cart/items/{id}/", "409", ["CartProductLimitError"]),
        ("patch", "/products/{slug}/", "409", ["StockChangedError"]),
        ("post", "/products/{slug}/stock/", "409", ["StockNegativeError"]),
        ("post", "/orders/{number}/cancel/", "409", ["InvalidTransitionError"]),
        ("post", "/orders/{number}/status/", "409", ["InvalidTransitionError"]),
        ("post", "/orders/{number}/pay/", "409", ["PaymentNotAllowedError", "PaymentOpeningError"]),
        ("post", "/payments/mock/{token}/", "409", ["MockTransactionClosedError"]),
        ("get", "/invoices/{number}/pdf/", "503", ["StorageUnavailableError"]),
        ("post", "/auth/token/", "429", ["LoginLockedError", "Error"]),
        ("post", "/auth/password/", "429", ["LoginLockedError", "Error"]),
    ],
)
def test_operations_list_their_error_codes(schema, method, path, status, components):
    assert refs(response_schema(schema, op(schema, method, path), status)) == components


def test_pay_documents_gateway_failures_with_their_body(schema):
    """The "gateway down, try again" screen: 502 and 503 carry {detail, code, order}."""
    pay = op(schema, "post", "/orders/{number}/pay/")
    for status in ("502", "503"):
        assert response_schema(schema, pay, status) == {"$ref": SCHEMAS + "PaymentGatewayError"}
    body = schema["components"]["schemas"]["PaymentGatewayError"]
    assert body["properties"]["code"]["enum"] == ["payment_gateway_error"]
    assert body["properties"]["order"]["type"] == "string"


def test_token_and_not_found_errors_have_their_components(schema):
    unauthorized = resolve(schema, op(schema, "get", "/orders/")["responses"]["401"])
    assert refs(unauthorized["content"]["application/json"]["schema"]) == ["TokenNotValidError", "Error"]
    assert response_schema(schema, op(schema, "get", "/orders/{number}/"), "404") == {
        "$ref": SCHEMAS + "NotFoundError"
    }


def test_a_view_module_imports_before_the_urls():
    """domain_errors() runs while a views module is imported: it must not import the URLs
    (which import that module back, half made)."""
    import subprocess
    import sys

    code = "import django; django.setup(); import orders.api.views, cart.api.views, invoices.api.views"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=settings.BASE_DIR
    )
    assert result.returncode == 0, result.stderr[-2000:]
