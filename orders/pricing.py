"""The totals (orders/totals.py) of a cart or of an order being placed, with the shop's
charge settings as they are now and the cart's voucher. The one place that feeds the pure
function from the database, so the cart shows what checkout charges."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from accounts.models import User
from orders.setup import kept
from orders.shop_settings import SINGLETON_PK, ShopSettings, shop_settings_get
from orders.totals import ChargeSettings, Discount, Line, Totals, totals_compute
from orders.vouchers.models import AppliedVoucher, Voucher
from orders.vouchers.services import voucher_check

CHARGE_FIELDS = tuple(ChargeSettings().as_dict())


def current_charges() -> ChargeSettings:
    """The charges now (kept under the setup number inside checkout: orders/setup.py)."""
    return kept(("charges",), lambda: shop_settings_get().charge_settings())


def lines_totals(
    *, lines: list[Line], discount: Discount | None = None, charges: ChargeSettings | None = None
) -> Totals:
    return totals_compute(lines=lines, settings=charges or current_charges(), discount=discount)


def cart_totals(*, user: User, lines: list[Line], now: datetime | None = None) -> tuple[Totals, dict | None]:
    """What checking out `lines` would cost now, and the cart's voucher as `{code, problem}`
    (problem: why it would not apply now, a voucher_check reason; then no discount)."""
    charges, voucher_id = _charges_and_voucher_id(user=user)
    voucher = None
    if voucher_id is not None:
        voucher = Voucher.objects.prefetch_related("categories").filter(pk=voucher_id).first()
    if voucher is None:
        return lines_totals(lines=lines, charges=charges), None
    problem = voucher_check(voucher=voucher, user=user, lines=lines, now=now or timezone.now())
    discount = voucher.discount_terms() if problem is None else None
    return lines_totals(lines=lines, discount=discount, charges=charges), {
        "code": voucher.code,
        "problem": problem,
    }


def _charges_and_voucher_id(*, user: User) -> tuple[ChargeSettings, int | None]:
    """`current_charges()` and the id of the cart's voucher (`applied_voucher`'s) in one
    query, written out: the two ORM reads took a cart read's largest share of CPU after the
    lines (the voucher itself, rarely there, is read after)."""
    quote = connection.ops.quote_name
    settings_table = quote(ShopSettings._meta.db_table)
    columns = ", ".join(f"s.{quote(ShopSettings._meta.get_field(name).column)}" for name in CHARGE_FIELDS)
    sql = (
        # bandit B608: names are the models', quoted; the user id and key go as parameters.
        f"SELECT {columns}, (SELECT a.voucher_id FROM {quote(AppliedVoucher._meta.db_table)} a"  # nosec B608
        " WHERE a.user_id = %s) FROM (SELECT 1 AS one) o"
        f" LEFT JOIN {settings_table} s ON s.{quote(ShopSettings._meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, SINGLETON_PK])
        *values, voucher_id = cursor.fetchone()
    if values[0] is None:  # no row yet: the defaults (shop_settings_get)
        return ShopSettings().charge_settings(), voucher_id
    row = dict(zip(CHARGE_FIELDS, values, strict=True))
    row["prices_include_tax"] = bool(row["prices_include_tax"])  # SQLite answers 0/1
    return ChargeSettings(**row), voucher_id
