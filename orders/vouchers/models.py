from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from orders.totals import Discount


class Voucher(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Rupiah off"

    # Stored upper-case (a CHECK holds it), so codes are case-insensitive and unique as such.
    code = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.PositiveIntegerField(help_text="Whole percent (1-100) or rupiah.")
    max_discount = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Cap on a percent voucher."
    )
    min_subtotal = models.PositiveBigIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Uses in all; empty: no limit."
    )
    # Uses taken and not given back; only the conditional UPDATEs in services.py move it.
    used = models.PositiveIntegerField(default=0, editable=False)
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    first_order_only = models.BooleanField(default=False)
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text="Only these categories' lines; none: all."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "orders"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(code=Upper("code")), name="voucher_code_upper"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["percent", "fixed"]), name="voucher_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=1) & (models.Q(kind="fixed") | models.Q(value__lte=100)),
                name="voucher_value_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(usage_limit__isnull=True) | models.Q(used__lte=models.F("usage_limit")),
                name="voucher_used_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def discount_terms(self) -> Discount:
        """For orders/totals.py; categories must be prefetched."""
        return Discount(
            kind=self.kind,
            value=self.value,
            max_discount=self.max_discount,
            categories=frozenset(c.slug for c in self.categories.all()),
        )


class VoucherUse(models.Model):
    """One use of a voucher by one order: taken at checkout, given back (released_at) when
    the order is cancelled or expires; a refunded order keeps it."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="uses")
    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="voucher_use")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    amount = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "orders"
        indexes = [models.Index(fields=["voucher", "user"], name="voucher_use_per_customer")]

    def __str__(self) -> str:
        return f"{self.voucher} on {self.order_id}"


class AppliedVoucher(models.Model):
    """The voucher a shopper applied to their cart (one at a time), taken at checkout."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="+")
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "orders"

    def __str__(self) -> str:
        return f"{self.voucher} in {self.user_id}'s cart"
