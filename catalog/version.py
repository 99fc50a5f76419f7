"""The catalog version: one number that every menu, price or stock write moves on, so a
cached menu response (keyed by it, and its ETag) is never served after a write commits.

It is one database row (`CatalogVersion`, id 1), so every process of every deployment sees
the same number whatever the cache (a per-process cache included): reading it is one
primary-key lookup. The same row says when the menu next changes by time passing alone
(`next_change_at`: the earliest scheduled price and the earliest sold-out end), recomputed
by every bump; a read that finds that moment passed brings the menu up to date first
(`catalog.services.menu_ensure_current`), which moves the version on.

A bump never moves the number below the clock (microseconds), so a database restored from
a backup cannot hand out again a version some client or process kept from before."""

import time
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Subquery
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import CatalogVersion, Product

STATE_ID = 1


class CatalogState(NamedTuple):
    version: int
    next_change_at: datetime | None


def _fresh() -> int:
    return time.time_ns() // 1000


def _next_change(now: datetime):
    """The earliest scheduled price switch and sold-out end after `now`, as one expression
    (each a partial-index lookup); NULL when neither exists."""
    switch = Subquery(
        Product.objects.filter(price_changes_at__isnull=False)
        .order_by("price_changes_at")
        .values("price_changes_at")[:1]
    )
    end = Subquery(
        Product.objects.filter(sold_out_until__gt=now).order_by("sold_out_until").values("sold_out_until")[:1]
    )
    # Least is NULL on SQLite when any argument is: pair each with the other as fallback.
    return Least(Coalesce(switch, end), Coalesce(end, switch))


_BUMP: dict[str, str] = {}


def _bump_sql() -> str:
    """The bump as one written-out UPDATE, the same as `_next_change` says in the ORM (the
    ORM took longer to compile it than the database to run it, on every checkout): the
    version moved on (never below the clock), and the next change recomputed; MIN skips
    NULLs, so either kind alone, or neither (NULL), is right on both databases."""
    vendor = connection.vendor
    if vendor not in _BUMP:
        table, products = version_table(), connection.ops.quote_name(Product._meta.db_table)
        greatest = "GREATEST" if vendor == "postgresql" else "MAX"
        # bandit B608: the table names are the models', quoted; values go as parameters.
        _BUMP[vendor] = (
            f"UPDATE {table} SET version = {greatest}(version + 1, %s), "  # nosec B608
            f"next_change_at = (SELECT MIN(t) FROM ("
            f"SELECT MIN(price_changes_at) AS t FROM {products} WHERE price_changes_at IS NOT NULL "
            f"UNION ALL SELECT MIN(sold_out_until) AS t FROM {products} WHERE sold_out_until > %s"
            f") AS next_changes) WHERE id = %s"
        )
    return _BUMP[vendor]


def _bump() -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_bump_sql(), [_fresh(), now, STATE_ID])
            if cursor.rowcount:
                return
        _row_ensure()


def _row_ensure() -> None:
    """The row exists from the migration on; a flushed database (tests) gets it back."""
    CatalogVersion.objects.bulk_create(
        [CatalogVersion(pk=STATE_ID, version=_fresh(), next_change_at=None)], ignore_conflicts=True
    )
    # A fresh row must know the next change too (a scheduled price made before the flush).
    CatalogVersion.objects.filter(pk=STATE_ID).update(next_change_at=_next_change(timezone.now()))


_READ = None


def _read_sql() -> str:
    global _READ
    if _READ is None:
        table = version_table()
        # bandit B608: the table name is the model's, quoted; the id goes as a parameter.
        _READ = f"SELECT version, next_change_at FROM {table} WHERE id = %s"  # nosec B608
    return _READ


def _aware(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(value)  # SQLite hands a raw cursor text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def state_of(version: int, next_change_at) -> CatalogState:
    """The state from the row's two columns as a raw cursor returns them."""
    return CatalogState(version, _aware(next_change_at))


def version_table() -> str:
    return connection.ops.quote_name(CatalogVersion._meta.db_table)


def catalog_state() -> CatalogState:
    """The version and the next time-driven change: one query (a raw primary-key lookup,
    no ORM compile: it runs on every menu read)."""
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_read_sql(), [STATE_ID])
            row = cursor.fetchone()
        if row is not None:
            return CatalogState(row[0], _aware(row[1]))
        _row_ensure()
    raise AssertionError("unreachable: the row was just made")


def catalog_version() -> int:
    return catalog_state().version


def catalog_changed() -> None:
    """Call from any write that changes what the menu shows; takes effect on commit (at
    once outside a transaction), so no reader caches the old state under the new version."""
    transaction.on_commit(_bump)


def catalog_changed_now() -> None:
    """For a change that is no write (a time passing: a sold-out mark ending), so nothing
    to wait for: move the version on at once."""
    _bump()
