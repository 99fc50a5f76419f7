from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Opening hours and pickup slots live in their own package and stay models of this app
# (`app_label`): importing them here is how Django finds them.
from orders.pickup.models import (  # noqa: F401
    HoursException,
    HoursExceptionRange,
    KitchenState,
    OpeningRange,
    PickupSlot,
    Weekday,
    WeeklyHours,
)
from orders.shop_settings import ShopSettings  # noqa: F401
from orders.vouchers.models import AppliedVoucher, Voucher, VoucherUse  # noqa: F401


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    PREPARING = "preparing", _("Preparing")
    READY = "ready", _("Ready")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")
    # The gateway took a settled payment back (a reversal: Midtrans `settlement` -> `deny`
    # for Permata VA, Mandiri Bill, Indomaret): on hold until staff re-check or cancel it.
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed (on hold)")


# Statuses whose order no longer holds stock (it was given back when the order got there).
STOCK_RELEASED_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})
# Statuses of an order that was paid for and not refunded: the ones a receipt is sent for.
RECEIPT_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED}
)


class Order(models.Model):
    number = models.CharField(max_length=40, unique=True, verbose_name=_("number"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("user"),
    )
    # Who ordered, as it was at checkout: kept when the account is deleted.
    customer_name = models.CharField(max_length=150, blank=True, verbose_name=_("customer name"))
    customer_email = models.EmailField(verbose_name=_("customer email"))
    customer_phone = models.CharField(max_length=20, blank=True, verbose_name=_("customer phone"))
    # The language the order was placed in (`id`, `en`: the account's choice, else the
    # checkout request's): its receipt, status mails, invoice and credit notes speak it.
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="id", editable=False, verbose_name=_("language")
    )
    status = models.CharField(
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING_PAYMENT,
        verbose_name=_("status"),
    )
    subtotal = models.PositiveBigIntegerField(verbose_name=_("subtotal"))
    # The money as orders/totals.py priced it at checkout (Totals.as_dict()): the voucher's
    # discount, the charges ([{code, name, rate_bp?, base, amount, included?}]), all the tax
    # the order holds, and the shop's charge settings used (ChargeSettings.as_dict()), so a
    # later change of the settings never reprices it. total = subtotal - discount + charges.
    discount = models.PositiveBigIntegerField(default=0, verbose_name=_("discount"))
    charges = models.JSONField(default=list, blank=True, verbose_name=_("charges"))
    tax = models.PositiveBigIntegerField(default=0, verbose_name=_("tax"))
    # The charges' amounts again as columns, for the sales reports' sums in the database.
    service_charge = models.PositiveBigIntegerField(default=0, verbose_name=_("service charge"))
    packaging = models.PositiveBigIntegerField(default=0, verbose_name=_("packaging"))
    rounding = models.BigIntegerField(default=0, verbose_name=_("rounding"))
    pricing = models.JSONField(default=dict, blank=True, verbose_name=_("pricing"))
    total = models.PositiveBigIntegerField(verbose_name=_("total"))
    currency = models.CharField(max_length=3, default="IDR", verbose_name=_("currency"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    placed_at = models.DateTimeField(default=timezone.now, verbose_name=_("placed at"))
    expires_at = models.DateTimeField(
        help_text=_("Unpaid by then, the order expires and its stock is released."),
        verbose_name=_("expires at"),
    )
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    # The pickup time the shopper booked; none means "as soon as possible". PROTECT: the
    # slot is part of the order's record, so it can never be deleted from under it.
    pickup_slot = models.ForeignKey(
        "PickupSlot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("pickup slot"),
    )
    # When the kitchen promises the order: the start of its slot (booked, or for "as soon as
    # possible" the first with room after the preparation time); with no opening hours set
    # (no slots), checkout time plus the preparation time. Null on orders from before.
    ready_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ready at"))
    # The paid order's receipt e-mail (invoices.receipts.receipt_send): when it went out,
    # and while it is being sent, since when (a claim that others respect for a while).
    receipt_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("receipt sent at"))
    receipt_claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("receipt claimed at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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
            # The sales and tax reports: paid orders by the time they were paid.
            models.Index(fields=["paid_at"], condition=models.Q(paid_at__isnull=False), name="order_paid_at"),
            # The receipt sweep's search: paid orders whose receipt has not gone out (few).
            models.Index(
                fields=["paid_at"],
                condition=models.Q(paid_at__isnull=False, receipt_sent_at__isnull=True),
                name="order_receipt_unsent",
            ),
        ]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A product as bought: name, SKU and price are copied so history never changes."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    product_slug = models.CharField(max_length=200, verbose_name=_("product slug"))
    product_name = models.CharField(max_length=200, verbose_name=_("product name"))
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    kind = models.CharField(max_length=10, verbose_name=_("kind"))
    price_version = models.PositiveIntegerField(verbose_name=_("price version"))
    unit_price = models.PositiveBigIntegerField(verbose_name=_("unit price"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    line_total = models.PositiveBigIntegerField(verbose_name=_("line total"))
    # For a bundle: [{"product_id", "slug", "name", "sku", "quantity"}] per one bundle.
    components = models.JSONField(default=list, blank=True, verbose_name=_("components"))
    # The shopper's choices as they were: [{"option_id", "group", "name", "price_delta"}];
    # `unit_price` already includes the deltas.
    options = models.JSONField(default=list, blank=True, verbose_name=_("options"))
    note = models.CharField(max_length=140, blank=True, verbose_name=_("note"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(line_total=models.F("unit_price") * models.F("quantity")),
                name="order_line_total_is_price_times_quantity",
            ),
        ]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"

    def dish_units(self) -> int:
        """Dish units the kitchen makes for this line (a slot's `capacity_items` counts
        them): a bundle counts its components."""
        if self.kind == "bundle":
            return self.quantity * sum(c["quantity"] for c in self.components)
        return self.quantity

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
        PLACED = "placed", _("Placed")
        STATUS_CHANGED = "status_changed", _("Status changed")
        # Written by the payments and invoices flows through `order_event_log`.
        PAYMENT_OPENED = "payment_opened", _("Payment opened")
        PAYMENT_UPDATED = "payment_updated", _("Payment updated")
        PAYMENT_FLAGGED = "payment_flagged", _("Payment flagged for staff")
        INVOICE_ISSUED = "invoice_issued", _("Invoice issued")
        CREDIT_NOTE_ISSUED = "credit_note_issued", _("Credit note issued")
        RECEIPT_SENT = "receipt_sent", _("Receipt sent")
        READY_EMAIL_SENT = "ready_email_sent", _("Ready e-mail sent")
        CANCELLED_EMAIL_SENT = "cancelled_email_sent", _("Cancelled e-mail sent")
        REFUNDED_EMAIL_SENT = "refunded_email_sent", _("Refunded e-mail sent")
        # Staff turned a paid order down (payments.services.refunds.order_reject): its reason.
        REJECTED = "rejected", _("Rejected by the shop")

    class Actor(models.TextChoices):
        USER = "user", _("Customer")
        STAFF = "staff", _("Staff")
        GATEWAY = "gateway", _("Payment gateway")
        SYSTEM = "system", _("System")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    type = models.CharField(max_length=40, choices=Type.choices, verbose_name=_("type"))
    from_status = models.CharField(max_length=20, blank=True, verbose_name=_("from status"))
    to_status = models.CharField(max_length=20, blank=True, verbose_name=_("to status"))
    actor = models.CharField(max_length=10, choices=Actor.choices, verbose_name=_("actor"))
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor user"),
    )
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order}: {self.type} {self.from_status}->{self.to_status}"


# The statuses the customer is e-mailed about (orders/status_emails.py), each with the event
# that records the e-mail.
EMAILED_STATUSES = {
    OrderStatus.READY: OrderEvent.Type.READY_EMAIL_SENT,
    OrderStatus.CANCELLED: OrderEvent.Type.CANCELLED_EMAIL_SENT,
    OrderStatus.REFUNDED: OrderEvent.Type.REFUNDED_EMAIL_SENT,
}


class StatusEmail(models.Model):
    """The e-mail that tells the customer of one status change (`event`, a move into one of
    EMAILED_STATUSES), written with it: one row per transition, so one e-mail per transition.
    `claimed_at` while being sent, `sent_at` once sent (the receipt's claim discipline)."""

    event = models.OneToOneField(
        OrderEvent, on_delete=models.CASCADE, related_name="status_email", verbose_name=_("event")
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="status_emails", verbose_name=_("order")
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices, verbose_name=_("status"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The sweep's read: e-mails not sent yet, by age.
            models.Index(
                fields=["created_at"], name="status_email_unsent", condition=Q(sent_at__isnull=True)
            ),
        ]
        verbose_name = _("status email")
        verbose_name_plural = _("status emails")

    def __str__(self) -> str:
        return f"{self.order}: {self.status} e-mail"


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one user on checkout, with the request's hash and, once
    done, the response to replay."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    request_hash = models.CharField(max_length=64, verbose_name=_("request hash"))
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.IN_PROGRESS, verbose_name=_("state")
    )
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("response status")
    )
    response_body = models.JSONField(null=True, blank=True, verbose_name=_("response body"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    locked_at = models.DateTimeField(default=timezone.now, verbose_name=_("locked at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
