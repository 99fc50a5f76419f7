"""The interval maths of opening hours and pickup slots: pure functions of the ranges, the
settings and an instant. No database, no clock of its own (every rule takes `now`).

Hours. A range is wall-clock time in the shop's time zone (`TIME_ZONE`) and belongs to the
day it opens on. When `closes_at` is not after `opens_at` it closes the next day:
18:00-02:00 runs past midnight, 00:00-00:00 is the whole day. A dated exception replaces
the weekly ranges that open on its date (closed all day, or its own ranges); a range of
the day before that runs past midnight is not cut short by it. Ranges that overlap or
touch, on the same day or across midnight, make one open interval. Instants are kept in
UTC inside, so arithmetic and comparisons never depend on a wall-clock offset.

Slots. One every `PICKUP_SLOT_MINUTES` from the start of each open interval, as long as it
ends by the interval's close; a slot belongs to the date it starts on. Only dates from
today to `PICKUP_DAYS_AHEAD` days ahead are offered, and only slots that start at least
`PICKUP_MIN_LEAD_MINUTES` from now.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

TimeRange = tuple[time, time]  # opens_at, closes_at (wall clock)
Interval = tuple[datetime, datetime]  # start, end (UTC)


@dataclass(frozen=True)
class OpenRange:
    """An open interval, in the shop's time zone."""

    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class ShopStatus:
    open_now: bool
    # The open intervals that touch today (local date), in the shop's time zone; one that
    # began last night and is still running is included.
    today: list[OpenRange]
    # While closed: when it opens next (None if nothing is scheduled within a year);
    # while open: None.
    next_opening: datetime | None


# --- time helpers ---------------------------------------------------------------------


def shop_zone() -> ZoneInfo:
    return timezone.get_default_timezone()


def local(at: datetime) -> datetime:
    return at.astimezone(shop_zone())


def local_date(at: datetime) -> date:
    return local(at).date()


def midnight(day: date) -> datetime:
    """The start of a local date, in UTC."""
    return datetime.combine(day, time(0), tzinfo=shop_zone()).astimezone(UTC)


def dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def iso(at: datetime) -> str:
    return local(at).isoformat()


def format_opening(at: datetime) -> str:
    """In the active language: "Monday 07 December 2026, 09:00 (Asia/Jakarta)", "Senin 07 Desember 2026, ..."."""
    return f"{date_format(local(at), 'l d F Y, H:i')} ({settings.TIME_ZONE})"


def range_interval(day: date, opens_at: time, closes_at: time) -> Interval:
    zone = shop_zone()
    close_day = day + timedelta(days=1) if closes_at <= opens_at else day
    start = datetime.combine(day, opens_at, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(close_day, closes_at, tzinfo=zone).astimezone(UTC)
    return start, end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def contains(intervals: list[Interval], start: datetime, end: datetime | None = None) -> bool:
    """Whether one interval holds the instant `start` (or all of `start`-`end`)."""
    if end is None:
        return any(s <= start < e for s, e in intervals)
    return any(s <= start and end <= e for s, e in intervals)


# --- the schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """The weekly ranges and the dated exceptions, as read (pickup.selectors.schedule_read)."""

    weekly: dict[int, list[TimeRange]]
    exceptions: dict[date, list[TimeRange]]  # an empty list: closed all day

    def ranges_on(self, day: date) -> list[TimeRange]:
        """The ranges that open on `day`: its exception's, else the weekday's."""
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), [])

    def intervals(self, first: date, last: date) -> list[Interval]:
        """The merged open intervals of the ranges opening from the day before `first` (one
        may run past midnight) to the day after `last` (one may join on at midnight)."""
        return merge(
            range_interval(day, opens_at, closes_at)
            for day in dates(first - timedelta(days=1), last + timedelta(days=1))
            for opens_at, closes_at in self.ranges_on(day)
        )


def status_of(schedule: Schedule, *, now: datetime, horizon: date) -> ShopStatus:
    """Open now or not, today's hours and, while closed, the next opening up to `horizon`
    (the schedule must cover today to `horizon`)."""
    today = local_date(now)
    intervals = schedule.intervals(today, today)
    day_start, day_end = midnight(today), midnight(today + timedelta(days=1))
    today_ranges = [
        OpenRange(opens_at=local(s), closes_at=local(e))
        for s, e in intervals
        if s < day_end and e > day_start
    ]
    open_now = contains(intervals, now)
    next_opening = None if open_now else next_opening_after(schedule, now=now, first=today, last=horizon)
    return ShopStatus(open_now=open_now, today=today_ranges, next_opening=next_opening)


def next_opening_after(schedule: Schedule, *, now: datetime, first: date, last: date) -> datetime | None:
    # A week at a time: the usual answer is in the first one. `now` is outside every
    # interval, so the first interval starting after it is a real opening.
    day = first
    while day <= last:
        week_last = min(day + timedelta(days=6), last)
        for start, _end in schedule.intervals(day, week_last):
            if start > now:
                return local(start)
        day = week_last + timedelta(days=1)
    return None


# --- the booking window and the slot grid ---------------------------------------------


def pickup_window(*, now: datetime) -> tuple[date, date]:
    """The first and last local dates whose slots can be listed and booked."""
    today = local_date(now)
    return today, today + timedelta(days=settings.PICKUP_DAYS_AHEAD)


def earliest_start(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.PICKUP_MIN_LEAD_MINUTES)


def check_slot_date(*, day: date, now: datetime) -> None:
    """Raises ValidationError (on `date`) unless `day` is in the booking window."""
    first, last = pickup_window(now=now)
    if not first <= day <= last:
        raise ValidationError(
            {
                "date": [
                    _("Pickup slots can be chosen from %(first)s to %(last)s.")
                    % {"first": f"{first:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}"}
                ]
            }
        )


def grid(intervals: list[Interval], day: date) -> list[Interval]:
    """The slots that start on `day`, stepped from the start of each open interval."""
    length = timedelta(minutes=settings.PICKUP_SLOT_MINUTES)
    day_start, day_end = midnight(day), midnight(day + timedelta(days=1))
    slots = []
    for opens, closes in intervals:
        if closes <= day_start or opens >= day_end:
            continue
        start = opens
        if start < day_start:  # skip ahead to the first step on this day
            start += length * -((opens - day_start) // length)
        while start < day_end and start + length <= closes:
            slots.append((start, start + length))
            start += length
    return slots


def slots_wanted(
    schedule: Schedule, *, days: list[date], now: datetime
) -> tuple[list[Interval], list[Interval]]:
    """The grid slots of `days` that start in time (at least the lead time from `now`), in
    start order, and the merged open intervals of those days (to check a row's own end)."""
    earliest = earliest_start(now)
    wanted: list[Interval] = []
    intervals: list[Interval] = []
    for day in sorted(days):
        day_intervals = schedule.intervals(day, day)
        intervals = merge([*intervals, *day_intervals])
        wanted.extend(slot for slot in grid(day_intervals, day) if slot[0] >= earliest)
    return wanted, intervals


# --- checking staff's ranges ----------------------------------------------------------


def range_label(opens_at: time, closes_at: time) -> str:
    suffix = " (next day)" if closes_at <= opens_at else ""
    return f"{opens_at:%H:%M}-{closes_at:%H:%M}{suffix}"


def check_day_ranges(*, ranges: list[TimeRange]) -> None:
    """Raises ValidationError when two ranges opening on the same day overlap (touching
    is fine: 08:00-12:00 and 12:00-20:00 make one stretch)."""
    anchor = date(2001, 1, 1)  # any date: only the order of the instants matters
    spans = sorted((range_interval(anchor, o, c), (o, c)) for o, c in ranges)
    for (previous, previous_range), (current, current_range) in pairwise(spans):
        if current[0] < previous[1]:
            raise ValidationError(
                _("%(range)s overlaps %(previous)s.")
                % {"range": range_label(*current_range), "previous": range_label(*previous_range)}
            )
