"""The shop's settings: one row (a singleton, pk 1) holding the charges an order is priced
with (orders/totals.py computes them). Staff change it in the admin ("Shop settings") or
with `PATCH shop/settings/`; a change applies to orders placed afterwards, since every order
snapshots the charges it was priced with.

A fresh database has no row and prices with the defaults: no service charge, no tax, no
packaging fee, rounding to the rupiah, so total = subtotal. Only `seed` sets the demo
values (PB1 10% on the subtotal plus a 5% service charge, rounding to Rp 100)."""

from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.setup import setup_changed
from orders.totals import (
    ROUNDING_UNITS,
    TAX_BASE_SUBTOTAL,
    TAX_BASE_SUBTOTAL_AND_SERVICE,
    ChargeSettings,
)

SINGLETON_PK = 1
MAX_RATE_BP = 10_000  # 100%: a sane ceiling (PB1/PBJT is at most 10%, PPN 12%)


class TaxName(models.TextChoices):
    PB1 = "PB1", _("PB1 (Pajak Restoran)")
    PBJT = "PBJT", _("PBJT (Pajak Barang dan Jasa Tertentu)")
    PPN = "PPN", _("PPN (Pajak Pertambahan Nilai)")


class TaxBase(models.TextChoices):
    SUBTOTAL = TAX_BASE_SUBTOTAL, _("Subtotal")
    SUBTOTAL_AND_SERVICE = TAX_BASE_SUBTOTAL_AND_SERVICE, _("Subtotal and service charge")


class RoundingUnit(models.IntegerChoices):
    RUPIAH = 1, _("Rp 1 (no rounding)")
    HUNDRED = 100, _("Rp 100")
    FIVE_HUNDRED = 500, _("Rp 500")


class ShopSettings(models.Model):
    id = models.PositiveSmallIntegerField(
        primary_key=True, default=SINGLETON_PK, editable=False, verbose_name=_("id")
    )
    service_charge_bp = models.PositiveIntegerField(
        _("service charge (basis points)"),
        default=0,
        validators=[MaxValueValidator(MAX_RATE_BP)],
        help_text=_("500 = 5%. 0: no service charge."),
    )
    tax_name = models.CharField(
        max_length=8, choices=TaxName.choices, default=TaxName.PB1, verbose_name=_("tax name")
    )
    tax_rate_bp = models.PositiveIntegerField(
        _("tax rate (basis points)"),
        default=0,
        validators=[MaxValueValidator(MAX_RATE_BP)],
        help_text=_("1000 = 10% (PB1/PBJT); PPN 12% on a base of 11/12 is 1100. 0: no tax."),
    )
    tax_base = models.CharField(
        max_length=24,
        choices=TaxBase.choices,
        default=TaxBase.SUBTOTAL_AND_SERVICE,
        verbose_name=_("tax base"),
    )
    prices_include_tax = models.BooleanField(
        default=False,
        help_text=_("Menu prices already hold the tax: it is extracted, not added."),
        verbose_name=_("prices include tax"),
    )
    packaging_fee = models.PositiveBigIntegerField(
        default=0, help_text=_("Rupiah per order; 0: none."), verbose_name=_("packaging fee")
    )
    rounding_unit = models.PositiveIntegerField(
        choices=RoundingUnit.choices,
        default=RoundingUnit.RUPIAH,
        help_text=_("The total is rounded half up to this; the difference is a rounding line."),
        verbose_name=_("rounding unit"),
    )
    tax_registration_number = models.CharField(
        max_length=32,
        blank=True,
        help_text=_("NPWPD for PB1/PBJT, NPWP for PPN; printed on invoices when set."),
        verbose_name=_("tax registration number"),
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        app_label = "orders"
        verbose_name = _("shop settings")
        verbose_name_plural = _("shop settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=SINGLETON_PK), name="shop_settings_singleton"),
            models.CheckConstraint(
                condition=models.Q(service_charge_bp__lte=MAX_RATE_BP, tax_rate_bp__lte=MAX_RATE_BP),
                name="shop_settings_rates_at_most_100_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(rounding_unit__in=ROUNDING_UNITS), name="shop_settings_rounding_unit_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(tax_base__in=TaxBase.values), name="shop_settings_tax_base_valid"
            ),
        ]

    def __str__(self) -> str:
        return "Shop settings"

    def charge_settings(self) -> ChargeSettings:
        return ChargeSettings(
            service_charge_bp=self.service_charge_bp,
            tax_name=self.tax_name,
            tax_rate_bp=self.tax_rate_bp,
            tax_base=self.tax_base,
            prices_include_tax=self.prices_include_tax,
            packaging_fee=self.packaging_fee,
            rounding_unit=self.rounding_unit,
        )


EDITABLE_FIELDS = (
    "service_charge_bp",
    "tax_name",
    "tax_rate_bp",
    "tax_base",
    "prices_include_tax",
    "packaging_fee",
    "rounding_unit",
    "tax_registration_number",
)


def shop_settings_get() -> ShopSettings:
    """The settings row, or (before staff ever saved one) the defaults, unsaved: a read never
    writes."""
    return ShopSettings.objects.filter(pk=SINGLETON_PK).first() or ShopSettings()


@transaction.atomic
def shop_settings_update(**changes) -> ShopSettings:
    """Change some of EDITABLE_FIELDS (already validated); makes the row on the first change.
    Orders placed before keep the charges they snapshotted."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not shop settings: {sorted(unknown)}")
    row, _ = ShopSettings.objects.select_for_update().get_or_create(pk=SINGLETON_PK)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = timezone.now()
    row.full_clean()
    row.save()
    setup_changed()
    return row


# `seed`'s demo shop: PB1 10% on the subtotal and the 5% service charge, rounded to Rp 100.
DEMO_CHARGES = {"service_charge_bp": 500, "tax_name": "PB1", "tax_rate_bp": 1_000, "rounding_unit": 100}


def shop_settings_seed_demo() -> bool:
    """Set the demo charges unless staff ever saved the settings (then they are kept).
    Returns whether it set them."""
    if ShopSettings.objects.exists():
        return False
    shop_settings_update(**DEMO_CHARGES)
    return True
