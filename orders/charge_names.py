"""The names of an order's charges as shown and printed. orders/totals.py (pure, no Django)
freezes each charge with a stable `code` and an English `name`; the words people read come
from the code, in the active language, so an invoice re-rendered in the order's language
prints the same words, and orders frozen with English names (before this) print the same
as new ones. The tax keeps its frozen name: PB1, PBJT or PPN are proper nouns."""

from django.utils.translation import gettext_lazy as _

CHARGE_NAMES = {
    "service": _("Service charge"),
    "packaging": _("Packaging"),
    "rounding": _("Rounding"),
}


def charge_name(charge: dict) -> str:
    """`charge`'s name in the active language: from its code, else (the tax, or a code this
    version does not know) the name frozen with it."""
    name = CHARGE_NAMES.get(charge.get("code", ""))
    return str(name) if name is not None else charge["name"]
