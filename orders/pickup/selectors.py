"""Reads of opening hours and pickup slots: the schedule as the rules need it, whether the
shop is open, the slots a shopper may book. None of them writes a row: a slot is listed
only once its row exists (pickup.services.pickup_slots_materialise makes them ahead, see
there), so a GET never inserts anything.
"""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import F, Q

from orders.pickup import schedule as sched
from orders.pickup.models import HoursException, PickupSlot, WeeklyHours
from orders.pickup.schedule import Interval, Schedule, ShopStatus, TimeRange
from orders.setup import kept

# How many free slots a `slot_full` error suggests.
NEXT_SLOTS_COUNT = 3
# How far `shop_status` looks for the next opening (a long closure still finds it).
NEXT_OPENING_HORIZON_DAYS = 366


@dataclass(frozen=True)
class SlotView:
    id: int
    start: datetime
    end: datetime
    capacity: int
    remaining: int
    capacity_items: int | None = None
    remaining_items: int | None = None


# Inside `schedule_once`: the last schedule read, with the dates its exceptions cover, and
# whether hours are configured at all.
_read_once: ContextVar[dict | None] = ContextVar("schedule_read_once", default=None)


@contextmanager
def schedule_once() -> Iterator[None]:
    """Within this block the opening hours are read once: a later `schedule_read` for dates
    the first read covered is answered from it. Checkout reads them to check the shop is
    open now (a year ahead) and again to place the order in a slot, in one transaction."""
    token = _read_once.set({})
    try:
        yield
    finally:
        _read_once.reset(token)


def schedule_read(*, first: date, last: date) -> Schedule:
    """The weekly ranges and the exceptions that can matter from `first` to `last`: two
    queries whatever the number of rows (none inside `schedule_once` once read)."""
    once = _read_once.get()
    if once is not None and "schedule" in once:
        (read_first, read_last), schedule = once["schedule"]
        if read_first <= first and last <= read_last:
            low, high = first - timedelta(days=1), last + timedelta(days=1)
            return Schedule(
                weekly=schedule.weekly,
                exceptions={day: ranges for day, ranges in schedule.exceptions.items() if low <= day <= high},
            )
    schedule = kept(("schedule", first, last), lambda: _schedule_query(first=first, last=last))
    if once is not None:
        once["schedule"] = ((first, last), schedule)
    return schedule


def _schedule_query(*, first: date, last: date) -> Schedule:
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
    return Schedule(weekly=dict(weekly), exceptions=exceptions)


# --- is the shop open -----------------------------------------------------------------


def hours_configured(schedule: Schedule | None = None) -> bool:
    """Opening hours apply once staff have set any: until then (a new shop) the shop takes
    orders for "as soon as possible" at any time, and offers no pickup slots. Given the
    schedule already read, it costs a query only when that has no weekly hours."""
    if schedule is not None and schedule.weekly:
        return True
    once = _read_once.get()
    if once is not None and "configured" in once:
        return once["configured"]
    configured = kept(
        ("configured",), lambda: WeeklyHours.objects.exists() or HoursException.objects.exists()
    )
    if once is not None:
        once["configured"] = configured
    return configured


def shop_is_open(*, at: datetime) -> bool:
    day = sched.local_date(at)
    schedule = schedule_read(first=day, last=day)
    if not hours_configured(schedule):
        return True
    return sched.contains(schedule.intervals(day, day), at)


def shop_status(*, now: datetime) -> ShopStatus:
    """Open now or not, today's hours and, while closed, the next opening."""
    today = sched.local_date(now)
    horizon = today + timedelta(days=NEXT_OPENING_HORIZON_DAYS)
    schedule = schedule_read(first=today, last=horizon)
    if not hours_configured(schedule):
        return ShopStatus(open_now=True, today=[], next_opening=None)
    return sched.status_of(schedule, now=now, horizon=horizon)


# --- pickup slots ---------------------------------------------------------------------


def slot_rows(*, wanted: list[Interval], intervals: list[Interval]) -> tuple[dict, list[PickupSlot]]:
    """The rows at the `wanted` starts (one query): all of them by start, and in start
    order those still inside the open `intervals`. A row made when the slot length was
    different keeps its own end: listed only while it still fits the hours."""
    if not wanted:
        return {}, []
    in_range = PickupSlot.objects.filter(start__range=(wanted[0][0], wanted[-1][0]))
    existing = {slot.start: slot for slot in in_range}
    fitting = [
        existing[start]
        for start, _end in wanted
        if start in existing and sched.contains(intervals, start, existing[start].end)
    ]
    return existing, fitting


def _slot_view(slot: PickupSlot) -> SlotView:
    return SlotView(
        id=slot.pk,
        start=sched.local(slot.start),
        end=sched.local(slot.end),
        capacity=slot.capacity,
        remaining=slot.remaining,
        capacity_items=slot.capacity_items,
        remaining_items=slot.remaining_items,
    )


def slots_for_date(*, day: date, now: datetime) -> list[SlotView]:
    """The slots starting on `day` that can still be booked in time, full ones included
    (`remaining` 0). Raises ValidationError for a date outside the booking window. Reads
    only: a grid slot whose row is not made yet is not listed. Three queries."""
    sched.check_slot_date(day=day, now=now)
    schedule = schedule_read(first=day, last=day)
    wanted, intervals = sched.slots_wanted(schedule, days=[day], now=now)
    _existing, slots = slot_rows(wanted=wanted, intervals=intervals)
    return [_slot_view(slot) for slot in slots]


def slot_room(units: int) -> Q:
    """The slots that still take an order of `units` dish units: a place left, and when the
    slot counts items, that many items left."""
    return Q(taken__lt=F("capacity")) & (
        Q(capacity_items__isnull=True) | Q(capacity_items__gte=F("taken_items") + units)
    )


def slots_next_free(*, after: PickupSlot | datetime, now: datetime, units: int = 1) -> list[dict]:
    """Up to NEXT_SLOTS_COUNT bookable slots after `after` (a slot, or a moment) with room
    for an order of `units` dish units, for a `slot_full` or `kitchen_full` answer. Only rows
    are named (a checkout books by row id)."""
    after = after.start if isinstance(after, PickupSlot) else after
    _first, last = sched.pickup_window(now=now)
    day = sched.local_date(after)
    if day > last:
        return []
    intervals = schedule_read(first=day, last=last).intervals(day, last)
    candidates = PickupSlot.objects.filter(
        slot_room(units),
        start__gt=after,
        start__gte=sched.earliest_start(now),
        start__lt=sched.midnight(last + timedelta(days=1)),
    ).order_by("start")
    found = []
    for slot in candidates.iterator(chunk_size=20):
        if sched.contains(intervals, slot.start, slot.end):
            found.append({"id": slot.pk, "start": sched.iso(slot.start), "end": sched.iso(slot.end)})
            if len(found) == NEXT_SLOTS_COUNT:
                break
    return found
