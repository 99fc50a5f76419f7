"""Payment attempts, the raw log of gateway notifications, and the mock gateway's own
transactions (DESIGN.md §3, §7).

Only `payments.services` writes these rows (the mock's through `payments.gateways.mock`).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PaymentGateway(models.TextChoices):
    MIDTRANS = "midtrans", _("Midtrans")
    MOCK = "mock", _("Mock gateway")


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
    PARTIAL_CHARGEBACK = "partial_chargeback", _("Partially charged back")


# Statuses of an attempt that holds money the order keeps (when it is not `needs_refund`).
MONEY_HELD_STATUSES = (
    PaymentStatus.SETTLED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.PARTIAL_CHARGEBACK,
)


class NotificationOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    DUPLICATE = "duplicate", _("Duplicate (nothing new)")
    IGNORED = "ignored", _("Ignored")
    REJECTED = "rejected", _("Rejected")
    ERROR = "error", _("Error")


class Payment(models.Model):
    """One attempt to pay an order at the gateway: `{order.number}-{attempt}` there.

    `status` follows the gateway's answers, forward only (`payments.decide.PAYMENT_TRANSITIONS`).
    Whether the attempt paid the order is a separate matter: a settlement that arrives too
    late (stock gone), a second one for an order already paid, or one whose amount does not
    match is recorded as settled and flagged `needs_refund`, and never counts for the order.
    """

    Gateway = PaymentGateway
    Status = PaymentStatus

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="payments", verbose_name=_("order")
    )
    attempt = models.PositiveIntegerField(verbose_name=_("attempt"))
    gateway = models.CharField(max_length=20, choices=PaymentGateway.choices, verbose_name=_("gateway"))
    gateway_order_id = models.CharField(
        max_length=50,
        unique=True,
        help_text=_("The order id the gateway knows: {order number}-{attempt}."),
        verbose_name=_("gateway order id"),
    )
    amount = models.PositiveBigIntegerField(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, default="IDR", verbose_name=_("currency"))
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, verbose_name=_("status")
    )
    # Empty while the gateway is being asked (or when asking failed: see `open_error`).
    token = models.CharField(max_length=255, blank=True, verbose_name=_("token"))
    redirect_url = models.URLField(max_length=500, blank=True, verbose_name=_("redirect url"))
    expires_at = models.DateTimeField(
        help_text=_("End of the payment window the gateway was given."), verbose_name=_("expires at")
    )
    open_error = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Why the gateway could not open this attempt."),
        verbose_name=_("open error"),
    )
    transaction_id = models.CharField(max_length=100, blank=True, verbose_name=_("transaction id"))
    payment_type = models.CharField(max_length=50, blank=True, verbose_name=_("payment type"))
    refunded_amount = models.PositiveBigIntegerField(default=0, verbose_name=_("refunded amount"))
    fee_amount = models.PositiveBigIntegerField(
        default=0,
        help_text=_("Fee the shopper paid on top (Midtrans fee imposition); not the order's money."),
        verbose_name=_("fee amount"),
    )
    chargeback_amount = models.PositiveBigIntegerField(
        default=0,
        help_text=_("What the card holder's bank took back after settlement."),
        verbose_name=_("chargeback amount"),
    )
    va_numbers = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Virtual account numbers the gateway reported: [[bank, number]]."),
        verbose_name=_("va numbers"),
    )
    # The last answer (notification or status API) that was applied, as received.
    raw_status = models.JSONField(default=dict, blank=True, verbose_name=_("raw status"))
    needs_refund = models.BooleanField(
        default=False,
        help_text=_("Money was taken that the order does not keep: staff must refund it."),
        verbose_name=_("needs refund"),
    )
    flag_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Why staff should look at this attempt (empty: nothing to see)."),
        verbose_name=_("flag reason"),
    )
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("settled at"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

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
    raw_body = models.TextField(blank=True, verbose_name=_("raw body"))
    body_size = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Bytes received."), verbose_name=_("body size")
    )
    body_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("SHA-256 of the bytes received."),
        verbose_name=_("body sha256"),
    )
    payload = models.JSONField(
        null=True, blank=True, help_text=_("The body parsed, when it was JSON."), verbose_name=_("payload")
    )
    signature_valid = models.BooleanField(
        null=True, help_text=_("Empty: not checked (malformed body)."), verbose_name=_("signature valid")
    )
    outcome = models.CharField(
        max_length=20, choices=NotificationOutcome.choices, blank=True, verbose_name=_("outcome")
    )
    detail = models.CharField(max_length=500, blank=True, verbose_name=_("detail"))
    http_status = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("http status"))
    gateway_order_id = models.CharField(max_length=100, blank=True, verbose_name=_("gateway order id"))
    transaction_status = models.CharField(max_length=50, blank=True, verbose_name=_("transaction status"))
    payment = models.ForeignKey(
        Payment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("payment"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payment_notifications",
        verbose_name=_("order"),
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("received at"))

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[*NotificationOutcome.values, ""]),
                name="payment_notification_outcome_valid",
            ),
        ]
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")

    def __str__(self) -> str:
        return f"{self.gateway_order_id or '?'} {self.transaction_status or '?'} ({self.outcome or 'new'})"


class MockTransaction(models.Model):
    """A transaction at the mock gateway: what Midtrans would keep on its side.

    `transaction_status` uses Midtrans's words (pending, settlement, capture, deny, cancel,
    expire, refund, partial_refund). Until the shopper picks a payment method on the mock
    page the status lookup answers 404, as Midtrans's does for a Snap order."""

    gateway_order_id = models.CharField(max_length=50, unique=True, verbose_name=_("gateway order id"))
    token = models.CharField(max_length=64, unique=True, verbose_name=_("token"))
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order")
    )
    gross_amount = models.PositiveBigIntegerField(verbose_name=_("gross amount"))
    transaction_id = models.CharField(max_length=36, unique=True, verbose_name=_("transaction id"))
    transaction_status = models.CharField(
        max_length=20, default="pending", verbose_name=_("transaction status")
    )
    fraud_status = models.CharField(max_length=20, blank=True, verbose_name=_("fraud status"))
    payment_type = models.CharField(max_length=50, blank=True, verbose_name=_("payment type"))
    refund_amount = models.PositiveBigIntegerField(default=0, verbose_name=_("refund amount"))
    refund_keys = models.JSONField(default=list, blank=True, verbose_name=_("refund keys"))
    # What the card holder's bank took back (a partial chargeback names it in the answers).
    chargeback_amount = models.PositiveBigIntegerField(default=0, verbose_name=_("chargeback amount"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("mock transaction")
        verbose_name_plural = _("mock transactions")

    def __str__(self) -> str:
        return f"{self.gateway_order_id} ({self.transaction_status})"
