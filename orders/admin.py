"""The kitchen's view of orders, and the shop's opening hours and pickup slots.

Orders are view-only here: no field is ever saved from a form, because a full-row save
could overwrite a status a webhook set a moment earlier. Staff move orders only through
the actions (and the buttons on an order's page), which call the same services as the
API, so every move is locked, checked against the transition table and logged.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from config.admin_mixins import ReadOnlyAdminMixin
from config.exceptions import DomainError
from config.money import rupiah
from orders import pickup, services
from orders.models import (
    HoursException,
    HoursExceptionRange,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PickupSlot,
    WeeklyHours,
)
from orders.permissions import may_set_status
from payments.admin import PaymentInline, PaymentNotificationInline

S = OrderStatus

STATUS_COLOURS = {
    S.PENDING_PAYMENT: "#b7791f",
    S.PAID: "#2b6cb0",
    S.PREPARING: "#6b46c1",
    S.READY: "#2f855a",
    S.COMPLETED: "#4a5568",
    S.CANCELLED: "#c53030",
    S.EXPIRED: "#a0aec0",
    S.REFUNDED: "#975a16",
}

# The moves the kitchen makes from the admin: (action and button label, what the summary
# says was done). A refund is left to the payments flow, which talks to the gateway.
KITCHEN_MOVES = {
    S.PREPARING: ("Mark preparing", "marked preparing"),
    S.READY: ("Mark ready", "marked ready"),
    S.COMPLETED: ("Mark completed", "marked completed"),
    S.CANCELLED: ("Cancel (release stock)", "cancelled"),
}

# Written into each event's data, so the audit trail tells admin moves from API ones.
ADMIN_NOTE = "Set in the admin."


def status_badge(status: str) -> str:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:8px;white-space:nowrap">'
        "{}</span>",
        STATUS_COLOURS[status],
        S(status).label,
    )


# A separator for format_html_join, which escapes a plain str. bandit B308 (mark_safe):
# a constant tag, no input in it.
LINE_BREAK = mark_safe("<br>")  # nosec B308


def count_orders(n: int) -> str:
    return f"{n} order" if n == 1 else f"{n} orders"


class OrderPartMixin:
    """Lines and events are part of the order: whoever may view the order sees them, with
    no separate permission on their own models (which Django's inlines would ask for)."""

    def has_view_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return request.user.has_perm("orders.view_order") or request.user.has_perm("orders.change_order")


class OrderLineInline(OrderPartMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fields = [
        "product_name",
        "sku",
        "kind",
        "bundle_components",
        "choices",
        "price_version",
        "unit_price_display",
        "quantity",
        "line_total_display",
    ]
    readonly_fields = fields
    extra = 0

    @admin.display(description="Components (per bundle)")
    def bundle_components(self, line: OrderLine) -> str:
        return format_html_join(
            LINE_BREAK, "{} x {} ({})", ((c["quantity"], c["name"], c["sku"]) for c in line.components)
        )

    @admin.display(description="Options and note")
    def choices(self, line: OrderLine) -> str:
        options = format_html_join(
            LINE_BREAK, "<strong>{}:</strong> {}", ((o["group"], o["name"]) for o in line.options)
        )
        if not line.note:
            return options
        note = format_html('<em style="color:#c53030">Note: {}</em>', line.note)
        return format_html("{}{}{}", options, LINE_BREAK if line.options else "", note)

    @admin.display(description="Unit price")
    def unit_price_display(self, line: OrderLine) -> str:
        return rupiah(line.unit_price)

    @admin.display(description="Line total")
    def line_total_display(self, line: OrderLine) -> str:
        return rupiah(line.line_total)


class OrderEventInline(OrderPartMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    verbose_name_plural = "History"
    fields = ["created_at", "type", "status_change", "actor_display", "data_display"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor_user")

    @admin.display(description="Status")
    def status_change(self, event: OrderEvent) -> str:
        labels = [S(status).label for status in (event.from_status, event.to_status) if status]
        return " → ".join(labels)

    @admin.display(description="By")
    def actor_display(self, event: OrderEvent) -> str:
        label = event.get_actor_display()
        return f"{label} ({event.actor_user.email})" if event.actor_user else label

    @admin.display(description="Details")
    def data_display(self, event: OrderEvent) -> str:
        # Sorted: PostgreSQL's jsonb does not keep the keys in the order they were written.
        return format_html_join(LINE_BREAK, "{}: {}", sorted(event.data.items()))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "status_display",
        "pickup",
        "total_display",
        "placed_at",
        "paid_at",
    ]
    list_filter = ["status", "placed_at"]
    list_select_related = ["pickup_slot"]
    date_hierarchy = "placed_at"
    search_fields = ["number", "customer_email"]
    actions = ["mark_preparing", "mark_ready", "mark_completed", "cancel_orders"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status_display",
                    "pickup",
                    "placed_at",
                    "expires_at",
                    "paid_at",
                    "receipt_sent_at",
                    "cancelled_at",
                    "updated_at",
                    "invoice_link",
                ]
            },
        ),
        ("Customer", {"fields": ["user", "customer_name", "customer_email", "customer_phone", "notes"]}),
        ("Amounts", {"fields": ["subtotal_display", "total_display", "currency"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]] + ["invoice_numbers"]
    inlines = [OrderLineInline, PaymentInline, PaymentNotificationInline, OrderEventInline]

    # --- permissions: view and move, never add, edit or delete --------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed by shoppers at checkout

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # view-only: see the module docstring

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # orders are kept for the books, even when the customer's account goes

    def has_move_permission(self, request: HttpRequest) -> bool:
        """Moving an order through the kitchen flow is what the model's change permission
        grants, even though the form itself is read-only (orders.permissions, as in the API)."""
        return may_set_status(request.user, S.PREPARING)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return may_set_status(request.user, S.CANCELLED)

    # --- columns ------------------------------------------------------------------------

    @admin.display(description="Customer", ordering="customer_email")
    def customer(self, order: Order) -> str:
        return format_html("{}<br>{}", order.customer_name or "—", order.customer_email)

    @admin.display(description="Status", ordering="status")
    def status_display(self, order: Order) -> str:
        return status_badge(order.status)

    @admin.display(description="Pickup", ordering="pickup_slot__start")
    def pickup(self, order: Order) -> str:
        return str(order.pickup_slot) if order.pickup_slot else "As soon as possible"

    @admin.display(description="Subtotal", ordering="subtotal")
    def subtotal_display(self, order: Order) -> str:
        return rupiah(order.subtotal)

    @admin.display(description="Total", ordering="total")
    def total_display(self, order: Order) -> str:
        return rupiah(order.total)

    @admin.display(description="Invoice and credit notes")
    def invoice_link(self, order: Order) -> str:
        """Links to the invoice and each credit note and their PDFs (the admin serves them)."""
        invoice = getattr(order, "invoice", None)  # the reverse one-to-one; None until paid
        if invoice is None:
            return "—"
        links = [
            format_html(
                '<a href="{}">{}</a> (<a href="{}">PDF</a>)',
                reverse("admin:invoices_invoice_change", args=[invoice.pk]),
                invoice.number,
                reverse("admin:invoices_invoice_pdf", args=[invoice.pk]),
            )
        ]
        links += [
            format_html(
                'Credit note <a href="{}">{}</a>, {} (<a href="{}">PDF</a>)',
                reverse("admin:invoices_invoice_change", args=[invoice.pk]),
                credit_note.number,
                rupiah(credit_note.amount),
                reverse("admin:invoices_creditnote_pdf", args=[credit_note.pk]),
            )
            for credit_note in invoice.credit_notes.order_by("issued_at", "id")
        ]
        return format_html_join(LINE_BREAK, "{}", ((link,) for link in links))

    @admin.display(description="Invoice and credit notes")
    def invoice_numbers(self, order: Order) -> str:
        """The same documents, unlinked, for staff who may not open invoices."""
        invoice = getattr(order, "invoice", None)
        if invoice is None:
            return "—"
        numbers = [
            invoice.number,
            *invoice.credit_notes.order_by("issued_at", "id").values_list("number", flat=True),
        ]
        return ", ".join(numbers)

    def get_fieldsets(self, request: HttpRequest, obj: Order | None = None):
        if request.user.has_perm("invoices.view_invoice"):
            return self.fieldsets
        swap = {"invoice_link": "invoice_numbers"}
        return [
            (name, {**options, "fields": [swap.get(f, f) for f in options["fields"]]})
            for name, options in self.fieldsets
        ]

    # --- moving orders ------------------------------------------------------------------

    def move_orders(self, request: HttpRequest, orders: Iterable[Order], *, to_status: str) -> None:
        """Move each order through `order_set_status`, each in its own transaction, so one
        that cannot make the move is reported and the others still go."""
        actor = services.Actor.of(request.user)
        moved = 0
        skipped = []
        for order in orders:
            try:
                services.order_set_status(order=order, to_status=to_status, actor=actor, note=ADMIN_NOTE)
            except DomainError as exc:
                skipped.append(f"{order.number}: {exc.detail}")
            else:
                moved += 1
        if moved:
            done = KITCHEN_MOVES[to_status][1]
            self.message_user(request, f"{count_orders(moved)} {done}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{count_orders(len(skipped))} skipped. {' '.join(skipped)}", messages.WARNING
            )

    @admin.action(description=KITCHEN_MOVES[S.PREPARING][0], permissions=["move"])
    def mark_preparing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.PREPARING)

    @admin.action(description=KITCHEN_MOVES[S.READY][0], permissions=["move"])
    def mark_ready(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.READY)

    @admin.action(description=KITCHEN_MOVES[S.COMPLETED][0], permissions=["move"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.COMPLETED)

    @admin.action(description=KITCHEN_MOVES[S.CANCELLED][0], permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.CANCELLED)

    # --- one order from its own page ----------------------------------------------------

    def get_urls(self):
        move = self.admin_site.admin_view(require_POST(self.move_view))
        kitchen = self.admin_site.admin_view(self.kitchen_view)
        # Before the defaults: their `<path:object_id>/` would swallow `<id>/move/`.
        return [
            path("kitchen/", kitchen, name="orders_order_kitchen"),
            path("<path:object_id>/move/", move, name="orders_order_move"),
            *super().get_urls(),
        ]

    KITCHEN_REFRESH_SECONDS = 30

    def kitchen_view(self, request: HttpRequest) -> HttpResponse:
        """The kitchen board: today's orders to cook (paid, preparing, ready) by pickup time,
        each line with its options and note, moved along with one click. Refreshes itself."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        orders = list(
            Order.objects.filter(status__in=[S.PAID, S.PREPARING, S.READY])
            .filter(Q(pickup_slot__start__gte=today) | Q(pickup_slot__isnull=True, paid_at__gte=today))
            .select_related("pickup_slot")
            .prefetch_related("lines")
            .order_by(F("pickup_slot__start").asc(nulls_first=True), "paid_at", "id")
        )
        can_move = self.has_move_permission(request)
        groups: dict[str, list[dict]] = {}
        for order in orders:
            label = (
                f"{timezone.localtime(order.pickup_slot.start):%a %d %b %H:%M}"
                if order.pickup_slot
                else "As soon as possible"
            )
            allowed = services.TRANSITIONS.get(order.status, frozenset())
            moves = [(status, KITCHEN_MOVES[status][0]) for status in (S.PREPARING, S.READY, S.COMPLETED)]
            groups.setdefault(label, []).append(
                {
                    "order": order,
                    "badge": status_badge(order.status),
                    "moves": [(status, text) for status, text in moves if status in allowed]
                    if can_move
                    else [],
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Kitchen board",
            "opts": self.model._meta,
            "groups": groups,
            "refresh_seconds": self.KITCHEN_REFRESH_SECONDS,
        }
        return TemplateResponse(request, "admin/orders/order/kitchen.html", context)

    def move_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The buttons on an order's page: the same move as the action, for this order."""
        if not (self.has_move_permission(request) or self.has_cancel_permission(request)):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404
        to_status = request.POST.get("to_status")
        if to_status not in KITCHEN_MOVES:
            return HttpResponseBadRequest("Unknown move.")
        if not may_set_status(request.user, to_status):
            raise PermissionDenied
        self.move_orders(request, [order], to_status=to_status)
        if request.POST.get("next") == "kitchen":
            return HttpResponseRedirect(reverse("admin:orders_order_kitchen"))
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and (self.has_move_permission(request) or self.has_cancel_permission(request)):
            allowed = services.TRANSITIONS.get(obj.status, frozenset())
            context["kitchen_moves"] = [
                (status, label)
                for status, (label, _) in KITCHEN_MOVES.items()
                if status in allowed and may_set_status(request.user, status)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Checkout's Idempotency-Key records, to look into a disputed double submit; purged by
    `purge_idempotency_keys` once they age out."""

    list_display = ["key", "user", "state", "order", "response_status", "created_at"]
    list_filter = ["state"]
    list_select_related = ["user", "order"]
    search_fields = ["key", "user__email", "order__number"]


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
                pickup.check_weekly_hours(
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

    @admin.display(description="closes the next day", boolean=True)
    def closes_next_day(self, hours: WeeklyHours) -> bool:
        return hours.closes_next_day

    def save_model(self, request: HttpRequest, obj: WeeklyHours, form: forms.ModelForm, change: bool) -> None:
        fields = {"weekday": obj.weekday, "opens_at": obj.opens_at, "closes_at": obj.closes_at}
        if change:
            pickup.weekly_hours_update(hours=obj, **fields)
        else:
            obj.pk = pickup.weekly_hours_add(**fields).pk

    def delete_model(self, request: HttpRequest, obj: WeeklyHours) -> None:
        pickup.weekly_hours_delete(hours=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WeeklyHours]) -> None:
        for hours in queryset:
            pickup.weekly_hours_delete(hours=hours)


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
            pickup.check_hours_exception(is_closed=self.instance.is_closed, ranges=self.ranges())
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

    @admin.display(description="weekday")
    def weekday(self, exception: HoursException) -> str:
        return f"{exception.date:%A}"

    @admin.display(description="hours")
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
        saved = pickup.hours_exception_save(
            day=exception.date,
            is_closed=exception.is_closed,
            note=exception.note,
            ranges=ranges,
            exception=exception if change else None,
        )
        exception.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: HoursException) -> None:
        pickup.hours_exception_delete(exception=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[HoursException]) -> None:
        for exception in queryset:
            pickup.hours_exception_delete(exception=exception)


# --- pickup slots ---------------------------------------------------------------------------


class PickupSlotForm(forms.ModelForm):
    class Meta:
        model = PickupSlot
        fields = ["capacity"]

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if "capacity" in self.changed_data:
            try:
                pickup.check_slot_capacity(slot_id=self.instance.pk, capacity=capacity)
            except ValidationError as error:
                raise _messages_of(error) from None
        return capacity


class SlotDayFilter(admin.SimpleListFilter):
    """The days slots can be booked for, by local date."""

    title = "pickup day"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        first, last = pickup.pickup_window(now=timezone.now())
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
class PickupSlotAdmin(admin.ModelAdmin):
    """Slots come from the opening hours (opening this list makes the missing ones of the
    booking window); staff set how many orders each takes. `taken` moves only with
    bookings, and a capacity may not go below it."""

    form = PickupSlotForm
    list_display = ["slot", "start", "end", "capacity", "taken", "remaining"]
    list_display_links = ["slot"]
    list_editable = ["capacity"]
    list_filter = [SlotDayFilter]
    date_hierarchy = "start"
    ordering = ["start"]
    fields = ["start", "end", "capacity", "taken", "remaining"]
    readonly_fields = ["start", "end", "taken", "remaining"]

    @admin.display(description="slot", ordering="start")
    def slot(self, slot: PickupSlot) -> str:
        return str(slot)

    @admin.display(description="remaining")
    def remaining(self, slot: PickupSlot) -> int:
        return slot.remaining

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # slots are made from the opening hours

    def has_delete_permission(self, request: HttpRequest, obj: PickupSlot | None = None) -> bool:
        return False  # orders point at them; a capacity of 0 closes one instead

    def get_changelist_form(self, request: HttpRequest, **kwargs):
        return super().get_changelist_form(request, form=PickupSlotForm, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if request.method == "POST" and "_save" in request.POST:
            # The list edit checks each capacity against `taken` before saving: hold the
            # rows from that check to the save, locked in primary-key order.
            ids = [
                v
                for k, v in request.POST.items()
                if k.endswith("-id") and v.isascii() and v.isdigit() and len(v) < 19
            ]
            with transaction.atomic():
                pickup.pickup_slots_lock(slot_ids=[int(v) for v in ids])
                return super().changelist_view(request, extra_context)
        pickup.pickup_slots_ensure(now=timezone.now())
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: PickupSlot, form: forms.ModelForm, change: bool) -> None:
        pickup.pickup_slot_set_capacity(slot_id=obj.pk, capacity=obj.capacity)
