"""The scenario table: what `bench/run.py` measures, how each scenario's requests are
prepared, and the target it is held to.

A scenario's `prepare(ctx)` runs in the harness process against the scratch database
(Django is set up), creates what the requests need (shoppers, carts, stock) and returns
a `Workload`: the requests, which the load generator deals out over its threads and
sends in order, wrapping around at the end. The same workload drives `--profile`, which
sends it in-process through Django's test client instead.

A scenario may instead time work in the harness process (`Workload.run`, the invoice
render): the same row, without a ratio (no HTTP, nothing to compare with the bare view).
`Workload.after` checks in the database what the requests did (payments opened, webhooks
applied) once the load has stopped; what it finds wrong counts as errors.

To add a scenario: write its `prepare`, add a `Scenario` row to SCENARIOS with its
expected status and target. A scenario whose requests change state must not repeat a
request within a run (each checkout needs a different shopper's cart): size the workload
from `ctx.requests_for(...)`, which uses the rates measured earlier in the same run.
"""

import json
import math
import random
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, NamedTuple

from django.conf import settings

from bench import fixtures
from bench.fixtures import Menu, Shopper
from bench.midtrans_fake import settlement_notification

API = "/api/v1"
PAGE_SIZE = 20  # the API's default page size, what a shopper's first request gets
CART_READ_LINES = 3  # two singles and a bundle in every cart the cart-read scenario reads
CART_ADD_LINES = 5  # products each shopper adds in turn (quantity grows by one per pass)
CHECKOUT_PRODUCTS = 40  # the products checkout lines are spread over (rows whose stock is taken)
ETAGS_FETCHED = 300  # product details whose ETag the revalidation scenario learns first
CHECKOUT_PAYMENT_CONNECTIONS = 16  # issue 14: checkout p99 with 16 concurrent clients
WEBHOOK = f"{API}/payments/midtrans/notification/"
PAYMENT_TYPES = ("qris", "gopay", "bank_transfer", "shopeepay")  # settle with each in turn
# The webhook's rate guessed from checkout's when there is no warm-up to measure it (about
# the same work: a few locked rows, an invoice). Its first deliveries are never repeated.
WEBHOOK_RATE_OVER_CHECKOUT = 2
ORDER_THREADS = 3  # harness threads placing orders when the run's checkouts left too few
REPEATED_NOTIFICATIONS = 1000  # at most, cycled over by the repeated-delivery scenario
INVOICE_PDFS = 100  # invoices whose stored PDFs are downloaded, cycled over
INVOICE_RENDERS = (10, 50)  # timed renders: at least, at most (within --duration)


class Request(NamedTuple):
    method: str
    path: str
    token: str | None = None
    etag: str | None = None  # sent as If-None-Match
    body: str | None = None  # JSON text

    def tsv(self) -> str:
        """One line of bench/requests.lua's input: METHOD PATH TOKEN IF_NONE_MATCH BODY."""
        fields = [self.method, self.path, self.token or "-", self.etag or "-", self.body or "-"]
        if any("\t" in f or "\n" in f for f in fields):
            raise ValueError(f"tab or newline in a request field: {fields!r}")
        return "\t".join(fields)


@dataclass
class Timings:
    """What an in-process scenario measured: wall and CPU time of each operation."""

    wall_ms: list[float]
    cpu_ms: list[float]
    errors: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workload:
    requests: list[Request]
    # Requests to warm the server up with before measuring; None: the measured requests
    # themselves (fine for reads; a write scenario prepares separate ones).
    warmup: list[Request] | None = None
    note: str = ""
    # False when sending a request twice is not the same measurement (a checkout empties the
    # cart): running out of prepared requests is then reported.
    repeatable: bool = True
    # Called once the load has stopped: what the requests did, read from the database, as
    # facts for the results; an "errors" entry is added to the scenario's errors.
    after: Callable[[], dict[str, Any]] | None = None
    # An in-process scenario: timed by the harness instead of sent over HTTP (`requests` empty).
    run: Callable[[], Timings] | None = None
    # Sizes the measured requests from the warm-up's req/s (None: no warm-up, or --profile)
    # and returns them, for a write whose requests are costly to prepare (each webhook needs
    # an order placed and its payment opened): `requests` is then only a placeholder.
    resize: Callable[[float | None], list[Request]] | None = None


class Skip(Exception):
    """The scenario cannot be measured against this server; the message says why."""


Fetch = Callable[[list[Request]], list[tuple[int, dict[str, str]]]]


@dataclass
class Context:
    menu: Menu
    shoppers: list[Shopper]  # the run's regular shoppers: cart read, add to cart
    fetch: Fetch  # sends requests outside the measurement (to learn ETags): (status, headers)
    connections: int
    duration: float
    warmup: float
    # req/s measured so far in this run, by scenario name: sizes the next write workload.
    rates: dict[str, float] = field(default_factory=dict)
    # --profile: the exact number of requests the workload must serve without repeating.
    budget: int | None = None
    # The fake Midtrans the app pays through (bench.midtrans_fake.MidtransFake), if any.
    gateway: Any = None
    # What one scenario leaves for a later one (the notifications delivered, ...).
    shared: dict[str, Any] = field(default_factory=dict)
    _labels: count = field(default_factory=count)

    def label(self, prefix: str) -> str:
        return f"{prefix}{next(self._labels)}"

    def requests_for(self, seconds: float, *, connections: int | None = None, like: str = "cart-add") -> int:
        """How many distinct requests `seconds` of load could send: at the larger of 1.5x the
        rate measured for `like` and a quarter of the bare view's, plus 20 per connection."""
        if self.budget is not None:
            return self.budget
        if seconds <= 0:
            return 0
        rate = max(1.5 * self.rates.get(like, 0.0), 0.25 * self.rates.get("bare", 2000.0))
        return math.ceil(rate * seconds) + 20 * (connections or self.connections)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    prepare: Callable[[Context], Workload] | None
    expect: frozenset[int] = frozenset({200})  # statuses that count as success
    min_ratio: float | None = None  # target: req/s at least this times the bare view's
    max_p50_ms: float | None = None
    max_p99_ms: float | None = None
    zero_errors: bool = False  # target: no response outside `expect`, no socket error
    connections: int | None = None  # overrides --connections
    source: str = ""  # where the target comes from
    planned: str = ""  # not measurable yet: what it waits for

    @property
    def has_target(self) -> bool:
        return (
            any(v is not None for v in (self.min_ratio, self.max_p50_ms, self.max_p99_ms)) or self.zero_errors
        )

    def target_text(self) -> str:
        parts = []
        if self.min_ratio is not None:
            parts.append(f">= {self.min_ratio:g}x")
        if self.max_p50_ms is not None:
            parts.append(f"p50 < {self.max_p50_ms:g} ms")
        if self.max_p99_ms is not None:
            parts.append(f"p99 < {self.max_p99_ms:g} ms")
        if self.zero_errors:
            parts.append("0 errors")
        return ", ".join(parts)


def _json(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"))


def _shuffled(items: list, seed: int) -> list:
    items = list(items)
    random.Random(seed).shuffle(items)
    return items


# --- reads ----------------------------------------------------------------------------


def prepare_bare(ctx: Context) -> Workload:
    return Workload([Request("GET", "/_bench/bare")])


def prepare_list(ctx: Context) -> Workload:
    pages = _shuffled(range(1, ctx.menu.page_count + 1), seed=1)
    return Workload(
        [Request("GET", f"{API}/products/?page={page}") for page in pages],
        note=f"{len(pages)} pages of {PAGE_SIZE}, shuffled",
    )


def detail_path(slug: str) -> str:
    return f"{API}/products/{slug}/"


def prepare_detail(ctx: Context) -> Workload:
    slugs = _shuffled(ctx.menu.visible_slugs, seed=2)
    return Workload([Request("GET", detail_path(slug)) for slug in slugs], note=f"{len(slugs)} products")


def prepare_detail_revalidated(ctx: Context) -> Workload:
    """Only when the server sends ETags: each request carries the ETag the server gave for
    that product just before, so a right answer is 304 Not Modified."""
    slugs = _shuffled(ctx.menu.visible_slugs, seed=3)[:ETAGS_FETCHED]
    answers = ctx.fetch([Request("GET", detail_path(slug)) for slug in slugs])
    etags = [headers.get("etag") for _, headers in answers]
    if not any(etags):
        raise Skip("the server sends no ETag on a product detail")
    requests = [
        Request("GET", detail_path(slug), etag=etag)
        for slug, etag, (status, _) in zip(slugs, etags, answers, strict=True)
        if etag and status == 200
    ]
    return Workload(requests, note=f"{len(requests)} products, ETags learnt first")


# --- the cart ---------------------------------------------------------------------------


def prepare_cart_read(ctx: Context) -> Workload:
    singles, bundles = ctx.menu.single_ids, ctx.menu.bundle_ids
    lines = {}
    for i, shopper in enumerate(ctx.shoppers):
        wanted = [(singles[(2 * i) % len(singles)], 1), (singles[(2 * i + 1) % len(singles)], 2)]
        if bundles:
            wanted.append((bundles[i % len(bundles)], 1))
        lines[shopper.user_id] = wanted
    fixtures.carts_fill(lines=lines)
    return Workload(
        [Request("GET", f"{API}/cart/", token=shopper.token) for shopper in ctx.shoppers],
        note=f"{len(ctx.shoppers)} shoppers, {CART_READ_LINES} lines each (one a bundle)",
    )


def _adds(shoppers: list[Shopper], singles: list[int], slugs: dict[int, str]) -> list[Request]:
    """Each shopper adds CART_ADD_LINES different products, one unit each, shoppers taking
    turns; a repeat pass adds one more unit to the same lines. Bounded: the cap of
    CART_MAX_QUANTITY per line is reached only after that many passes."""
    requests = []
    for k in range(CART_ADD_LINES):
        for i, shopper in enumerate(shoppers):
            product = singles[(i * CART_ADD_LINES + k) % len(singles)]
            body = _json({"product": slugs[product], "quantity": 1})
            requests.append(Request("POST", f"{API}/cart/items/", token=shopper.token, body=body))
    return requests


def prepare_cart_add(ctx: Context) -> Workload:
    fixtures.carts_clear(user_ids=[shopper.user_id for shopper in ctx.shoppers])
    menu = ctx.menu
    warm = (
        fixtures.shoppers_create(label=ctx.label("warm-add"), count=2 * ctx.connections) if ctx.warmup else []
    )
    capacity = len(ctx.shoppers) * CART_ADD_LINES * settings.CART_MAX_QUANTITY
    return Workload(
        _adds(ctx.shoppers, menu.single_ids, menu.single_slugs),
        warmup=_adds(warm, menu.single_ids, menu.single_slugs),
        note=f"{len(ctx.shoppers)} shoppers x {CART_ADD_LINES} products; {capacity} adds before a line is full",
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


def _settled_notifications(ctx: Context, *, count: int) -> list[dict[str, Any]]:
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
    return Request("POST", WEBHOOK, body=_json(body))


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
    warm_bodies = _settled_notifications(ctx, count=warm)
    delivered = ctx.shared["webhook_notifications"] = list(warm_bodies)
    measured_ids: list[str] = []

    def resize(rate: float | None) -> list[Request]:
        # A warm-up right after a server restart (checkout-3 runs with 16 connections) is slow:
        # never size below checkout's rate, which the webhook has always exceeded.
        rate = max(rate, ctx_checkout_rate(ctx)) if rate else None
        bodies = _settled_notifications(ctx, count=webhook_requests_for(ctx, ctx.duration, rate=rate))
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

        bodies = _settled_notifications(ctx, count=min(REPEATED_NOTIFICATIONS, ctx.budget or 200))
        for body in bodies:
            notification_handle(raw_body=_json(body).encode())
    bodies = _shuffled(bodies, seed=4)
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


# --- invoices -------------------------------------------------------------------------------


def _paid_invoices(ctx: Context, *, count: int) -> list:
    """Up to `count` invoices of this run's paid orders, three-line orders first; when there
    are too few, more orders are paid in the harness through the webhook's service."""
    from invoices.models import Invoice
    from payments.services.webhook import notification_handle

    def found() -> list[Invoice]:
        invoices = list(Invoice.objects.select_related("order").order_by("id"))
        three = [invoice for invoice in invoices if len(invoice.snapshot["lines"]) == 3]
        rest = [invoice for invoice in invoices if len(invoice.snapshot["lines"]) != 3]
        return (three + rest)[:count]

    invoices = found()
    if len(invoices) < count and ctx.gateway is not None:
        for body in _settled_notifications(ctx, count=count - len(invoices)):
            notification_handle(raw_body=_json(body).encode())
        invoices = found()
    if not invoices:
        raise Skip("no paid order to invoice")
    return invoices


def prepare_invoice_pdf(ctx: Context) -> Workload:
    """Each shopper downloads their invoice's PDF, already rendered and stored (rendered
    here first where the worker has not yet): the download only streams the file."""
    from invoices.models import Invoice
    from invoices.services import invoice_render_pdf

    invoices = _paid_invoices(ctx, count=ctx.budget or INVOICE_PDFS)
    rendered_here = 0
    for invoice in invoices:
        if not invoice.pdf:
            invoice_render_pdf(invoice=invoice)
            rendered_here += 1
    ids = [invoice.pk for invoice in invoices]
    rendered_at = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "rendered_at"))
    tokens = fixtures.tokens_for(user_ids=list({invoice.order.user_id for invoice in invoices}))
    requests = [
        Request("GET", f"{API}/invoices/{invoice.number}/pdf/", token=tokens[invoice.order.user_id])
        for invoice in _shuffled(invoices, seed=5)
    ]

    def after() -> dict[str, Any]:
        now = dict(Invoice.objects.filter(pk__in=ids).values_list("pk", "rendered_at"))
        rerendered = sum(1 for pk in ids if now[pk] != rendered_at[pk])
        return {"rendered_during_run": rerendered, "errors": rerendered}

    sizes = [invoice.pdf_size for invoice in Invoice.objects.filter(pk__in=ids)]
    return Workload(
        requests,
        note=(
            f"{len(invoices)} stored PDFs ({rendered_here} rendered by the harness first), "
            f"{statistics.fmean(sizes) / 1024:.0f} KB on average"
        ),
        after=after,
    )


def harfbuzz_subset() -> dict[str, Any]:
    """Whether WeasyPrint subsets fonts with HarfBuzz (fast) or fontTools (slow), and the
    Debian package behind it."""
    import weasyprint.pdf.fonts

    try:
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status} ${Version}", "libharfbuzz-subset0"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except FileNotFoundError:
        version = ""
    installed = version.startswith("install ok installed")
    return {
        "weasyprint_uses_harfbuzz_subset": weasyprint.pdf.fonts.harfbuzz_subset is not None,
        "libharfbuzz_subset0": version.rsplit(" ", 1)[-1] if installed else None,
    }


def prepare_invoice_render(ctx: Context) -> Workload:
    """The PDF of a real invoice of the run (three lines, a bundle among them, where the
    webhook scenario paid such orders), rendered again from its snapshot and stored, timed
    in the harness: `invoice_render_pdf(force=True)`, as the worker's task does."""
    invoices = _paid_invoices(ctx, count=INVOICE_RENDERS[1])
    low, high = INVOICE_RENDERS
    limit = ctx.budget or high

    def run() -> Timings:
        from invoices.services import invoice_render_pdf

        invoice_render_pdf(invoice=invoices[0], force=True)  # untimed: templates, fonts, CSS loaded
        wall, cpu, sizes, lines = [], [], [], Counter()
        began = time.monotonic()
        for i in range(limit):
            if i >= low and time.monotonic() - began > ctx.duration:
                break
            invoice = invoices[i % len(invoices)]
            started, cpu_started = time.perf_counter(), time.process_time()
            invoice_render_pdf(invoice=invoice, force=True)
            wall.append(1000 * (time.perf_counter() - started))
            cpu.append(1000 * (time.process_time() - cpu_started))
            sizes.append(invoice.pdf_size)
            lines[len(invoice.snapshot["lines"])] += 1
        return Timings(
            wall_ms=wall,
            cpu_ms=cpu,
            facts={
                **harfbuzz_subset(),
                "lines_per_invoice": dict(sorted(lines.items())),
                "pdf_kb_mean": round(statistics.fmean(sizes) / 1024, 1),
            },
        )

    return Workload(
        [],
        run=run,
        note=f"up to {limit} renders over {len(invoices)} invoices, in the harness process",
    )


# --- the table ----------------------------------------------------------------------------

ISSUE_8 = "issue 8"
ISSUE_14 = "issue 14"

BARE = Scenario("bare", "GET /_bench/bare (reference)", prepare_bare)
# Measured again last: the reference is their mean, and the drift between the two says how
# much the machine's load changed during the run.
BARE_AGAIN = Scenario("bare-end", "GET /_bench/bare (again, last)", prepare_bare)

SCENARIOS: list[Scenario] = [
    BARE,
    Scenario("list", "GET products/?page=N", prepare_list, min_ratio=0.5, source=ISSUE_8),
    Scenario("detail", "GET products/{slug}/", prepare_detail, min_ratio=0.6, source=ISSUE_8),
    Scenario(
        "detail-304",
        "GET products/{slug}/ + If-None-Match",
        prepare_detail_revalidated,
        expect=frozenset({304}),
    ),
    Scenario("cart-read", "GET cart/ (3 lines)", prepare_cart_read),
    Scenario(
        "cart-add",
        "POST cart/items/",
        prepare_cart_add,
        expect=frozenset({201}),
        min_ratio=0.25,
        source=ISSUE_8,
    ),
    Scenario(
        "checkout",
        "POST orders/ (1 line)",
        prepare_checkout,
        expect=frozenset({201}),
        min_ratio=0.1,
        zero_errors=True,
        source=ISSUE_8,
    ),
    Scenario(
        "checkout-3",
        "POST orders/ (3 lines, a bundle) + payment",
        prepare_checkout_payment,
        expect=frozenset({201}),
        max_p99_ms=150,
        zero_errors=True,
        connections=CHECKOUT_PAYMENT_CONNECTIONS,
        source=ISSUE_14,
    ),
    Scenario(
        "webhook",
        "POST payments/midtrans/notification/ (1st)",
        prepare_webhook,
        max_p99_ms=50,
        source=ISSUE_14,
    ),
    Scenario(
        "webhook-repeat",
        "POST payments/midtrans/notification/ (again)",
        prepare_webhook_repeat,
        max_p99_ms=50,
        source=ISSUE_14,
    ),
    Scenario(
        "invoice-pdf",
        "GET invoices/{number}/pdf/ (stored)",
        prepare_invoice_pdf,
        max_p99_ms=20,
        source=ISSUE_14,
    ),
    Scenario(
        "invoice-render",
        "invoice PDF render (in-process)",
        prepare_invoice_render,
        max_p50_ms=100,
        source=ISSUE_14,
    ),
    BARE_AGAIN,
]

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
