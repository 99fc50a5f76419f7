"""Staff's decision on a card payment that fraud detection challenged (`capture` with
`fraud_status: challenge`): approve or deny it at the gateway (Midtrans's Approve and Deny
Transaction, `/v2/{id}/approve|deny`), then apply the gateway's answer through
`payment_apply` (an approval pays the order; a denial fails the attempt)."""

from django.utils.translation import gettext as _

from orders.services import Actor
from payments.exceptions import PaymentGatewayError, PaymentGatewayUnavailable, ReviewNotAllowed
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import MalformedAnswer, answer_parse
from payments.models import Payment
from payments.services.apply import payment_apply

P = Payment.Status


def payment_review(*, payment: Payment, approve: bool, actor: Actor) -> Payment:
    """Approve (`approve=True`) or deny a challenged attempt at the gateway and apply the
    answer; returns the attempt as it now is. ReviewNotAllowed (409) when it is not
    challenged or went through another gateway; PaymentGatewayError (502/503) when the
    gateway refuses or cannot be reached. Nothing changes on a refusal."""
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status != P.CHALLENGE:
        raise ReviewNotAllowed(
            _("Only a challenged payment can be reviewed; this one is %(status)s.")
            % {"status": payment.status}
        )
    gateway = get_gateway()
    if payment.gateway != gateway.name:
        raise ReviewNotAllowed(
            _("This payment went through %(gateway)s, which is not the configured gateway.")
            % {"gateway": payment.gateway}
        )
    decide = gateway.approve if approve else gateway.deny
    try:
        answer = answer_parse(decide(gateway_order_id=payment.gateway_order_id))
    except GatewayError as exc:
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(
            _("The review of %(payment)s failed: %(reason)s")
            % {"payment": payment.gateway_order_id, "reason": exc.message}
        ) from None
    except MalformedAnswer as exc:
        raise PaymentGatewayError(
            f"The review answer for {payment.gateway_order_id} is unreadable: {exc}"
        ) from None
    payment_apply(payment_id=payment.pk, answer=answer, actor=actor, source="approve" if approve else "deny")
    payment.refresh_from_db()
    return payment
