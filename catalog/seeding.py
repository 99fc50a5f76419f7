"""Filling the menu in bulk: the demo menu (`manage.py seed`) and generated products for
load tests. Moved out of `catalog.services` (which keeps the one-product writes these
build on) to keep each module readable."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category, Product, ProductPrice
from catalog.services import category_create, check_price_amount, price_add, prices_refresh, product_create
from catalog.stock import stock_initial_many
from config.clock import start_of_local_day


def prices_add_many(*, entries: Iterable[tuple[Product, int, datetime]]) -> None:
    """Bulk-append prices (seeding): each entry gets its product's next version."""
    entries = list(entries)
    last = dict(
        ProductPrice.objects.filter(product__in=[p for p, _, _ in entries])
        .values("product")
        .annotate(last=Max("version"))
        .values_list("product", "last")
    )
    rows = []
    for product, amount, valid_from in entries:
        check_price_amount(amount)
        last[product.pk] = last.get(product.pk, 0) + 1
        rows.append(
            ProductPrice(product=product, version=last[product.pk], amount=amount, valid_from=valid_from)
        )
    ProductPrice.objects.bulk_create(rows, batch_size=1000)
    ids = sorted({product.pk for product, _, _ in entries})
    for start in range(0, len(ids), 1000):
        prices_refresh(product_ids=ids[start : start + 1000])


GENERATED_SKU_PREFIX = "GEN-"


@dataclass(frozen=True)
class MenuSeedResult:
    """How many rows `menu_seed` created."""

    categories: int
    products: int
    prices: int


@transaction.atomic
def menu_seed(*, categories: Sequence[dict], products: Sequence[dict]) -> MenuSeedResult:
    """Create what is missing of a menu described as in `catalog.demo_menu`: categories by
    slug, products by SKU, each new product with its whole price history.

    Idempotent: an existing category or product is left exactly as it is (stock, prices,
    details), so staff changes survive any number of runs."""
    # Price days count from midnight in the shop's time zone: menu prices change overnight.
    midnight = start_of_local_day()
    by_slug = {c.slug: c for c in Category.objects.filter(slug__in=[spec["slug"] for spec in categories])}
    new_categories = 0
    for spec in categories:
        if spec["slug"] not in by_slug:
            by_slug[spec["slug"]] = category_create(
                name=spec["name"],
                name_en=spec.get("name_en", ""),
                slug=spec["slug"],
                position=spec["position"],
            )
            new_categories += 1
    by_sku = {p.sku: p for p in Product.objects.filter(sku__in=[spec["sku"] for spec in products])}
    new_products = new_prices = 0
    for spec in products:
        if spec["sku"] in by_sku:
            continue
        product = product_create(
            name=spec["name"],
            name_en=spec.get("name_en", ""),
            sku=spec["sku"],
            category=by_slug[spec["category"]],
            kind=spec.get("kind", Product.Kind.SINGLE),
            description=spec["description"],
            stock=spec.get("stock", 0),
            components=[(by_sku[sku], quantity) for sku, quantity in spec.get("components", [])],
        )
        for day, amount in spec["prices"]:
            price_add(
                product=product, amount=amount, valid_from=midnight + timedelta(days=day), allow_past=True
            )
        by_sku[product.sku] = product
        new_products += 1
        new_prices += len(spec["prices"])
    return MenuSeedResult(categories=new_categories, products=new_products, prices=new_prices)


def _generated_last_number() -> int:
    last = (
        Product.objects.filter(sku__regex=rf"^{GENERATED_SKU_PREFIX}[0-9]+$")
        # Longest first: past 999999 the numbers outgrow their zero padding.
        .order_by(Length("sku").desc(), "-sku")
        .values_list("sku", flat=True)
        .first()
    )
    return int(last.removeprefix(GENERATED_SKU_PREFIX)) if last else 0


@transaction.atomic
def products_generate(
    *,
    count: int,
    categories: Sequence[Category],
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Bulk-create `count` priced, in-stock single products for load tests, spread over
    `categories`. Numbering goes on from the highest generated SKU, so repeated runs never
    clash. `on_batch` gets the running total after each batch."""
    if count < 0:
        raise ValueError("count must be 0 or more.")
    if not categories:
        raise ValidationError({"category": [_("Generated products need at least one category.")]})
    first = _generated_last_number() + 1
    now = timezone.now()
    for start in range(first, first + count, batch_size):
        numbers = range(start, min(start + batch_size, first + count))
        # Valid by construction: full_clean would cost a uniqueness query per row. Stock and
        # price follow from the number so that runs are reproducible.
        products = Product.objects.bulk_create(
            [
                Product(
                    name_ind=f"Generated Dish {n:06d}",
                    slug=f"generated-dish-{n:06d}",
                    sku=f"{GENERATED_SKU_PREFIX}{n:06d}",
                    description_ind="Generated for load testing.",
                    category=categories[n % len(categories)],
                )
                for n in numbers
            ]
        )
        stock_initial_many(
            quantities={product: 5 + n * 13 % 96 for n, product in zip(numbers, products, strict=True)}
        )
        prices_add_many(
            entries=[
                (product, (8 + n * 7 % 43) * 1000, now) for n, product in zip(numbers, products, strict=True)
            ]
        )
        if on_batch:
            on_batch(numbers.stop - first)
