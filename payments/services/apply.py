"""Applying what the gateway says: the one code path (DESIGN.md §4, §7).

Whatever the gateway says (a webhook, a status lookup, a refund answer) goes through
`payment_apply`, which locks the order, then the payment, and applies PAYMENT_TRANSITIONS
forward only. Repeats and stale answers change nothing, so any number of deliveries,
reconciliations and retries, in any order and at the same time, move an order at most
once. What the order and its documents then go through is `payments.settlement`.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from catalog.exceptions import InsufficientStock
from config import metrics
from orders.models import STOCK_RELEASED_STATUSES, Order, OrderEvent, OrderStatus
from orders.services import TRANSITIONS, Actor, order_event_log, order_lock
from payments.gateways.answers import GatewayAnswer, target_status
from payments.models import Payment, PaymentNotification
from payments.settlement import order_refund_record, order_settle

logger = logging.getLogger(__name__)

P = Payment.Status
S = OrderStatus
Outcome = PaymentNotification.Outcome


# The payment attempt's own state machine, forward only. FAILED -> SETTLED/CHALLENGE is a
# card denied and then paid in the same Snap session; `_payment_move_allowed` refuses it
# once the attempt had settled (a bank reversal is final). PARTIALLY_REFUNDED ->
# PARTIALLY_REFUNDED moves only when the refunded amount grows.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    P.PENDING: frozenset({P.CHALLENGE, P.SETTLED, P.FAILED, P.CANCELLED, P.EXPIRED}),
    P.CHALLENGE: frozenset({P.SETTLED, P.FAILED, P.CANCELLED, P.EXPIRED}),
    P.FAILED: frozenset({P.CHALLENGE, P.SETTLED}),
    P.SETTLED: frozenset({P.FAILED, P.REFUNDED, P.PARTIALLY_REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.CANCELLED: frozenset(),
    P.EXPIRED: frozenset(),
    P.REFUNDED: frozenset(),
}

MONEY_HELD = frozenset({P.SETTLED, P.PARTIALLY_REFUNDED})


@dataclass(frozen=True)
class Applied:
    outcome: str
    detail: str


def payment_apply(
    *,
    payment_id: int,
    answer: GatewayAnswer,
    actor: Actor,
    source: str,
    notification_id: int | None = None,
    now: datetime | None = None,
) -> Applied:
    """Lock the order, then the payment, apply the answer, and record the outcome on the
    notification (when there is one) in the same transaction."""
    now = now or timezone.now()
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    with transaction.atomic(durable=True):
        order = order_lock(order_id=order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        result = _payment_apply_locked(
            order=order, payment=payment, answer=answer, actor=actor, source=source, now=now
        )
        if notification_id is not None:
            transaction.on_commit(partial(metrics.webhook_outcome, result.outcome))
            PaymentNotification.objects.filter(pk=notification_id).update(
                outcome=result.outcome,
                detail=result.detail[:500],
                http_status=200,
                payment=payment,
                order=order,
            )
    return result


def _payment_move_allowed(*, payment: Payment, to_status: str, refunded_amount: int) -> bool:
    if to_status not in PAYMENT_TRANSITIONS[payment.status]:
        return False
    if payment.status == P.FAILED and payment.settled_at is not None:
        return False  # reversed after settling: final
    if payment.status == to_status == P.PARTIALLY_REFUNDED:
        return refunded_amount > payment.refunded_amount
    return True


def _payment_apply_locked(
    *, order: Order, payment: Payment, answer: GatewayAnswer, actor: Actor, source: str, now: datetime
) -> Applied:
    to_status = target_status(answer)
    if to_status is None:
        logger.warning("Payment %s: transaction_status %r not handled", payment, answer.transaction_status)
        return Applied(Outcome.IGNORED, f"transaction_status {answer.transaction_status!r} is not handled.")
    if to_status == P.REFUNDED:
        refunded = payment.amount
    elif to_status == P.PARTIALLY_REFUNDED:
        refunded = min(answer.refund_amount or payment.refunded_amount, payment.amount)
    else:
        refunded = payment.refunded_amount
    mismatch = answer.gross_amount != payment.amount

    already_mismatched = payment.flag_reason.startswith(MISMATCH)
    if not _payment_move_allowed(payment=payment, to_status=to_status, refunded_amount=refunded):
        if mismatch and not already_mismatched:
            _flag(
                order=order, payment=payment, reason=_mismatch_reason(answer, payment), actor=actor, now=now
            )
            return Applied(Outcome.REJECTED, payment.flag_reason)
        if to_status == payment.status:
            return Applied(Outcome.DUPLICATE, f"The attempt is already {payment.status}.")
        return Applied(
            Outcome.IGNORED, f"Stale: the attempt is {payment.status}, not going back to {to_status}."
        )

    from_status = payment.status
    counted = payment.counts_for_order
    # Flags are decided before saving: the database allows one paying attempt per order, so
    # a settlement that must not pay it is saved as needing a refund from the start.
    flag = None
    if mismatch and not already_mismatched:
        flag = _mismatch_reason(answer, payment)
    elif to_status == P.SETTLED and not mismatch and order.status not in PAYABLE_ORDER_STATUSES:
        flag = f"Double payment: the order was already {order.status} when this attempt settled."
    payment.status = to_status
    payment.refunded_amount = refunded
    payment.raw_status = answer.raw
    payment.transaction_id = answer.transaction_id or payment.transaction_id
    payment.payment_type = answer.payment_type or payment.payment_type
    if flag:
        payment.flag_reason = flag[:300]
    elif from_status == P.CHALLENGE and payment.flag_reason == CHALLENGE_FLAG:
        payment.flag_reason = ""  # staff decided at the gateway: nothing left to look at
    if to_status == P.SETTLED:
        payment.settled_at = now
        payment.needs_refund = payment.needs_refund or bool(mismatch or flag)
    elif to_status == P.REFUNDED:
        payment.needs_refund = False  # the money that should not have been kept went back
    payment.save(
        update_fields=[
            "status",
            "refunded_amount",
            "raw_status",
            "transaction_id",
            "payment_type",
            "flag_reason",
            "needs_refund",
            "settled_at",
            "updated_at",
        ]
    )
    order_event_log(
        order=order,
        type=OrderEvent.Type.PAYMENT_UPDATED,
        actor=actor,
        now=now,
        data={
            "gateway_order_id": payment.gateway_order_id,
            "from": from_status,
            "to": to_status,
            "transaction_status": answer.transaction_status,
            "payment_type": payment.payment_type,
            "source": source,
            **({"refunded_amount": refunded} if to_status in (P.REFUNDED, P.PARTIALLY_REFUNDED) else {}),
        },
    )
    if flag:
        _flag_event(order=order, payment=payment, reason=payment.flag_reason, actor=actor, now=now)
    if mismatch:  # recorded as the gateway says, never applied to the order
        return Applied(Outcome.REJECTED, _mismatch_reason(answer, payment))

    detail = f"{from_status} -> {to_status}"
    order_refundable = S.REFUNDED in TRANSITIONS.get(order.status, frozenset())  # paid, preparing
    if to_status == P.SETTLED:
        if not payment.needs_refund:
            _payment_settled(order=order, payment=payment, actor=actor, now=now)
    elif to_status == P.CHALLENGE:
        _flag(
            order=order,
            payment=payment,
            reason=CHALLENGE_FLAG,
            actor=actor,
            now=now,
        )
    elif to_status == P.FAILED and from_status in MONEY_HELD:
        _flag(
            order=order,
            payment=payment,
            reason=f"Denied after it had settled (a bank reversal): the order stays {order.status}; check it.",
            actor=actor,
            now=now,
        )
    elif to_status == P.REFUNDED and counted and not order_refundable:
        _flag(
            order=order,
            payment=payment,
            reason=f"Refunded in full while the order is {order.status}: the order's status is left as it is.",
            actor=actor,
            now=now,
        )
    if to_status in (P.REFUNDED, P.PARTIALLY_REFUNDED) and counted:
        # The reference is the attempt and the total refunded so far, so a repeated
        # notification never credits twice.
        order_refund_record(
            order=order,
            refunded=payment.refunded_amount,
            refund_reference=f"{payment.gateway_order_id}:{payment.refunded_amount}",
            full=to_status == P.REFUNDED and order_refundable,
            actor=actor,
            reason="Refunded in full" if to_status == P.REFUNDED else "Partly refunded",
            data={"gateway_order_id": payment.gateway_order_id},
            now=now,
        )
    return Applied(Outcome.APPLIED, detail)


MISMATCH = "Amount mismatch"
CHALLENGE_FLAG = "Fraud detection challenged this payment: accept or deny it in the Midtrans dashboard."
PAYABLE_ORDER_STATUSES = (S.PENDING_PAYMENT, *STOCK_RELEASED_STATUSES)


def _mismatch_reason(answer: GatewayAnswer, payment: Payment) -> str:
    return (
        f"{MISMATCH}: the gateway reports {answer.raw.get('gross_amount')!s:.30}, "
        f"this attempt is for {payment.amount}. Never applied to the order."
    )


def _flag(
    *, order: Order, payment: Payment, reason: str, actor: Actor, now: datetime, needs_refund: bool = False
) -> None:
    payment.flag_reason = reason[:300]
    payment.needs_refund = payment.needs_refund or needs_refund
    payment.save(update_fields=["flag_reason", "needs_refund", "updated_at"])
    _flag_event(order=order, payment=payment, reason=payment.flag_reason, actor=actor, now=now)


def _flag_event(*, order: Order, payment: Payment, reason: str, actor: Actor, now: datetime) -> None:
    order_event_log(
        order=order,
        type=OrderEvent.Type.PAYMENT_FLAGGED,
        actor=actor,
        now=now,
        data={
            "gateway_order_id": payment.gateway_order_id,
            "reason": reason,
            "needs_refund": payment.needs_refund,
        },
    )


def _payment_settled(*, order: Order, payment: Payment, actor: Actor, now: datetime) -> None:
    """A settled attempt on an order that is pending, expired or cancelled: pay the order;
    if it expired or was cancelled and its stock is gone, flag the money for a refund."""
    was = order.status
    try:
        order_settle(order=order, payment=payment, actor=actor, now=now)
    except InsufficientStock as exc:
        _flag(
            order=order,
            payment=payment,
            reason=f"Settled after the order was {was}, and the stock is gone ({exc.detail}) Refund it.",
            actor=actor,
            now=now,
            needs_refund=True,
        )
