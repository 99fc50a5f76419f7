"""Opening hours and pickup slots: the one owner of when the shop is open and of how many
orders each pickup slot takes (as catalog/stock.py is of stock). Every other module asks
here; nothing else writes `PickupSlot.taken` or the schedule.

Hours. A range is wall-clock time in the shop's time zone (`TIME_ZONE`) and belongs to the
day it opens on. When `closes_at` is not after `opens_at` it closes the next day:
18:00-02:00 runs past midnight, 00:00-00:00 is the whole day. A dated exception replaces
the weekly ranges that open on its date (closed all day, or its own ranges); a range of
the day before that runs past midnight is not cut short by it. Ranges that overlap or
touch, on the same day or across midnight, make one open interval. Instants are kept in
UTC inside this module, so arithmetic and comparisons never depend on a wall-clock offset.

Slots. One every `PICKUP_SLOT_MINUTES` from the start of each open interval, as long as it
ends by the interval's close; a slot belongs to the date it starts on. Only dates from
today to `PICKUP_DAYS_AHEAD` days ahead are offered, and only slots that start at least
`PICKUP_MIN_LEAD_MINUTES` from now. Rows are made on demand (when a date is listed, when
staff open the slot list, by `seed`) with an insert that skips starts that already have a
row, so concurrent listings are safe and a capacity staff set is never overwritten. Every
booking is checked against the hours as they are then, so a slot left outside changed
hours is no longer listed nor bookable (orders that already hold it keep it).

Capacity. `taken` moves only by conditional UPDATEs (`taken = taken + 1 WHERE taken <
capacity`, `taken = taken - 1 WHERE taken > 0`): a slot is never booked over its capacity
whatever the number of processes, and the CHECK constraint `taken <= capacity` is the
backstop. Checkout takes the slot after the stock (lock order: products, then the slot).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.exceptions import ShopClosed, SlotFull, SlotUnavailable
from orders.models import HoursException, HoursExceptionRange, PickupSlot, Weekday, WeeklyHours

# How many free slots a `slot_full` error suggests.
NEXT_SLOTS_COUNT = 3
# How far `shop_status` looks for the next opening (a long closure still finds it).
NEXT_OPENING_HORIZON_DAYS = 366

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


@dataclass(frozen=True)
class SlotView:
    id: int
    start: datetime
    end: datetime
    capacity: int
    remaining: int


# --- time helpers ---------------------------------------------------------------------


def shop_zone() -> ZoneInfo:
    return timezone.get_default_timezone()


def _local(at: datetime) -> datetime:
    return at.astimezone(shop_zone())


def _local_date(at: datetime) -> date:
    return _local(at).date()


def _midnight(day: date) -> datetime:
    """The start of a local date, in UTC."""
    return datetime.combine(day, time(0), tzinfo=shop_zone()).astimezone(UTC)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _iso(at: datetime) -> str:
    return _local(at).isoformat()


def _range_interval(day: date, opens_at: time, closes_at: time) -> Interval:
    zone = shop_zone()
    close_day = day + timedelta(days=1) if closes_at <= opens_at else day
    start = datetime.combine(day, opens_at, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(close_day, closes_at, tzinfo=zone).astimezone(UTC)
    return start, end


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _contains(intervals: list[Interval], start: datetime, end: datetime | None = None) -> bool:
    """Whether one interval holds the instant `start` (or all of `start`-`end`)."""
    if end is None:
        return any(s <= start < e for s, e in intervals)
    return any(s <= start and end <= e for s, e in intervals)


# --- the schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Schedule:
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
        return _merge(
            _range_interval(day, opens_at, closes_at)
            for day in _days(first - timedelta(days=1), last + timedelta(days=1))
            for opens_at, closes_at in self.ranges_on(day)
        )


def _schedule(*, first: date, last: date) -> _Schedule:
    """The weekly ranges and the exceptions that can matter from `first` to `last`: two
    queries whatever the number of rows."""
    weekly: dict[int, list[TimeRange]] = defaultdict(list)
    for weekday, opens_at, closes_at in WeeklyHours.objects.values_list("weekday", "opens_at", "closes_at"):
        weekly[weekday].append((opens_at, closes_at))
    exceptions: dict[date, list[TimeRange]] = {}
    rows = HoursException.objects.filter(
        date__range=(first - timedelta(days=1), last + timedelta(days=1))
    ).values_list("date", "is_closed", "ranges__opens_at", "ranges__closes_at")
    for day, is_closed, opens_at, closes_at in rows:
        day_ranges = exceptions.setdefault(day, [])
        if not is_closed and opens_at is not None:
            day_ranges.append((opens_at, closes_at))
    return _Schedule(weekly=dict(weekly), exceptions=exceptions)


# --- is the shop open -----------------------------------------------------------------


def hours_configured(schedule: "_Schedule | None" = None) -> bool:
    """Opening hours apply once staff have set any: until then (a new shop) the shop takes
    orders for "as soon as possible" at any time, and offers no pickup slots. Given the
    schedule already read, it costs a query only when that has no weekly hours."""
    if schedule is not None and schedule.weekly:
        return True
    return WeeklyHours.objects.exists() or HoursException.objects.exists()


def shop_is_open(*, at: datetime) -> bool:
    day = _local_date(at)
    schedule = _schedule(first=day, last=day)
    if not hours_configured(schedule):
        return True
    return _contains(schedule.intervals(day, day), at)


def shop_status(*, now: datetime) -> ShopStatus:
    """Open now or not, today's hours and, while closed, the next opening."""
    today = _local_date(now)
    horizon = today + timedelta(days=NEXT_OPENING_HORIZON_DAYS)
    schedule = _schedule(first=today, last=horizon)
    if not hours_configured(schedule):
        return ShopStatus(open_now=True, today=[], next_opening=None)
    intervals = schedule.intervals(today, today)
    day_start, day_end = _midnight(today), _midnight(today + timedelta(days=1))
    today_ranges = [
        OpenRange(opens_at=_local(s), closes_at=_local(e))
        for s, e in intervals
        if s < day_end and e > day_start
    ]
    open_now = _contains(intervals, now)
    next_opening = None if open_now else _next_opening(schedule, now=now, first=today, last=horizon)
    return ShopStatus(open_now=open_now, today=today_ranges, next_opening=next_opening)


def _next_opening(schedule: _Schedule, *, now: datetime, first: date, last: date) -> datetime | None:
    # A week at a time: the usual answer is in the first one. `now` is outside every
    # interval, so the first interval starting after it is a real opening.
    day = first
    while day <= last:
        week_last = min(day + timedelta(days=6), last)
        for start, _end in schedule.intervals(day, week_last):
            if start > now:
                return _local(start)
        day = week_last + timedelta(days=1)
    return None


def _format_opening(at: datetime) -> str:
    local = _local(at)
    return f"{local:%A %d %B %Y, %H:%M} ({settings.TIME_ZONE})"


def check_can_order(*, now: datetime, slot_id: int | None) -> None:
    """An order without a pickup slot ("as soon as possible") needs the shop open now;
    raises ShopClosed with the next opening. With a slot, `pickup_slot_take` decides."""
    if slot_id is not None:
        return
    status = shop_status(now=now)
    if status.open_now:
        return
    if status.next_opening is None:
        raise ShopClosed("The shop is closed and no opening is scheduled.", next_opening=None)
    raise ShopClosed(
        f"The shop is closed now and opens {_format_opening(status.next_opening)}; "
        "choose a pickup slot for later.",
        next_opening=_iso(status.next_opening),
    )


# --- pickup slots ---------------------------------------------------------------------


def pickup_window(*, now: datetime) -> tuple[date, date]:
    """The first and last local dates whose slots can be listed and booked."""
    today = _local_date(now)
    return today, today + timedelta(days=settings.PICKUP_DAYS_AHEAD)


def _earliest_start(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.PICKUP_MIN_LEAD_MINUTES)


def check_slot_date(*, day: date, now: datetime) -> None:
    """Raises ValidationError (on `date`) unless `day` is in the booking window."""
    first, last = pickup_window(now=now)
    if not first <= day <= last:
        raise ValidationError(
            {"date": [f"Pickup slots can be chosen from {first:%Y-%m-%d} to {last:%Y-%m-%d}."]}
        )


def _grid(intervals: list[Interval], day: date) -> list[Interval]:
    """The slots that start on `day`, stepped from the start of each open interval."""
    length = timedelta(minutes=settings.PICKUP_SLOT_MINUTES)
    day_start, day_end = _midnight(day), _midnight(day + timedelta(days=1))
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


def _slots_ensure(*, days: list[date], now: datetime) -> tuple[list[PickupSlot], int]:
    """The bookable-in-time slots of `days` as rows, creating the missing ones with the
    default capacity. Returns them in start order and how many rows were created."""
    schedule = _schedule(first=min(days), last=max(days))
    earliest = _earliest_start(now)
    wanted: list[Interval] = []
    intervals: list[Interval] = []
    for day in sorted(days):
        day_intervals = schedule.intervals(day, day)
        intervals = _merge([*intervals, *day_intervals])
        wanted.extend(slot for slot in _grid(day_intervals, day) if slot[0] >= earliest)
    if not wanted:
        return [], 0

    def rows() -> dict[datetime, PickupSlot]:
        in_range = PickupSlot.objects.filter(start__range=(wanted[0][0], wanted[-1][0]))
        return {slot.start: slot for slot in in_range}

    existing = rows()
    missing = [
        PickupSlot(start=start, end=end, capacity=settings.PICKUP_SLOT_CAPACITY)
        for start, end in wanted
        if start not in existing
    ]
    created = 0
    if missing:
        PickupSlot.objects.bulk_create(missing, ignore_conflicts=True)
        before = len(existing)
        existing = rows()
        created = len(existing) - before
    # A row made when the slot length was different keeps its own end: listed only while
    # it still fits the hours.
    slots = [
        existing[start]
        for start, _end in wanted
        if start in existing and _contains(intervals, start, existing[start].end)
    ]
    return slots, created


def _slot_view(slot: PickupSlot) -> SlotView:
    return SlotView(
        id=slot.pk,
        start=_local(slot.start),
        end=_local(slot.end),
        capacity=slot.capacity,
        remaining=slot.remaining,
    )


def slots_for_date(*, day: date, now: datetime) -> list[SlotView]:
    """The slots starting on `day` that can still be booked in time, full ones included
    (`remaining` 0). Raises ValidationError for a date outside the booking window.
    Creates the day's missing slot rows (idempotent)."""
    check_slot_date(day=day, now=now)
    slots, _created = _slots_ensure(days=[day], now=now)
    return [_slot_view(slot) for slot in slots]


def pickup_slots_ensure(*, now: datetime) -> int:
    """Create the missing slot rows of the whole booking window, so staff can set the
    capacity of a slot nobody has listed yet. Idempotent; returns the rows created."""
    first, last = pickup_window(now=now)
    _slots, created = _slots_ensure(days=_days(first, last), now=now)
    return created


def check_slot_bookable(*, slot: PickupSlot, now: datetime) -> None:
    """Raises SlotUnavailable (`reason`) unless `slot` can be booked at `now`: not begun,
    far enough ahead, inside the booking window and inside the opening hours as they are."""
    start = _local(slot.start)
    if slot.start < now:
        raise SlotUnavailable(f"The pickup slot at {start:%H:%M} has already begun.", reason="past")
    if slot.start < _earliest_start(now):
        raise SlotUnavailable(
            f"The pickup slot at {start:%H:%M} is too soon: book at least "
            f"{settings.PICKUP_MIN_LEAD_MINUTES} minutes ahead.",
            reason="too_soon",
        )
    _first, last = pickup_window(now=now)
    day = start.date()
    if day > last:
        raise SlotUnavailable(f"Pickup slots can be booked up to {last:%Y-%m-%d}.", reason="too_far")
    if not _contains(_schedule(first=day, last=day).intervals(day, day), slot.start, slot.end):
        raise SlotUnavailable(
            f"The shop is not open for the pickup slot at {start:%Y-%m-%d %H:%M}.", reason="closed"
        )


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Run this inside the caller's transaction (the one that places the order).")


def pickup_slot_take(*, slot_id: int, now: datetime) -> PickupSlot:
    """Book one place of the slot for an order. Run inside the caller's transaction (the
    one that creates the order), after the stock is taken.

    Raises SlotUnavailable (unknown, past, too soon, too far, closed) or SlotFull (with
    the next free slots) and then has changed nothing."""
    _require_transaction()
    slot = PickupSlot.objects.filter(pk=slot_id).first()
    if slot is None:
        raise SlotUnavailable("There is no such pickup slot.", reason="unknown")
    check_slot_bookable(slot=slot, now=now)
    if not PickupSlot.objects.filter(pk=slot_id, taken__lt=F("capacity")).update(taken=F("taken") + 1):
        raise SlotFull(
            f"The pickup slot at {_local(slot.start):%H:%M} is fully booked.",
            next_slots=_next_free(after=slot, now=now),
        )
    slot.refresh_from_db(fields=["capacity", "taken"])
    return slot


def _next_free(*, after: PickupSlot, now: datetime) -> list[dict]:
    """Up to NEXT_SLOTS_COUNT bookable slots after `after` with room. Only rows that exist
    are named (a listing made them: the caller's transaction is about to roll back, so
    a row made here would vanish with it)."""
    _first, last = pickup_window(now=now)
    day = _local_date(after.start)
    intervals = _schedule(first=day, last=last).intervals(day, last)
    candidates = PickupSlot.objects.filter(
        start__gt=after.start,
        start__gte=_earliest_start(now),
        start__lt=_midnight(last + timedelta(days=1)),
        taken__lt=F("capacity"),
    ).order_by("start")
    found = []
    for slot in candidates.iterator(chunk_size=20):
        if _contains(intervals, slot.start, slot.end):
            found.append({"id": slot.pk, "start": _iso(slot.start), "end": _iso(slot.end)})
            if len(found) == NEXT_SLOTS_COUNT:
                break
    return found


def pickup_slot_release(*, slot_id: int) -> bool:
    """Give back the place an order held (on cancel or expiry), in the caller's
    transaction. Never below zero; False when there was nothing to give back."""
    return bool(PickupSlot.objects.filter(pk=slot_id, taken__gt=0).update(taken=F("taken") - 1))


def pickup_slot_retake(*, slot_id: int) -> bool:
    """Book the place again for an order paid after it expired or was cancelled: room is
    the only rule (the time may have passed; the kitchen still owes the food). False when
    the slot is full, and then nothing changed."""
    return bool(PickupSlot.objects.filter(pk=slot_id, taken__lt=F("capacity")).update(taken=F("taken") + 1))


def pickup_slots_free_all() -> int:
    """Set every slot's `taken` to 0: data resets only, once the orders are gone."""
    return PickupSlot.objects.filter(taken__gt=0).update(taken=0)


# --- staff: capacity ------------------------------------------------------------------


def pickup_slots_lock(*, slot_ids: Iterable[int]) -> None:
    """Row-lock slots in primary-key order until the caller's transaction ends (an admin
    list edit of several capacities: always the same order, so two edits never deadlock)."""
    _require_transaction()
    list(
        PickupSlot.objects.select_for_update().filter(pk__in=list(slot_ids)).order_by("pk").values_list("pk")
    )


def check_slot_capacity(*, slot_id: int, capacity: int) -> None:
    """Raises ValidationError when `capacity` is below the places already booked. Inside a
    transaction the slot row stays locked, so the answer holds until it commits."""
    query = PickupSlot.objects.filter(pk=slot_id)
    if transaction.get_connection().in_atomic_block:
        query = query.select_for_update()
    taken = query.values_list("taken", flat=True).first()
    if taken is None:
        raise ValidationError("There is no such pickup slot.")
    if capacity < 0:
        raise ValidationError("A capacity cannot be negative.")
    if capacity < taken:
        raise ValidationError(
            f"{taken} order(s) already booked this slot: the capacity cannot go below {taken}."
        )


@transaction.atomic
def pickup_slot_set_capacity(*, slot_id: int, capacity: int) -> PickupSlot:
    """Staff set how many orders a slot takes (0 closes it to new bookings). Refused with a
    ValidationError below the places already booked. The slot row is locked from the check
    to the commit, so a booking racing the change waits and then sees the new capacity."""
    check_slot_capacity(slot_id=slot_id, capacity=capacity)  # locks the row until commit
    PickupSlot.objects.filter(pk=slot_id).update(capacity=capacity)
    return PickupSlot.objects.get(pk=slot_id)


# --- staff: the schedule --------------------------------------------------------------


def _range_label(opens_at: time, closes_at: time) -> str:
    suffix = " (next day)" if closes_at <= opens_at else ""
    return f"{opens_at:%H:%M}-{closes_at:%H:%M}{suffix}"


def check_day_ranges(*, ranges: list[TimeRange]) -> None:
    """Raises ValidationError when two ranges opening on the same day overlap (touching
    is fine: 08:00-12:00 and 12:00-20:00 make one stretch)."""
    anchor = date(2001, 1, 1)  # any date: only the order of the instants matters
    spans = sorted((_range_interval(anchor, o, c), (o, c)) for o, c in ranges)
    for (previous, previous_range), (current, current_range) in pairwise(spans):
        if current[0] < previous[1]:
            raise ValidationError(f"{_range_label(*current_range)} overlaps {_range_label(*previous_range)}.")


def _check_weekday(weekday: int) -> None:
    if weekday not in Weekday.values:
        raise ValidationError({"weekday": ["A weekday is 0 (Monday) to 6 (Sunday)."]})


def check_weekly_hours(
    *, weekday: int, opens_at: time, closes_at: time, exclude_id: int | None = None
) -> None:
    """Raises ValidationError if the range is not valid beside the weekday's other ranges."""
    _check_weekday(weekday)
    others = WeeklyHours.objects.filter(weekday=weekday).exclude(pk=exclude_id)
    check_day_ranges(ranges=[*others.values_list("opens_at", "closes_at"), (opens_at, closes_at)])


@transaction.atomic
def weekly_hours_add(*, weekday: int, opens_at: time, closes_at: time) -> WeeklyHours:
    """Add a range to a weekday; refused (ValidationError) when it overlaps another."""
    check_weekly_hours(weekday=weekday, opens_at=opens_at, closes_at=closes_at)
    return WeeklyHours.objects.create(weekday=weekday, opens_at=opens_at, closes_at=closes_at)


@transaction.atomic
def weekly_hours_update(*, hours: WeeklyHours, weekday: int, opens_at: time, closes_at: time) -> WeeklyHours:
    """Change a range; refused (ValidationError) when it would overlap another."""
    check_weekly_hours(weekday=weekday, opens_at=opens_at, closes_at=closes_at, exclude_id=hours.pk)
    hours.weekday, hours.opens_at, hours.closes_at = weekday, opens_at, closes_at
    hours.save(update_fields=["weekday", "opens_at", "closes_at"])
    return hours


def weekly_hours_delete(*, hours: WeeklyHours) -> None:
    hours.delete()


def check_hours_exception(*, is_closed: bool, ranges: list[TimeRange]) -> None:
    """A closed day has no ranges; a day with special hours has at least one, none
    overlapping."""
    if is_closed and ranges:
        raise ValidationError("A day closed all day has no hours: untick 'closed all day' or remove them.")
    if not is_closed and not ranges:
        raise ValidationError("Give the special hours of the day, or tick 'closed all day'.")
    check_day_ranges(ranges=ranges)


@transaction.atomic
def hours_exception_save(
    *,
    day: date,
    is_closed: bool,
    ranges: list[TimeRange],
    note: str = "",
    exception: HoursException | None = None,
) -> HoursException:
    """Create the exception for `day`, or change `exception`, replacing its ranges as a
    whole. Refused (ValidationError) for a date that already has another exception."""
    check_hours_exception(is_closed=is_closed, ranges=ranges)
    clash = HoursException.objects.filter(date=day)
    if exception is not None:
        clash = clash.exclude(pk=exception.pk)
    if clash.exists():
        raise ValidationError({"date": [f"{day:%Y-%m-%d} already has its own hours."]})
    if exception is None:
        exception = HoursException.objects.create(date=day, is_closed=is_closed, note=note)
    else:
        exception.date, exception.is_closed, exception.note = day, is_closed, note
        exception.save(update_fields=["date", "is_closed", "note"])
        exception.ranges.all().delete()
    HoursExceptionRange.objects.bulk_create(
        HoursExceptionRange(exception=exception, opens_at=o, closes_at=c) for o, c in ranges
    )
    return exception


def hours_exception_delete(*, exception: HoursException) -> None:
    """The date goes back to its weekly hours."""
    exception.delete()


# --- demo data ------------------------------------------------------------------------

DEMO_WEEKLY_HOURS: list[tuple[int, time, time]] = [
    *((day, time(8), time(21)) for day in (0, 1, 2, 3, 5, 6)),
    # Friday: closed over the midday prayers.
    (Weekday.FRIDAY, time(8), time(11, 30)),
    (Weekday.FRIDAY, time(13), time(21)),
]


@transaction.atomic
def hours_seed_demo() -> int:
    """The demo weekly schedule: every day 08:00-21:00, Friday with a midday break.
    Idempotent: a shop that has any weekly hours keeps them. Returns the ranges created."""
    if WeeklyHours.objects.exists():
        return 0
    WeeklyHours.objects.bulk_create(
        WeeklyHours(weekday=weekday, opens_at=opens_at, closes_at=closes_at)
        for weekday, opens_at, closes_at in DEMO_WEEKLY_HOURS
    )
    return len(DEMO_WEEKLY_HOURS)
