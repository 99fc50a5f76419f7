"""The kitchen's pace: a ready time for every order, and busy mode (pause and delay).

Ready time. An order with a booked slot is ready at its slot's start. An order "as soon as
possible" takes a place in the first slot of the open stretch the shop is in that starts
at least the preparation time after checkout (`KITCHEN_PREP_MINUTES`, plus the delay staff set) and has
room, with the same conditional UPDATE as a booked slot (services.place_take), so no slot
is ever over its capacity, ASAP included: a checkout that loses a race for a slot goes on
to the next one. No slot with room before the stretch closes: KitchenFull, naming the next
slots with room after it (book one of them). A shop without opening hours has no slots: the
order is ready the preparation time after checkout.

Busy mode is one row (KitchenState, pk 1). A pause refuses every checkout (ShopPaused with
`resumes_at`) until it ends by itself at `paused_until` or staff resume; a delay adds
minutes to the preparation time until it ends by itself at `delay_until` or is cleared.
Checkout reads the row under a shared row lock (PostgreSQL `FOR SHARE`), and a pause takes
it exclusively and reads the clock only then: the pause waits for the checkouts already
holding the row, and every checkout after it finds the shop paused. So the orders let
through are exactly those placed before the pause began.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.version import catalog_changed
from config.errors import Invalid
from config.text import check_single_line
from orders.exceptions import KitchenFull, ShopPaused
from orders.pickup import schedule as sched
from orders.pickup.models import KitchenState, PickupSlot
from orders.pickup.selectors import hours_configured, schedule_read, slot_room, slots_next_free
from orders.pickup.services import pickup_slot_take, place_first_take, place_take
from orders.setup import setup_version_known, state_row_new

STATE_ID = 1
# Who may pause, resume and delay (API, admin, the kitchen board): the Kitchen and Manager roles.
BUSY_PERMISSION = "orders.change_kitchenstate"


@dataclass(frozen=True)
class Busy:
    """Busy mode as it stands at one moment (what has ended reads as off)."""

    paused_until: datetime | None
    pause_reason: str
    delay_minutes: int
    delay_until: datetime | None

    @property
    def prep_minutes(self) -> int:
        return settings.KITCHEN_PREP_MINUTES + self.delay_minutes


def busy_of(state: KitchenState | None, *, now: datetime) -> Busy:
    paused = state is not None and state.paused_until is not None and state.paused_until > now
    delayed = (
        state is not None
        and state.delay_minutes > 0
        and (state.delay_until is None or state.delay_until > now)
    )
    return Busy(
        paused_until=state.paused_until if paused else None,
        pause_reason=state.pause_reason if paused else "",
        delay_minutes=state.delay_minutes if delayed else 0,
        delay_until=state.delay_until if delayed else None,
    )


def busy_read(*, now: datetime) -> Busy:
    """Busy mode now, for reads (the shop's status, the menu, the board): no lock."""
    return busy_of(KitchenState.objects.filter(pk=STATE_ID).first(), now=now)


def state_row_ensure() -> None:
    """The row exists from the migration on; a flushed database (tests) gets it back."""
    if not KitchenState.objects.filter(pk=STATE_ID).exists():
        KitchenState.objects.bulk_create([state_row_new()], ignore_conflicts=True)


def _state_shared() -> KitchenState:
    """The row under a shared lock until the caller's transaction ends (PostgreSQL; SQLite
    runs one writer at a time anyway). Django has no FOR SHARE: a raw query. One query
    while the row exists (always, after the migration, outside flushed test databases)."""
    if connection.vendor != "postgresql":
        state_row_ensure()
        return KitchenState.objects.get(pk=STATE_ID)
    table = connection.ops.quote_name(KitchenState._meta.db_table)
    # bandit B608 (SQL built from strings): the table name is the model's, quoted; the id goes
    # as a parameter.
    query = f"SELECT * FROM {table} WHERE id = %s FOR SHARE"  # nosec B608
    for _attempt in range(2):
        found = list(KitchenState.objects.raw(query, [STATE_ID]))
        if found:
            return found[0]
        state_row_ensure()
    raise AssertionError("unreachable: the row was just made")


def _state_locked() -> KitchenState:
    state_row_ensure()
    return KitchenState.objects.select_for_update().get(pk=STATE_ID)


# --- checkout ---------------------------------------------------------------------------


def check_taking_orders(*, now: datetime) -> Busy:
    """Checkout's first step, inside its transaction: ShopPaused while a pause runs, else
    busy mode as it stands (the preparation time). The shared lock is held to the commit."""
    state = _state_shared()
    setup_version_known(state.setup_version)  # the setup this checkout reads from now on
    busy = busy_of(state, now=now)
    if busy.paused_until is not None:
        until = f"{sched.local(busy.paused_until):%H:%M}"
        raise ShopPaused(
            _("The kitchen has paused new orders (%(reason)s) until %(time)s.")
            % {"reason": busy.pause_reason, "time": until}
            if busy.pause_reason
            else _("The kitchen has paused new orders until %(time)s.") % {"time": until},
            resumes_at=sched.iso(busy.paused_until),
            reason=busy.pause_reason,
        )
    return busy


# Slots with room read at a time by `asap_slot_take`.
ASAP_CANDIDATES = 8


def asap_slot_take(*, now: datetime, units: int, prep_minutes: int) -> PickupSlot | None:
    """Book the first slot of the open stretch the shop is in now (a night past midnight,
    a whole week of 24-hour days, up to a lunch break) that starts at least `prep_minutes`
    from `now` and has room for `units`, inside the caller's transaction. None when the shop
    has no opening hours (no slots). Raises KitchenFull, naming the next slots with room
    after the stretch, when none in it has room: "as soon as possible" is never pushed past
    a closing without the shopper choosing the later time."""
    first, last = sched.pickup_window(now=now)
    schedule = schedule_read(first=first, last=last)
    if not hours_configured(schedule):
        return None
    intervals = schedule.intervals(first, last)
    stretch_end = next((end for start, end in intervals if start <= now < end), now)
    after = now + timedelta(minutes=prep_minutes) - timedelta(microseconds=1)
    # The stretch is one merged open interval holding `now`: a slot after `now` lies in it
    # when it ends by the stretch's end. Nearly always the first with room takes the order.
    slot = place_first_take(after=after, before=stretch_end, units=units)
    if slot is not None:
        return slot
    while True:
        # A few at a time (`start` is unique): the stretch of a shop open all week holds
        # hundreds of slots, and the first with room nearly always takes the order.
        candidates = list(
            PickupSlot.objects.filter(slot_room(units), start__gt=after, start__lt=stretch_end).order_by(
                "start"
            )[:ASAP_CANDIDATES]
        )
        for slot in candidates:
            # A slot taken meanwhile by a racing checkout answers False: go on to the next.
            if sched.contains(intervals, slot.start, slot.end) and place_take(slot_id=slot.pk, units=units):
                # As booked, not read again.
                slot.taken, slot.taken_items = slot.taken + 1, slot.taken_items + units
                return slot
        if len(candidates) < ASAP_CANDIDATES:
            break
        after = candidates[-1].start
    raise KitchenFull(
        _(
            "The kitchen has no room left before closing for an order as soon as possible; book a later pickup slot."
        ),
        next_slots=slots_next_free(after=stretch_end - timedelta(microseconds=1), now=now, units=units),
    )


def ready_place_take(
    *, now: datetime, slot_id: int | None, units: int, busy: Busy
) -> tuple[PickupSlot | None, datetime]:
    """The order's place in the kitchen and its ready time: the booked slot (its rules in
    services.pickup_slot_take), or as soon as possible (asap_slot_take)."""
    if slot_id is not None:
        slot = pickup_slot_take(slot_id=slot_id, now=now, units=units)
        return slot, slot.start
    slot = asap_slot_take(now=now, units=units, prep_minutes=busy.prep_minutes)
    if slot is None:
        return None, now + timedelta(minutes=busy.prep_minutes)
    return slot, slot.start


# --- staff: busy mode -------------------------------------------------------------------

PAUSE_MAX_MINUTES = 24 * 60
DELAY_MAX_MINUTES = 4 * 60
REASON_MAX_LENGTH = 200


def _check_minutes(minutes: int, *, least: int, most: int) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not least <= minutes <= most:
        raise Invalid(
            _("Give whole minutes from %(least)d to %(most)d.") % {"least": least, "most": most},
            field="minutes",
        )


@transaction.atomic
def kitchen_pause(*, minutes: int, reason: str = "") -> Busy:
    """Refuse new orders for `minutes` (1 to a day) from now; a new pause replaces a running
    one. The clock is read once the row is locked, that is once the checkouts under way are
    done. `reason` is one line of plain text that shoppers see."""
    _check_minutes(minutes, least=1, most=PAUSE_MAX_MINUTES)
    reason = check_single_line(reason, field="reason", max_length=REASON_MAX_LENGTH)
    state = _state_locked()
    now = timezone.now()
    state.paused_at, state.paused_until, state.pause_reason = now, now + timedelta(minutes=minutes), reason
    state.save(update_fields=["paused_at", "paused_until", "pause_reason", "updated_at"])
    catalog_changed()  # the menu shows `paused_until`
    return busy_of(state, now=now)


@transaction.atomic
def kitchen_resume() -> Busy:
    """End a pause now (nothing to end is not an error)."""
    state = _state_locked()
    now = timezone.now()
    if state.paused_until is not None and state.paused_until > now:
        state.paused_until = now
        state.save(update_fields=["paused_until", "updated_at"])
        catalog_changed()
    return busy_of(state, now=now)


@transaction.atomic
def kitchen_delay(*, minutes: int, until: datetime | None = None) -> Busy:
    """Add `minutes` to the preparation time of orders as soon as possible, until `until`
    (or until cleared); 0 clears the delay."""
    _check_minutes(minutes, least=0, most=DELAY_MAX_MINUTES)
    state = _state_locked()
    now = timezone.now()
    if minutes and until is not None and until <= now:
        raise Invalid(_("The delay must end in the future."), field="until")
    state.delay_minutes = minutes
    state.delay_until = until if minutes else None
    state.save(update_fields=["delay_minutes", "delay_until", "updated_at"])
    return busy_of(state, now=now)
