"""Opening hours and pickup slots: the rules of orders/pickup/, the shop API, the admin.

Every rule takes `now` explicitly, so these tests use fixed instants (in Jakarta time and
in UTC) and never sleep; the API tests pin `django.utils.timezone.now` to one instant."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connections, transaction
from django.db.models import ProtectedError

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from conftest import run_at_once
from orders.exceptions import ShopClosed, SlotFull, SlotUnavailable
from orders.models import HoursException, HoursExceptionRange, Order, PickupSlot, Weekday, WeeklyHours
from orders.pickup import schedule, selectors, services
from orders.pickup.schedule import OpenRange
from orders.tasks import make_pickup_slots
from orders.tests.factories import PickupSlotFactory, place_order

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 11, 23)
SUNDAY = MONDAY - timedelta(days=1)
FRIDAY = MONDAY + timedelta(days=4)
SATURDAY = MONDAY + timedelta(days=5)
SHOP = "/api/v1/shop/"
SLOTS = "/api/v1/shop/slots/"
ORDERS = "/api/v1/orders/"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """Wall-clock time in the shop (Asia/Jakarta, UTC+7)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


def iso(day: date, hour: int, minute: int = 0) -> str:
    return local(day, hour, minute).isoformat()


def starts(slots) -> list[str]:
    return [f"{slot.start.astimezone(JAKARTA):%a %H:%M}" for slot in slots]


def taken(slot: PickupSlot) -> int:
    return PickupSlot.objects.get(pk=slot.pk).taken


@pytest.fixture(autouse=True)
def _pickup_settings(settings):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.PICKUP_SLOT_MINUTES = 15
    settings.PICKUP_DAYS_AHEAD = 3
    settings.PICKUP_SLOT_CAPACITY = 5
    settings.PICKUP_MIN_LEAD_MINUTES = 15
    settings.SHOP_NAME = "Foodies"


@pytest.fixture
def demo_hours(db) -> None:
    """Every day 08:00-21:00; Friday 08:00-11:30 and 13:00-21:00."""
    assert services.hours_seed_demo() == 8


@pytest.fixture
def frozen(monkeypatch):
    """Pin the clock the views read; returns a setter."""

    def freeze(at: datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: at)

    return freeze


def listed(*, day: date, now: datetime) -> list[selectors.SlotView]:
    """The slots of `day` as a shopper lists them at `now`, once the hourly run has made
    the rows (the listing itself only reads)."""
    services.pickup_slots_materialise(now=now)
    return selectors.slots_for_date(day=day, now=now)


def monday_slot(hour: int, minute: int = 0) -> PickupSlot:
    """A Monday slot as the hourly run made it on Sunday noon."""
    services.pickup_slots_materialise(now=local(SUNDAY, 12))
    return PickupSlot.objects.get(start=local(MONDAY, hour, minute))


def take(slot_id: int, now: datetime) -> PickupSlot:
    with transaction.atomic():
        return services.pickup_slot_take(slot_id=slot_id, now=now)


# --- opening hours ----------------------------------------------------------------------


def test_open_from_the_opening_time_until_just_before_closing(demo_hours):
    times = [(7, 59), (8, 0), (20, 59), (21, 0)]
    assert [selectors.shop_is_open(at=local(MONDAY, h, m)) for h, m in times] == [False, True, True, False]


def test_friday_lunch_break_is_closed(demo_hours):
    times = [(11, 29), (11, 30), (12, 59), (13, 0)]
    assert [selectors.shop_is_open(at=local(FRIDAY, h, m)) for h, m in times] == [True, False, False, True]


def test_a_range_past_midnight_belongs_to_the_day_it_opens(db):
    services.weekly_hours_add(weekday=Weekday.FRIDAY, opens_at=time(18), closes_at=time(2))

    moments = [
        local(FRIDAY, 1),  # Thursday night: Thursday has no range
        local(FRIDAY, 17, 59),
        local(FRIDAY, 18),
        local(FRIDAY, 23, 59),
        local(SATURDAY, 0),
        local(SATURDAY, 1, 59),
        local(SATURDAY, 2),
    ]
    assert [selectors.shop_is_open(at=m) for m in moments] == [False, False, True, True, True, True, False]

    night = OpenRange(opens_at=local(FRIDAY, 18), closes_at=local(SATURDAY, 2))
    assert selectors.shop_status(now=local(FRIDAY, 12)) == schedule.ShopStatus(
        open_now=False, today=[night], next_opening=local(FRIDAY, 18)
    )
    # After midnight the night that is still running is today's too.
    assert selectors.shop_status(now=local(SATURDAY, 1)) == schedule.ShopStatus(
        open_now=True, today=[night], next_opening=None
    )
    assert selectors.shop_status(now=local(SATURDAY, 3)) == schedule.ShopStatus(
        open_now=False, today=[night], next_opening=local(FRIDAY + timedelta(days=7), 18)
    )


def test_midnight_to_midnight_is_the_whole_day(db):
    services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(0), closes_at=time(0))

    moments = [
        local(SUNDAY, 23, 59),
        local(MONDAY, 0),
        local(MONDAY, 23, 59),
        local(MONDAY + timedelta(days=1), 0),
    ]
    assert [selectors.shop_is_open(at=m) for m in moments] == [False, True, True, False]
    assert selectors.shop_status(now=local(MONDAY, 12)).today == [
        OpenRange(opens_at=local(MONDAY, 0), closes_at=local(MONDAY + timedelta(days=1), 0))
    ]


def test_touching_ranges_make_one_stretch(db):
    services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(8), closes_at=time(12))
    services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(12), closes_at=time(20))

    status = selectors.shop_status(now=local(MONDAY, 12))

    assert status.today == [OpenRange(opens_at=local(MONDAY, 8), closes_at=local(MONDAY, 20))]
    assert len(listed(day=MONDAY, now=local(SUNDAY, 12))) == 48


def test_overlapping_ranges_of_one_day_are_refused(demo_hours):
    with pytest.raises(ValidationError) as error:
        services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(20), closes_at=time(9))
    assert error.value.messages == ["20:00-09:00 (next day) overlaps 08:00-21:00."]

    with pytest.raises(ValidationError) as error:
        services.weekly_hours_add(weekday=Weekday.FRIDAY, opens_at=time(11), closes_at=time(14))
    assert error.value.messages == ["11:00-14:00 overlaps 08:00-11:30."]

    assert WeeklyHours.objects.count() == 8
    # Past midnight on Monday, early on Monday: different instants, both allowed.
    services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(22), closes_at=time(2))
    services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(1), closes_at=time(3))
    assert WeeklyHours.objects.filter(weekday=Weekday.MONDAY).count() == 3


def test_weekly_hours_update_checks_the_other_ranges_only(demo_hours):
    lunch = WeeklyHours.objects.get(weekday=Weekday.FRIDAY, opens_at=time(8))

    services.weekly_hours_update(hours=lunch, weekday=Weekday.FRIDAY, opens_at=time(7), closes_at=time(12))
    with pytest.raises(ValidationError):
        services.weekly_hours_update(
            hours=lunch, weekday=Weekday.FRIDAY, opens_at=time(7), closes_at=time(14)
        )
    with pytest.raises(ValidationError):
        services.weekly_hours_add(weekday=7, opens_at=time(7), closes_at=time(14))

    lunch.refresh_from_db()
    assert (lunch.opens_at, lunch.closes_at) == (time(7), time(12))


# --- exceptions ---------------------------------------------------------------------------


def test_a_closed_day_replaces_the_weekly_hours(demo_hours):
    services.hours_exception_save(day=MONDAY, is_closed=True, ranges=[], note="Hari raya")

    assert not selectors.shop_is_open(at=local(MONDAY, 12))
    assert selectors.shop_is_open(at=local(SUNDAY, 12))
    assert selectors.shop_is_open(at=local(MONDAY + timedelta(days=1), 12))
    assert selectors.shop_status(now=local(MONDAY, 12)) == schedule.ShopStatus(
        open_now=False, today=[], next_opening=local(MONDAY + timedelta(days=1), 8)
    )
    assert listed(day=MONDAY, now=local(SUNDAY, 12)) == []


def test_special_hours_replace_the_weekly_ones_for_that_date(demo_hours):
    services.hours_exception_save(
        day=MONDAY, is_closed=False, ranges=[(time(10), time(14)), (time(17), time(23))], note="Event"
    )

    moments = [(9, 0), (10, 0), (13, 59), (14, 0), (22, 59), (23, 0)]
    assert [selectors.shop_is_open(at=local(MONDAY, h, m)) for h, m in moments] == [
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert selectors.shop_status(now=local(MONDAY, 15)) == schedule.ShopStatus(
        open_now=False,
        today=[
            OpenRange(opens_at=local(MONDAY, 10), closes_at=local(MONDAY, 14)),
            OpenRange(opens_at=local(MONDAY, 17), closes_at=local(MONDAY, 23)),
        ],
        next_opening=local(MONDAY, 17),
    )
    slots = listed(day=MONDAY, now=local(SUNDAY, 12))
    assert len(slots) == 16 + 24
    assert starts(slots[14:18]) == ["Mon 13:30", "Mon 13:45", "Mon 17:00", "Mon 17:15"]


def test_a_closed_day_does_not_cut_short_the_night_before(db):
    services.weekly_hours_add(weekday=Weekday.FRIDAY, opens_at=time(18), closes_at=time(2))
    services.hours_exception_save(day=SATURDAY, is_closed=True, ranges=[])

    assert selectors.shop_is_open(at=local(SATURDAY, 1))
    assert not selectors.shop_is_open(at=local(SATURDAY, 2))


def test_special_hours_may_run_past_midnight(demo_hours):
    services.hours_exception_save(day=MONDAY, is_closed=False, ranges=[(time(20), time(1))])

    assert selectors.shop_is_open(at=local(MONDAY + timedelta(days=1), 0, 30))
    assert not selectors.shop_is_open(at=local(MONDAY, 12))
    tuesday = listed(day=MONDAY + timedelta(days=1), now=local(SUNDAY, 12))
    assert starts(tuesday[:5]) == ["Tue 00:00", "Tue 00:15", "Tue 00:30", "Tue 00:45", "Tue 08:00"]


@pytest.mark.parametrize(
    ("is_closed", "ranges", "message"),
    [
        (True, [(time(10), time(12))], "A day closed all day has no hours"),
        (False, [], "Give the special hours of the day"),
        (False, [(time(10), time(12)), (time(11), time(13))], "11:00-13:00 overlaps 10:00-12:00."),
    ],
)
def test_an_exception_must_be_consistent(db, is_closed, ranges, message):
    with pytest.raises(ValidationError, match=message):
        services.hours_exception_save(day=MONDAY, is_closed=is_closed, ranges=ranges)
    assert HoursException.objects.count() == HoursExceptionRange.objects.count() == 0


def test_an_exception_is_changed_as_a_whole_and_a_date_has_one(db):
    exception = services.hours_exception_save(day=MONDAY, is_closed=False, ranges=[(time(10), time(12))])

    services.hours_exception_save(
        day=MONDAY, is_closed=False, ranges=[(time(9), time(11)), (time(15), time(16))], exception=exception
    )
    with pytest.raises(ValidationError) as error:
        services.hours_exception_save(day=MONDAY, is_closed=True, ranges=[])

    assert error.value.message_dict == {"date": ["2026-11-23 already has its own hours."]}
    assert list(HoursExceptionRange.objects.values_list("opens_at", "closes_at")) == [
        (time(9), time(11)),
        (time(15), time(16)),
    ]
    services.hours_exception_delete(exception=exception)
    assert HoursException.objects.count() == HoursExceptionRange.objects.count() == 0


# --- time zone ----------------------------------------------------------------------------


def test_the_day_is_the_shops_day_not_utcs(demo_hours):
    # 17:30 UTC on Sunday is 00:30 on Monday in Jakarta.
    status = selectors.shop_status(now=datetime(2026, 11, 22, 17, 30, tzinfo=UTC))

    assert status == schedule.ShopStatus(
        open_now=False,
        today=[OpenRange(opens_at=local(MONDAY, 8), closes_at=local(MONDAY, 21))],
        next_opening=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
    )
    assert status.next_opening.utcoffset() == timedelta(hours=7)
    assert status.today[0].opens_at.isoformat() == "2026-11-23T08:00:00+07:00"
    utc_moments = [(0, 59), (1, 0), (13, 59), (14, 0)]  # 07:59, 08:00, 20:59, 21:00 in Jakarta
    assert [selectors.shop_is_open(at=datetime(2026, 11, 23, h, m, tzinfo=UTC)) for h, m in utc_moments] == [
        False,
        True,
        True,
        False,
    ]


def test_slots_and_the_window_follow_the_shops_date(demo_hours):
    # 18:00 UTC on Wednesday is 01:00 on Thursday in Jakarta: the window is Thu..Sun.
    now = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)

    assert schedule.pickup_window(now=now) == (MONDAY + timedelta(days=3), MONDAY + timedelta(days=6))
    with pytest.raises(ValidationError):
        listed(day=MONDAY + timedelta(days=2), now=now)
    thursday = listed(day=MONDAY + timedelta(days=3), now=now)
    assert (thursday[0].start.isoformat(), thursday[0].end.isoformat()) == (
        "2026-11-26T08:00:00+07:00",
        "2026-11-26T08:15:00+07:00",
    )
    assert PickupSlot.objects.get(pk=thursday[0].id).start == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def test_slots_are_real_minutes_across_a_daylight_saving_change(db, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"  # clocks go 02:00 -> 03:00 on 2026-03-29
    amsterdam = ZoneInfo("Europe/Amsterdam")
    change_day = date(2026, 3, 29)
    services.weekly_hours_add(weekday=change_day.weekday(), opens_at=time(0), closes_at=time(4))

    slots = listed(day=change_day, now=datetime(2026, 3, 28, 12, tzinfo=amsterdam))

    assert len(slots) == 12  # 00:00-04:00 on that night is three real hours
    assert [f"{s.start:%H:%M}" for s in slots[6:10]] == ["01:30", "01:45", "03:00", "03:15"]
    # Same-zone datetimes subtract as wall-clock times in Python: compare in UTC.
    assert {s.end.astimezone(UTC) - s.start.astimezone(UTC) for s in slots} == {timedelta(minutes=15)}
    assert (slots[7].start.isoformat(), slots[7].end.isoformat()) == (
        "2026-03-29T01:45:00+01:00",
        "2026-03-29T03:00:00+02:00",
    )


# --- next opening and checkout while closed ----------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(MONDAY, 21, 30), local(MONDAY + timedelta(days=1), 8)),
        (local(MONDAY, 6), local(MONDAY, 8)),
        (local(FRIDAY, 12), local(FRIDAY, 13)),
        (local(MONDAY, 12), None),  # open now
    ],
)
def test_next_opening(demo_hours, now, expected):
    assert selectors.shop_status(now=now).next_opening == expected


def test_next_opening_after_a_long_closure(demo_hours):
    for n in range(10):
        services.hours_exception_save(day=MONDAY + timedelta(days=n), is_closed=True, ranges=[])

    assert selectors.shop_status(now=local(MONDAY, 9)).next_opening == local(MONDAY + timedelta(days=10), 8)


def test_a_shop_without_hours_takes_orders_at_any_time_and_offers_no_slots(db):
    status = selectors.shop_status(now=local(MONDAY, 3))

    assert status == schedule.ShopStatus(open_now=True, today=[], next_opening=None)
    services.check_can_order(now=local(MONDAY, 3), slot_id=None)  # does not raise
    assert listed(day=MONDAY, now=local(MONDAY, 3)) == []


def test_closed_every_day_means_no_next_opening(db):
    HoursException.objects.create(date=MONDAY, is_closed=True)
    status = selectors.shop_status(now=local(MONDAY, 9))

    assert status == schedule.ShopStatus(open_now=False, today=[], next_opening=None)
    with pytest.raises(ShopClosed) as error:
        services.check_can_order(now=local(MONDAY, 9), slot_id=None)
    assert error.value.as_dict() == {
        "detail": "The shop is closed and no opening is scheduled.",
        "code": "shop_closed",
        "next_opening": None,
    }


def test_ordering_for_now_needs_the_shop_open(demo_hours):
    with pytest.raises(ShopClosed) as error:
        services.check_can_order(now=local(MONDAY, 7), slot_id=None)

    assert error.value.status == 409
    assert error.value.as_dict() == {
        "detail": "The shop is closed now and opens Monday 23 November 2026, 08:00 (Asia/Jakarta); "
        "choose a pickup slot for later.",
        "code": "shop_closed",
        "next_opening": "2026-11-23T08:00:00+07:00",
    }
    assert services.check_can_order(now=local(MONDAY, 8), slot_id=None) is None
    # With a slot the order is for later: the slot's own rules decide (pickup_slot_take).
    assert services.check_can_order(now=local(MONDAY, 7), slot_id=12345) is None


# --- listing slots ------------------------------------------------------------------------


def test_a_days_slots_fill_its_opening_hours(demo_hours):
    slots = listed(day=MONDAY, now=local(SUNDAY, 12))

    assert len(slots) == 52
    assert slots[0] == selectors.SlotView(
        id=slots[0].id, start=local(MONDAY, 8), end=local(MONDAY, 8, 15), capacity=5, remaining=5
    )
    assert (slots[-1].start, slots[-1].end) == (local(MONDAY, 20, 45), local(MONDAY, 21))
    assert PickupSlot.objects.filter(start__date=MONDAY).count() == 52
    rows = PickupSlot.objects.count()

    again = listed(day=MONDAY, now=local(SUNDAY, 12))

    assert [s.id for s in again] == [s.id for s in slots]
    assert PickupSlot.objects.count() == rows


def test_friday_has_no_slots_over_the_lunch_break(demo_hours):
    slots = listed(day=FRIDAY, now=local(FRIDAY, 6))

    assert len(slots) == 14 + 32
    assert starts(slots[12:16]) == ["Fri 11:00", "Fri 11:15", "Fri 13:00", "Fri 13:15"]


def test_slots_past_midnight_belong_to_the_next_date(db):
    services.weekly_hours_add(weekday=Weekday.FRIDAY, opens_at=time(18), closes_at=time(2))
    now = local(FRIDAY, 12)

    friday = listed(day=FRIDAY, now=now)
    saturday = listed(day=SATURDAY, now=now)

    assert (len(friday), starts(friday[:1]), starts(friday[-1:])) == (24, ["Fri 18:00"], ["Fri 23:45"])
    assert starts(saturday) == [f"Sat {h:02d}:{m:02d}" for h in (0, 1) for m in (0, 15, 30, 45)]


@pytest.mark.parametrize(
    ("now", "first", "count"),
    [
        (local(MONDAY, 10, 7), "Mon 10:30", 42),
        (local(MONDAY, 10, 15), "Mon 10:30", 42),  # exactly the lead time ahead
        (local(MONDAY, 10, 16), "Mon 10:45", 41),
        (local(MONDAY, 6), "Mon 08:00", 52),
    ],
)
def test_today_lists_only_slots_far_enough_ahead(demo_hours, now, first, count):
    slots = listed(day=MONDAY, now=now)
    assert (starts(slots[:1]), len(slots)) == ([first], count)


def test_listing_shows_what_each_slot_has_left(demo_hours):
    eight, quarter_past = monday_slot(8), monday_slot(8, 15)
    take(eight.pk, local(SUNDAY, 12))
    take(eight.pk, local(SUNDAY, 12))
    services.pickup_slot_set_capacity(slot_id=quarter_past.pk, capacity=1)

    slots = listed(day=MONDAY, now=local(SUNDAY, 12))

    assert [(s.capacity, s.remaining) for s in slots[:3]] == [(5, 3), (1, 1), (5, 5)]


def test_slot_length_and_default_capacity_come_from_settings(demo_hours, settings):
    settings.PICKUP_SLOT_MINUTES = 30
    settings.PICKUP_SLOT_CAPACITY = 2

    slots = listed(day=MONDAY, now=local(SUNDAY, 12))

    assert len(slots) == 26
    assert {(s.end - s.start, s.capacity) for s in slots} == {(timedelta(minutes=30), 2)}


@pytest.mark.parametrize("day", [SUNDAY - timedelta(days=1), MONDAY + timedelta(days=3)])
def test_only_dates_in_the_booking_window_are_listed(demo_hours, day):
    services.pickup_slots_materialise(now=local(SUNDAY, 12))
    rows = PickupSlot.objects.count()

    with pytest.raises(ValidationError) as error:
        selectors.slots_for_date(day=day, now=local(SUNDAY, 12))

    assert error.value.message_dict == {"date": ["Pickup slots can be chosen from 2026-11-22 to 2026-11-25."]}
    assert PickupSlot.objects.count() == rows
    assert len(listed(day=MONDAY + timedelta(days=2), now=local(SUNDAY, 12))) == 52


def test_after_the_hours_change_only_slots_inside_them_are_offered(demo_hours):
    before = {s.start: s.id for s in listed(day=MONDAY, now=local(SUNDAY, 12))}
    services.hours_exception_save(day=MONDAY, is_closed=False, ranges=[(time(12), time(14))])

    after = listed(day=MONDAY, now=local(SUNDAY, 12))

    assert starts(after) == [f"Mon {h}:{m:02d}" for h in (12, 13) for m in (0, 15, 30, 45)]
    assert all(before[s.start] == s.id for s in after)  # the same rows
    with pytest.raises(SlotUnavailable) as error:
        take(before[local(MONDAY, 8)], local(SUNDAY, 12))
    assert error.value.extra == {"reason": "closed"}
    assert PickupSlot.objects.filter(taken__gt=0).count() == 0


def test_the_whole_window_and_the_day_after_are_made_at_once(demo_hours):
    # Monday to Thursday (the window), 52 slots each, and Friday (the day after: its slots
    # exist before it becomes bookable at midnight), 14 + 32 around the lunch break.
    assert services.pickup_slots_materialise(now=local(MONDAY, 7)) == 4 * 52 + 46
    assert services.pickup_slots_materialise(now=local(MONDAY, 7)) == 0
    assert PickupSlot.objects.count() == 254
    assert PickupSlot.objects.filter(start__date=FRIDAY).count() == 46
    # Made ahead, not yet offered: Friday is outside Monday's booking window.
    with pytest.raises(ValidationError):
        selectors.slots_for_date(day=FRIDAY, now=local(MONDAY, 7))
    with pytest.raises(SlotUnavailable) as error:
        take(PickupSlot.objects.get(start=local(FRIDAY, 8)).pk, local(MONDAY, 7))
    assert error.value.extra == {"reason": "too_far"}
    assert PickupSlot.objects.filter(taken__gt=0).count() == 0


def test_changed_hours_make_their_slots_once_committed(db, frozen, django_capture_on_commit_callbacks):
    frozen(local(SUNDAY, 12))  # what the task reads as now

    with django_capture_on_commit_callbacks(execute=True) as made:
        services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(8), closes_at=time(9))
    with django_capture_on_commit_callbacks(execute=True):
        services.hours_exception_save(
            day=MONDAY + timedelta(days=1), is_closed=False, ranges=[(time(10), time(10, 30))]
        )

    assert len(made) == 1
    assert starts(PickupSlot.objects.all()) == [
        "Mon 08:00",
        "Mon 08:15",
        "Mon 08:30",
        "Mon 08:45",
        "Tue 10:00",
        "Tue 10:15",
    ]

    with django_capture_on_commit_callbacks(execute=True) as refused, pytest.raises(ValidationError):
        services.weekly_hours_add(weekday=Weekday.MONDAY, opens_at=time(8, 30), closes_at=time(12))
    assert refused == []
    assert PickupSlot.objects.count() == 6


# --- taking and releasing ----------------------------------------------------------------


def test_each_booking_takes_one_place_until_the_slot_is_full(demo_hours):
    slot = monday_slot(12)
    now = local(SUNDAY, 12)

    counts = [take(slot.pk, now).taken for _ in range(5)]
    with pytest.raises(SlotFull):
        take(slot.pk, now)

    assert counts == [1, 2, 3, 4, 5]
    assert (taken(slot), PickupSlot.objects.get(pk=slot.pk).capacity) == (5, 5)


def test_a_full_slot_names_the_next_free_ones(demo_hours):
    now = local(SUNDAY, 12)
    eight, quarter_past = monday_slot(8), monday_slot(8, 15)
    services.pickup_slot_set_capacity(slot_id=eight.pk, capacity=0)
    services.pickup_slot_set_capacity(slot_id=quarter_past.pk, capacity=1)
    take(quarter_past.pk, now)

    with pytest.raises(SlotFull) as error:
        take(eight.pk, now)

    assert error.value.status == 409
    assert error.value.as_dict() == {
        "detail": "The pickup slot at 08:00 is fully booked.",
        "code": "slot_full",
        "next_slots": [
            {"id": monday_slot(8, 30).pk, "start": iso(MONDAY, 8, 30), "end": iso(MONDAY, 8, 45)},
            {"id": monday_slot(8, 45).pk, "start": iso(MONDAY, 8, 45), "end": iso(MONDAY, 9)},
            {"id": monday_slot(9).pk, "start": iso(MONDAY, 9), "end": iso(MONDAY, 9, 15)},
        ],
    }
    assert (taken(eight), taken(quarter_past)) == (0, 1)


def test_the_next_free_slots_skip_slots_outside_the_hours(demo_hours):
    now = local(SUNDAY, 12)
    eight = monday_slot(8)
    services.pickup_slot_set_capacity(slot_id=eight.pk, capacity=0)
    services.hours_exception_save(
        day=MONDAY, is_closed=False, ranges=[(time(8), time(8, 30)), (time(9), time(21))]
    )

    with pytest.raises(SlotFull) as error:
        take(eight.pk, now)

    assert [s["start"] for s in error.value.extra["next_slots"]] == [
        iso(MONDAY, 8, 15),
        iso(MONDAY, 9),
        iso(MONDAY, 9, 15),
    ]


def test_release_gives_one_place_back_and_never_goes_below_zero(demo_hours):
    slot = monday_slot(12)
    take(slot.pk, local(SUNDAY, 12))
    take(slot.pk, local(SUNDAY, 12))

    assert services.pickup_slot_release(slot_id=slot.pk) is True
    assert taken(slot) == 1
    assert services.pickup_slot_release(slot_id=slot.pk) is True
    assert services.pickup_slot_release(slot_id=slot.pk) is False
    assert taken(slot) == 0


def test_retake_after_a_late_payment_needs_only_room(demo_hours):
    slot = monday_slot(12)
    services.pickup_slot_set_capacity(slot_id=slot.pk, capacity=1)

    assert services.pickup_slot_retake(slot_id=slot.pk) is True  # whatever the time
    assert services.pickup_slot_retake(slot_id=slot.pk) is False
    assert taken(slot) == 1


@pytest.mark.parametrize(
    ("slot_start", "now", "reason"),
    [
        (local(MONDAY, 12), local(MONDAY, 12, 1), "past"),
        (local(MONDAY, 12), local(MONDAY, 11, 46), "too_soon"),
        (local(MONDAY, 6), local(SUNDAY, 12), "closed"),  # before opening
        (local(MONDAY, 20, 55), local(SUNDAY, 12), "closed"),  # ends after closing
        (local(MONDAY + timedelta(days=4), 12), local(SUNDAY, 12), "too_far"),
    ],
)
def test_a_slot_that_cannot_be_booked_is_refused(demo_hours, slot_start, now, reason):
    slot = PickupSlotFactory(start=slot_start)

    with pytest.raises(SlotUnavailable) as error:
        take(slot.pk, now)

    assert error.value.status == 400
    assert (error.value.code, error.value.extra) == ("slot_unavailable", {"reason": reason})
    assert taken(slot) == 0


def test_a_slot_exactly_the_lead_time_ahead_can_be_booked(demo_hours):
    slot = PickupSlotFactory(start=local(MONDAY, 12))
    assert take(slot.pk, local(MONDAY, 11, 45)).taken == 1


def test_an_unknown_slot_is_refused(db):
    with pytest.raises(SlotUnavailable) as error:
        take(987654, local(MONDAY, 9))
    assert error.value.as_dict() == {
        "detail": "There is no such pickup slot.",
        "code": "slot_unavailable",
        "reason": "unknown",
    }


@pytest.mark.django_db(transaction=True)
def test_taking_a_slot_outside_a_transaction_is_a_programming_error(demo_hours):
    slot = PickupSlotFactory(start=local(MONDAY, 12))
    with pytest.raises(RuntimeError):
        services.pickup_slot_take(slot_id=slot.pk, now=local(SUNDAY, 12))
    assert taken(slot) == 0


def test_capacity_cannot_go_below_the_places_taken(demo_hours):
    slot = monday_slot(12)
    take(slot.pk, local(SUNDAY, 12))
    take(slot.pk, local(SUNDAY, 12))

    with pytest.raises(ValidationError) as error:
        services.pickup_slot_set_capacity(slot_id=slot.pk, capacity=1)

    assert error.value.messages == ["2 order(s) already booked this slot: the capacity cannot go below 2."]
    assert PickupSlot.objects.get(pk=slot.pk).capacity == 5
    assert services.pickup_slot_set_capacity(slot_id=slot.pk, capacity=2).capacity == 2


def test_an_order_keeps_its_slot(demo_hours, user):
    slot = monday_slot(12)
    order = place_order(user=user, items=[(ProductFactory(), 1)], now=local(SUNDAY, 11))
    Order.objects.filter(pk=order.pk).update(pickup_slot=slot)

    with pytest.raises(ProtectedError):
        PickupSlot.objects.filter(pk=slot.pk).delete()


# --- the API ------------------------------------------------------------------------------


def test_shop_says_whether_it_is_open_with_todays_hours(api_client, demo_hours, frozen):
    frozen(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # Monday 07:00 in Jakarta

    response = api_client.get(SHOP)

    assert response.status_code == 200
    assert response.json() == {
        "name": "Foodies",
        "time_zone": "Asia/Jakarta",
        "open_now": False,
        "today": [{"opens_at": iso(MONDAY, 8), "closes_at": iso(MONDAY, 21)}],
        "next_opening": iso(MONDAY, 8),
        # A fresh database charges nothing (orders/shop_settings.py).
        "charges": {
            "service_charge_bp": 0,
            "tax_name": "PB1",
            "tax_rate_bp": 0,
            "tax_base": "subtotal_and_service",
            "prices_include_tax": False,
            "packaging_fee": 0,
            "rounding_unit": 1,
            "tax_registration_number": "",
        },
        "paused_until": None,  # busy mode (orders/tests/test_busy_mode.py)
        "pause_reason": "",
        "prep_minutes": 15,
    }


def test_shop_on_friday_lunch_break_and_when_open(api_client, demo_hours, frozen):
    frozen(local(FRIDAY, 12))
    body = api_client.get(SHOP).json()
    assert (body["open_now"], body["today"], body["next_opening"]) == (
        False,
        [
            {"opens_at": iso(FRIDAY, 8), "closes_at": iso(FRIDAY, 11, 30)},
            {"opens_at": iso(FRIDAY, 13), "closes_at": iso(FRIDAY, 21)},
        ],
        iso(FRIDAY, 13),
    )

    frozen(local(FRIDAY, 14))
    body = api_client.get(SHOP).json()
    assert (body["open_now"], body["next_opening"]) == (True, None)


def test_shop_is_public_and_ignores_credentials(api_client, demo_hours, django_assert_max_num_queries):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    # Are hours set at all, weekly hours, exceptions, busy mode, the shop's charges.
    with django_assert_max_num_queries(5):
        response = api_client.get(SHOP)
    assert response.status_code == 200


def test_slots_of_a_date(api_client, demo_hours, frozen, django_assert_num_queries):
    frozen(local(SUNDAY, 12))
    assert make_pickup_slots() == 35 + 4 * 52  # Sunday from 12:15 to Thursday (the day after)
    rows = list(PickupSlot.objects.values_list("pk", "capacity", "taken"))

    with django_assert_num_queries(3):  # weekly hours, exceptions, the day's slot rows
        response = api_client.get(SLOTS, {"date": "2026-11-23"})

    assert response.status_code == 200
    body = response.json()
    first = PickupSlot.objects.get(start=local(MONDAY, 8))
    assert len(body) == 52
    assert body[0] == {
        "id": first.pk,
        "start": "2026-11-23T08:00:00+07:00",
        "end": "2026-11-23T08:15:00+07:00",
        "capacity": 5,
        "remaining": 5,
        "capacity_items": None,
        "remaining_items": None,
    }
    assert list(PickupSlot.objects.values_list("pk", "capacity", "taken")) == rows


def test_listing_slots_writes_no_rows(api_client, demo_hours, frozen, django_assert_num_queries):
    """A GET never inserts: before the rows are made (hourly by beat, after an hours change,
    by `seed` or `make_pickup_slots`) the day lists no slot, and listing does not make them."""
    frozen(local(SUNDAY, 12))

    with django_assert_num_queries(3):  # reads only: no INSERT among them
        response = api_client.get(SLOTS, {"date": "2026-11-23"})

    assert (response.status_code, response.json()) == (200, [])
    assert PickupSlot.objects.count() == 0
    assert api_client.get(SLOTS).json() == []  # today, likewise
    assert PickupSlot.objects.count() == 0


@pytest.mark.parametrize("query", [{}, {"date": ""}])
def test_slots_default_to_today(api_client, demo_hours, frozen, query):
    frozen(local(SUNDAY, 12))
    make_pickup_slots()

    body = api_client.get(SLOTS, query).json()

    assert (len(body), body[0]["start"], body[-1]["end"]) == (35, iso(SUNDAY, 12, 15), iso(SUNDAY, 21))


@pytest.mark.parametrize(("word", "day"), [("today", SUNDAY), ("tomorrow", MONDAY)])
def test_slots_of_today_and_tomorrow_as_the_shop_counts_them(api_client, demo_hours, frozen, word, day):
    """`today` is the shop's day, not the server's or the client's: at 23:30 UTC on Sunday
    it is already Monday in Jakarta (issue 18)."""
    frozen(local(SUNDAY, 12))
    make_pickup_slots()
    body = api_client.get(SLOTS, {"date": word}).json()
    assert body == api_client.get(SLOTS, {"date": day.isoformat()}).json()
    assert body[-1]["end"] == iso(day, 21)


def test_today_follows_the_shop_zone_past_utc_midnight(api_client, demo_hours, frozen):
    frozen(datetime(2026, 11, 22, 23, 30, tzinfo=UTC))  # Monday 06:30 in Jakarta
    make_pickup_slots()
    body = api_client.get(SLOTS, {"date": "today"}).json()
    assert (body[0]["start"], body[-1]["end"]) == (iso(MONDAY, 8), iso(MONDAY, 21))


def test_slots_show_remaining_places(api_client, demo_hours, frozen):
    frozen(local(SUNDAY, 12))
    slot = monday_slot(12)
    for _ in range(5):
        take(slot.pk, local(SUNDAY, 12))

    body = api_client.get(SLOTS, {"date": "2026-11-23"}).json()

    assert next(s for s in body if s["id"] == slot.pk) == {
        "id": slot.pk,
        "start": iso(MONDAY, 12),
        "end": iso(MONDAY, 12, 15),
        "capacity": 5,
        "remaining": 0,
        "capacity_items": None,
        "remaining_items": None,
    }


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2026-13-45", "Use a date as YYYY-MM-DD, or today or tomorrow."),
        ("yesterday", "Use a date as YYYY-MM-DD, or today or tomorrow."),
        ("Today", "Use a date as YYYY-MM-DD, or today or tomorrow."),
        ("2026-11-21", "Pickup slots can be chosen from 2026-11-22 to 2026-11-25."),
        ("2026-11-26", "Pickup slots can be chosen from 2026-11-22 to 2026-11-25."),
    ],
)
def test_slots_refuse_a_bad_date(api_client, demo_hours, frozen, value, error):
    frozen(local(SUNDAY, 12))

    response = api_client.get(SLOTS, {"date": value})

    assert response.status_code == 400
    assert response.json() == {"date": [error]}
    assert PickupSlot.objects.count() == 0


def test_an_order_shows_its_pickup_slot(auth_client, user, demo_hours, frozen):
    frozen(local(SUNDAY, 12))  # an order for now needs the shop open: not at 21:30 in Jakarta
    slot = monday_slot(12, 30)
    product = ProductFactory(stock=10)
    later = place_order(user=user, items=[(product, 1)])
    asap = place_order(user=user, items=[(product, 1)])
    Order.objects.filter(pk=later.pk).update(pickup_slot=slot)

    later_body = auth_client.get(f"{ORDERS}{later.number}/").json()
    asap_body = auth_client.get(f"{ORDERS}{asap.number}/").json()

    assert later_body["pickup_slot"] == {
        "id": slot.pk,
        "start": iso(MONDAY, 12, 30),
        "end": iso(MONDAY, 12, 45),
    }
    # As soon as possible: the first slot with room 15 minutes (KITCHEN_PREP_MINUTES) on.
    assert asap_body["pickup_slot"]["start"] == iso(SUNDAY, 12, 15)
    assert asap_body["ready_at"] == iso(SUNDAY, 12, 15)


def test_order_list_with_slots_keeps_its_query_budget(
    settings, auth_client, user, demo_hours, frozen, django_assert_max_num_queries
):
    frozen(local(SUNDAY, 12))  # an order for now needs the shop open: not at 21:30 in Jakarta
    settings.MAX_UNPAID_ORDERS = 12  # one shopper's twelve orders on one page
    product = ProductFactory(stock=100)
    slots = listed(day=MONDAY, now=local(SUNDAY, 12))
    for slot in slots[:12]:
        order = place_order(user=user, items=[(product, 1)])
        Order.objects.filter(pk=order.pk).update(pickup_slot_id=slot.id)

    with django_assert_max_num_queries(6):  # as without slots (test_lifecycle's budget)
        page = auth_client.get(f"{ORDERS}?page_size=20").json()

    assert sorted(o["pickup_slot"]["start"] for o in page["results"]) == [
        slot.start.isoformat() for slot in slots[:12]
    ]


# --- the admin ----------------------------------------------------------------------------

HOURS = "/admin/orders/weeklyhours/"
EXCEPTIONS = "/admin/orders/hoursexception/"
SLOT_ADMIN = "/admin/orders/pickupslot/"


def form_errors(response) -> list[str]:
    errors = list(response.context["adminform"].form.non_field_errors())
    for formset in response.context.get("inline_admin_formsets", []):
        errors += list(formset.formset.non_form_errors())
    return errors


def test_admin_adds_edits_and_deletes_weekly_hours(admin_client_staff):
    response = admin_client_staff.post(
        f"{HOURS}add/", {"weekday": 0, "opens_at": "08:00", "closes_at": "21:00"}
    )
    assert response.status_code == 302
    hours = WeeklyHours.objects.get()

    refused = admin_client_staff.post(
        f"{HOURS}add/", {"weekday": 0, "opens_at": "20:00", "closes_at": "23:00"}
    )
    assert refused.status_code == 200
    assert form_errors(refused) == ["20:00-23:00 overlaps 08:00-21:00."]
    assert WeeklyHours.objects.count() == 1

    changed = admin_client_staff.post(
        f"{HOURS}{hours.pk}/change/", {"weekday": 0, "opens_at": "18:00", "closes_at": "02:00"}
    )
    assert changed.status_code == 302
    assert selectors.shop_is_open(at=local(MONDAY + timedelta(days=1), 1))
    listing = admin_client_staff.get(HOURS).content.decode()
    assert "Monday" in listing
    assert 'alt="True"' in listing  # closes the next day

    deleted = admin_client_staff.post(f"{HOURS}{hours.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert WeeklyHours.objects.count() == 0


def exception_data(*, day: str, closed: bool, ranges: list[tuple[str, str]], note: str = "", existing=()):
    data = {
        "date": day,
        "note": note,
        "ranges-TOTAL_FORMS": str(max(len(ranges), 1) + len(existing)),
        "ranges-INITIAL_FORMS": str(len(existing)),
        "ranges-MIN_NUM_FORMS": "0",
        "ranges-MAX_NUM_FORMS": "1000",
    }
    if closed:
        data["is_closed"] = "on"
    for i, row in enumerate(existing):
        data.update(
            {
                f"ranges-{i}-id": str(row.pk),
                f"ranges-{i}-exception": str(row.exception_id),
                f"ranges-{i}-opens_at": f"{row.opens_at:%H:%M}",
                f"ranges-{i}-closes_at": f"{row.closes_at:%H:%M}",
                f"ranges-{i}-DELETE": "on",
            }
        )
    for i, (opens_at, closes_at) in enumerate(ranges, start=len(existing)):
        data.update({f"ranges-{i}-opens_at": opens_at, f"ranges-{i}-closes_at": closes_at})
    return data


def test_admin_sets_special_hours_for_a_date_then_closes_it(admin_client_staff, demo_hours):
    response = admin_client_staff.post(
        f"{EXCEPTIONS}add/",
        exception_data(day="2026-11-23", closed=False, ranges=[("10:00", "14:00")], note="Short day"),
    )
    assert response.status_code == 302
    exception = HoursException.objects.get()
    assert (exception.date, exception.note, exception.is_closed) == (MONDAY, "Short day", False)
    assert selectors.shop_status(now=local(MONDAY, 9)).next_opening == local(MONDAY, 10)

    response = admin_client_staff.post(
        f"{EXCEPTIONS}{exception.pk}/change/",
        exception_data(day="2026-11-23", closed=True, ranges=[], existing=list(exception.ranges.all())),
    )
    assert response.status_code == 302
    assert HoursExceptionRange.objects.count() == 0
    assert selectors.shop_status(now=local(MONDAY, 9)).today == []
    assert "closed" in admin_client_staff.get(EXCEPTIONS).content.decode()


@pytest.mark.parametrize(
    ("closed", "ranges", "message"),
    [
        (True, [("10:00", "14:00")], "A day closed all day has no hours"),
        (False, [], "Give the special hours of the day"),
        (False, [("10:00", "14:00"), ("13:00", "15:00")], "13:00-15:00 overlaps 10:00-14:00."),
    ],
)
def test_admin_refuses_an_inconsistent_exception(admin_client_staff, closed, ranges, message):
    response = admin_client_staff.post(
        f"{EXCEPTIONS}add/", exception_data(day="2026-11-23", closed=closed, ranges=ranges)
    )

    assert response.status_code == 200
    assert any(error.startswith(message) for error in form_errors(response))
    assert HoursException.objects.count() == 0


def test_admin_slot_list_writes_nothing_its_button_makes_the_window(admin_client_staff, demo_hours, frozen):
    frozen(local(MONDAY, 7))

    empty = admin_client_staff.get(SLOT_ADMIN)
    assert empty.status_code == 200
    assert PickupSlot.objects.count() == 0
    assert "Make the booking window's slots" in empty.content.decode()

    made = admin_client_staff.post(f"{SLOT_ADMIN}make/")
    assert (made.status_code, made["Location"]) == (302, SLOT_ADMIN)
    assert PickupSlot.objects.count() == 4 * 52 + 46  # the window and Friday, the day after
    assert admin_client_staff.get(f"{SLOT_ADMIN}make/").status_code == 405  # POST only

    response = admin_client_staff.get(SLOT_ADMIN)
    tuesday = admin_client_staff.get(SLOT_ADMIN, {"day": "2026-11-24"})
    assert response.context["cl"].result_count == 254
    assert "254 pickup slot(s) made." in [str(m) for m in response.context["messages"]]
    results = tuesday.context["cl"].result_list
    assert (len(results), str(results[0])) == (52, "2026-11-24 08:00-08:15")
    assert "Mon 23 Nov (today)" in response.content.decode()


def test_staff_who_may_only_view_slots_cannot_make_them(client, demo_hours):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_pickupslot"))
    client.force_login(viewer)

    page = client.get(SLOT_ADMIN)

    assert page.status_code == 200
    assert "Make the booking window" not in page.content.decode()
    assert client.post(f"{SLOT_ADMIN}make/").status_code == 403
    assert PickupSlot.objects.count() == 0


def test_admin_overrides_a_slots_capacity_but_not_below_taken(admin_client_staff, demo_hours):
    slot = monday_slot(12)
    take(slot.pk, local(SUNDAY, 12))
    take(slot.pk, local(SUNDAY, 12))
    url = f"{SLOT_ADMIN}{slot.pk}/change/"

    refused = admin_client_staff.post(url, {"capacity": "1"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "capacity": ["2 order(s) already booked this slot: the capacity cannot go below 2."]
    }
    assert PickupSlot.objects.get(pk=slot.pk).capacity == 5

    accepted = admin_client_staff.post(url, {"capacity": "8", "taken": "0"})  # taken is read-only
    assert accepted.status_code == 302
    assert (PickupSlot.objects.get(pk=slot.pk).capacity, taken(slot)) == (8, 2)
    page = admin_client_staff.get(url).content.decode()
    assert 'name="taken"' not in page
    assert 'name="start"' not in page


def test_admin_list_edit_of_capacities(admin_client_staff, demo_hours, frozen):
    frozen(local(SUNDAY, 12))
    a, b = monday_slot(8), monday_slot(8, 15)
    take(b.pk, local(SUNDAY, 12))

    def post(capacity_a: str, capacity_b: str):
        return admin_client_staff.post(
            f"{SLOT_ADMIN}?day=2026-11-23",
            {
                "form-TOTAL_FORMS": "2",
                "form-INITIAL_FORMS": "2",
                "form-0-id": str(a.pk),
                "form-0-capacity": capacity_a,
                "form-1-id": str(b.pk),
                "form-1-capacity": capacity_b,
                "_save": "Save",
            },
        )

    refused = post("3", "0")
    assert refused.status_code == 200
    assert refused.context["cl"].formset.errors[1] == {
        "capacity": ["1 order(s) already booked this slot: the capacity cannot go below 1."]
    }
    assert list(PickupSlot.objects.filter(pk__in=[a.pk, b.pk]).values_list("capacity", flat=True)) == [5, 5]

    accepted = post("3", "1")
    assert accepted.status_code == 302
    assert list(PickupSlot.objects.filter(pk__in=[a.pk, b.pk]).values_list("capacity", flat=True)) == [3, 1]


def test_admin_cannot_add_or_delete_slots(admin_client_staff, demo_hours):
    slot = monday_slot(12)
    assert admin_client_staff.get(f"{SLOT_ADMIN}add/").status_code == 403
    assert admin_client_staff.post(f"{SLOT_ADMIN}{slot.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PickupSlot.objects.filter(pk=slot.pk).exists()


def test_kitchen_sees_the_pickup_time_of_each_order(admin_client_staff, user, demo_hours, frozen):
    frozen(local(SUNDAY, 12))  # an order for now needs the shop open: not at 21:30 in Jakarta
    slot = monday_slot(12, 30)
    product = ProductFactory(stock=10)
    later = place_order(user=user, items=[(product, 1)])
    asap = place_order(user=user, items=[(product, 1)])
    Order.objects.filter(pk=later.pk).update(pickup_slot=slot)

    listing = admin_client_staff.get("/admin/orders/order/").content.decode()
    detail = admin_client_staff.get(f"/admin/orders/order/{later.pk}/change/").content.decode()

    assert "2026-11-23 12:30-12:45" in listing
    assert "2026-11-22 12:15-12:30" in listing  # as soon as possible: the first slot with room
    assert "2026-11-23 12:30-12:45" in detail
    assert asap.pickup_slot.start == local(SUNDAY, 12, 15)


# --- seed and reset ------------------------------------------------------------------------


def test_seed_hours_are_idempotent_and_keep_what_staff_set(db):
    assert services.hours_seed_demo() == 8
    monday = WeeklyHours.objects.get(weekday=Weekday.MONDAY)
    services.weekly_hours_update(hours=monday, weekday=Weekday.MONDAY, opens_at=time(9), closes_at=time(17))

    assert services.hours_seed_demo() == 0

    assert WeeklyHours.objects.count() == 8
    assert WeeklyHours.objects.get(pk=monday.pk).opens_at == time(9)


def test_reset_data_frees_slots_and_keeps_hours_and_capacities(settings, user, demo_hours):
    settings.DEBUG = True
    services.hours_exception_save(day=MONDAY, is_closed=True, ranges=[])
    slot = PickupSlotFactory(start=local(SUNDAY, 12), capacity=7)
    take(slot.pk, local(SUNDAY, 11))
    order = place_order(user=user, items=[(ProductFactory(), 1)], now=local(SUNDAY, 11))
    Order.objects.filter(pk=order.pk).update(pickup_slot=slot)
    out = StringIO()

    call_command("reset_data", stdout=out)

    assert "Freed the bookings of 1 pickup slot(s)." in out.getvalue()
    assert Order.objects.count() == 0
    assert (WeeklyHours.objects.count(), HoursException.objects.count()) == (8, 1)
    assert list(PickupSlot.objects.values_list("capacity", "taken")) == [(7, 0)]


# --- concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_twelve_bookings_race_for_the_last_two_places(demo_hours):
    now = local(SUNDAY, 12)
    slot = monday_slot(12)
    for _ in range(3):
        take(slot.pk, now)
    barrier = threading.Barrier(12)
    results: list[object] = [None] * 12

    def book(index: int) -> None:
        try:
            barrier.wait()
            results[index] = take(slot.pk, now).taken
        except Exception as exc:  # collected and asserted on below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not any(thread.is_alive() for thread in threads)
    assert sorted(r for r in results if isinstance(r, int)) == [4, 5]
    assert sum(isinstance(r, SlotFull) for r in results) == 10
    assert (taken(slot), PickupSlot.objects.get(pk=slot.pk).capacity) == (5, 5)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_runs_making_the_slots_at_once_make_each_row_once(demo_hours):
    """Beat overlapping a slow run, or a run after an hours change racing the hourly one."""
    now = local(MONDAY, 7)

    results = run_at_once([lambda: services.pickup_slots_materialise(now=now) for _ in range(3)])

    assert [type(r) for r in results] == [int, int, int]  # no IntegrityError
    assert PickupSlot.objects.count() == 254
    assert PickupSlot.objects.values("start").distinct().count() == 254
    assert services.pickup_slots_materialise(now=now) == 0
