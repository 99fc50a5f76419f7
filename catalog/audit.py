"""The check of the catalog's maintained columns: what `catalog_audit` reports.

`Product` keeps copies for fast reads (`current_price`, `current_price_version`,
`price_changes_at`, `has_options`, `listed`), written by `catalog.services` and
`catalog.options`. This recomputes each from its source (the price history, the option
groups, the product and its category), with the same expressions the writers use, and
lists every column that differs. Stock is `stock_audit`'s (against the ledger)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef
from django.utils import timezone

from catalog.models import Product
from catalog.services import listed_condition, price_columns, prices_in_force, prices_switch_due

COLUMNS = ("current_price", "current_price_version", "price_changes_at", "has_options", "listed")


@dataclass(frozen=True)
class ColumnDrift:
    product_id: int
    slug: str
    column: str
    stored: object
    expected: object


def catalog_audit(*, now: datetime | None = None) -> list[ColumnDrift]:
    """Every maintained column that differs from its source, by product id then column.

    A scheduled price that has come due is switched first, as any menu read would do: a due
    switch not yet made is the design working, not drift (one UPDATE of just those rows)."""
    now = now or timezone.now()
    prices_switch_due(now=now)
    has_groups = Exists(Product.option_groups.through.objects.filter(product_id=OuterRef("pk")))
    listed = listed_condition(priced=Exists(prices_in_force(now=now)))
    expected = {
        **{f"expected_{name}": expression for name, expression in price_columns(now=now).items()},
        "expected_has_options": has_groups,
        "expected_listed": ExpressionWrapper(listed, output_field=BooleanField()),
    }
    rows = (
        Product.objects.annotate(**expected)
        .order_by("pk")
        .values("pk", "slug", *COLUMNS, *expected)
        .iterator(chunk_size=2000)
    )
    return [
        ColumnDrift(row["pk"], row["slug"], name, row[name], row[f"expected_{name}"])
        for row in rows
        for name in COLUMNS
        if row[name] != row[f"expected_{name}"]
    ]
