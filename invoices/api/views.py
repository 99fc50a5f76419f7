from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from config.api.error_schema import domain_errors
from invoices import selectors, services
from invoices.api.serializers import InvoiceSerializer
from invoices.http import pdf_response
from invoices.models import CreditNote, Invoice
from invoices.storage import StorageUnavailable

DOCUMENT_NUMBER = r"[A-Za-z0-9-]{1,20}"

PDF_RESPONSES = {
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF, as an attachment."),
    404: OpenApiResponse(description="No such document among the caller's."),
    **domain_errors(StorageUnavailable),
}


class InvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    """A shopper's invoices (another user's is a 404); staff holding invoices.view_invoice see
    all. Newest first."""

    serializer_class = InvoiceSerializer
    lookup_field = "number"
    lookup_value_regex = DOCUMENT_NUMBER
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Invoice.objects.none()
        return selectors.invoice_list(user=self.request.user)

    @extend_schema(responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, number: str | None = None) -> FileResponse:
        """The invoice as a PDF (rendered now if it has not been yet)."""
        try:
            invoice = selectors.invoice_for_download(user=request.user, number=number)
        except Invoice.DoesNotExist:
            raise Http404 from None
        return pdf_response(services.invoice_pdf_open(invoice=invoice), invoice.pdf_filename)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "credit_note_number",
                {"type": "string", "pattern": f"^{DOCUMENT_NUMBER}$"},
                OpenApiParameter.PATH,
            )
        ],
        responses=PDF_RESPONSES,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"credit-notes/(?P<credit_note_number>{DOCUMENT_NUMBER})/pdf",
        url_name="credit-note-pdf",
    )
    def credit_note_pdf(
        self, request: Request, number: str | None = None, credit_note_number: str | None = None
    ) -> FileResponse:
        """A credit note of this invoice as a PDF."""
        try:
            credit_note = selectors.credit_note_get(
                user=request.user, invoice_number=number, number=credit_note_number
            )
        except CreditNote.DoesNotExist:
            raise Http404 from None
        return pdf_response(services.credit_note_pdf_open(credit_note=credit_note), credit_note.pdf_filename)
