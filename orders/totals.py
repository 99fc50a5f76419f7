"""The one totals function: what an order costs, from its lines, its voucher and the shop's
charges. Pure (no database, no Django): the cart, checkout, the invoice and the Midtrans
request all read its answer, so they cannot drift apart.

All amounts are integer rupiah. The rounding rule, written once (`round_half_up`): every
charge is computed on the order as a whole (never per line) and rounded half up to a whole
rupiah on its own; the grand total is then rounded half up to the shop's rounding unit and
the difference is a `rounding` charge (negative when the total was rounded down).

Order of the charges, for tax-exclusive prices:

    net        = subtotal - discount
    service    = net x service rate
    tax base   = net (tax_base "subtotal") or net + service ("subtotal_and_service")
    tax        = tax base x tax rate
    packaging  = the fee per order (not taxed: the regional tax is on food and drink)
    total      = net + service + tax + packaging, rounded to the unit

For tax-inclusive prices (the menu price already holds the tax) the tax of the food is
extracted, not added: DPP (dasar pengenaan pajak) = round(net x 10000 / (10000 + rate)),
included tax = net - DPP. The service charge is on the DPP; with tax_base
"subtotal_and_service" the service's own tax is added (the menu price cannot hold it). The
`tax` entry among the charges carries only what is added (`amount`) and says what is
included (`included`); the answer's `tax` is all the tax the order holds, the figure a
receipt shows and a tax report sums.

Invariant (tested with Hypothesis): total = subtotal - discount + sum(charge amounts)."""

from dataclasses import dataclass, field
from typing import Literal

BP = 10_000  # basis points in a whole
TAX_BASE_SUBTOTAL = "subtotal"
TAX_BASE_SUBTOTAL_AND_SERVICE = "subtotal_and_service"
ROUNDING_UNITS = (1, 100, 500)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("the denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((abs(numerator) * 2 + denominator) // (denominator * 2))


def part(amount: int, rate_bp: int) -> int:
    """`rate_bp` basis points of `amount`, rounded half up."""
    return round_half_up(amount * rate_bp, BP)


def tax_extract(gross: int, rate_bp: int) -> tuple[int, int]:
    """(DPP, tax) of a tax-inclusive amount: DPP = round(gross x 10000 / (10000 + rate))."""
    base = round_half_up(gross * BP, BP + rate_bp)
    return base, gross - base


@dataclass(frozen=True)
class ChargeSettings:
    """The shop's charges as an order is priced with them (snapshotted on every order)."""

    service_charge_bp: int = 0
    tax_name: str = "PB1"
    tax_rate_bp: int = 0
    tax_base: str = TAX_BASE_SUBTOTAL_AND_SERVICE
    prices_include_tax: bool = False
    packaging_fee: int = 0
    rounding_unit: int = 1

    def as_dict(self) -> dict:
        return {
            "service_charge_bp": self.service_charge_bp,
            "tax_name": self.tax_name,
            "tax_rate_bp": self.tax_rate_bp,
            "tax_base": self.tax_base,
            "prices_include_tax": self.prices_include_tax,
            "packaging_fee": self.packaging_fee,
            "rounding_unit": self.rounding_unit,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ChargeSettings":
        return cls(**{key: data[key] for key in cls().as_dict() if key in data})


@dataclass(frozen=True)
class Line:
    """A priced line: its total and, for vouchers limited to categories, its category slug."""

    total: int
    category: str = ""


@dataclass(frozen=True)
class Discount:
    """A voucher's terms as the totals need them. `value`: whole percent for `percent`,
    rupiah for `fixed`. `categories`: the slugs whose lines it applies to (empty: all)."""

    kind: Literal["percent", "fixed"]
    value: int
    max_discount: int | None = None
    categories: frozenset[str] = field(default_factory=frozenset)

    def amount(self, lines: list[Line]) -> int:
        eligible = sum(
            line.total for line in lines if not self.categories or line.category in self.categories
        )
        amount = round_half_up(eligible * self.value, 100) if self.kind == "percent" else self.value
        if self.max_discount is not None:
            amount = min(amount, self.max_discount)
        return max(0, min(amount, eligible))


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount: int
    charges: list[dict]
    tax: int
    total: int

    def as_dict(self) -> dict:
        return {
            "subtotal": self.subtotal,
            "discount": self.discount,
            "charges": [dict(charge) for charge in self.charges],
            "tax": self.tax,
            "total": self.total,
        }

    def charge(self, code: str) -> int:
        """The amount of the charge `code` (0 when the order has none)."""
        return sum(c["amount"] for c in self.charges if c["code"] == code)


def totals_compute(
    *, lines: list[Line], settings: ChargeSettings, discount: Discount | None = None
) -> Totals:
    """The order's money, as the module docstring sets it out. Charges that come to 0 are
    left out, so a shop with no charges answers `charges: []` and total = subtotal."""
    subtotal = sum(line.total for line in lines)
    off = discount.amount(lines) if discount is not None and lines else 0
    net = subtotal - off
    rate = settings.tax_rate_bp
    charges: list[dict] = []

    if settings.prices_include_tax and rate:
        goods_base, included = tax_extract(net, rate)
    else:
        goods_base, included = net, 0
    service = part(goods_base, settings.service_charge_bp)
    if service:
        charges.append(
            {
                "code": "service",
                "name": "Service charge",
                "rate_bp": settings.service_charge_bp,
                "base": goods_base,
                "amount": service,
            }
        )
    with_service = settings.tax_base == TAX_BASE_SUBTOTAL_AND_SERVICE
    if rate:
        tax_base = goods_base + (service if with_service else 0)
        if settings.prices_include_tax:
            added = part(service, rate) if with_service else 0
            tax = included + added
        else:
            tax = added = part(tax_base, rate)
        charge = {
            "code": "tax",
            "name": settings.tax_name,
            "rate_bp": rate,
            "base": tax_base,
            "amount": added,
        }
        if settings.prices_include_tax:
            charge["included"] = included
        charges.append(charge)
    else:
        tax = 0
    if settings.packaging_fee and lines:
        charges.append(
            {"code": "packaging", "name": "Packaging", "base": 0, "amount": settings.packaging_fee}
        )
    before = net + sum(c["amount"] for c in charges)
    unit = settings.rounding_unit
    total = round_half_up(before, unit) * unit
    if total != before:
        charges.append({"code": "rounding", "name": "Rounding", "base": before, "amount": total - before})
    return Totals(subtotal=subtotal, discount=off, charges=charges, tax=tax, total=total)


def refund_split(*, amount: int, totals: dict) -> dict:
    """How a refund of `amount` out of an order's `totals` (a `Totals.as_dict()`) divides
    among the goods and each charge, in proportion to the total, so a partial refund credits
    tax and service as the order charged them.

    Each charge's share is rounded half up; the goods take what is left, so the parts sum
    to `amount` exactly. `tax` is the share of all the tax the order holds (included or
    added). A full refund gives back every part exactly."""
    total = totals["total"]
    if not 0 <= amount <= total:
        raise ValueError("a refund is between 0 and the order's total")

    def share(of: int) -> int:
        return of if amount == total else round_half_up(of * amount, total)

    charges = [
        {"code": c["code"], "name": c["name"], "amount": share(c["amount"])} for c in totals["charges"]
    ]
    tax = share(totals["tax"])
    return {
        "amount": amount,
        "goods": amount - sum(c["amount"] for c in charges),
        "charges": charges,
        "tax": tax,
    }
