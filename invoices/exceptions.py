from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, DomainError


class OrderNotPaid(Conflict):
    code = "order_not_paid"
    default_detail = _("Only a paid order gets an invoice.")
    body_fields = {"order": {"type": "string"}, "status": {"$ref": "#/components/schemas/OrderStatusEnum"}}


class InvalidCreditAmount(DomainError):
    code = "invalid_credit_amount"
    default_detail = _("A credit note is for a positive whole number of rupiah.")
    body_fields = {"amount": {"description": "The amount given: not a positive whole number."}}


class CreditExceedsInvoice(Conflict):
    """`invoice`, `total`, `credited` and `remaining` say how much may still be credited."""

    code = "credit_exceeds_invoice"
    default_detail = _("The credit notes of an invoice may not add up to more than its total.")
    body_fields = {
        "invoice": {"type": "string"},
        "total": {"type": "integer"},
        "credited": {"type": "integer"},
        "remaining": {"type": "integer"},
    }


class RefundReferenceReused(Conflict):
    code = "refund_reference_reused"
    default_detail = _("This refund already has a credit note, for another amount.")
    body_fields = {
        "refund_reference": {"type": "string"},
        "credit_note": {"type": "string"},
        "amount": {"type": "integer"},
    }
