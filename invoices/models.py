"""Invoices and credit notes: numbered, frozen documents (DESIGN.md §3, §8).

A document is written once, when it is issued, with a JSON snapshot of everything it
prints; the PDF is rendered from that snapshot alone, so it reads the same after the menu,
the prices or the customer's account change or disappear. After issue only the PDF fields
are filled in (once, or again by an explicit re-render) and an invoice's status records
that credit notes were issued against it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from invoices.storage import private_storage


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


# Number prefixes per series: INV-2026-000001, CN-2026-000001.
NUMBER_PREFIX = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}


class InvoiceSequence(models.Model):
    """The last number issued in one series for one calendar year (shop time zone).

    Locked with SELECT ... FOR UPDATE by the transaction that issues the next document,
    so numbers are handed out one at a time, in issue order, and a rolled-back issue gives
    its number back: the series has no gaps and no repeats."""

    kind = models.CharField(max_length=20, choices=DocumentKind.choices, verbose_name=_("kind"))
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    last_number = models.PositiveIntegerField(default=0, verbose_name=_("last number"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="invoice_sequence_unique_kind_year"),
            models.CheckConstraint(
                condition=models.Q(kind__in=DocumentKind.values), name="invoice_sequence_kind_valid"
            ),
        ]
        verbose_name = _("invoice sequence")
        verbose_name_plural = _("invoice sequences")

    def __str__(self) -> str:
        return f"{NUMBER_PREFIX[self.kind]}-{self.year}: {self.last_number}"


def document_upload_to(instance: "Document", filename: str) -> str:
    return f"{instance.UPLOAD_DIR}/{instance.year}/{filename}"


class Document(models.Model):
    """What invoices and credit notes share: number, snapshot and the rendered PDF."""

    UPLOAD_DIR = ""

    number = models.CharField(max_length=20, unique=True, verbose_name=_("number"))
    year = models.PositiveSmallIntegerField(
        help_text=_("Calendar year of issue in the shop's time zone."), verbose_name=_("year")
    )
    serial = models.PositiveIntegerField(
        help_text=_("Position in the year's series: 1, 2, 3 …"), verbose_name=_("serial")
    )
    issued_at = models.DateTimeField(verbose_name=_("issued at"))
    snapshot = models.JSONField(
        help_text=_("Everything the document prints, frozen at issue."), verbose_name=_("snapshot")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    pdf = models.FileField(
        storage=private_storage,
        upload_to=document_upload_to,
        max_length=200,
        blank=True,
        verbose_name=_("pdf"),
    )
    pdf_sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("pdf sha256"))
    pdf_size = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("pdf size"))
    rendered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("rendered at"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.number

    @property
    def pdf_filename(self) -> str:
        return f"{self.number}.pdf"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    PARTIALLY_CREDITED = "partially_credited", _("Partially credited")
    CREDITED = "credited", _("Credited")


class Invoice(Document):
    Status = InvoiceStatus

    KIND = DocumentKind.INVOICE
    UPLOAD_DIR = "invoices"

    # PROTECT: an invoice outlives nothing it documents; orders are never deleted while
    # they have one (a data reset deletes the invoices first).
    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="invoice", verbose_name=_("order")
    )
    total = models.PositiveBigIntegerField(verbose_name=_("total"))
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED, verbose_name=_("status")
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "serial"], name="invoice_unique_year_serial"),
            models.CheckConstraint(
                condition=models.Q(status__in=InvoiceStatus.values), name="invoice_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["-issued_at", "-id"], name="invoice_recent")]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")


class CreditNote(Document):
    """A refund (full or partial) against an invoice, which itself stays as issued."""

    KIND = DocumentKind.CREDIT_NOTE
    UPLOAD_DIR = "credit-notes"

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("invoice")
    )
    amount = models.PositiveBigIntegerField(verbose_name=_("amount"))
    # The tax this refund gives back (orders.totals.refund_split): the tax report's credit.
    tax = models.PositiveBigIntegerField(default=0, verbose_name=_("tax"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    # The gateway's (or staff's) reference of the refund: one credit note per reference.
    refund_reference = models.CharField(max_length=255, blank=True, verbose_name=_("refund reference"))

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "serial"], name="credit_note_unique_year_serial"),
            models.UniqueConstraint(
                fields=["invoice", "refund_reference"],
                condition=~models.Q(refund_reference=""),
                name="credit_note_unique_refund_reference",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_note_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(tax__lte=models.F("amount")), name="credit_note_tax_within_amount"
            ),
        ]
        # The tax report: the credit notes issued in a month.
        indexes = [models.Index(fields=["issued_at"], name="credit_note_issued_at")]
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
