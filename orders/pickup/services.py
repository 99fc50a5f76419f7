"""Opening hours and pickup slots: the one owner of when the shop is open and of how many
orders each pickup slot takes (as catalog/stock.py is of stock). Every write is here;
nothing else writes `PickupSlot.taken` or the schedule. The interval maths is in
schedule.py (pure), the reads in selectors.py.

Slot rows are made ahead, never by a read: `pickup_slots_materialise` creates the missing
rows of the booking window and of the day after it, with an insert that skips starts that
already have a row (concurrent runs are safe, and a capacity staff set is never
overwritten). It runs from the beat task `orders.tasks.make_pickup_slots` (or its command,
`make_pickup_slots`, from cron), from `seed`, from the admin's slot list action, and after
every change of the hours commits. Making the day after the window too means a day's slots
exist before it becomes bookable at midnight, so one run a day keeps the listing whole.
The listing (`GET shop/slots/`) reads rows only: a slot is booked by its row's id, so a
slot without a row could not be booked anyway. Every booking is checked against the hours
as they are then, so a slot left outside changed hours is no longer listed nor bookable
(orders that already hold it keep it).

Capacity. `taken` moves only by conditional UPDATEs (`taken = taken + 1 WHERE taken <
capacity`, `taken = taken - 1 WHERE taken > 0`): a slot is never booked over its capacity
whatever the number of processes, and the CHECK constraint `taken <= capacity` is the
backstop. Checkout takes the slot after the stock (lock order: products, then the slot).
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from config.tasks import enqueue
from orders.exceptions import ShopClosed, SlotFull, SlotUnavailable
from orders.pickup import schedule as sched
from orders.pickup.models import HoursException, HoursExceptionRange, PickupSlot, Weekday, WeeklyHours
from orders.pickup.schedule import TimeRange
from orders.pickup.selectors import schedule_read, shop_status, slot_room, slot_rows, slots_next_free
from orders.setup import setup_changed

# --- making the slot rows -------------------------------------------------------------


def pickup_slots_materialise(*, now: datetime) -> int:
    """Create the missing slot rows of the booking window and of the day after it, with the
    default capacity. Idempotent and safe to run at the same time as itself; returns the
    rows created."""
    first, last = sched.pickup_window(now=now)
    days = sched.dates(first, last + timedelta(days=1))
    schedule = schedule_read(first=first, last=days[-1])
    wanted, intervals = sched.slots_wanted(schedule, days=days, now=now)
    existing, _fitting = slot_rows(wanted=wanted, intervals=intervals)
    missing = [
        PickupSlot(start=start, end=end, capacity=settings.PICKUP_SLOT_CAPACITY)
        for start, end in wanted
        if start not in existing
    ]
    if not missing:
        return 0
    PickupSlot.objects.bulk_create(missing, ignore_conflicts=True)
    # Rows another run made meanwhile were skipped: count the ones that are there now.
    return PickupSlot.objects.filter(start__in=[slot.start for slot in missing]).count()


def _materialise_after_commit() -> None:
    """Changed hours open new slots: make their rows once the change commits."""
    from orders.tasks import make_pickup_slots  # tasks import the services; import it when used

    enqueue(make_pickup_slots)


# --- booking ----------------------------------------------------------------------------


def check_can_order(*, now: datetime, slot_id: int | None) -> None:
    """An order without a pickup slot ("as soon as possible") needs the shop open now;
    raises ShopClosed with the next opening. With a slot, `pickup_slot_take` decides."""
    if slot_id is not None:
        return
    status = shop_status(now=now)
    if status.open_now:
        return
    if status.next_opening is None:
        raise ShopClosed(_("The shop is closed and no opening is scheduled."), next_opening=None)
    raise ShopClosed(
        _("The shop is closed now and opens %(opening)s; choose a pickup slot for later.")
        % {"opening": sched.format_opening(status.next_opening)},
        next_opening=sched.iso(status.next_opening),
    )


def check_slot_bookable(*, slot: PickupSlot, now: datetime) -> None:
    """Raises SlotUnavailable (`reason`) unless `slot` can be booked at `now`: not begun,
    far enough ahead, inside the booking window and inside the opening hours as they are."""
    start = sched.local(slot.start)
    if slot.start < now:
        raise SlotUnavailable(
            _("The pickup slot at %(time)s has already begun.") % {"time": f"{start:%H:%M}"}, reason="past"
        )
    if slot.start < sched.earliest_start(now):
        raise SlotUnavailable(
            _("The pickup slot at %(time)s is too soon: book at least %(minutes)d minutes ahead.")
            % {"time": f"{start:%H:%M}", "minutes": settings.PICKUP_MIN_LEAD_MINUTES},
            reason="too_soon",
        )
    _first, last = sched.pickup_window(now=now)
    day = start.date()
    if day > last:
        raise SlotUnavailable(
            _("Pickup slots can be booked up to %(day)s.") % {"day": f"{last:%Y-%m-%d}"}, reason="too_far"
        )
    if not sched.contains(schedule_read(first=day, last=day).intervals(day, day), slot.start, slot.end):
        raise SlotUnavailable(
            _("The shop is not open for the pickup slot at %(start)s.")
            % {"start": f"{start:%Y-%m-%d %H:%M}"},
            reason="closed",
        )


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Run this inside the caller's transaction (the one that places the order).")


def place_take(*, slot_id: int, units: int) -> bool:
    """The conditional UPDATE that books one place (and `units` items) of a slot, or
    changes nothing and answers False when the slot has no room for it."""
    return bool(
        PickupSlot.objects.filter(slot_room(units), pk=slot_id).update(
            taken=F("taken") + 1, taken_items=F("taken_items") + units
        )
    )


_FIRST_TAKE: dict[str, str] = {}
_SLOT_COLUMNS = ("id", "start", "end", "capacity", "taken", "capacity_items", "taken_items")


def _first_take_sql() -> str:
    vendor = connection.vendor
    if vendor not in _FIRST_TAKE:
        q = connection.ops.quote_name
        table, start, end = q(PickupSlot._meta.db_table), q("start"), q("end")
        room = "taken < capacity AND (capacity_items IS NULL OR capacity_items >= taken_items + %s)"
        # bandit B608: the table and column names are the model's, quoted; values go as
        # parameters. `room` is slot_room written out (the subquery's pick is re-checked
        # by the outer WHERE once the row is locked).
        _FIRST_TAKE[vendor] = (
            f"UPDATE {table} SET taken = taken + 1, taken_items = taken_items + %s "  # nosec B608
            f"WHERE id = (SELECT id FROM {table} WHERE {start} > %s AND {start} < %s AND {end} <= %s "
            f"AND {room} ORDER BY {start} LIMIT 1) AND {room} "
            f"RETURNING {', '.join(q(column) for column in _SLOT_COLUMNS)}"
        )
    return _FIRST_TAKE[vendor]


def _aware(value) -> datetime:
    if isinstance(value, str):  # SQLite hands back the stored text
        value = parse_datetime(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def place_first_take(*, after: datetime, before: datetime, units: int) -> PickupSlot | None:
    """Book one place (and `units` items) in the first slot starting after `after` and
    ending by `before` with room for it, in one statement (the read and the conditional
    UPDATE of `place_take` together), and return the slot as booked. None when no slot
    qualifies, or when the one picked filled up while this waited for its row lock (a
    racing checkout): the caller then looks further (kitchen.asap_slot_take)."""
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        return None
    adapt = connection.ops.adapt_datetimefield_value
    params = [units, adapt(after), adapt(before), adapt(before), units, units]
    with connection.cursor() as cursor:
        cursor.execute(_first_take_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_SLOT_COLUMNS, row, strict=True))
    values["start"], values["end"] = _aware(values["start"]), _aware(values["end"])
    return PickupSlot(**values)


def pickup_slot_take(*, slot_id: int, now: datetime, units: int = 1) -> PickupSlot:
    """Book one place of the slot (and `units` dish units when it counts items) for an
    order. Run inside the caller's transaction (the one that creates the order), after the
    stock is taken.

    Raises SlotUnavailable (unknown, past, too soon, too far, closed) or SlotFull (with
    the next free slots) and then has changed nothing."""
    _require_transaction()
    slot = PickupSlot.objects.filter(pk=slot_id).first()
    if slot is None:
        raise SlotUnavailable(_("There is no such pickup slot."), reason="unknown")
    check_slot_bookable(slot=slot, now=now)
    if not place_take(slot_id=slot_id, units=units):
        raise SlotFull(
            _("The pickup slot at %(time)s is fully booked.") % {"time": f"{sched.local(slot.start):%H:%M}"},
            next_slots=slots_next_free(after=slot, now=now, units=units),
        )
    slot.refresh_from_db(fields=["capacity", "taken", "capacity_items", "taken_items"])
    return slot


def pickup_slot_release(*, slot_id: int, units: int = 0) -> bool:
    """Give back the place (and the `units` items) an order held (on cancel or expiry), in
    the caller's transaction. Never below zero; False when there was nothing to give back."""
    return bool(
        PickupSlot.objects.filter(pk=slot_id, taken__gt=0).update(
            taken=F("taken") - 1,
            taken_items=Case(When(taken_items__gt=units, then=F("taken_items") - units), default=Value(0)),
        )
    )


def pickup_slot_retake(*, slot_id: int, units: int = 0) -> bool:
    """Book the place again for an order paid after it expired or was cancelled: room is
    the only rule (the time may have passed; the kitchen still owes the food). False when
    the slot is full, and then nothing changed."""
    return place_take(slot_id=slot_id, units=units)


def pickup_slots_free_all() -> int:
    """Set every slot's `taken` to 0: data resets only, once the orders are gone."""
    return PickupSlot.objects.filter(Q(taken__gt=0) | Q(taken_items__gt=0)).update(taken=0, taken_items=0)


# --- staff: capacity ------------------------------------------------------------------


def pickup_slots_lock(*, slot_ids: Iterable[int]) -> None:
    """Row-lock slots in primary-key order until the caller's transaction ends (an admin
    list edit of several capacities: always the same order, so two edits never deadlock)."""
    _require_transaction()
    list(
        PickupSlot.objects.select_for_update().filter(pk__in=list(slot_ids)).order_by("pk").values_list("pk")
    )


def check_slot_capacity(*, slot_id: int, capacity: int, capacity_items: int | None = None) -> None:
    """Raises ValidationError when `capacity` is below the places already booked, or
    `capacity_items` (None: no limit on units) below the units. Inside a transaction the
    slot row stays locked, so the answer holds until it commits."""
    query = PickupSlot.objects.filter(pk=slot_id)
    if transaction.get_connection().in_atomic_block:
        query = query.select_for_update()
    row = query.values_list("taken", "taken_items").first()
    if row is None:
        raise ValidationError(_("There is no such pickup slot."))
    taken, taken_items = row
    if capacity < 0 or (capacity_items is not None and capacity_items < 0):
        raise ValidationError(_("A capacity cannot be negative."))
    if capacity < taken:
        raise ValidationError(
            _("%(taken)s order(s) already booked this slot: the capacity cannot go below %(taken)s.")
            % {"taken": taken}
        )
    if capacity_items is not None and capacity_items < taken_items:
        raise ValidationError(
            _(
                "The orders booked hold %(taken_items)s item(s): the item capacity cannot go below %(taken_items)s."
            )
            % {"taken_items": taken_items}
        )


@transaction.atomic
def pickup_slot_set_capacity(*, slot_id: int, capacity: int, capacity_items: int | None = None) -> PickupSlot:
    """Staff set how many orders a slot takes (0 closes it to new bookings) and, optionally,
    how many dish units (None: no limit on units). Refused with a ValidationError below what
    is already booked. The slot row is locked from the check to the commit, so a booking
    racing the change waits and then sees the new capacity."""
    check_slot_capacity(slot_id=slot_id, capacity=capacity, capacity_items=capacity_items)  # locks the row
    PickupSlot.objects.filter(pk=slot_id).update(capacity=capacity, capacity_items=capacity_items)
    return PickupSlot.objects.get(pk=slot_id)


# --- staff: the schedule --------------------------------------------------------------


def _check_weekday(weekday: int) -> None:
    if weekday not in Weekday.values:
        raise ValidationError({"weekday": [_("A weekday is 0 (Monday) to 6 (Sunday).")]})


def check_weekly_hours(
    *, weekday: int, opens_at: time, closes_at: time, exclude_id: int | None = None
) -> None:
    """Raises ValidationError if the range is not valid beside the weekday's other ranges."""
    _check_weekday(weekday)
    others = WeeklyHours.objects.filter(weekday=weekday).exclude(pk=exclude_id)
    sched.check_day_ranges(ranges=[*others.values_list("opens_at", "closes_at"), (opens_at, closes_at)])


@transaction.atomic
def weekly_hours_add(*, weekday: int, opens_at: time, closes_at: time) -> WeeklyHours:
    """Add a range to a weekday; refused (ValidationError) when it overlaps another."""
    check_weekly_hours(weekday=weekday, opens_at=opens_at, closes_at=closes_at)
    hours = WeeklyHours.objects.create(weekday=weekday, opens_at=opens_at, closes_at=closes_at)
    setup_changed()
    _materialise_after_commit()
    return hours


@transaction.atomic
def weekly_hours_update(*, hours: WeeklyHours, weekday: int, opens_at: time, closes_at: time) -> WeeklyHours:
    """Change a range; refused (ValidationError) when it would overlap another."""
    check_weekly_hours(weekday=weekday, opens_at=opens_at, closes_at=closes_at, exclude_id=hours.pk)
    hours.weekday, hours.opens_at, hours.closes_at = weekday, opens_at, closes_at
    hours.save(update_fields=["weekday", "opens_at", "closes_at"])
    setup_changed()
    _materialise_after_commit()
    return hours


@transaction.atomic
def weekly_hours_delete(*, hours: WeeklyHours) -> None:
    hours.delete()
    setup_changed()


def check_hours_exception(*, is_closed: bool, ranges: list[TimeRange]) -> None:
    """A closed day has no ranges; a day with special hours has at least one, none
    overlapping."""
    if is_closed and ranges:
        raise ValidationError(_("A day closed all day has no hours: untick 'closed all day' or remove them."))
    if not is_closed and not ranges:
        raise ValidationError(_("Give the special hours of the day, or tick 'closed all day'."))
    sched.check_day_ranges(ranges=ranges)


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
        raise ValidationError(
            {"date": [_("%(day)s already has its own hours.") % {"day": f"{day:%Y-%m-%d}"}]}
        )
    if exception is None:
        exception = HoursException.objects.create(date=day, is_closed=is_closed, note=note)
    else:
        exception.date, exception.is_closed, exception.note = day, is_closed, note
        exception.save(update_fields=["date", "is_closed", "note"])
        exception.ranges.all().delete()
    HoursExceptionRange.objects.bulk_create(
        HoursExceptionRange(exception=exception, opens_at=o, closes_at=c) for o, c in ranges
    )
    setup_changed()
    _materialise_after_commit()
    return exception


def hours_exception_delete(*, exception: HoursException) -> None:
    """The date goes back to its weekly hours (whose slots may need rows)."""
    with transaction.atomic():
        exception.delete()
        setup_changed()
        _materialise_after_commit()


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
    Idempotent: a shop that has any weekly hours keeps them. Returns the ranges created.
    The caller (`seed`) makes the slots."""
    if WeeklyHours.objects.exists():
        return 0
    WeeklyHours.objects.bulk_create(
        WeeklyHours(weekday=weekday, opens_at=opens_at, closes_at=closes_at)
        for weekday, opens_at, closes_at in DEMO_WEEKLY_HOURS
    )
    setup_changed()
    return len(DEMO_WEEKLY_HOURS)
