"""Rupiah, in one place: amounts are whole rupiah held as `int` everywhere (DESIGN §2).

`rupiah` prints an amount for people; `parse_rupiah` reads one that arrives as text
(Midtrans sends `"25000.00"`; its PHP samples send the integer `25000`).
"""

import re
from decimal import Decimal

# Digits with an optional fraction: "25000", "25000.00". No sign, no exponent, no spaces.
AMOUNT_PATTERN = re.compile(r"\d{1,15}(?:\.\d{1,2})?")


def rupiah(amount: int) -> str:
    """Whole rupiah the Indonesian way, for people (admin, invoices): 25000 -> "Rp 25.000"."""
    return f"Rp {amount:,}".replace(",", ".")


def parse_rupiah(value: object) -> int | None:
    """Whole rupiah from a gateway's amount ("25000.00", "25000" or 25000); None for
    anything else, a fraction of a rupiah included ("25000.50")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not AMOUNT_PATTERN.fullmatch(value):
        return None
    amount = Decimal(value)
    return int(amount) if amount == amount.to_integral_value() else None


def percent(rate_bp: int) -> str:
    """Basis points as a percentage the Indonesian way: 1000 -> "10%", 1150 -> "11,5%"."""
    whole, rest = divmod(rate_bp, 100)
    return f"{whole}%" if not rest else f"{whole},{rest:02d}".rstrip("0") + "%"


def signed_rupiah(amount: int) -> str:
    """An amount that may be negative (a discount, rounding down): "-Rp 50", not "Rp -50"."""
    return f"-{rupiah(-amount)}" if amount < 0 else rupiah(amount)
