from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from invoices.models import CreditNote, Invoice


def _absolute(request, name: str, **kwargs: str) -> str:
    """An absolute URL, as the schema promises (format uri): on the request's host, or on
    PUBLIC_BASE_URL for a body made outside a request's context (a stored checkout answer)."""
    if request is None:
        return settings.PUBLIC_BASE_URL + reverse(name, kwargs=kwargs)
    return reverse(name, kwargs=kwargs, request=request)


class CreditNoteSerializer(serializers.ModelSerializer):
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = CreditNote
        fields = ["number", "issued_at", "amount", "currency", "reason", "pdf_url"]

    def get_pdf_url(self, credit_note: CreditNote) -> str:
        return _absolute(
            self.context.get("request"),
            "invoice-credit-note-pdf",
            number=credit_note.invoice.number,
            credit_note_number=credit_note.number,
        )


class InvoiceSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number")
    credited = serializers.SerializerMethodField(help_text="Rupiah credited so far by credit notes.")
    pdf_url = serializers.SerializerMethodField()
    credit_notes = CreditNoteSerializer(many=True)

    class Meta:
        model = Invoice
        fields = [
            "number",
            "order_number",
            "issued_at",
            "total",
            "currency",
            "status",
            "credited",
            "pdf_url",
            "credit_notes",
        ]

    def get_credited(self, invoice: Invoice) -> int:
        return sum(note.amount for note in invoice.credit_notes.all())  # prefetched by the selector

    def get_pdf_url(self, invoice: Invoice) -> str:
        return _absolute(self.context.get("request"), "invoice-pdf", number=invoice.number)


def invoice_ref_data(invoice: Invoice, *, request=None) -> dict:
    """`InvoiceRefSerializer(invoice, context={"request": request}).data` built directly."""
    return {"number": invoice.number, "pdf_url": _absolute(request, "invoice-pdf", number=invoice.number)}


class InvoiceRefSerializer(serializers.Serializer):
    """An order's invoice, as the order shows it: `{number, pdf_url}`."""

    number = serializers.CharField()
    pdf_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_pdf_url(self, invoice: Invoice) -> str:
        return _absolute(self.context.get("request"), "invoice-pdf", number=invoice.number)
