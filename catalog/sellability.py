"""The one answer to "can this product be sold, and how many": used by the catalog's
`available`/`stock`, the cart's per-line `problem`, cart add and checkout alike.

It reads only what a product read already has: the product and its category, its current
price, and for a bundle its components (prefetched with `bundle_items__component`). Stock
itself is only ever *taken* by `catalog.stock`, whose conditional UPDATE has the last word
under concurrency; this rule tells shoppers what they can expect.

A dish made to order (`track_stock` off) has no count: it can be sold while it is on the
menu, up to NO_COUNT units (the cart's own limits are far lower). A bundle follows its
components: limited by the counted ones only. A dish marked sold out (`sold_out_until`
still ahead), or a bundle with such a component, is `sold_out` until then. Outside its
serving windows at the order's ready time a dish is `not_served_then`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.mealtimes import served_at
from catalog.models import Option, Product
from catalog.options import choice_errors


class Unsellable(StrEnum):
    INACTIVE = "inactive"  # off the menu, or its category is
    NO_PRICE = "no_price"  # no price in force
    COMPONENT_INACTIVE = "component_inactive"  # a bundle one of whose components is off the menu
    SOLD_OUT = "sold_out"  # staff marked it (or, for a bundle, a component) sold out for a while
    NOT_SERVED_THEN = "not_served_then"  # outside its serving windows at the order's ready time
    OPTION_UNAVAILABLE = "option_unavailable"  # a chosen option is off the menu, or the choice breaks a rule
    INSUFFICIENT_STOCK = "insufficient_stock"  # fewer units than asked for (of the dish or a limited option)


# The reasons as the API lists them (one named enum in the OpenAPI schema).
REASONS = [reason.value for reason in Unsellable]

REASON_TEXT = {
    Unsellable.INACTIVE: _("is not on the menu"),
    Unsellable.NO_PRICE: _("has no price yet"),
    Unsellable.COMPONENT_INACTIVE: _("has a component that is off the menu"),
    Unsellable.SOLD_OUT: _("is sold out for now"),
    Unsellable.NOT_SERVED_THEN: _("is not served at the pickup time"),
    Unsellable.OPTION_UNAVAILABLE: _("cannot be had with these options"),
    Unsellable.INSUFFICIENT_STOCK: _("does not have enough stock"),
}


# What a dish without a stock count can be bought of (far above any cart's limits).
NO_COUNT = 1_000_000


@dataclass(frozen=True)
class Sellability:
    reason: Unsellable | None
    available: int  # units that can be bought now; 0 when not for sale
    counted: bool = True  # False: made to order, `available` is NO_COUNT rather than stock

    @property
    def for_sale(self) -> bool:
        """On the menu and priced; stock and mealtimes aside (both are judged at checkout:
        a dish for breakfast goes in tonight's cart for tomorrow morning)."""
        return self.reason in (None, Unsellable.INSUFFICIENT_STOCK, Unsellable.NOT_SERVED_THEN)

    @property
    def ok(self) -> bool:
        return self.reason is None


def counts_stock(product: Product) -> bool:
    """Whether what can be sold of `product` is counted: a single dish's own flag; a bundle
    is counted when any of its components is (one with none has nothing to sell: 0)."""
    if not product.is_bundle:
        return product.track_stock
    items = list(product.bundle_items.all())
    return not items or any(item.component.track_stock for item in items)


def units_available(product: Product) -> int:
    """Units on hand: a bundle's is min(counted component stock // quantity); an inactive
    component makes it 0. Nothing counted: NO_COUNT."""
    if not product.is_bundle:
        return product.stock if product.track_stock else NO_COUNT
    items = list(product.bundle_items.all())
    if not items or any(not item.component.is_active for item in items):
        return 0
    counted = [item.component.stock // item.quantity for item in items if item.component.track_stock]
    return min(counted, default=NO_COUNT)


def is_sold_out(product: Product, now: datetime) -> bool:
    """Marked sold out until a time still ahead; a bundle, when any component is."""
    if product.sold_out_until is not None and product.sold_out_until > now:
        return True
    return product.is_bundle and any(
        item.component.sold_out_until is not None and item.component.sold_out_until > now
        for item in product.bundle_items.all()
    )


def unit_price(price: int, options: Sequence[Option] = ()) -> int:
    """A dish's price with its chosen options: current price plus each option's delta."""
    return price + sum(option.price_delta for option in options)


def sellability(
    product: Product,
    *,
    price: int | None,
    quantity: int = 1,
    options: Sequence[Option] | None = None,
    now: datetime | None = None,
    at: datetime | None = None,
) -> Sellability:
    """Whether `quantity` of `product` can be sold at its current `price`, and if not, why.

    `options` is the shopper's choice (a cart line, checkout): it must meet the product's
    groups (prefetched with `catalog.options.with_option_groups`), and a limited option's
    stock caps what can be bought. None judges the dish alone (the menu). `now` (default:
    the clock) decides whether a sold-out mark still holds. `at`, the order's ready time,
    judges its serving windows (catalog/mealtimes.py); None (the menu, the cart) leaves
    them to checkout."""
    if not (product.is_active and product.category.is_active):
        return Sellability(Unsellable.INACTIVE, 0)
    if price is None:
        return Sellability(Unsellable.NO_PRICE, 0)
    if product.is_bundle and any(not item.component.is_active for item in product.bundle_items.all()):
        return Sellability(Unsellable.COMPONENT_INACTIVE, 0)
    if is_sold_out(product, now or timezone.now()):
        return Sellability(Unsellable.SOLD_OUT, 0)
    if at is not None and not served_at(product, at):
        return Sellability(Unsellable.NOT_SERVED_THEN, 0)
    if options is not None and choice_errors(product, options):
        return Sellability(Unsellable.OPTION_UNAVAILABLE, 0)
    available = units_available(product)
    counted = counts_stock(product)
    for option in options or ():
        if option.stock is not None:
            available, counted = min(available, option.stock), True
    if quantity > available:
        return Sellability(Unsellable.INSUFFICIENT_STOCK, available, counted)
    return Sellability(None, available, counted)
