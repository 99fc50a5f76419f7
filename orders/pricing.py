"""The totals (orders/totals.py) of a cart or of an order being placed, with the shop's
charge settings as they are now and the cart's voucher. The one place that feeds the pure
function from the database, so the cart shows what checkout charges."""

from datetime import datetime

from django.utils import timezone

from accounts.models import User
from orders.shop_settings import shop_settings_get
from orders.totals import ChargeSettings, Discount, Line, Totals, totals_compute
from orders.vouchers.services import applied_voucher, voucher_check


def current_charges() -> ChargeSettings:
    return shop_settings_get().charge_settings()


def lines_totals(
    *, lines: list[Line], discount: Discount | None = None, charges: ChargeSettings | None = None
) -> Totals:
    return totals_compute(lines=lines, settings=charges or current_charges(), discount=discount)


def cart_totals(*, user: User, lines: list[Line], now: datetime | None = None) -> tuple[Totals, dict | None]:
    """What checking out `lines` would cost now, and the cart's voucher as `{code, problem}`
    (problem: why it would not apply now, a voucher_check reason; then no discount)."""
    voucher = applied_voucher(user=user)
    if voucher is None:
        return lines_totals(lines=lines), None
    problem = voucher_check(voucher=voucher, user=user, lines=lines, now=now or timezone.now())
    discount = voucher.discount_terms() if problem is None else None
    return lines_totals(lines=lines, discount=discount), {"code": voucher.code, "problem": problem}
