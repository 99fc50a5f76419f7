"""Filters for the invoice templates. They format snapshot values (ISO strings, integer
rupiah) without looking at the active time zone, so a document renders the same wherever
and whenever it is rendered; words (month names) come from the language the document is
rendered in, which invoices/pdf.py takes from its snapshot."""

from datetime import datetime, timedelta

from django import template
from django.utils.dates import MONTHS_3
from django.utils.translation import gettext

from config.money import percent as format_percent
from config.money import rupiah as format_rupiah
from config.money import signed_rupiah
from orders.charge_names import charge_name as name_of_charge

register = template.Library()

# Indonesia's three zones by their offset; anything else prints as UTC±hh:mm.
ZONE_NAMES = {timedelta(hours=7): "WIB", timedelta(hours=8): "WITA", timedelta(hours=9): "WIT"}


@register.filter
def rupiah(amount: int | None) -> str:
    return "" if amount is None else format_rupiah(amount)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@register.filter
def shop_date(value: str | None) -> str:
    """From an ISO time: `2026-11-21T14:05:00+07:00` -> `21 Nov 2026`; the month in the
    active language (Django's abbreviations: `7 Des 2026` in Indonesian)."""
    moment = _parse(value)
    return f"{moment.day} {str(MONTHS_3[moment.month]).title()} {moment.year}" if moment else ""


@register.filter
def shop_datetime(value: str | None) -> str:
    """From an ISO time: `2026-11-21T14:05:00+07:00` -> `21 Nov 2026, 14:05 WIB`."""
    moment = _parse(value)
    if moment is None:
        return ""
    offset = moment.utcoffset() or timedelta(0)
    return f"{shop_date(value)}, {moment:%H:%M} {ZONE_NAMES.get(offset) or _utc_label(offset)}"


def _utc_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours:02d}:{rest:02d}"


@register.filter
def percent(rate_bp: int | None) -> str:
    return "" if rate_bp is None else format_percent(rate_bp)


@register.filter
def rupiah_signed(amount: int | None) -> str:
    return "" if amount is None else signed_rupiah(amount)


@register.filter
def charge_name(charge: dict) -> str:
    """A frozen charge's name in the document's language (orders/charge_names.py)."""
    return name_of_charge(charge)


# How a staff rejection's reason was frozen before it was written in the order's language.
REJECTED_IN_ENGLISH = "Rejected by the shop: "


@register.filter
def credit_reason(reason: str) -> str:
    """A credit note's reason in the document's language. The reasons the system writes (the
    gateway's refunds and voids, staff's default ones: frozen in English, marked with
    gettext_noop) are translated; a rejection frozen in English keeps the staff's words
    after a translated prefix; words staff typed print as typed."""
    if not reason:
        return ""
    if reason.startswith(REJECTED_IN_ENGLISH):
        return gettext("Rejected by the shop: %(reason)s") % {
            "reason": reason.removeprefix(REJECTED_IN_ENGLISH)
        }
    return gettext(reason)
