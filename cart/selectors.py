"""Reads of carts: lines with their product's *current* price and availability."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import User
from cart.models import CartItem
from catalog.selectors import product_sale_annotations


class Problem:
    INACTIVE = "inactive"  # off the menu, in a hidden category, or without a current price
    INSUFFICIENT_STOCK = "insufficient_stock"


def cart_items(*, user: User) -> QuerySet[CartItem]:
    """The user's cart lines, each annotated with `price`, `price_version`,
    `stock_available` and `for_sale` of its product (one query)."""
    return (
        CartItem.objects.filter(cart__user=user)
        .select_related("product")
        .annotate(**product_sale_annotations(prefix="product__"))
        .order_by("id")
    )


def item_problem(item: CartItem) -> str | None:
    if not item.for_sale:
        return Problem.INACTIVE
    if item.quantity > item.stock_available:
        return Problem.INSUFFICIENT_STOCK
    return None


@dataclass
class CartLine:
    item: CartItem
    problem: str | None
    unit_price: int | None
    line_total: int | None


@dataclass
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(line.item.quantity for line in self.lines)

    @property
    def total(self) -> int:
        """What the lines that are for sale cost now; lines marked `inactive` have no price."""
        return sum(line.line_total for line in self.lines if line.line_total is not None)


def cart_summary(*, user: User) -> CartSummary:
    lines = []
    for item in cart_items(user=user):
        problem = item_problem(item)
        unit_price = item.price if item.for_sale else None
        line_total = unit_price * item.quantity if unit_price is not None else None
        lines.append(CartLine(item=item, problem=problem, unit_price=unit_price, line_total=line_total))
    return CartSummary(lines=lines)
