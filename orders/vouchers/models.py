from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.totals import Discount


class Voucher(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        FIXED = "fixed", _("Rupiah off")

    # Stored upper-case (a CHECK holds it), so codes are case-insensitive and unique as such.
    code = models.CharField(max_length=32, unique=True, verbose_name=_("code"))
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    value = models.PositiveIntegerField(
        help_text=_("Whole percent (1-100) or rupiah."), verbose_name=_("value")
    )
    max_discount = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Cap on a percent voucher."), verbose_name=_("max discount")
    )
    min_subtotal = models.PositiveBigIntegerField(default=0, verbose_name=_("min subtotal"))
    starts_at = models.DateTimeField(null=True, blank=True, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    usage_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Uses in all; empty: no limit."), verbose_name=_("usage limit")
    )
    # Uses taken and not given back; only the conditional UPDATEs in services.py move it.
    used = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("used"))
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("per customer limit")
    )
    first_order_only = models.BooleanField(default=False, verbose_name=_("first order only"))
    categories = models.ManyToManyField(
        "catalog.Category",
        blank=True,
        related_name="+",
        help_text=_("Only these categories' lines; none: all."),
        verbose_name=_("categories"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")

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

    voucher = models.ForeignKey(
        Voucher, on_delete=models.PROTECT, related_name="uses", verbose_name=_("voucher")
    )
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="voucher_use", verbose_name=_("order")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("user"),
    )
    amount = models.PositiveBigIntegerField(verbose_name=_("amount"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released at"))

    class Meta:
        app_label = "orders"
        indexes = [models.Index(fields=["voucher", "user"], name="voucher_use_per_customer")]
        verbose_name = _("voucher use")
        verbose_name_plural = _("voucher uses")

    def __str__(self) -> str:
        return f"{self.voucher} on {self.order_id}"


class AppliedVoucher(models.Model):
    """The voucher a shopper applied to their cart (one at a time), taken at checkout."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    voucher = models.ForeignKey(
        Voucher, on_delete=models.CASCADE, related_name="+", verbose_name=_("voucher")
    )
    applied_at = models.DateTimeField(default=timezone.now, verbose_name=_("applied at"))

    class Meta:
        app_label = "orders"
        verbose_name = _("applied voucher")
        verbose_name_plural = _("applied vouchers")

    def __str__(self) -> str:
        return f"{self.voucher} in {self.user_id}'s cart"
