from django.conf import settings
from django.db import models
from django.utils import timezone


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    PREPARING = "preparing", "Preparing"
    READY = "ready", "Ready"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REFUNDED = "refunded", "Refunded"


# Statuses whose order no longer holds stock (it was given back when the order got there).
STOCK_RELEASED_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})
# Statuses of an order that was paid for and not refunded: the ones a receipt is sent for.
RECEIPT_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED}
)


class Order(models.Model):
    number = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    # Who ordered, as it was at checkout: kept when the account is deleted.
    customer_name = models.CharField(max_length=150, blank=True)
    customer_email = models.EmailField()
    customer_phone = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    subtotal = models.PositiveBigIntegerField()
    total = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="IDR")
    notes = models.TextField(blank=True)
    placed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(
        help_text="Unpaid by then, the order expires and its stock is released."
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The pickup time the shopper booked; none means "as soon as possible". PROTECT: the
    # slot is part of the order's record, so it can never be deleted from under it.
    pickup_slot = models.ForeignKey(
        "PickupSlot", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    # The paid order's receipt e-mail (orders.services.order_receipt_send): when it went out,
    # and while it is being sent, since when (a claim that others respect for a while).
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    receipt_claimed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        # Staff powers beyond the kitchen flow (orders.permissions: who may move what).
        permissions = [
            ("cancel_order", "Can cancel any customer's pending order"),
            ("refund_order", "Can refund an order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="order_status_expiry"),
            models.Index(fields=["user", "-placed_at"], name="order_user_recent"),
            models.Index(fields=["-placed_at"], name="order_recent"),
            # The receipt sweep's search: paid orders whose receipt has not gone out (few).
            models.Index(
                fields=["paid_at"],
                condition=models.Q(paid_at__isnull=False, receipt_sent_at__isnull=True),
                name="order_receipt_unsent",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A product as bought: name, SKU and price are copied so history never changes."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product_slug = models.CharField(max_length=200)
    product_name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    kind = models.CharField(max_length=10)
    price_version = models.PositiveIntegerField()
    unit_price = models.PositiveBigIntegerField()
    quantity = models.PositiveIntegerField()
    line_total = models.PositiveBigIntegerField()
    # For a bundle: [{"product_id", "slug", "name", "sku", "quantity"}] per one bundle.
    components = models.JSONField(default=list, blank=True)
    # The shopper's choices as they were: [{"option_id", "group", "name", "price_delta"}];
    # `unit_price` already includes the deltas.
    options = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=140, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(line_total=models.F("unit_price") * models.F("quantity")),
                name="order_line_total_is_price_times_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"

    def option_demand(self) -> dict[int, int]:
        """Units of each chosen option this line took (only limited options keep stock)."""
        return {o["option_id"]: self.quantity for o in self.options}

    def stock_demand(self) -> dict[int, int]:
        """Units of each stock-holding product this line took: a bundle takes its components."""
        if self.kind == "bundle":
            return {c["product_id"]: c["quantity"] * self.quantity for c in self.components}
        return {self.product_id: self.quantity} if self.product_id else {}


class OrderEvent(models.Model):
    """Append-only audit trail of an order."""

    class Type(models.TextChoices):
        PLACED = "placed", "Placed"
        STATUS_CHANGED = "status_changed", "Status changed"
        # Written by the payments and invoices flows through `order_event_log`.
        PAYMENT_OPENED = "payment_opened", "Payment opened"
        PAYMENT_UPDATED = "payment_updated", "Payment updated"
        PAYMENT_FLAGGED = "payment_flagged", "Payment flagged for staff"
        INVOICE_ISSUED = "invoice_issued", "Invoice issued"
        CREDIT_NOTE_ISSUED = "credit_note_issued", "Credit note issued"
        RECEIPT_SENT = "receipt_sent", "Receipt sent"

    class Actor(models.TextChoices):
        USER = "user", "Customer"
        STAFF = "staff", "Staff"
        GATEWAY = "gateway", "Payment gateway"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40, choices=Type.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=10, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order}: {self.type} {self.from_status}->{self.to_status}"


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one user on checkout, with the request's hash and, once
    done, the response to replay."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    locked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


# --- opening hours and pickup slots (the rules live in orders/pickup.py) ---------------


class Weekday(models.IntegerChoices):
    """Python's `date.weekday()` numbering."""

    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningRange(models.Model):
    """A time range in the shop's time zone that belongs to the day it opens on. When
    `closes_at` is not after `opens_at` it closes on the next day: 18:00-02:00 runs past
    midnight, 00:00-00:00 is the whole day."""

    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        suffix = " (next day)" if self.closes_next_day else ""
        return f"{self.opens_at:%H:%M}-{self.closes_at:%H:%M}{suffix}"

    @property
    def closes_next_day(self) -> bool:
        return self.closes_at <= self.opens_at


class WeeklyHours(OpeningRange):
    """One range of the weekly schedule; a day may have several (a lunch break)."""

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)

    class Meta:
        verbose_name = "weekly opening hours"
        verbose_name_plural = "weekly opening hours"
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

    date = models.DateField(unique=True)
    is_closed = models.BooleanField("closed all day", default=False)
    note = models.CharField(max_length=200, blank=True, help_text="Why, e.g. a public holiday.")

    class Meta:
        verbose_name = "opening hours exception"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}: {'closed' if self.is_closed else 'special hours'}"


class HoursExceptionRange(OpeningRange):
    exception = models.ForeignKey(HoursException, on_delete=models.CASCADE, related_name="ranges")

    class Meta:
        verbose_name = "special hours"
        verbose_name_plural = "special hours"
        ordering = ["opens_at"]


class PickupSlot(models.Model):
    """A pickup window and how many orders the kitchen takes for it. Rows are made on
    demand from the opening hours; `taken` moves only through orders/pickup.py."""

    start = models.DateTimeField(unique=True)
    end = models.DateTimeField()
    capacity = models.PositiveIntegerField(help_text="Orders the kitchen takes for this slot.")
    taken = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(taken__gte=0), name="pickup_slot_taken_not_negative"),
            models.CheckConstraint(
                condition=models.Q(taken__lte=models.F("capacity")), name="pickup_slot_within_capacity"
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="pickup_slot_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        start, end = timezone.localtime(self.start), timezone.localtime(self.end)
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.taken, 0)
