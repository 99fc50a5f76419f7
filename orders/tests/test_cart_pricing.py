"""orders.pricing.cart_totals reads the shop's charges and the cart voucher's id in one
statement: it must answer what `current_charges()` and `applied_voucher` do."""

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CategoryFactory
from orders.models import AppliedVoucher, Voucher
from orders.pricing import _charges_and_voucher_id, cart_totals, current_charges
from orders.shop_settings import shop_settings_update
from orders.totals import ChargeSettings, Line
from orders.vouchers.services import applied_voucher

pytestmark = pytest.mark.django_db


def test_without_a_settings_row_the_defaults_and_no_voucher():
    user = UserFactory()
    assert _charges_and_voucher_id(user=user) == (current_charges(), None)
    assert current_charges() == ChargeSettings()


PPN_SETTINGS = {
    "service_charge_bp": 500,
    "tax_name": "PPN",
    "tax_rate_bp": 1_100,
    "tax_base": "subtotal",
    "prices_include_tax": True,
    "packaging_fee": 2_000,
    "rounding_unit": 100,
}


def test_the_settings_row_and_the_applied_voucher():
    shop_settings_update(**PPN_SETTINGS)
    user, other = UserFactory(), UserFactory()
    voucher = Voucher.objects.create(code="HEMAT", kind="percent", value=10)
    voucher.categories.add(CategoryFactory(slug="rice"))
    AppliedVoucher.objects.create(user=user, voucher=voucher)
    charges = ChargeSettings(**PPN_SETTINGS)
    assert current_charges() == charges
    assert _charges_and_voucher_id(user=user) == (charges, voucher.pk)
    assert _charges_and_voucher_id(user=other) == (charges, None)
    assert applied_voucher(user=user) == voucher
    totals, applied = cart_totals(user=user, lines=[Line(50_000, "rice"), Line(10_000, "drinks")])
    assert applied == {"code": "HEMAT", "problem": None}
    assert totals.discount == 5_000
