"""Opening hours and pickup slots in the admin. Every save goes through the pickup
services (the forms check with the same rules first), so the admin and the API can never
disagree on what a valid schedule or capacity is.
"""

from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_has_perm
from config.admin_mixins import LockPostedRowsMixin
from orders.pickup import kitchen as busy_mode
from orders.pickup import services
from orders.pickup.kitchen import BUSY_PERMISSION
from orders.pickup.models import HoursException, HoursExceptionRange, KitchenState, PickupSlot, WeeklyHours
from orders.pickup.schedule import pickup_window

# --- opening hours ------------------------------------------------------------------------


def _messages_of(error: ValidationError) -> ValidationError:
    """A service's error as a form's own (a dict-shaped one would name a field the form or
    formset may not have)."""
    return ValidationError(error.messages)


class WeeklyHoursForm(forms.ModelForm):
    class Meta:
        model = WeeklyHours
        fields = ["weekday", "opens_at", "closes_at"]
        help_texts = {
            "closes_at": "At or before the opening time: closes the next day (00:00-00:00 is 24 h)."
        }

    def clean(self) -> dict:
        data = super().clean()
        if all(data.get(field) is not None for field in self.Meta.fields):
            try:
                services.check_weekly_hours(
                    weekday=data["weekday"],
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                    exclude_id=self.instance.pk,
                )
            except ValidationError as error:
                raise _messages_of(error) from None
        return data


@admin.register(WeeklyHours)
class WeeklyHoursAdmin(admin.ModelAdmin):
    """The weekly schedule, one row per range: a day with a lunch break has two."""

    form = WeeklyHoursForm
    list_display = ["weekday", "opens_at", "closes_at", "closes_next_day"]
    list_filter = ["weekday"]
    ordering = ["weekday", "opens_at"]

    @admin.display(description=_("closes the next day"), boolean=True)
    def closes_next_day(self, hours: WeeklyHours) -> bool:
        return hours.closes_next_day

    def save_model(self, request: HttpRequest, obj: WeeklyHours, form: forms.ModelForm, change: bool) -> None:
        fields = {"weekday": obj.weekday, "opens_at": obj.opens_at, "closes_at": obj.closes_at}
        if change:
            services.weekly_hours_update(hours=obj, **fields)
        else:
            obj.pk = services.weekly_hours_add(**fields).pk

    def delete_model(self, request: HttpRequest, obj: WeeklyHours) -> None:
        services.weekly_hours_delete(hours=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WeeklyHours]) -> None:
        for hours in queryset:
            services.weekly_hours_delete(hours=hours)


class ExceptionRangeFormSet(BaseInlineFormSet):
    """A date's special hours, checked as a whole against the exception's "closed all day"
    and saved by replacing them as a whole."""

    def ranges(self) -> list[tuple]:
        return [
            (form.cleaned_data["opens_at"], form.cleaned_data["closes_at"])
            for form in self.forms
            if form.cleaned_data and form not in self.deleted_forms
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        # The admin validates the main form first: the instance has the submitted flag.
        try:
            services.check_hours_exception(is_closed=self.instance.is_closed, ranges=self.ranges())
        except ValidationError as error:
            raise _messages_of(error) from None


class ExceptionRangeInline(admin.TabularInline):
    model = HoursExceptionRange
    formset = ExceptionRangeFormSet
    fields = ["opens_at", "closes_at"]
    extra = 2
    verbose_name_plural = "special hours (replace the weekly hours of this date)"


@admin.register(HoursException)
class HoursExceptionAdmin(admin.ModelAdmin):
    """Dates with their own hours: a holiday closed all day, or shorter or longer hours."""

    list_display = ["date", "weekday", "is_closed", "hours", "note"]
    list_filter = ["is_closed"]
    date_hierarchy = "date"
    ordering = ["-date"]
    fields = ["date", "is_closed", "note"]
    inlines = [ExceptionRangeInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[HoursException]:
        return super().get_queryset(request).prefetch_related("ranges")

    @admin.display(description=_("weekday"))
    def weekday(self, exception: HoursException) -> str:
        return f"{exception.date:%A}"

    @admin.display(description=_("hours"))
    def hours(self, exception: HoursException) -> str:
        return ", ".join(str(r) for r in exception.ranges.all()) or "closed"

    def save_model(
        self, request: HttpRequest, obj: HoursException, form: forms.ModelForm, change: bool
    ) -> None:
        """Nothing yet: `save_related` writes the date together with its ranges."""

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        exception = form.instance
        ranges = []
        for formset in formsets:
            formset.save(commit=False)  # writes nothing; records the changes for the history log
            if isinstance(formset, ExceptionRangeFormSet):
                ranges = formset.ranges()
        saved = services.hours_exception_save(
            day=exception.date,
            is_closed=exception.is_closed,
            note=exception.note,
            ranges=ranges,
            exception=exception if change else None,
        )
        exception.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: HoursException) -> None:
        services.hours_exception_delete(exception=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[HoursException]) -> None:
        for exception in queryset:
            services.hours_exception_delete(exception=exception)


# --- pickup slots ---------------------------------------------------------------------------


class PickupSlotForm(forms.ModelForm):
    class Meta:
        model = PickupSlot
        fields = ["capacity", "capacity_items"]

    def clean(self) -> dict:
        data = super().clean()
        if not {"capacity", "capacity_items"} & set(self.changed_data) or "capacity" not in data:
            return data
        # Checked once per field, so each error stands beside its own field.
        for field, items in (("capacity", None), ("capacity_items", data.get("capacity_items"))):
            try:
                services.check_slot_capacity(
                    slot_id=self.instance.pk, capacity=data["capacity"], capacity_items=items
                )
            except ValidationError as error:
                self.add_error(field, _messages_of(error))
                break
        return data


class SlotDayFilter(admin.SimpleListFilter):
    """The days slots can be booked for, by local date."""

    title = "pickup day"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        first, last = pickup_window(now=timezone.now())
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        return [(day.isoformat(), f"{day:%a %d %b}" + (" (today)" if day == first else "")) for day in days]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PickupSlot]) -> QuerySet[PickupSlot]:
        if self.value() is None:
            return queryset
        try:
            day = date.fromisoformat(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(start__date=day)


@admin.register(PickupSlot)
class PickupSlotAdmin(LockPostedRowsMixin, admin.ModelAdmin):
    """Slots come from the opening hours: their rows are made ahead (hourly by beat, after
    each change of the hours, or now with the list's "Make the booking window's slots"
    button); opening the list writes nothing. Staff set how many orders each takes.
    `taken` moves only with bookings, and a capacity may not go below it."""

    form = PickupSlotForm
    list_display = ["slot", "start", "end", "capacity", "taken", "remaining", "capacity_items", "taken_items"]
    list_display_links = ["slot"]
    list_editable = ["capacity", "capacity_items"]
    list_filter = [SlotDayFilter]
    date_hierarchy = "start"
    ordering = ["start"]
    fields = ["start", "end", "capacity", "taken", "remaining", "capacity_items", "taken_items"]
    readonly_fields = ["start", "end", "taken", "remaining", "taken_items"]

    @admin.display(description=_("slot"), ordering="start")
    def slot(self, slot: PickupSlot) -> str:
        return str(slot)

    @admin.display(description=_("remaining"))
    def remaining(self, slot: PickupSlot) -> int:
        return slot.remaining

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # slots are made from the opening hours

    def has_delete_permission(self, request: HttpRequest, obj: PickupSlot | None = None) -> bool:
        return False  # orders point at them; a capacity of 0 closes one instead

    def get_changelist_form(self, request: HttpRequest, **kwargs):
        return super().get_changelist_form(request, form=PickupSlotForm, **kwargs)

    def lock_rows(self, ids: list[int]) -> None:
        # The list edit checks each capacity against `taken` before saving: the slots stay
        # locked from that check to the save (LockPostedRowsMixin, in primary-key order).
        services.pickup_slots_lock(slot_ids=ids)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {**(extra_context or {}), "can_make_slots": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        make = self.admin_site.admin_view(require_POST(self.make_view))
        return [path("make/", make, name="orders_pickupslot_make"), *super().get_urls()]

    def make_view(self, request: HttpRequest) -> HttpResponse:
        """The list's button: make the missing slots of the booking window now (staff who
        just set a capacity for a day the hourly run has not reached yet)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        created = services.pickup_slots_materialise(now=timezone.now())
        self.message_user(request, f"{created} pickup slot(s) made.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_pickupslot_changelist"))

    def save_model(self, request: HttpRequest, obj: PickupSlot, form: forms.ModelForm, change: bool) -> None:
        services.pickup_slot_set_capacity(
            slot_id=obj.pk, capacity=obj.capacity, capacity_items=obj.capacity_items
        )


# --- busy mode ------------------------------------------------------------------------------

# Busy mode from the board and the admin: button -> its label.
BUSY_BUTTONS = {
    "pause-15": _("Pause new orders 15 min"),
    "pause-30": _("Pause new orders 30 min"),
    "resume": _("Take orders again"),
    "delay-15": _("Add 15 min to ready times"),
    "delay-0": _("Clear the delay"),
}


def busy_press(button: str) -> str:
    """Carry out a busy-mode button (BUSY_BUTTONS) and say what it did."""
    kind, _, minutes = button.partition("-")
    if kind == "pause":
        busy = busy_mode.kitchen_pause(minutes=int(minutes), reason="Paused from the kitchen")
        return f"New orders paused until {timezone.localtime(busy.paused_until):%H:%M}."
    if kind == "resume":
        busy_mode.kitchen_resume()
        return "Taking orders again."
    busy = busy_mode.kitchen_delay(minutes=int(minutes))
    return f"Preparation time is {busy.prep_minutes} minutes."


def _busy_action(button: str):
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[KitchenState]) -> None:
        modeladmin.message_user(request, busy_press(button), messages.SUCCESS)

    action.__name__ = f"busy_{button.replace('-', '_')}"
    return admin.action(description=BUSY_BUTTONS[button], permissions=["busy"])(action)


@admin.register(KitchenState)
class KitchenStateAdmin(admin.ModelAdmin):
    """Busy mode, one row: select it and pick an action (the kitchen board has the same
    buttons). Every change goes through orders/pickup/kitchen.py, as the API's does."""

    list_display = ["__str__", "paused_until", "pause_reason", "delay_minutes", "delay_until"]
    actions = [_busy_action(button) for button in BUSY_BUTTONS]
    readonly_fields = ["paused_at", "paused_until", "pause_reason", "delay_minutes", "delay_until"]

    def has_busy_permission(self, request: HttpRequest) -> bool:
        return staff_has_perm(request.user, BUSY_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: KitchenState | None = None) -> bool:
        return False
