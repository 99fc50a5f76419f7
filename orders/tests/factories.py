"""Orders are made the way shoppers make them: through the cart and checkout services."""

from datetime import UTC, datetime, timedelta

import factory

from cart.services import cart_add_item
from catalog.models import Product
from orders.models import Order, PickupSlot
from orders.placing import order_place


def place_order(*, user, items: list[tuple[Product, int]], **kwargs) -> Order:
    for product, quantity in items:
        cart_add_item(user=user, product=product, quantity=quantity)
    return order_place(user=user, **kwargs)


class PickupSlotFactory(factory.django.DjangoModelFactory):
    """A slot row as `pickup_slots_materialise` makes them; `start` defaults to one a day apart, so
    give it explicitly where the opening hours matter."""

    class Meta:
        model = PickupSlot

    start = factory.Sequence(lambda n: datetime(2030, 1, 1, 8, tzinfo=UTC) + timedelta(days=n))
    end = factory.LazyAttribute(lambda slot: slot.start + timedelta(minutes=15))
    capacity = 5
    taken = 0


# Shop charge settings that cover every charge rule, for representation tests.
CHARGES = {
    "none": {},
    "service and tax added, packaging, rounding": {
        "service_charge_bp": 500,
        "tax_name": "PB1",
        "tax_rate_bp": 1_000,
        "packaging_fee": 1_500,
        "rounding_unit": 100,
    },
    "tax included": {"tax_name": "PPN", "tax_rate_bp": 1_100, "prices_include_tax": True},
}
