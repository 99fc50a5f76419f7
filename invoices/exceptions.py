from config.errors import Conflict, DomainError


class OrderNotPaid(Conflict):
    code = "order_not_paid"
    default_detail = "Only a paid order gets an invoice."


class InvalidCreditAmount(DomainError):
    code = "invalid_credit_amount"
    default_detail = "A credit note is for a positive whole number of rupiah."


class CreditExceedsInvoice(Conflict):
    """`invoice`, `total`, `credited` and `remaining` say how much may still be credited."""

    code = "credit_exceeds_invoice"
    default_detail = "The credit notes of an invoice may not add up to more than its total."


class RefundReferenceReused(Conflict):
    code = "refund_reference_reused"
    default_detail = "This refund already has a credit note, for another amount."
