"""The README's shopper and staff journeys through the Python client that
openapi-python-client generated from the live schema (`foodies_client`, httpx + attrs),
and the error answers a UI must recover from. No `cast(`, no `type: ignore`, no `Any`:
every value comes out of the generated types by narrowing (run.py checks this file, then
`mypy --strict`). run.py starts the server and sets FOODIES_API (its recording proxy) and
the staff account."""

import os
import time
import uuid
from http import HTTPStatus
from typing import TypeVar

from foodies_client import AuthenticatedClient, Client
from foodies_client.api.auth import (
    auth_me_partial_update,
    auth_me_retrieve,
    auth_register_create,
    auth_token_create,
)
from foodies_client.api.cart import cart_items_create, cart_retrieve
from foodies_client.api.categories import categories_list
from foodies_client.api.health import health_retrieve
from foodies_client.api.invoices import invoices_list, invoices_pdf_retrieve
from foodies_client.api.orders import (
    orders_create,
    orders_list,
    orders_pay_create,
    orders_retrieve,
    orders_status_create,
)
from foodies_client.api.payments import payments_mock_create
from foodies_client.api.products import products_list, products_retrieve
from foodies_client.api.shop import shop_slots_list
from foodies_client.models import (
    Cart,
    CartEmptyError,
    CartItemAddRequest,
    CheckoutRequest,
    FieldErrors,
    InvalidTransitionError,
    LoginRequest,
    MockActionRequest,
    NotFoundError,
    Order,
    OrdersListStatus,
    OrderStatusEnum,
    PaginatedCategoryList,
    PaginatedInvoiceList,
    PaginatedOrderList,
    PaginatedProductList,
    PatchedProfileRequest,
    PaymentNotAllowedError,
    PaymentTypeEnum,
    Product,
    ProductsListAvailable,
    ProductsListOrderingItem,
    Profile,
    RegisterRequest,
    Registration,
    ShopSlotsListDateType0Type1,
    StatusChangeRequest,
    StatusChangeStatusEnum,
    TokenNotValidError,
    TokenPair,
    TransactionStatusEnum,
)
from foodies_client.types import File, Response

T = TypeVar("T")


def setting(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"journey: {what}")


def log(what: str) -> None:
    print(f"  [py] {what}", flush=True)


BASE_URL = setting("FOODIES_API")
anonymous = Client(base_url=BASE_URL, raise_on_unexpected_status=True)


def signed_in(access: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE_URL, token=access, raise_on_unexpected_status=True)


def expect_error(answer: Response[T], status: HTTPStatus, kind: type, code: str) -> None:
    """An error answer: its status, the generated class its body was parsed into (each
    domain code has its own component, so a client can switch on the type), and its `code`."""
    check(answer.status_code == status, f"expected {status}, got {answer.status_code}: {answer.content!r}")
    check(isinstance(answer.parsed, kind), f"expected a {kind.__name__}, got {answer.parsed!r}")
    found = getattr(answer.parsed, "code", None)
    check(found == code, f"expected code {code}, got {answer.content!r}")


def login(email: str, password: str) -> AuthenticatedClient:
    answer = auth_token_create.sync_detailed(
        client=anonymous, body=LoginRequest(email=email, password=password)
    )
    pair = answer.parsed
    if not isinstance(pair, TokenPair):
        raise SystemExit(f"login {email}: {answer.status_code} {answer.content!r}")
    check(0 < pair.access_expires_in < pair.refresh_expires_in, "token lifetimes")
    return signed_in(pair.access)


def shopper() -> str:
    health = health_retrieve.sync(client=anonymous)
    check(health is not None and health.status == "ok", "health")

    # Register, with a validation error first (400 with the field's messages).
    email = f"py-{uuid.uuid4()}@clients.example.com"
    password = "a-long-Passphrase-9"
    refused = auth_register_create.sync_detailed(
        client=anonymous, body=RegisterRequest(email="not-an-e-mail", password=password)
    )
    check(refused.status_code == HTTPStatus.BAD_REQUEST, f"register, bad e-mail: {refused.status_code}")
    check(
        isinstance(refused.parsed, FieldErrors) and "email" in refused.parsed,
        "register names the e-mail field",
    )
    registered = auth_register_create.sync(
        client=anonymous, body=RegisterRequest(email=email, password=password, name="Ani")
    )
    check(isinstance(registered, Registration) and registered.email == email, "register")
    log(f"registered {email}")

    me = login(email, password)
    profile = auth_me_retrieve.sync(client=me)
    check(isinstance(profile, Profile) and profile.email == email, "profile")
    patched = auth_me_partial_update.sync(client=me, body=PatchedProfileRequest(phone="+62 811 222 333"))
    check(isinstance(patched, Profile) and patched.phone == "+62811222333", "profile phone (stored in E.164)")

    # A bad token: 401 where an account is needed.
    stale = signed_in("not-a-token")
    expect_error(
        auth_me_retrieve.sync_detailed(client=stale),
        HTTPStatus.UNAUTHORIZED,
        TokenNotValidError,
        "token_not_valid",
    )

    # The menu: categories, a filtered and ordered product list, a dish with its options.
    categories = categories_list.sync(client=me)
    check(isinstance(categories, PaginatedCategoryList) and len(categories.results) > 0, "categories")
    listed = products_list.sync(
        client=me,
        category="rice",
        available=ProductsListAvailable.TRUE,
        ordering=[ProductsListOrderingItem("-price")],
        page_size=5,
    )
    if not isinstance(listed, PaginatedProductList):
        raise SystemExit("rice dishes")
    prices = [product.price or 0 for product in listed.results]
    check(len(prices) > 0 and prices == sorted(prices, reverse=True), f"ordering=-price: {prices}")
    dish = products_retrieve.sync("nasi-goreng-spesial", client=me)
    check(isinstance(dish, Product) and len(dish.option_groups) > 0, "nasi goreng with its option groups")
    missing = products_retrieve.sync_detailed("no-such-dish", client=me)
    expect_error(missing, HTTPStatus.NOT_FOUND, NotFoundError, "not_found")

    # The cart: a dish with options and a note, and a drink.
    for line in (
        CartItemAddRequest(
            product="nasi-goreng-spesial",
            quantity=2,
            options=["pedas-level-3", "extra-telur"],
            note="tanpa bawang",
        ),
        CartItemAddRequest(product="es-teh-manis", quantity=2),
    ):
        added = cart_items_create.sync_detailed(client=me, body=line)
        check(added.status_code == HTTPStatus.CREATED, f"cart add: {added.status_code} {added.content!r}")
    cart = cart_retrieve.sync(client=me)
    if not isinstance(cart, Cart):
        raise SystemExit("cart")
    check(cart.item_count == 4 and cart.total > 0, "cart of 4 units")

    # Checkout with a pickup slot (or as soon as possible), under an Idempotency-Key; a retry replays it.
    slots = shop_slots_list.sync(client=anonymous, date=ShopSlotsListDateType0Type1.TOMORROW)
    if not isinstance(slots, list):
        raise SystemExit("slots")
    open_slots = [slot.id for slot in slots if slot.remaining > 0]
    body = CheckoutRequest(notes="not too spicy", pickup_slot=open_slots[0] if open_slots else None)
    key = str(uuid.uuid4())
    placed = orders_create.sync_detailed(client=me, body=body, idempotency_key=key)
    order = placed.parsed
    if not isinstance(order, Order):
        raise SystemExit(f"checkout: {placed.status_code} {placed.content!r}")
    check(
        order.status == OrderStatusEnum.PENDING_PAYMENT and order.total == cart.total,
        "placed, pending payment",
    )
    replay = orders_create.sync_detailed(client=me, body=body, idempotency_key=key)
    check(
        isinstance(replay.parsed, Order) and replay.parsed.number == order.number,
        "the retry replays the order",
    )
    check(replay.headers.get("Idempotent-Replayed") == "true", "Idempotent-Replayed header")
    log(f"order {order.number}, {order.total} {order.currency}")
    again = orders_create.sync_detailed(client=me, body=CheckoutRequest())
    expect_error(again, HTTPStatus.BAD_REQUEST, CartEmptyError, "cart_empty")

    # Pay with the mock gateway, then poll the order until it is paid and has its invoice.
    if order.payment is None:
        raise SystemExit("the order has no payment to make")
    paid = payments_mock_create.sync_detailed(
        order.payment.token,
        client=anonymous,
        body=MockActionRequest(
            transaction_status=TransactionStatusEnum.SETTLEMENT, payment_type=PaymentTypeEnum.QRIS
        ),
    )
    check(paid.status_code == HTTPStatus.OK, f"mock payment: {paid.status_code}")
    current = None
    for _attempt in range(60):
        polled = orders_retrieve.sync(order.number, client=me)
        current = polled if isinstance(polled, Order) else None
        if current is not None and current.status == OrderStatusEnum.PAID and current.invoice is not None:
            break
        time.sleep(0.5)
    check(current is not None and current.invoice is not None, "paid, with an invoice")
    pay_again = orders_pay_create.sync_detailed(order.number, client=me)
    expect_error(pay_again, HTTPStatus.CONFLICT, PaymentNotAllowedError, "payment_not_allowed")
    invoices = invoices_list.sync(client=me)
    if not isinstance(invoices, PaginatedInvoiceList):
        raise SystemExit("invoices")
    numbers = [invoice.number for invoice in invoices.results if invoice.order_number == order.number]
    check(len(numbers) == 1, "the invoice is listed")
    pdf = invoices_pdf_retrieve.sync_detailed(numbers[0], client=me)
    if not isinstance(pdf.parsed, File):
        raise SystemExit(f"invoice PDF: {pdf.status_code}")
    content = pdf.parsed.payload.read()
    check(content.startswith(b"%PDF-") and pdf.headers.get("Content-Type") == "application/pdf", "a PDF")
    log(f"paid; invoice {numbers[0]}, {len(content)} bytes of PDF")
    return order.number


def staff(number: str) -> None:
    desk = login(setting("FOODIES_STAFF_EMAIL"), setting("FOODIES_STAFF_PASSWORD"))
    paid = orders_list.sync(client=desk, status=OrdersListStatus.PAID, page_size=100)
    if not isinstance(paid, PaginatedOrderList):
        raise SystemExit("staff order list")
    check(any(order.number == number for order in paid.results), "the paid order is in staff's list")
    for status in (
        StatusChangeStatusEnum.PREPARING,
        StatusChangeStatusEnum.READY,
        StatusChangeStatusEnum.COMPLETED,
    ):
        moved = orders_status_create.sync_detailed(
            number, client=desk, body=StatusChangeRequest(status=status, note="journey")
        )
        check(
            isinstance(moved.parsed, Order) and moved.parsed.status == OrderStatusEnum(status.value),
            f"to {status}: {moved.status_code} {moved.content!r}",
        )
    backwards = orders_status_create.sync_detailed(
        number, client=desk, body=StatusChangeRequest(status=StatusChangeStatusEnum.PREPARING)
    )
    expect_error(backwards, HTTPStatus.CONFLICT, InvalidTransitionError, "invalid_transition")
    refusal = backwards.parsed
    check(
        isinstance(refusal, InvalidTransitionError)
        and refusal.status == OrderStatusEnum.COMPLETED
        and refusal.requested == "preparing",
        f"invalid_transition names both statuses: {backwards.content!r}",
    )
    log(f"staff moved {number} to completed; back to preparing is a 409")


if __name__ == "__main__":
    staff(shopper())
    print("  [py] journeys done", flush=True)
