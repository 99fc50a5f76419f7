"""No rounding drift between the cart, the order, the invoice and the Snap request: for any
charge settings and cart (Hypothesis), the four show the same total, and Snap's items add up
to it (as Midtrans requires: https://docs.midtrans.com/reference/item-details-object)."""

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from cart.selectors import cart_summary
from cart.services import cart_add_item
from catalog.tests.factories import ProductFactory
from invoices.tests.factories import pay
from orders.pricing import cart_totals
from orders.shop_settings import shop_settings_update
from orders.tests.factories import place_order
from orders.totals import Line
from orders.vouchers.models import AppliedVoucher, Voucher
from payments.gateways.midtrans import snap_parameters

pytestmark = pytest.mark.django_db


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    charges=st.fixed_dictionaries(
        {
            "service_charge_bp": st.integers(0, 1_500),
            "tax_rate_bp": st.integers(0, 1_200),
            "tax_base": st.sampled_from(["subtotal", "subtotal_and_service"]),
            "prices_include_tax": st.booleans(),
            "packaging_fee": st.integers(0, 5_000),
            "rounding_unit": st.sampled_from([1, 100, 500]),
        }
    ),
    items=st.lists(st.tuples(st.integers(1, 250_000), st.integers(1, 5)), min_size=1, max_size=4),
    percent_off=st.none() | st.integers(1, 100),
)
def test_cart_order_invoice_and_snap_agree(charges, items, percent_off, settings_private_root):
    shop_settings_update(**charges)
    user = UserFactory()
    products = [(ProductFactory(price=price, stock=10), quantity) for price, quantity in items]
    if percent_off is not None:
        voucher = Voucher.objects.create(code=f"P{user.pk}", kind="percent", value=percent_off)
        AppliedVoucher.objects.create(user=user, voucher=voucher)
    for product, quantity in products:
        cart_add_item(user=user, product=product, quantity=quantity)
    summary = cart_summary(user=user)
    cart, _ = cart_totals(
        user=user, lines=[Line(line.line_total, line.item.product.category.slug) for line in summary.lines]
    )

    order = place_order(user=user, items=[])
    params = snap_parameters(
        order=order,
        gateway_order_id=f"{order.number}-1",
        start=timezone.now(),
        minutes=5,
    )
    invoice = pay(order)

    assert (
        cart.total
        == order.total
        == invoice.snapshot["total"]
        == params["transaction_details"]["gross_amount"]
    )
    assert sum(item["price"] * item["quantity"] for item in params["item_details"]) == order.total
    assert order.total == order.subtotal - order.discount + sum(c["amount"] for c in order.charges)
    assert (
        (cart.tax, cart.discount)
        == (order.tax, order.discount)
        == (invoice.snapshot["tax"], invoice.snapshot["discount"])
    )


@pytest.fixture
def settings_private_root(settings, tmp_path):
    settings.PRIVATE_ROOT = tmp_path
    settings.MAX_UNPAID_ORDERS = 1_000
