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

from django.conf import settings

from bench import fixtures
from bench.fixtures import Shopper
from bench.scenarios_checkout import (
    prepare_checkout,
    prepare_checkout_payment,
    prepare_webhook,
    prepare_webhook_repeat,
)
from bench.scenarios_invoices import prepare_invoice_pdf, prepare_invoice_render
from bench.workload import (
    API,
    CART_ADD_LINES,
    CART_READ_LINES,
    CHECKOUT_PAYMENT_CONNECTIONS,
    ETAGS_FETCHED,
    PAGE_SIZE,
    Context,
    Request,
    Scenario,
    Skip,
    Workload,
    json_text,
    shuffled,
)

# --- reads ----------------------------------------------------------------------------


def prepare_bare(ctx: Context) -> Workload:
    return Workload([Request("GET", "/_bench/bare")])


def prepare_list(ctx: Context) -> Workload:
    pages = shuffled(range(1, ctx.menu.page_count + 1), seed=1)
    return Workload(
        [Request("GET", f"{API}/products/?page={page}") for page in pages],
        note=f"{len(pages)} pages of {PAGE_SIZE}, shuffled",
    )


def detail_path(slug: str) -> str:
    return f"{API}/products/{slug}/"


def prepare_detail(ctx: Context) -> Workload:
    slugs = shuffled(ctx.menu.visible_slugs, seed=2)
    return Workload([Request("GET", detail_path(slug)) for slug in slugs], note=f"{len(slugs)} products")


def prepare_detail_revalidated(ctx: Context) -> Workload:
    """Only when the server sends ETags: each request carries the ETag the server gave for
    that product just before, so a right answer is 304 Not Modified."""
    slugs = shuffled(ctx.menu.visible_slugs, seed=3)[:ETAGS_FETCHED]
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


def _adds(
    shoppers: list[Shopper], singles: list[int], slugs: dict[int, str], prefer: str | None = None
) -> list[Request]:
    """Each shopper adds CART_ADD_LINES different products, one unit each, shoppers taking
    turns; a repeat pass adds one more unit to the same lines. Bounded: the cap of
    CART_MAX_QUANTITY per line is reached only after that many passes."""
    requests = []
    for k in range(CART_ADD_LINES):
        for i, shopper in enumerate(shoppers):
            product = singles[(i * CART_ADD_LINES + k) % len(singles)]
            body = json_text({"product": slugs[product], "quantity": 1})
            requests.append(
                Request("POST", f"{API}/cart/items/", token=shopper.token, body=body, prefer=prefer)
            )
    return requests


def _prepare_adds(ctx: Context, *, label: str, prefer: str | None = None) -> Workload:
    fixtures.carts_clear(user_ids=[shopper.user_id for shopper in ctx.shoppers])
    menu = ctx.menu
    warm = fixtures.shoppers_create(label=ctx.label(label), count=2 * ctx.connections) if ctx.warmup else []
    capacity = len(ctx.shoppers) * CART_ADD_LINES * settings.CART_MAX_QUANTITY
    return Workload(
        _adds(ctx.shoppers, menu.single_ids, menu.single_slugs, prefer),
        warmup=_adds(warm, menu.single_ids, menu.single_slugs, prefer),
        note=f"{len(ctx.shoppers)} shoppers x {CART_ADD_LINES} products; {capacity} adds before a line is full",
    )


def prepare_cart_add(ctx: Context) -> Workload:
    return _prepare_adds(ctx, label="warm-add")


def prepare_cart_add_minimal(ctx: Context) -> Workload:
    """The same adds with `Prefer: return=minimal`: 204, the cart is not rendered."""
    return _prepare_adds(ctx, label="warm-add-minimal", prefer="return=minimal")


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
        "cart-add-minimal",
        "POST cart/items/ + Prefer: minimal",
        prepare_cart_add_minimal,
        expect=frozenset({204}),
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
