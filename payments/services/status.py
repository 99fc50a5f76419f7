"""Asking the gateway's status API about one attempt (DESIGN.md §7), the way Midtrans
needs it asked: by transaction id when we know it, which BI-SNAP channels (DANA; the
Danamon, BSI, SeaBank and Saqu virtual accounts) require ("If you're using BI SNAP and DANA
payment methods, please only use Transaction ID to get status": Midtrans's Get Status API
reference). Their answer may carry the transaction id in `order_id` (midtrans-php #113,
SNAP-Woocommerce PR #85), so an answer is about the attempt when its `order_id` is the
attempt's, or when it was asked by transaction id and carries that id as both its
`transaction_id` and its `order_id`."""

from payments.gateways import Gateway, GatewayError
from payments.gateways.answers import GatewayAnswer, MalformedAnswer, answer_parse, channel_is_bisnap
from payments.models import Payment


def status_key(*, payment: Payment) -> str:
    """The id to ask the status API with: the transaction id once stored (from an answer
    already applied, or a signed notification), else the order id."""
    return payment.transaction_id or payment.gateway_order_id


def attempt_is_bisnap(payment: Payment) -> bool:
    banks = [str(pair[0]) for pair in payment.va_numbers or [] if isinstance(pair, list | tuple) and pair]
    return channel_is_bisnap(payment_type=payment.payment_type, va_banks=banks)


def payment_status_fetch(
    *, gateway: Gateway, payment: Payment, hint: GatewayAnswer | None = None
) -> GatewayAnswer:
    """The gateway's answer about `payment`, parsed. Raises GatewayError (as the gateway
    does: 404 for an unknown transaction) or MalformedAnswer, also for an answer about
    another transaction."""
    key = status_key(payment=payment)
    try:
        raw = gateway.get_status(gateway_order_id=key)
    except GatewayError as exc:
        # Unknown by order id: a BI-SNAP channel. The notification in hand (signed over its
        # order_id, which is this attempt's) names the transaction id to ask with.
        fallback = hint.transaction_id if hint is not None else ""
        if not exc.not_found or not fallback or fallback == key:
            raise
        key = fallback
        raw = gateway.get_status(gateway_order_id=key)
    answer = answer_parse(raw)
    same_order = answer.order_id == payment.gateway_order_id
    # BI-SNAP's shape: asked by transaction id, answered with it in order_id too.
    bisnap_shape = key != payment.gateway_order_id and answer.transaction_id == key == answer.order_id
    if not (same_order or bisnap_shape):
        raise MalformedAnswer("The status API answered about another transaction.")
    return answer
