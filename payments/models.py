"""Payment attempts, the raw log of gateway notifications, and the mock gateway's own
transactions (DESIGN.md §3, §7).

Only `payments.services` writes these rows (the mock's through `payments.gateways.mock`).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PaymentGateway(models.TextChoices):
    MIDTRANS = "midtrans", "Midtrans"
    MOCK = "mock", "Mock gateway"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SETTLED = "settled", _("Settled")
    CHALLENGE = "challenge", _("Challenged by fraud detection")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    # After settlement the card holder's bank took the money back (Midtrans's status cycle).
    CHARGEBACK = "chargeback", _("Charged back")
    PARTIAL_CHARGEBACK = "partial_chargeback", "Partially charged back"


# Statuses of an attempt that holds money the order keeps (when it is not `needs_refund`).
MONEY_HELD_STATUSES = (
    PaymentStatus.SETTLED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.PARTIAL_CHARGEBACK,
)


class NotificationOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    DUPLICATE = "duplicate", "Duplicate (nothing new)"
    IGNORED = "ignored", "Ignored"
    REJECTED = "rejected", "Rejected"
    ERROR = "error", "Error"


class Payment(models.Model):
    """One attempt to pay an order at the gateway: `{order.number}-{attempt}` there.

    `status` follows the gateway's answers, forward only (`payments.decide.PAYMENT_TRANSITIONS`).
    Whether the attempt paid the order is a separate matter: a settlement that arrives too
    late (stock gone), a second one for an order already paid, or one whose amount does not
    match is recorded as settled and flagged `needs_refund`, and never counts for the order.
    """

    Gateway = PaymentGateway
    Status = PaymentStatus

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveIntegerField()
    gateway = models.CharField(max_length=20, choices=PaymentGateway.choices)
    gateway_order_id = models.CharField(
        max_length=50, unique=True, help_text="The order id the gateway knows: {order number}-{attempt}."
    )
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="IDR")
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # Empty while the gateway is being asked (or when asking failed: see `open_error`).
    token = models.CharField(max_length=255, blank=True)
    redirect_url = models.URLField(max_length=500, blank=True)
    expires_at = models.DateTimeField(help_text="End of the payment window the gateway was given.")
    open_error = models.CharField(
        max_length=500, blank=True, help_text="Why the gateway could not open this attempt."
    )
    transaction_id = models.CharField(max_length=100, blank=True)
    payment_type = models.CharField(max_length=50, blank=True)
    refunded_amount = models.PositiveBigIntegerField(default=0)
    fee_amount = models.PositiveBigIntegerField(
        default=0, help_text="Fee the shopper paid on top (Midtrans fee imposition); not the order's money."
    )
    chargeback_amount = models.PositiveBigIntegerField(
        default=0, help_text="What the card holder's bank took back after settlement."
    )
    va_numbers = models.JSONField(
        default=list, blank=True, help_text="Virtual account numbers the gateway reported: [[bank, number]]."
    )
    # The last answer (notification or status API) that was applied, as received.
    raw_status = models.JSONField(default=dict, blank=True)
    needs_refund = models.BooleanField(
        default=False, help_text="Money was taken that the order does not keep: staff must refund it."
    )
    flag_reason = models.CharField(
        max_length=300, blank=True, help_text="Why staff should look at this attempt (empty: nothing to see)."
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_unique_per_order"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="payment_attempt_positive"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(
                condition=Q(gateway__in=PaymentGateway.values), name="payment_gateway_valid"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")), name="payment_refund_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(chargeback_amount__lte=models.F("amount")),
                name="payment_chargeback_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(needs_refund=False) | ~Q(flag_reason=""), name="payment_needs_refund_has_reason"
            ),
            # At most one attempt pays an order: the database refuses a second one.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=list(MONEY_HELD_STATUSES), needs_refund=False),
                name="payment_one_paying_attempt_per_order",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_age")]

    def __str__(self) -> str:
        return self.gateway_order_id

    @property
    def is_open(self) -> bool:
        """The gateway gave this attempt a token (the shopper can pay it)."""
        return bool(self.token)

    @property
    def counts_for_order(self) -> bool:
        """This attempt's money is what paid the order."""
        return self.status in MONEY_HELD_STATUSES and not self.needs_refund


class PaymentNotification(models.Model):
    """A gateway notification as it arrived, and what was done with it. Written when it
    arrives; only its outcome (and what it was matched to) is filled in, in the same request.

    Anyone can post to the webhook, so what is kept of a body is bounded until its signature
    holds: its size, its SHA-256 and its first RAW_BODY_PREFIX_BYTES. A signed body is then
    kept whole (with its parsed payload). Rows tied to no payment are purged after
    WEBHOOK_RETENTION_DAYS (`payments.services.notifications_purge`)."""

    Outcome = NotificationOutcome

    # The whole body once signed; before that (and for ever when the signature fails) its start.
    raw_body = models.TextField(blank=True)
    body_size = models.PositiveIntegerField(null=True, blank=True, help_text="Bytes received.")
    body_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the bytes received.")
    payload = models.JSONField(null=True, blank=True, help_text="The body parsed, when it was JSON.")
    signature_valid = models.BooleanField(null=True, help_text="Empty: not checked (malformed body).")
    outcome = models.CharField(max_length=20, choices=NotificationOutcome.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    gateway_order_id = models.CharField(max_length=100, blank=True)
    transaction_status = models.CharField(max_length=50, blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="payment_notifications"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[*NotificationOutcome.values, ""]),
                name="payment_notification_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway_order_id or '?'} {self.transaction_status or '?'} ({self.outcome or 'new'})"


class MockTransaction(models.Model):
    """A transaction at the mock gateway: what Midtrans would keep on its side.

    `transaction_status` uses Midtrans's words (pending, settlement, capture, deny, cancel,
    expire, refund, partial_refund). Until the shopper picks a payment method on the mock
    page the status lookup answers 404, as Midtrans's does for a Snap order."""

    gateway_order_id = models.CharField(max_length=50, unique=True)
    token = models.CharField(max_length=64, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    gross_amount = models.PositiveBigIntegerField()
    transaction_id = models.CharField(max_length=36, unique=True)
    transaction_status = models.CharField(max_length=20, default="pending")
    fraud_status = models.CharField(max_length=20, blank=True)
    payment_type = models.CharField(max_length=50, blank=True)
    refund_amount = models.PositiveBigIntegerField(default=0)
    refund_keys = models.JSONField(default=list, blank=True)
    # What the card holder's bank took back (a partial chargeback names it in the answers).
    chargeback_amount = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.gateway_order_id} ({self.transaction_status})"
