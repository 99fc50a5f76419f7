"""The scenario table: what `bench/run.py` measures, how each scenario's requests are
prepared, and the target it is held to.

A scenario's `prepare(ctx)` runs in the harness process against the scratch database
(Django is set up), creates what the requests need (shoppers, carts, stock) and returns
a `Workload`: the requests, which the load generator deals out over its threads and
sends in order, wrapping around at the end. The same workload drives `--profile`, which
sends it in-process through Django's test client instead.

To add a scenario (webhook settlement, invoice download, ...): write its `prepare`, add a
`Scenario` row to SCENARIOS with its expected status and target, and remove its `planned`
placeholder. A scenario whose requests change state must not repeat a request within a
run (each checkout needs a different shopper's cart): size the workload from
`ctx.requests_for(...)`, which uses the rates measured earlier in the same run.
"""

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import NamedTuple

from django.conf import settings

from bench import fixtures
from bench.fixtures import Menu, Shopper

API = "/api/v1"
PAGE_SIZE = 20  # the API's default page size, what a shopper's first request gets
CART_READ_LINES = 3  # two singles and a bundle in every cart the cart-read scenario reads
CART_ADD_LINES = 5  # products each shopper adds in turn (quantity grows by one per pass)
CHECKOUT_PRODUCTS = 40  # the products checkout lines are spread over (rows whose stock is taken)
ETAGS_FETCHED = 300  # product details whose ETag the revalidation scenario learns first


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
class Workload:
    requests: list[Request]
    # Requests to warm the server up with before measuring; None: the measured requests
    # themselves (fine for reads; a write scenario prepares separate ones).
    warmup: list[Request] | None = None
    note: str = ""
    # False when sending a request twice is not the same measurement (a checkout empties the
    # cart): running out of prepared requests is then reported.
    repeatable: bool = True


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

    def orders(group: list[Shopper]) -> list[Request]:
        return [Request("POST", f"{API}/orders/", token=shopper.token, body="{}") for shopper in group]

    return Workload(
        orders(shoppers),
        warmup=orders(warm_shoppers),
        repeatable=False,
        note=f"{len(shoppers)} shoppers with one line each, over {len(products)} products",
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
    # Hooks for what is being built: each needs its prepare() and the planned text removed.
    Scenario(
        "checkout-3",
        "POST orders/ (3 lines, a bundle) + payment",
        None,
        expect=frozenset({201}),
        max_p99_ms=150,
        zero_errors=True,
        connections=16,
        source=ISSUE_14,
        planned="payment creation against a local Midtrans-protocol fake server",
    ),
    Scenario(
        "webhook",
        "POST payments/midtrans/notification/ (settlement)",
        None,
        max_p99_ms=50,
        source=ISSUE_14,
        planned="the payments app (webhook) and orders paid in bulk to settle",
    ),
    Scenario(
        "invoice-pdf",
        "GET invoices/{number}/pdf/ (stored)",
        None,
        max_p99_ms=20,
        source=ISSUE_14,
        planned="the invoices app and paid orders with stored PDFs",
    ),
    Scenario(
        "invoice-render",
        "invoice PDF render",
        None,
        max_p50_ms=100,
        source=ISSUE_14,
        planned="the invoices app (WeasyPrint rendering)",
    ),
    BARE_AGAIN,
]

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
