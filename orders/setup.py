"""The shop's setup (weekly hours, their exceptions, the charges) read under one number.

Staff change these a few times a year; every checkout needs all three. The busy-mode row
(`KitchenState`, which checkout reads first anyway, under a shared lock) carries
`setup_version`, moved on by every change of them (`setup_changed`, inside the writer's
transaction). That UPDATE takes the row, so a change waits for the checkouts under way and
every checkout after its commit reads the new number. Inside `setup_scope` (checkout's
transaction) once the number is known (`setup_version_known`), `kept` answers the setup
reads from a per-process cache keyed by it: a checkout reads none of those tables while
nothing changed. Everywhere else (no number known) the reads go to the database as before.

The number is read before the rows it keys (the same statement order in every checkout),
so rows older than a number are never kept under it. It never goes below the clock in
microseconds, like the catalog version, so a restored database cannot bring an old number
back with different rows.
"""

import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import connection

from orders.pickup.models import KitchenState

STATE_ID = 1
KEPT_MAX = 64  # a day's few date ranges and the charges, for the last numbers seen

T = TypeVar("T")

_UNSCOPED = object()
_VERSION: ContextVar[object] = ContextVar("setup_version", default=_UNSCOPED)
_KEPT: dict[tuple, object] = {}


@contextmanager
def setup_scope() -> Iterator[None]:
    """Around a transaction that reads the busy-mode row first (checkout)."""
    token = _VERSION.set(None)
    try:
        yield
    finally:
        _VERSION.reset(token)


def setup_version_known(version: int) -> None:
    """The number as the busy-mode row holds it, read in this transaction; ignored outside
    `setup_scope`."""
    if _VERSION.get() is not _UNSCOPED:
        _VERSION.set(version)


def kept(key: tuple[Hashable, ...], read: Callable[[], T]) -> T:
    """`read()`, or what it gave under the same number and `key` in this process. The value
    is shared: callers must not change it."""
    version = _VERSION.get()
    if version is _UNSCOPED or version is None:
        return read()
    full = (version, *key)
    if full in _KEPT:
        return _KEPT[full]
    value = read()
    if len(_KEPT) >= KEPT_MAX:
        _KEPT.clear()
    _KEPT[full] = value
    return value


def kept_forget() -> None:
    """Tests: each test's database rolls back to the same number."""
    _KEPT.clear()


_BUMP: dict[str, str] = {}


def _bump_sql() -> str:
    vendor = connection.vendor
    if vendor not in _BUMP:
        table = connection.ops.quote_name(KitchenState._meta.db_table)
        greatest = "GREATEST" if vendor == "postgresql" else "MAX"
        # bandit B608: the table name is the model's, quoted; values go as parameters.
        _BUMP[vendor] = f"UPDATE {table} SET setup_version = {greatest}(setup_version + 1, %s) WHERE id = %s"  # nosec B608
    return _BUMP[vendor]


def setup_changed() -> None:
    """Call inside the transaction of any write of the weekly hours, an hours exception or
    the shop settings: the row stays locked to its commit."""
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_bump_sql(), [time.time_ns() // 1000, STATE_ID])
            if cursor.rowcount:
                return
        # The row exists from the migration on; after reset_data or a flush it comes back.
        KitchenState.objects.bulk_create([state_row_new()], ignore_conflicts=True)


def state_row_new() -> KitchenState:
    """The busy-mode row made again (reset_data deletes it): its number from the clock, so
    it cannot come back to one a process keeps the hours of before a change under."""
    return KitchenState(pk=STATE_ID, setup_version=time.time_ns() // 1000)
