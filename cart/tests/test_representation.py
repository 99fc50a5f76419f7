"""Issue 23: the cart's JSON is built without DRF serializers (cart.api.serializers.
cart_representation); byte for byte what CartSerializer gave, over a grid of carts."""

from types import SimpleNamespace

import pytest
from rest_framework.renderers import JSONRenderer

from accounts.tests.factories import UserFactory
from cart import selectors
from cart.api.serializers import CartSerializer, cart_representation
from cart.services import cart_add_item
from cart.tests.factories import CartItemFactory
from catalog import options as option_services
from catalog.models import Product
from catalog.tests.factories import BundleFactory, ProductFactory
from orders.models import AppliedVoucher, Voucher
from orders.pricing import cart_totals
from orders.shop_settings import shop_settings_update
from orders.totals import Line

pytestmark = pytest.mark.django_db


def both(user) -> tuple[bytes, bytes]:
    summary = selectors.cart_summary(user=user)
    lines = [
        Line(line.line_total, line.item.product.category.slug)
        for line in summary.lines
        if line.line_total is not None
    ]
    totals, voucher = cart_totals(user=user, lines=lines)
    old = CartSerializer(
        SimpleNamespace(
            lines=summary.lines, item_count=summary.item_count, voucher=voucher, **totals.as_dict()
        )
    ).data
    new = cart_representation(lines=summary.lines, totals=totals.as_dict(), voucher=voucher)
    return JSONRenderer().render(old), JSONRenderer().render(new)


def dish_with_options(slug: str) -> Product:
    group = option_services.option_group_create(
        name=f"Level {slug}", min_choices=1, max_choices=2, position=1
    )
    option_services.option_create(group=group, name="Mild", slug=f"{slug}-mild", price_delta=0)
    option_services.option_create(group=group, name="Satay", slug=f"{slug}-satay", price_delta=4_000)
    product = ProductFactory(slug=slug, price=20_000, stock=50)
    option_services.product_set_option_groups(product=product, groups=[group])
    return product


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


@pytest.mark.parametrize("charges", CHARGES.values(), ids=CHARGES.keys())
@pytest.mark.parametrize("voucher", [None, "applies", "problem"])
def test_the_cart_json_is_what_the_serializer_gave(charges, voucher):
    if charges:
        shop_settings_update(**charges)
    user = UserFactory()
    assert both(user)[0] == both(user)[1]  # empty

    rice, tea = ProductFactory(slug="nasi", name="Nasi", price=25_000, stock=3), ProductFactory(price=5_000)
    combo = BundleFactory(components=[(rice, 1), (tea, 2)])
    cart_add_item(user=user, product=rice, quantity=5, note="pedas, tanpa bawang")  # more than in stock
    cart_add_item(user=user, product=combo, quantity=1)
    cart_add_item(
        user=user, product=dish_with_options("soto"), quantity=2, options=["soto-mild", "soto-satay"]
    )
    CartItemFactory(cart=user.cart, product=ProductFactory(is_active=False, price=9_000))  # off the menu
    CartItemFactory(cart=user.cart, product=ProductFactory(price=False))  # no price
    if voucher:
        code = Voucher.objects.create(
            code="HEMAT10", kind="percent", value=10, min_subtotal=0 if voucher == "applies" else 10**9
        )
        AppliedVoucher.objects.create(user=user, voucher=code)

    old, new = both(user)
    assert old == new
    # The grid is what it says it is.
    for part in (
        b'"insufficient_stock"',
        b'"inactive"',
        b'"no_price"',
        b'"group":"Level soto"',
        b'"kind":"bundle"',
    ):
        assert part in new
    assert (b'"included":' in new) == bool(charges.get("prices_include_tax"))
    assert (b'"rate_bp":500' in new) == bool(charges.get("service_charge_bp"))
    assert (b'"voucher":null' in new) == (voucher is None)
