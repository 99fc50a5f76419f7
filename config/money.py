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
