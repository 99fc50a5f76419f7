"""Reads of the menu shared by the API, the admin, the cart and checkout.

The current price is a column on the product (kept by `catalog.services`), and whether a
product can be sold is answered in Python by `catalog.sellability` from the product, its
category and its prefetched components: a page of products costs the same few queries
whatever its size, and no query builds a subquery per row.
"""

from datetime import datetime

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from catalog.models import BundleItem, Category, Product, ProductPrice
from catalog.services import menu_ensure_current


def components_prefetch(prefix: str = "") -> Prefetch:
    return Prefetch(
        f"{prefix}bundle_items",
        queryset=BundleItem.objects.select_related("component").order_by("id"),
    )


def product_queryset() -> QuerySet[Product]:
    """Every product with its category and bundle components (two queries in all)."""
    return Product.objects.select_related("category").prefetch_related(components_prefetch())


def with_bundle_components(products: list[Product]) -> list[Product]:
    """Fetch the components of the bundles among `products` (one query, none when there is
    no bundle): what a page of the menu needs, without a query for pages of singles."""
    prefetch_related_objects([p for p in products if p.is_bundle], components_prefetch())
    return products


def shopper_visible() -> Q:
    """What shoppers see: active, in an active category, priced (the `listed` column, kept
    by `catalog.services.products_relist`). Everything else is a 404."""
    return Q(listed=True)


def available_q(now: datetime | None = None) -> Q:
    """SQL twin of `sellability(...).ok` for one unit, for filtering a list: for sale, not
    sold out at `now` (default: the clock), and at least one unit on hand or made to order
    (a bundle: every component active, none sold out, the counted ones with enough stock)."""
    now = now or timezone.now()
    short = BundleItem.objects.filter(bundle=OuterRef("pk")).filter(
        Q(component__is_active=False)
        | Q(component__track_stock=True, component__stock__lt=F("quantity"))
        | Q(component__sold_out_until__gt=now)
    )
    has_components = BundleItem.objects.filter(bundle=OuterRef("pk"))
    in_stock = Q(kind=Product.Kind.SINGLE) & (Q(stock__gt=0) | Q(track_stock=False)) | Q(
        Exists(has_components), ~Exists(short), kind=Product.Kind.BUNDLE
    )
    not_sold_out = Q(sold_out_until__isnull=True) | Q(sold_out_until__lte=now)
    return shopper_visible() & not_sold_out & in_stock


def menu_products(*, include_hidden: bool = False, now: datetime | None = None) -> QuerySet[Product]:
    """The one read of the menu: products as shoppers see them (staff pass `include_hidden`
    to see everything), with their category; `with_bundle_components` adds a page's
    components.

    It owns the due-price switch: any scheduled price whose time has come is brought into
    force first (`menu_ensure_current`: one query while none is due), so nothing read through it shows, filters on
    or charges a superseded price. A read that reaches products through another table (a
    cart's lines, the admin's list) calls it first for that reason; checkout, a write,
    switches the prices of exactly its own lines (`orders.services`)."""
    menu_ensure_current(now=now)
    qs = Product.objects.select_related("category")
    if not include_hidden:
        qs = qs.filter(shopper_visible())
    # By the Indonesian name (the text of record, catalog/i18n.py) in every language: one
    # stable order on one index, cursor-safe; a bare "name" would be rewritten by
    # modeltranslation to the active language's column, where empty English names sort first.
    return qs.order_by("name_ind", "id")


def category_list(*, include_hidden: bool = False) -> QuerySet[Category]:
    qs = Category.objects.all()
    if not include_hidden:
        qs = qs.filter(is_active=True)
    return qs.order_by("position", "name_ind", "id")


def price_history(*, product: Product) -> QuerySet[ProductPrice]:
    return product.prices.order_by("-version")


PRICE_STATUSES = ("past", "current", "scheduled")


def price_status(*, price: ProductPrice, current_version: int | None, now: datetime | None = None) -> str:
    """past, current or scheduled."""
    if price.version == current_version:
        return "current"
    return "scheduled" if price.valid_from > (now or timezone.now()) else "past"
