from http import HTTPStatus

from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, DomainError, NotFound


class PaymentGatewayError(DomainError):
    """The gateway refused to open or change a payment. The order is as it was."""

    status = HTTPStatus.BAD_GATEWAY
    code = "payment_gateway_error"
    default_detail = _("The payment gateway refused the request.")
    body_fields = {"order": {"type": "string", "description": "The order's number; it is as it was."}}
    body_optional = frozenset({"order"})  # absent from a staff refund or reconcile


class PaymentGatewayUnavailable(PaymentGatewayError):
    """The gateway could not be reached or did not answer in time; retrying may work."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = _("The payment gateway cannot be reached right now; please try again.")


class PaymentNotAllowed(Conflict):
    code = "payment_not_allowed"
    default_detail = _("This order cannot be paid now.")
    body_fields = {"status": {"$ref": "#/components/schemas/OrderStatusEnum"}}
    body_optional = frozenset({"status"})


class PaymentOpening(Conflict):
    code = "payment_opening"
    default_detail = _("A payment for this order is being opened; try again in a moment.")


class NothingToRecheck(Conflict):
    code = "nothing_to_recheck"
    default_detail = _("This order has no payment the gateway knows of.")


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"
    default_detail = _("This payment cannot be refunded.")


class MockTransactionNotFound(NotFound):
    pass


class MockTransactionClosed(Conflict):
    code = "mock_transaction_closed"
    default_detail = _("This mock transaction is no longer waiting for payment.")
    body_fields = {"status": {"type": "string", "description": "The transaction's status (Midtrans')."}}


class RefundNotSupported(Conflict):
    """The gateway cannot refund this payment type; staff may record an offline refund."""

    code = "refund_not_supported"
    default_detail = _("The payment gateway cannot refund this payment type.")
    body_fields = {"payment_type": {"type": "string", "description": "The payment's type at the gateway."}}


class ReviewNotAllowed(Conflict):
    code = "review_not_allowed"
    default_detail = _("Only a payment that fraud detection challenged can be approved or denied.")
