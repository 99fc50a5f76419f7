"""Reads of carts: lines with their product's *current* price and what can be bought."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import User
from cart.models import CartItem
from catalog.models import BundleItem, Option, Product
from catalog.options import with_option_groups
from catalog.selectors import with_bundle_components
from catalog.sellability import Sellability, sellability
from catalog.sellability import unit_price as line_unit_price
from catalog.services import menu_ensure_current
from config.rows import PreparedQuery


def cart_items(*, user: User) -> QuerySet[CartItem]:
    """The user's cart lines with product and category; `with_line_details` adds the rest."""
    return CartItem.objects.filter(cart__user=user).select_related("product__category").order_by("id")


# `cart_items` as `cart_summary` reads it, compiled once (config.rows): the ORM took longer to
# compile this join of three tables than PostgreSQL took to run it.
_CART_LINES = PreparedQuery(
    CartItem,
    lambda user_id: (
        CartItem.objects.filter(cart__user_id=user_id).select_related("product__category").order_by("id")
    ),
)


def cart_lines(*, user: User) -> list[CartItem]:
    """`list(cart_items(user=user))`, the SQL compiled once."""
    return _CART_LINES.list(user.pk)


# `catalog.selectors.with_bundle_components` as the cart needs it, compiled once: the bundle
# ids go as one array parameter, which needs PostgreSQL (elsewhere: the ORM's prefetch).
_BUNDLE_COMPONENTS = PreparedQuery(
    BundleItem,
    lambda ids: (
        BundleItem.objects.filter(bundle_id__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
        .select_related("component")
        .order_by("id")
    ),
)


def with_cart_bundle_components(products: list[Product]) -> list[Product]:
    """`with_bundle_components(products)`: the same prefetch cache (a queryset holding the
    bundle's items in id order, each with its component and its bundle set)."""
    bundles = {product.pk: product for product in products if product.is_bundle}
    if not bundles or connection.vendor != "postgresql":
        return with_bundle_components(products)
    found = defaultdict(list)
    for bundle_item in _BUNDLE_COMPONENTS.list(list(bundles)):
        found[bundle_item.bundle_id].append(bundle_item)
    bundle_field = BundleItem._meta.get_field("bundle")
    for pk, product in bundles.items():
        items = found[pk]
        for bundle_item in items:
            bundle_field.set_cached_value(bundle_item, product)
        if not hasattr(product, "_prefetched_objects_cache"):
            product._prefetched_objects_cache = {}
        product._prefetched_objects_cache.pop("bundle_items", None)
        queryset = product.bundle_items.get_queryset()
        queryset._result_cache = items
        queryset._prefetch_done = True
        product._prefetched_objects_cache["bundle_items"] = queryset
    return products


def with_line_details(items: list[CartItem]) -> list[CartItem]:
    """What the sellability rule needs of each line, in a query per kind and none when no
    line has it: bundle components, the dishes' option groups, the lines' chosen options."""
    products = list({item.product_id: item.product for item in items}.values())
    with_cart_bundle_components(products)
    # Only built when needed: the Prefetch querysets cost CPU even when nothing is fetched.
    if any(product.has_options for product in products):
        with_option_groups(products)
    with_options = [item for item in items if item.options_key]
    if with_options:
        prefetch_related_objects(
            with_options, Prefetch("options", queryset=Option.objects.select_related("group"))
        )
    return items


def chosen_options(item: CartItem) -> list[Option]:
    """The line's options in menu order (groups, then options, as the dish lists them)."""
    if not item.options_key:
        return []
    return sorted(item.options.all(), key=lambda o: (o.group.position, o.group_id, o.position, o.pk))


@dataclass
class CartLine:
    item: CartItem
    options: list[Option]
    verdict: Sellability
    unit_price: int | None
    line_total: int | None

    @property
    def problem(self) -> str | None:
        """Why this line cannot be checked out as it is (the sellability rule's reason)."""
        return self.verdict.reason and self.verdict.reason.value


@dataclass
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(line.item.quantity for line in self.lines)

    @property
    def total(self) -> int:
        """What the lines that are for sale cost now; lines not for sale have no price."""
        return sum(line.line_total for line in self.lines if line.line_total is not None)


def cart_line(item: CartItem) -> CartLine:
    price = item.product.current_price
    options = chosen_options(item)
    verdict = sellability(item.product, price=price, quantity=item.quantity, options=options)
    unit_price = line_unit_price(price, options) if verdict.for_sale else None
    line_total = unit_price * item.quantity if unit_price is not None else None
    return CartLine(item=item, options=options, verdict=verdict, unit_price=unit_price, line_total=line_total)


def cart_summary(*, user: User) -> CartSummary:
    items = with_line_details(cart_lines(user=user))
    now = timezone.now()
    if any(item.product.price_changes_at and item.product.price_changes_at <= now for item in items):
        # A line's next price is due: switch the due prices (catalog.services), then price the
        # lines afresh. Nothing is due on almost every read, and that costs no query.
        menu_ensure_current()
        items = with_line_details(cart_lines(user=user))
    return CartSummary(lines=[cart_line(item) for item in items])
