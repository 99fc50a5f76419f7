"""The write scenarios of `bench/scenarios.py` that go through checkout and payment:
checkout (with and without opening the payment) and the Midtrans webhook (first and
repeated deliveries), with the database checks run once their load has stopped.
"""

import math
import uuid
from collections import Counter
from typing import Any

from bench import fixtures
from bench.fixtures import Menu, Shopper
from bench.midtrans_fake import settlement_notification
from bench.workload import (
    API,
    CHECKOUT_PAYMENT_CONNECTIONS,
    CHECKOUT_PRODUCTS,
    ORDER_THREADS,
    PAYMENT_TYPES,
    REPEATED_NOTIFICATIONS,
    WEBHOOK,
    WEBHOOK_RATE_OVER_CHECKOUT,
    Context,
    Request,
    Skip,
    Workload,
    json_text,
    shuffled,
)

# --- checkout ---------------------------------------------------------------------------


def _checkout_shoppers(ctx: Context, *, label: str, count: int, products: list[int]) -> list[Shopper]:
    """`count` new shoppers, each with one unit of one of `products` in the cart."""
    shoppers = fixtures.shoppers_create(label=ctx.label(label), count=count)
    fixtures.carts_fill(
        lines={shopper.user_id: [(products[i % len(products)], 1)] for i, shopper in enumerate(shoppers)}
    )
    return shoppers


def prepare_checkout(ctx: Context, *, connections: int | None = None) -> Workload:
    """Every request checks out a different shopper's one-line cart (all lines: no body).
    Stock is raised first so that no checkout can fall short."""
    products = ctx.menu.single_ids[:CHECKOUT_PRODUCTS]
    measured = ctx.requests_for(ctx.duration, connections=connections)
    warm = ctx.requests_for(ctx.warmup, connections=connections)
    fixtures.stock_ensure(product_ids=products, at_least=(measured + warm) // len(products) + 100)
    shoppers = _checkout_shoppers(ctx, label="checkout", count=measured, products=products)
    warm_shoppers = _checkout_shoppers(ctx, label="warm-checkout", count=warm, products=products)

    return Workload(
        _orders(shoppers),
        warmup=_orders(warm_shoppers),
        repeatable=False,
        note=f"{len(shoppers)} shoppers with one line each, over {len(products)} products",
        after=lambda: checkout_check(user_ids=[shopper.user_id for shopper in shoppers]),
    )


def _orders(group: list[Shopper]) -> list[Request]:
    return [Request("POST", f"{API}/orders/", token=shopper.token, body="{}") for shopper in group]


def checkout_check(*, user_ids: list[int]) -> dict[str, Any]:
    """The orders these shoppers placed, and whether each got its payment opened at the
    gateway: a 201 whose order has `payment: null` counts as an error (the gateway failed)."""
    from orders.models import Order, OrderLine
    from payments.models import Payment

    orders = Order.objects.filter(user_id__in=user_ids)
    placed = orders.count()
    payments = Payment.objects.filter(order__in=orders)
    opened = payments.filter(status=Payment.Status.PENDING).exclude(token="").count()
    failed = payments.filter(status=Payment.Status.FAILED).count()
    lines = OrderLine.objects.filter(order__in=orders).count()
    return {
        "orders_placed": placed,
        "lines_per_order": round(lines / placed, 2) if placed else None,
        "payments_opened": opened,
        "payments_failed": failed,
        "errors": placed - opened,
    }


def checkout_lines(i: int, menu: Menu) -> list[tuple[int, int]]:
    """The i-th shopper's three lines: two singles (1 and 2 units) and a bundle."""
    singles = menu.single_ids[:CHECKOUT_PRODUCTS]
    return [
        (singles[(2 * i) % len(singles)], 1),
        (singles[(2 * i + 1) % len(singles)], 2),
        (menu.bundle_ids[i % len(menu.bundle_ids)], 1),
    ]


def _shoppers_with_three_lines(ctx: Context, *, label: str, count: int) -> list[Shopper]:
    shoppers = fixtures.shoppers_create(label=ctx.label(label), count=count)
    lines = {shopper.user_id: checkout_lines(i, ctx.menu) for i, shopper in enumerate(shoppers)}
    fixtures.carts_fill(lines=lines)
    fixtures.stock_ensure_for(lines=lines)
    return shoppers


def prepare_checkout_payment(ctx: Context) -> Workload:
    """Every request checks out a different shopper's cart of three lines (a bundle among
    them), and the app opens its payment at the fake Midtrans (Snap) before answering."""
    if not ctx.menu.bundle_ids:
        raise Skip("no bundle is for sale")
    if ctx.gateway is None:
        raise Skip("no Midtrans fake to open payments at")
    connections = CHECKOUT_PAYMENT_CONNECTIONS
    measured = ctx.requests_for(ctx.duration, connections=connections, like="checkout")
    warm = ctx.requests_for(ctx.warmup, connections=connections, like="checkout")
    shoppers = _shoppers_with_three_lines(ctx, label="checkout3-", count=measured)
    warm_shoppers = _shoppers_with_three_lines(ctx, label="warm-checkout3-", count=warm)
    return Workload(
        _orders(shoppers),
        warmup=_orders(warm_shoppers),
        repeatable=False,
        note=(
            f"{len(shoppers)} shoppers with 3 lines each (2 singles over {CHECKOUT_PRODUCTS} products, "
            f"1 of {len(ctx.menu.bundle_ids)} bundles); payment opened at the Midtrans fake"
        ),
        after=lambda: checkout_check(user_ids=[shopper.user_id for shopper in shoppers]),
    )


# --- the webhook ----------------------------------------------------------------------------


def _pending_payments(ctx: Context) -> list[tuple[str, int]]:
    """(gateway order id, amount) of the attempts opened at the fake and still pending,
    oldest first, not yet settled by this run."""
    from orders.models import OrderStatus
    from payments.models import Payment

    used = ctx.shared.setdefault("settled", set())
    rows = (
        Payment.objects.filter(
            gateway="midtrans", status=Payment.Status.PENDING, order__status=OrderStatus.PENDING_PAYMENT
        )
        .exclude(token="")
        .order_by("id")
        .values_list("gateway_order_id", "amount")
    )
    return [(order_id, amount) for order_id, amount in rows if order_id not in used]


def _orders_opened(ctx: Context, *, count: int) -> None:
    """`count` more orders of three lines with their payments opened at the fake, made in
    the harness through the checkout's services (when the run's checkouts left too few)."""
    from django.db import connection

    shoppers = _shoppers_with_three_lines(ctx, label="webhook-order-", count=count)
    threads = ORDER_THREADS if connection.vendor == "postgresql" else 1  # SQLite: one writer
    fixtures.orders_place(user_ids=[shopper.user_id for shopper in shoppers], threads=threads)


def settled_notifications(ctx: Context, *, count: int) -> list[dict[str, Any]]:
    """Signed settlement notifications for `count` pending attempts, the fake's status API
    set to answer settlement for each (as Midtrans's does once a shopper has paid)."""
    pending = _pending_payments(ctx)
    if len(pending) < count:
        _orders_opened(ctx, count=count - len(pending))
        pending = _pending_payments(ctx)
    rows = [
        {
            "order_id": order_id,
            "gross_amount": amount,
            "transaction_id": str(uuid.uuid4()),
            "payment_type": PAYMENT_TYPES[i % len(PAYMENT_TYPES)],
        }
        for i, (order_id, amount) in enumerate(pending[:count])
    ]
    refused = ctx.gateway.settle(rows)
    if refused:
        raise RuntimeError(f"the Midtrans fake never opened {len(refused)} of them, e.g. {refused[:3]}")
    ctx.shared["settled"].update(row["order_id"] for row in rows)
    return [settlement_notification(**row, server_key=ctx.gateway.server_key) for row in rows]


def _notification(body: dict[str, Any]) -> Request:
    return Request("POST", WEBHOOK, body=json_text(body))


def webhook_requests_for(
    ctx: Context, seconds: float, *, rate: float | None = None, connections: int | None = None
) -> int:
    """First deliveries `seconds` of webhook load could use: 1.5 x `rate` (the warm-up's),
    else WEBHOOK_RATE_OVER_CHECKOUT x the faster checkout's measured earlier (40 req/s when
    none ran), plus 20 per connection. Each one needs a real order, so this is not floored
    by the bare view's rate."""
    if ctx.budget is not None:
        return ctx.budget
    if seconds <= 0:
        return 0
    if not rate:
        rate = WEBHOOK_RATE_OVER_CHECKOUT * ctx_checkout_rate(ctx)
    return math.ceil(1.5 * rate * seconds) + 20 * (connections or ctx.connections)


def ctx_checkout_rate(ctx: Context) -> float:
    return max(ctx.rates.get("checkout", 0.0), ctx.rates.get("checkout-3", 0.0)) or 40.0


def prepare_webhook(ctx: Context) -> Workload:
    """Midtrans's settlement notification for an order, delivered for the first time: the
    app checks the signature, asks the fake's status API, pays the order and issues its
    invoice in one transaction, and leaves the PDF and receipt to the worker. Every request
    is another order: the run's checkouts first, more placed in the harness when they are
    too few for the rate the warm-up showed."""
    if ctx.gateway is None:
        raise Skip("no Midtrans fake to confirm the payments")
    # The warm-up may run out and deliver some again: harmless there, and it saves orders.
    warm = webhook_requests_for(ctx, ctx.warmup, rate=ctx_checkout_rate(ctx))
    warm_bodies = settled_notifications(ctx, count=warm)
    delivered = ctx.shared["webhook_notifications"] = list(warm_bodies)
    measured_ids: list[str] = []

    def resize(rate: float | None) -> list[Request]:
        # A warm-up right after a server restart (checkout-3 runs with 16 connections) is slow:
        # never size below checkout's rate, which the webhook has always exceeded.
        rate = max(rate, ctx_checkout_rate(ctx)) if rate else None
        bodies = settled_notifications(ctx, count=webhook_requests_for(ctx, ctx.duration, rate=rate))
        delivered.extend(bodies)
        measured_ids.extend(body["order_id"] for body in bodies)
        return [_notification(body) for body in bodies]

    return Workload(
        [],
        warmup=[_notification(body) for body in warm_bodies] or None,
        resize=resize,
        repeatable=False,
        note="orders each settled once (signed; the status API confirms), 1.5x the warm-up's rate",
        after=lambda: webhook_check(gateway_order_ids=measured_ids, first_delivery=True),
    )


def webhook_check(*, gateway_order_ids: list[str], first_delivery: bool) -> dict[str, Any]:
    """What the deliveries did: notification outcomes, orders paid, invoices issued. On a
    first delivery an order applied without its invoice, and on a repeat anything applied,
    counts as an error."""
    from invoices.models import Invoice
    from payments.models import Payment, PaymentNotification

    notifications = PaymentNotification.objects.filter(gateway_order_id__in=gateway_order_ids)
    outcomes = dict(Counter(notifications.values_list("outcome", flat=True)))
    settled = Payment.objects.filter(gateway_order_id__in=gateway_order_ids, status=Payment.Status.SETTLED)
    invoices = Invoice.objects.filter(order__payments__in=settled).distinct().count()
    facts: dict[str, Any] = {"outcomes": outcomes, "payments_settled": settled.count(), "invoices": invoices}
    if first_delivery:
        applied = notifications.filter(outcome=PaymentNotification.Outcome.APPLIED)
        facts["errors"] = (
            applied.count()
            - Invoice.objects.filter(order__payments__notifications__in=applied).distinct().count()
        )
    return facts


def prepare_webhook_repeat(ctx: Context) -> Workload:
    """The same notifications delivered again (Midtrans retries, and sends several for one
    payment): the status API is asked again and nothing changes (`duplicate`)."""
    from payments.models import Payment, PaymentNotification

    if ctx.gateway is None:
        raise Skip("no Midtrans fake to confirm the payments")
    bodies = ctx.shared.get("webhook_notifications", [])
    paid = set(
        Payment.objects.filter(
            gateway_order_id__in=[body["order_id"] for body in bodies], status=Payment.Status.SETTLED
        ).values_list("gateway_order_id", flat=True)
    )
    bodies = [body for body in bodies if body["order_id"] in paid][:REPEATED_NOTIFICATIONS]
    if not bodies:  # the first deliveries were not measured in this run: deliver some now
        from payments.services.webhook import notification_handle

        bodies = settled_notifications(ctx, count=min(REPEATED_NOTIFICATIONS, ctx.budget or 200))
        for body in bodies:
            notification_handle(raw_body=json_text(body).encode())
    bodies = shuffled(bodies, seed=4)
    mark = PaymentNotification.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def after() -> dict[str, Any]:
        received = PaymentNotification.objects.filter(id__gt=mark)
        outcomes = Counter(received.values_list("outcome", flat=True))
        # Anything but `duplicate` that wrk saw as 200 would be a repeat that changed something.
        return {"outcomes_with_warmup": dict(outcomes), "errors": outcomes.get("applied", 0)}

    return Workload(
        [_notification(body) for body in bodies],
        note=f"{len(bodies)} paid orders' settlement notifications, delivered again",
        after=after,
    )
