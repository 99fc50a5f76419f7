"""Reads of carts: lines with their product's *current* price and what can be bought."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import User
from cart.models import CartItem
from catalog.selectors import components_prefetch
from catalog.sellability import Sellability, sellability
from catalog.services import prices_ensure_current


def cart_items(*, user: User) -> QuerySet[CartItem]:
    """The user's cart lines with product, category and bundle components (two queries)."""
    return (
        CartItem.objects.filter(cart__user=user)
        .select_related("product__category")
        .prefetch_related(components_prefetch("product__"))
        .order_by("id")
    )


@dataclass
class CartLine:
    item: CartItem
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
    verdict = sellability(item.product, price=price, quantity=item.quantity)
    unit_price = price if verdict.for_sale else None
    line_total = unit_price * item.quantity if unit_price is not None else None
    return CartLine(item=item, verdict=verdict, unit_price=unit_price, line_total=line_total)


def cart_summary(*, user: User) -> CartSummary:
    prices_ensure_current()
    return CartSummary(lines=[cart_line(item) for item in cart_items(user=user)])
