"""Mealtimes: when a dish is served. A category or a product may carry serving windows
(`serving_windows`, e.g. breakfast 06:00-10:30 on weekdays); a product's own replace its
category's, and none means served whenever the shop is open. They are judged at the
order's ready time, not at the time of ordering (the sellability rule's `at`): a shopper
booking tomorrow 07:00 can order breakfast tonight, and not for tonight.

A window is `{"days": [0..6], "from": "HH:MM", "until": "HH:MM"}` in the shop's time zone
(`days`: Python's weekday numbers, Monday 0; absent: every day; `until` after `from`, the
end excluded). Kept as JSON on the row the menu already reads: no query to judge them.
"""

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

ALL_DAYS = list(range(7))
MAX_WINDOWS = 10


def _time(value: object, *, where: str) -> time:
    try:
        if not isinstance(value, str) or len(value) != 5:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("%(where)s: give a time as HH:MM.") % {"where": where}) from None


def serving_windows_clean(value: object) -> list[dict]:
    """The windows in their stored shape, or ValidationError naming what is wrong."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_WINDOWS:
        raise ValidationError(
            _("Give a list of at most %(max_windows)s serving windows.") % {"max_windows": MAX_WINDOWS}
        )
    cleaned = []
    for n, window in enumerate(value, start=1):
        where = f"Window {n}"
        if not isinstance(window, dict) or set(window) - {"days", "from", "until"}:
            raise ValidationError(
                _('%(where)s: an object with "from", "until" and optionally "days".') % {"where": where}
            )
        days = window.get("days", ALL_DAYS)
        if (
            not isinstance(days, list)
            or not days
            or any(isinstance(d, bool) or d not in ALL_DAYS for d in days)
        ):
            raise ValidationError(
                _("%(where)s: days are weekday numbers, 0 (Monday) to 6 (Sunday).") % {"where": where}
            )
        starts, ends = _time(window.get("from"), where=where), _time(window.get("until"), where=where)
        if ends <= starts:
            raise ValidationError(_('%(where)s: "until" must be after "from".') % {"where": where})
        cleaned.append({"days": sorted(set(days)), "from": f"{starts:%H:%M}", "until": f"{ends:%H:%M}"})
    return cleaned


def windows_of(product) -> list[dict]:
    """The windows that apply: the product's own, else its category's (loaded with it)."""
    return product.serving_windows or product.category.serving_windows or []


def served_at(product, at: datetime) -> bool:
    """Whether `product` is served at `at` (a moment; judged in the shop's time zone)."""
    windows = windows_of(product)
    if not windows:
        return True
    local = timezone.localtime(at)
    moment = local.time()
    return any(
        local.weekday() in window.get("days", ALL_DAYS)
        and time.fromisoformat(window["from"]) <= moment < time.fromisoformat(window["until"])
        for window in windows
    )
