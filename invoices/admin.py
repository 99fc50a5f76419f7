"""Invoices and credit notes for staff: read-only (documents are never edited after issue),
with PDF downloads served by the admin itself and an action that re-renders PDFs from
their snapshots through the same services as everything else."""

import json
from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from config.admin_mixins import ReadOnlyAdminMixin
from config.money import rupiah
from invoices import services
from invoices.http import pdf_response
from invoices.models import CreditNote, Invoice
from invoices.templatetags.invoice_format import shop_datetime
from orders.api.reports import SalesQuerySerializer, csv_response, local_bounds

# bandit B308 (mark_safe): a constant tag, no input in it.
LINE_BREAK = mark_safe("<br>")  # nosec B308


# The documents CSV (`invoices_export_view`): invoices with their order's money, credit notes
# with the amount and tax they give back, by time of issue.
DOCUMENT_COLUMNS = [
    "document",
    "number",
    "issued_at",
    "order",
    "invoice",
    "customer_email",
    "subtotal",
    "discount",
    "service_charge",
    "tax",
    "packaging",
    "rounding",
    "total",
    "credited",
    "status",
    "reason",
    "refund_reference",
]
ORDER_MONEY = ["subtotal", "discount", "service_charge", "tax", "packaging", "rounding"]


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()


def documents_rows(start: datetime, end: datetime) -> list[dict]:
    """The invoices and credit notes issued in [start, end), by issue time (two queries)."""
    invoices = (
        Invoice.objects.filter(issued_at__gte=start, issued_at__lt=end)
        .annotate(
            order_number=F("order__number"),
            customer_email=F("order__customer_email"),
            credited=Coalesce(Sum("credit_notes__amount"), 0),
            **{f"order_{name}": F(f"order__{name}") for name in ORDER_MONEY},
        )
        .order_by("issued_at", "id")
    )
    notes = (
        CreditNote.objects.filter(issued_at__gte=start, issued_at__lt=end)
        .annotate(
            invoice_number=F("invoice__number"),
            order_number=F("invoice__order__number"),
            customer_email=F("invoice__order__customer_email"),
        )
        .order_by("issued_at", "id")
    )
    rows = [
        (
            invoice.issued_at,
            {
                "document": "invoice",
                "number": invoice.number,
                "issued_at": _local(invoice.issued_at),
                "order": invoice.order_number,
                "invoice": invoice.number,
                "customer_email": invoice.customer_email,
                **{name: getattr(invoice, f"order_{name}") for name in ORDER_MONEY},
                "total": invoice.total,
                "credited": invoice.credited,
                "status": invoice.status,
            },
        )
        for invoice in invoices
    ]
    rows += [
        (
            note.issued_at,
            {
                "document": "credit_note",
                "number": note.number,
                "issued_at": _local(note.issued_at),
                "order": note.order_number,
                "invoice": note.invoice_number,
                "customer_email": note.customer_email,
                "tax": note.tax,
                "total": note.amount,
                "reason": note.reason,
                "refund_reference": note.refund_reference,
            },
        )
        for note in notes
    ]
    return [row for _, row in sorted(rows, key=lambda pair: pair[0])]


def count_invoices(n: int) -> str:
    return ngettext("%(n)d invoice", "%(n)d invoices", n) % {"n": n}


def pdf_link(url: str, document: Invoice | CreditNote) -> str:
    state = "" if document.pdf else " (rendered on first download)"
    return format_html('<a href="{}">{}</a>{}', url, document.pdf_filename, state)


class CreditNoteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CreditNote
    fields = ["number", "issued_at", "amount_display", "reason", "refund_reference", "download"]
    readonly_fields = fields
    ordering = ["issued_at", "id"]
    extra = 0

    @admin.display(description=_("Amount"))
    def amount_display(self, credit_note: CreditNote) -> str:
        return rupiah(credit_note.amount)

    @admin.display(description=_("PDF"))
    def download(self, credit_note: CreditNote) -> str:
        return pdf_link(reverse("admin:invoices_creditnote_pdf", args=[credit_note.pk]), credit_note)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "order_link", "customer", "total_display", "issued_at", "status", "download"]
    list_filter = ["status", "year"]
    list_select_related = ["order"]
    search_fields = ["number", "order__number", "order__customer_email", "order__customer_name"]
    date_hierarchy = "issued_at"
    actions = ["rerender_pdf"]
    fieldsets = [
        (None, {"fields": ["number", "order_link", "status", "issued_at", "total_display", "currency"]}),
        (_("As printed"), {"fields": ["seller", "customer", "lines", "payment"]}),
        (_("PDF"), {"fields": ["download", "pdf_sha256", "pdf_size", "rendered_at"]}),
        (_("Snapshot"), {"fields": ["snapshot_json"], "classes": ["collapse"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [CreditNoteInline]

    def has_rerender_permission(self, request: HttpRequest) -> bool:
        """Re-rendering rewrites no document data, only its PDF: viewing staff may do it."""
        return self.has_view_permission(request)

    # --- columns and fields -------------------------------------------------------------

    @admin.display(description=_("Order"), ordering="order__number")
    def order_link(self, invoice: Invoice) -> str:
        url = reverse("admin:orders_order_change", args=[invoice.order_id])
        return format_html('<a href="{}">{}</a>', url, invoice.order.number)

    @admin.display(description=_("Customer"), ordering="order__customer_email")
    def customer(self, invoice: Invoice) -> str:
        buyer = invoice.snapshot["buyer"]
        return format_html("{}<br>{}", buyer["name"] or "—", buyer["email"])

    @admin.display(description=_("Total"), ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return rupiah(invoice.total)

    @admin.display(description=_("PDF"))
    def download(self, invoice: Invoice) -> str:
        return pdf_link(reverse("admin:invoices_invoice_pdf", args=[invoice.pk]), invoice)

    @admin.display(description=_("Seller"))
    def seller(self, invoice: Invoice) -> str:
        seller = invoice.snapshot["seller"]
        return format_html_join(LINE_BREAK, "{}", ((v,) for v in seller.values() if v))

    @admin.display(description=_("Lines"))
    def lines(self, invoice: Invoice) -> str:
        rows = []
        for line in invoice.snapshot["lines"]:
            unit, total = rupiah(line["unit_price"]), rupiah(line["line_total"])
            rows.append(
                gettext("%(quantity)s x %(name)s at %(unit)s = %(total)s")
                % {"quantity": line["quantity"], "name": line["name"], "unit": unit, "total": total}
            )
            rows.extend(
                "\u2003— "
                + gettext("%(quantity)s x %(name)s (per bundle)")
                % {"quantity": c["quantity"], "name": c["name"]}
                for c in line["components"]
            )
        return format_html_join(LINE_BREAK, "{}", ((row,) for row in rows))

    @admin.display(description=_("Payment"))
    def payment(self, invoice: Invoice) -> str:
        payment = invoice.snapshot["payment"]
        return format_html(
            "{} {} {}<br>{} {}<br>{} {}",
            payment["method_label"],
            gettext("via"),
            payment["gateway_label"] or "—",
            gettext("Transaction"),
            payment["transaction_id"] or "—",
            gettext("Paid at"),
            shop_datetime(payment["paid_at"]),
        )

    @admin.display(description=_("Snapshot (JSON)"))
    def snapshot_json(self, invoice: Invoice) -> str:
        return format_html("<pre>{}</pre>", json.dumps(invoice.snapshot, indent=2, ensure_ascii=False))

    # --- actions ------------------------------------------------------------------------

    @admin.action(description=_("Re-render PDF (with its credit notes)"), permissions=["rerender"])
    def rerender_pdf(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        done, failed = 0, []
        for invoice in queryset.prefetch_related("credit_notes"):
            try:
                services.invoice_render_pdf(invoice=invoice, force=True)
                for credit_note in invoice.credit_notes.all():
                    services.credit_note_render_pdf(credit_note=credit_note, force=True)
            except Exception as exc:  # reported to staff; the other invoices still go
                failed.append(f"{invoice.number}: {exc}")
            else:
                done += 1
        if done:
            self.message_user(
                request,
                gettext("Re-rendered %(invoices)s.") % {"invoices": count_invoices(done)},
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request, gettext("Failed: %(failures)s") % {"failures": " ".join(failed)}, messages.ERROR
            )

    # --- downloads ----------------------------------------------------------------------

    def get_urls(self):
        invoice_pdf = self.admin_site.admin_view(self.invoice_pdf_view)
        credit_note_pdf = self.admin_site.admin_view(self.credit_note_pdf_view)
        export = self.admin_site.admin_view(self.export_view)
        # Most specific first: `<path:object_id>/pdf/` would swallow `credit-notes/<pk>/pdf/`,
        # and the defaults' `<path:object_id>/` would swallow both.
        return [
            path("export.csv", export, name="invoices_invoice_export"),
            path("credit-notes/<int:pk>/pdf/", credit_note_pdf, name="invoices_creditnote_pdf"),
            path("<path:object_id>/pdf/", invoice_pdf, name="invoices_invoice_pdf"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """`?date_from=&date_to=` (shop's dates, both included): the invoices and credit
        notes issued then, as CSV, as the orders export (orders/admin/reports.py) does."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = SalesQuerySerializer(data={"group": "day", **request.GET.dict()})
        if not query.is_valid():
            return HttpResponse(str(dict(query.errors)), status=400, content_type="text/plain; charset=utf-8")
        first, last = query.validated_data["date_from"], query.validated_data["date_to"]
        rows = documents_rows(*local_bounds(first, last))
        return csv_response(rows, DOCUMENT_COLUMNS, f"invoices-{first}-{last}.csv")

    def invoice_pdf_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None:
            raise Http404
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return pdf_response(services.invoice_pdf_open(invoice=invoice), invoice.pdf_filename)

    def credit_note_pdf_view(self, request: HttpRequest, pk: int) -> FileResponse:
        credit_note = get_object_or_404(CreditNote.objects.select_related("invoice"), pk=pk)
        if not self.has_view_permission(request, credit_note.invoice):
            raise PermissionDenied
        return pdf_response(services.credit_note_pdf_open(credit_note=credit_note), credit_note.pdf_filename)
