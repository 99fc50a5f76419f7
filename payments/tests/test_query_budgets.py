"""Query budgets of the hot write paths (issue 23): checkout (`POST orders/`, its payment
opened at a fake Midtrans through the real midtransclient) and the webhook's settlement,
in a shop set up as on the bench (open all day, slots made ahead). Each budget is the
count measured when it was pinned, so a change that adds a statement shows up here first.

Before issue 23: one line 42 statements in four transactions, a first settlement 22.
What a one-line checkout still runs (15): the user (JWT); busy mode FOR SHARE, whose row
also carries the setup number that the weekly hours, their exceptions and the charges are
kept under in the process (orders/setup.py: a process's first checkout after a change
reads those three too); the cart FOR UPDATE; its lines (with the unpaid count and the
voucher id); the order, its lines, the stock UPDATE and its ledger row; the first slot
with room booked in one UPDATE … RETURNING; the order's slot and ready time; the `placed`
event; the cart lines deleted; the attempt; then, after Snap, its event and its token.
"""

from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.tests.factories import BundleFactory, ProductFactory
from orders.models import Order
from orders.pickup import services as pickup_services
from payments.models import Payment
from payments.tests.conftest import deliver, notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shop_with_slots(db):
    """As on the bench (bench/fixtures.py): open the whole day every day, so an order as soon
    as possible reads the schedule and books a slot with room, whose rows exist ahead."""
    for weekday in range(7):
        pickup_services.weekly_hours_add(weekday=weekday, opens_at=time(0), closes_at=time(0))
    assert pickup_services.pickup_slots_materialise(now=timezone.now())


ORDERS = "/api/v1/orders/"
CART = "/api/v1/cart/items/"

CHECKOUT_ONE_LINE = 15
CHECKOUT_THREE_LINES_WITH_BUNDLE = 26
WEBHOOK_FIRST_SETTLEMENT = 12
WEBHOOK_REPEATED = 5


def _busy_mode_read() -> int:
    """Statements for reading busy mode beyond PostgreSQL's one SELECT … FOR SHARE: SQLite
    has no FOR SHARE, and kitchen._state_shared checks that the row exists first."""
    return 0 if connection.vendor == "postgresql" else 1


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    """The statements a request runs in production. The test's own transaction turns each
    outermost `atomic(durable=True)` into a savepoint (BEGIN and COMMIT are not logged,
    these are): those are left out, savepoints inside a transaction counted."""
    statements, depth = [], 0
    for query in ctx.captured_queries:
        sql = query["sql"]
        if sql.startswith("SAVEPOINT"):
            depth += 1
            if depth == 1:
                continue
        elif sql.startswith(("RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            depth -= 1
            if depth == 0:
                continue
        statements.append(sql)
    return statements


def _measure(call, budget: int):
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    statements = _statements(ctx)
    log = "\n".join(f"{i}: {sql[:300]}" for i, sql in enumerate(statements, 1))
    print(f"{len(statements)} statements\n{log}")
    assert len(statements) <= budget, f"{len(statements)} statements (budget {budget}):\n{log}"
    return response


def _add(client, slug: str, quantity: int = 1) -> None:
    assert client.post(CART, {"product": slug, "quantity": quantity}).status_code == 201


def _warm(auth_client) -> None:
    """A checkout before the measured one: a process keeps the hours and the charges under
    the setup number from its first checkout on (orders/setup.py); the first pays three
    statements more (the weekly hours, the exceptions, the charges)."""
    ProductFactory(slug="warm", price=1_000, stock=10)
    _add(auth_client, "warm")
    assert auth_client.post(ORDERS, {}, format="json").status_code == 201


def test_one_line_checkout(auth_client, midtrans):
    _warm(auth_client)
    ProductFactory(slug="nasi", price=10_000, stock=10)
    _add(auth_client, "nasi", 2)
    response = _measure(
        lambda: auth_client.post(ORDERS, {}, format="json"), CHECKOUT_ONE_LINE + _busy_mode_read()
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["total"], body["payment"]["status"]) == (
        "pending_payment",
        20_000,
        "pending",
    )
    # Built from what checkout holds, the answer is the order as read back.
    assert body == auth_client.get(f"{ORDERS}{body['number']}/").json()


def test_three_lines_with_a_bundle_and_a_key(auth_client, midtrans):
    _warm(auth_client)
    rice = ProductFactory(slug="rice", price=10_000, stock=20)
    tea = ProductFactory(slug="tea", price=5_000, stock=20)
    ProductFactory(slug="satay", price=25_000, stock=20)
    BundleFactory(slug="combo", price=12_000, components=[(rice, 1), (tea, 1)])
    for slug in ("rice", "satay", "combo"):
        _add(auth_client, slug)
    response = _measure(
        lambda: auth_client.post(ORDERS, {}, format="json", HTTP_IDEMPOTENCY_KEY="budget-1"),
        CHECKOUT_THREE_LINES_WITH_BUNDLE + _busy_mode_read(),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [len(body["lines"]), body["payment"]["status"]] == [3, "pending"]
    assert body == auth_client.get(f"{ORDERS}{body['number']}/").json()


def _pending_payment(auth_client) -> Payment:
    ProductFactory(slug="nasi", price=10_000, stock=10)
    _add(auth_client, "nasi", 3)
    assert auth_client.post(ORDERS, {}, format="json").status_code == 201
    return Payment.objects.get()


def test_first_settlement_and_a_repeat(api_client, auth_client, midtrans, django_capture_on_commit_callbacks):
    payment = _pending_payment(auth_client)
    body = notification("doc_bca_va_settlement", payment=payment)
    with django_capture_on_commit_callbacks() as after_commit:
        response = _measure(lambda: deliver(api_client, midtrans, body), WEBHOOK_FIRST_SETTLEMENT)
    assert response.status_code == 200, response.content
    order = Order.objects.get()
    assert order.status == "paid"
    # The invoice is issued in the transaction; its PDF and the receipt wait for the commit.
    assert (order.invoice.number, order.invoice.pdf.name) == (f"INV-{order.paid_at.year}-000001", "")
    enqueued = {
        getattr(callback.args[0], "name", "") for callback in after_commit if getattr(callback, "args", ())
    }
    assert {"invoices.tasks.render_invoice_pdf", "invoices.tasks.send_receipt"} <= enqueued
    response = _measure(lambda: deliver(api_client, midtrans, body), WEBHOOK_REPEATED)
    assert response.status_code == 200, response.content
