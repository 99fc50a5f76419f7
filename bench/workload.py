"""What a benchmark scenario is made of: the requests it sends (`Request`), what its
`prepare` returns (`Workload`), what it gets to prepare with (`Context`), the scenario row
with its target (`Scenario`), and the sizes the scenarios share. The scenarios themselves
are in `bench/scenarios.py` (the table), `bench/scenarios_checkout.py` and
`bench/scenarios_invoices.py`.
"""

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, NamedTuple

from bench.fixtures import Menu, Shopper

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
    prefer: str | None = None  # sent as Prefer (return=minimal)

    def tsv(self) -> str:
        """One line of bench/requests.lua's input: METHOD PATH TOKEN IF_NONE_MATCH BODY, and
        PREFER when there is one."""
        fields = [self.method, self.path, self.token or "-", self.etag or "-", self.body or "-"]
        if self.prefer:
            fields.append(self.prefer)
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


def json_text(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"))


def shuffled(items: list, seed: int) -> list:
    items = list(items)
    random.Random(seed).shuffle(items)
    return items
