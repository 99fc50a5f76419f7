"""Refunds staff start from the admin: asked of the gateway, its answer applied through
`payment_apply` (which records the refund on the order: `payments.settlement`)."""

from orders.services import Actor
from payments.exceptions import PaymentGatewayError, PaymentGatewayUnavailable, RefundNotAllowed
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import MalformedAnswer, answer_parse
from payments.models import Payment
from payments.services.apply import MONEY_HELD, payment_apply

P = Payment.Status


def payment_refund(*, payment: Payment, actor: Actor, reason: str = "Refund by staff.") -> Payment:
    """Refund what is left of a settled attempt through the gateway, then apply the
    gateway's answer (the order follows it: refunded when this attempt paid it).

    The refund key is derived from what was already refunded, so a repeated or concurrent
    request is refused by the gateway instead of refunding twice. Raises RefundNotAllowed
    when the attempt holds no money or the gateway did not confirm the refund."""
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status not in MONEY_HELD:
        raise RefundNotAllowed(f"A payment that is {P(payment.status).label.lower()} cannot be refunded.")
    gateway = get_gateway()
    if payment.gateway != gateway.name:
        raise RefundNotAllowed(
            f"This payment went through {payment.gateway}, which is not the configured gateway."
        )
    remaining = payment.amount - payment.refunded_amount
    try:
        raw = gateway.refund(
            gateway_order_id=payment.gateway_order_id,
            amount=remaining,
            refund_key=f"{payment.gateway_order_id}-refund-{payment.refunded_amount}",
            reason=reason,
        )
        answer = answer_parse(raw)
    except GatewayError as exc:
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(f"The refund of {payment.gateway_order_id} failed: {exc.message}") from None
    except MalformedAnswer as exc:
        raise PaymentGatewayError(
            f"The refund answer for {payment.gateway_order_id} is unreadable: {exc}"
        ) from None
    payment_apply(payment_id=payment.pk, answer=answer, actor=actor, source="refund")
    payment.refresh_from_db()
    if payment.status != P.REFUNDED:
        message = raw.get("status_message") or "no reason given"
        raise RefundNotAllowed(f"The gateway did not confirm a full refund ({message!s:.200}).")
    return payment
