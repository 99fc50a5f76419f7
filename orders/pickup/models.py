"""Opening hours and pickup slots. The models live with the rules that own them
(orders/pickup/services.py) but stay in the `orders` app (`app_label`), with their tables
and migrations; orders/models.py imports them so Django finds them."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Weekday(models.IntegerChoices):
    """Python's `date.weekday()` numbering."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningRange(models.Model):
    """A time range in the shop's time zone that belongs to the day it opens on. When
    `closes_at` is not after `opens_at` it closes on the next day: 18:00-02:00 runs past
    midnight, 00:00-00:00 is the whole day."""

    opens_at = models.TimeField(verbose_name=_("opens at"))
    closes_at = models.TimeField(verbose_name=_("closes at"))

    class Meta:
        abstract = True
        app_label = "orders"
        verbose_name = _("opening range")
        verbose_name_plural = _("opening ranges")

    def __str__(self) -> str:
        suffix = " (next day)" if self.closes_next_day else ""
        return f"{self.opens_at:%H:%M}-{self.closes_at:%H:%M}{suffix}"

    @property
    def closes_next_day(self) -> bool:
        return self.closes_at <= self.opens_at


class WeeklyHours(OpeningRange):
    """One range of the weekly schedule; a day may have several (a lunch break)."""

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, verbose_name=_("weekday"))

    class Meta:
        app_label = "orders"
        verbose_name = _("weekly opening hours")
        verbose_name_plural = _("weekly opening hours")
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__range=(0, 6)), name="weekly_hours_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {super().__str__()}"


class HoursException(models.Model):
    """A date whose ranges replace the weekly ones: closed all day, or its own ranges."""

    date = models.DateField(unique=True, verbose_name=_("date"))
    is_closed = models.BooleanField(_("closed all day"), default=False)
    note = models.CharField(
        max_length=200, blank=True, help_text=_("Why, e.g. a public holiday."), verbose_name=_("note")
    )

    class Meta:
        app_label = "orders"
        verbose_name = _("opening hours exception")
        ordering = ["date"]
        verbose_name_plural = _("opening hours exceptions")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}: {'closed' if self.is_closed else 'special hours'}"


class HoursExceptionRange(OpeningRange):
    exception = models.ForeignKey(
        HoursException, on_delete=models.CASCADE, related_name="ranges", verbose_name=_("exception")
    )

    class Meta:
        app_label = "orders"
        verbose_name = _("special hours")
        verbose_name_plural = _("special hours")
        ordering = ["opens_at"]


class PickupSlot(models.Model):
    """A pickup window and how many orders the kitchen takes for it. Rows are made
    ahead from the opening hours (pickup_slots_materialise); `taken` moves only through
    orders/pickup/services.py."""

    start = models.DateTimeField(unique=True, verbose_name=_("start"))
    end = models.DateTimeField(verbose_name=_("end"))
    capacity = models.PositiveIntegerField(
        help_text=_("Orders the kitchen takes for this slot."), verbose_name=_("capacity")
    )
    taken = models.PositiveIntegerField(default=0, verbose_name=_("taken"))
    # Optional second limit in dish units (for kitchens whose limit is pans, not tickets):
    # an order takes as many as it has units. Empty: no limit on units.
    capacity_items = models.PositiveIntegerField(
        _("capacity in items"),
        null=True,
        blank=True,
        help_text=_("Dish units the kitchen makes for this slot (empty: no limit on units)."),
    )
    taken_items = models.PositiveIntegerField(_("items taken"), default=0)

    class Meta:
        app_label = "orders"
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(taken__gte=0), name="pickup_slot_taken_not_negative"),
            models.CheckConstraint(
                condition=models.Q(taken__lte=models.F("capacity")), name="pickup_slot_within_capacity"
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="pickup_slot_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(capacity_items__isnull=True)
                | models.Q(taken_items__lte=models.F("capacity_items")),
                name="pickup_slot_within_capacity_items",
            ),
        ]
        verbose_name = _("pickup slot")
        verbose_name_plural = _("pickup slots")

    def __str__(self) -> str:
        start, end = timezone.localtime(self.start), timezone.localtime(self.end)
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.taken, 0)

    @property
    def remaining_items(self) -> int | None:
        if self.capacity_items is None:
            return None
        return max(self.capacity_items - self.taken_items, 0)


class KitchenState(models.Model):
    """Busy mode, one row (pk 1): a pause of new orders and an extra delay on the
    kitchen's preparation time, each ending by itself at its time. Written only by
    orders/pickup/kitchen.py; checkout reads it under a shared row lock, so a pause waits
    for the checkouts already under way and refuses every one after it."""

    paused_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paused at"))
    paused_until = models.DateTimeField(null=True, blank=True, verbose_name=_("paused until"))
    pause_reason = models.CharField(max_length=200, blank=True, verbose_name=_("pause reason"))
    delay_minutes = models.PositiveIntegerField(default=0, verbose_name=_("delay minutes"))
    # Null with a delay: until staff clear it.
    delay_until = models.DateTimeField(null=True, blank=True, verbose_name=_("delay until"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    # Moved on by every change of the opening hours, their exceptions or the shop settings,
    # which checkout keeps per process under it (orders/setup.py).
    setup_version = models.BigIntegerField(default=0, db_default=0, verbose_name=_("setup version"))

    class Meta:
        app_label = "orders"
        verbose_name = _("kitchen busy mode")
        verbose_name_plural = _("kitchen busy mode")

    def __str__(self) -> str:
        return "Kitchen busy mode"
