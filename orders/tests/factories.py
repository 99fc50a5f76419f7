"""Orders are made the way shoppers make them: through the cart and checkout services."""

from cart.services import cart_add_item
from catalog.models import Product
from orders.models import Order
from orders.services import order_place


def place_order(*, user, items: list[tuple[Product, int]], **kwargs) -> Order:
    for product, quantity in items:
        cart_add_item(user=user, product=product, quantity=quantity)
    return order_place(user=user, **kwargs)
