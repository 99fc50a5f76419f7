"""The stock audit: every product and option whose stock differs from the sum of its
ledger (`catalog.stock` writes both, in one transaction). Read-only; moved out of
`catalog.stock` so that module keeps to the code that moves stock. `manage.py
stock_audit` runs it."""

from dataclasses import dataclass

from django.db.models import F, IntegerField, Sum, Value
from django.db.models.functions import Coalesce

from catalog.models import Option, Product


@dataclass(frozen=True)
class Drift:
    product_id: int
    slug: str
    stock: int
    ledger: int


def stock_audit() -> list[Drift]:
    """Every product, and every option that keeps a stock, whose stock differs from the sum
    of its ledger (two queries). An option's drift is reported with `option:` before its slug."""
    ledger = Coalesce(Sum("stock_movements__quantity"), Value(0), output_field=IntegerField())
    products = (
        Product.objects.annotate(ledger=ledger)
        .exclude(stock=F("ledger"))
        .values_list("pk", "slug", "stock", "ledger")
        .order_by("pk")
    )
    options = (
        Option.objects.filter(stock__isnull=False)
        .annotate(ledger=ledger)
        .exclude(stock=F("ledger"))
        .values_list("pk", "slug", "stock", "ledger")
        .order_by("pk")
    )
    return [Drift(*row) for row in products] + [
        Drift(pk, f"option:{slug}", st, lg) for pk, slug, st, lg in options
    ]
