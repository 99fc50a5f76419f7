"""The shop's clock: its time zone (`TIME_ZONE`, Asia/Jakarta by default) and its day.

A "day" in this shop (the kitchen board, the dashboard, order numbers, pickup slots) is
the shop's local calendar day, whatever the server's zone: one helper each, used everywhere.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone


def shop_zone() -> ZoneInfo:
    return timezone.get_default_timezone()


def local(at: datetime | None = None) -> datetime:
    """`at` (default now) as the shop's wall-clock time."""
    return timezone.localtime(at, shop_zone())


def local_today() -> date:
    return local().date()


def start_of_local_day(at: datetime | None = None) -> datetime:
    """Midnight at the start of the shop's day that contains `at` (default now), aware."""
    return local(at).replace(hour=0, minute=0, second=0, microsecond=0)
