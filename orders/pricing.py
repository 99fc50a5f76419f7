"""The totals (orders/totals.py) of a cart or of an order being placed, with the shop's
charge settings as they are now. The one place that feeds the pure function from the
database, so the cart shows what checkout charges."""

from orders.shop_settings import shop_settings_get
from orders.totals import ChargeSettings, Discount, Line, Totals, totals_compute


def current_charges() -> ChargeSettings:
    return shop_settings_get().charge_settings()


def lines_totals(
    *, lines: list[Line], discount: Discount | None = None, charges: ChargeSettings | None = None
) -> Totals:
    return totals_compute(lines=lines, settings=charges or current_charges(), discount=discount)
