"""Applying what the gateway says: the one code path (DESIGN.md §4, §7).

Whatever the gateway says (a webhook, a status lookup, a refund answer) goes through
`payment_apply`: lock the order, then the payment; `payments.decide.decide` says what the
answer means; the attempt moves through `payment_transition` and the order and its
documents through `payments.settlement`. Repeats and stale answers change nothing, so any
number of deliveries, reconciliations and retries, in any order and at the same time, move
an order at most once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from catalog.exceptions import InsufficientStock
from config import metrics
from orders.models import Order, OrderEvent
from orders.services import Actor, order_event_log, order_events_batched
from payments.decide import (
    CHALLENGE_FLAG,
    MISMATCH,
    MONEY_HELD,
    PAYABLE_ORDER_STATUSES,
    PAYMENT_TRANSITIONS,
    AttemptState,
    Decision,
    Event,
    OrderAction,
    OrderState,
    decide,
)
from payments.gateways.answers import GatewayAnswer
from payments.models import Payment, PaymentNotification
from payments.services.transition import payment_transition
from payments.settlement import order_refund_record, order_reversal_hold, order_reversal_lift, order_settle

logger = logging.getLogger(__name__)

P = Payment.Status
Outcome = PaymentNotification.Outcome

__all__ = [
    "CHALLENGE_FLAG",
    "MISMATCH",
    "MONEY_HELD",
    "PAYABLE_ORDER_STATUSES",
    "PAYMENT_TRANSITIONS",
    "Applied",
    "attempt_state",
    "payment_apply",
]


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
    notification_fields: dict | None = None,
    order_id: int | None = None,
    now: datetime | None = None,
) -> Applied:
    """Lock the order, then the payment, apply the answer, and record the outcome on the
    notification (when there is one, with `notification_fields` besides) in the same
    transaction. `order_id`: the attempt's order, when the caller has read the attempt."""
    now = now or timezone.now()
    if order_id is None:
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    with transaction.atomic(durable=True), order_events_batched():
        order = _order_lock(order_id=order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        result = _payment_apply_locked(
            order=order, payment=payment, answer=answer, actor=actor, source=source, now=now
        )
        if notification_id is not None:
            transaction.on_commit(partial(metrics.webhook_outcome, result.outcome))
            PaymentNotification.objects.filter(pk=notification_id).update(
                **(notification_fields or {}),
                outcome=result.outcome,
                detail=result.detail[:500],
                http_status=200,
                payment=payment,
                order=order,
            )
    return result


def _order_lock(*, order_id: int) -> Order:
    """The order row-locked (`orders.services.order_lock`), with its invoice if it has one
    joined (not locked, without its snapshot): settling it asks whether it has one."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("invoice")
        .defer("invoice__snapshot")
        .get(pk=order_id)
    )


def attempt_state(payment: Payment) -> AttemptState:
    """The attempt as plain values, for `decide`."""
    raw = payment.raw_status if isinstance(payment.raw_status, dict) else {}
    gateway_status = raw.get("transaction_status")
    return AttemptState(
        status=payment.status,
        amount=payment.amount,
        refunded_amount=payment.refunded_amount,
        chargeback_amount=payment.chargeback_amount,
        fee_amount=payment.fee_amount,
        was_settled=payment.settled_at is not None,
        needs_refund=payment.needs_refund,
        flag_reason=payment.flag_reason,
        gateway_status=gateway_status.lower() if isinstance(gateway_status, str) else "",
    )


def _payment_apply_locked(
    *, order: Order, payment: Payment, answer: GatewayAnswer, actor: Actor, source: str, now: datetime
) -> Applied:
    decision = decide(answer, attempt_state(payment), OrderState(order.status))
    if decision.outcome == Outcome.IGNORED and answer.status is None:
        logger.warning("Payment %s: transaction_status %r not handled", payment, answer.transaction_status)
    if decision.to_status is None:
        _identity_fill(payment=payment, answer=answer, outcome=decision.outcome)
        if decision.flag:
            _flag(order=order, payment=payment, reason=decision.flag, actor=actor, now=now)
        return Applied(decision.outcome, decision.detail)

    payment_transition(
        order=order,
        payment=payment,
        to_status=decision.to_status,
        actor=actor,
        source=source,
        now=now,
        fields=_fields(payment=payment, answer=answer, decision=decision, now=now),
        data=_event_data(payment=payment, answer=answer, decision=decision),
    )
    if Event.FLAGGED in decision.events:
        _flag_event(order=order, payment=payment, reason=payment.flag_reason, actor=actor, now=now)
    _order_act(order=order, payment=payment, decision=decision, actor=actor, now=now)
    return Applied(decision.outcome, decision.detail)


def _fields(*, payment: Payment, answer: GatewayAnswer, decision: Decision, now: datetime) -> dict:
    fields = {
        "raw_status": answer.raw,
        "transaction_id": answer.transaction_id or payment.transaction_id,
        "payment_type": answer.payment_type or payment.payment_type,
        "va_numbers": [list(pair) for pair in answer.va_numbers] or payment.va_numbers,
    }
    for name in ("refunded_amount", "chargeback_amount", "fee_amount", "needs_refund"):
        value = getattr(decision, name)
        if value is not None:
            fields[name] = value
    if decision.flag:
        fields["flag_reason"] = decision.flag[:300]
    elif decision.clear_flag:
        fields["flag_reason"] = ""
    if decision.settled:
        fields["settled_at"] = now
    return fields


def _event_data(*, payment: Payment, answer: GatewayAnswer, decision: Decision) -> dict:
    data = {
        "transaction_status": answer.transaction_status,
        "payment_type": answer.payment_type or payment.payment_type,
    }
    if decision.to_status in (P.REFUNDED, P.PARTIALLY_REFUNDED) or (
        decision.to_status == P.CANCELLED and decision.credit_total
    ):
        data["refunded_amount"] = decision.refunded_amount
        if isinstance(answer.raw.get("refund_key"), str):  # which refund request this was
            data["refund_key"] = answer.raw["refund_key"][:100]
    if decision.to_status in (P.CHARGEBACK, P.PARTIAL_CHARGEBACK):
        data["chargeback_amount"] = decision.chargeback_amount
    if decision.fee_amount:
        data["fee_amount"] = decision.fee_amount
    return data


def _identity_fill(*, payment: Payment, answer: GatewayAnswer, outcome: str) -> None:
    """Keep what identifies the transaction at the gateway (its id, payment type, VA
    numbers) from any answer that is about this attempt, a pending one repeated included:
    BI-SNAP channels are asked about by transaction id. Fills in, never overwrites."""
    if outcome == Outcome.REJECTED:
        return
    changed = []
    if answer.transaction_id and not payment.transaction_id:
        payment.transaction_id = answer.transaction_id
        changed.append("transaction_id")
    if answer.payment_type and not payment.payment_type:
        payment.payment_type = answer.payment_type
        changed.append("payment_type")
    if answer.va_numbers and not payment.va_numbers:
        payment.va_numbers = [list(pair) for pair in answer.va_numbers]
        changed.append("va_numbers")
    if changed:
        payment.save(update_fields=[*changed, "updated_at"])


def _order_act(*, order: Order, payment: Payment, decision: Decision, actor: Actor, now: datetime) -> None:
    action = decision.order_action
    if action == OrderAction.SETTLE:
        _payment_settled(order=order, payment=payment, actor=actor, now=now)
    elif action in (OrderAction.REFUND, OrderAction.CREDIT):
        order_refund_record(
            order=order,
            refunded=decision.credit_total,
            refund_reference=f"{payment.gateway_order_id}:{decision.credit_reference}",
            full=action == OrderAction.REFUND,
            actor=actor,
            reason=decision.credit_reason,
            data={"gateway_order_id": payment.gateway_order_id},
            now=now,
        )
    elif action == OrderAction.HOLD:
        order_reversal_hold(order=order, payment=payment, actor=actor, now=now)
    elif action == OrderAction.LIFT:
        order_reversal_lift(order=order, payment=payment, actor=actor, now=now)


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
