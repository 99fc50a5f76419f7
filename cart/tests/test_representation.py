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
from catalog.tests.factories import BundleFactory, ProductFactory, dish_with_options
from orders.models import AppliedVoucher, Voucher
from orders.pricing import cart_totals
from orders.shop_settings import shop_settings_update
from orders.tests.factories import CHARGES
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
