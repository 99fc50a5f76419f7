"""What a gateway answer does to a payment attempt and its order (DESIGN.md §4): one pure
function, `decide`, from plain values to a frozen `Decision`. No database, no network:
`payments.services.apply` locks the rows, calls it, and persists what it says through
`payments.services.transition.payment_transition` and `payments.settlement`.

The attempt's own state machine is PAYMENT_TRANSITIONS, forward only, read against
Midtrans's "Transaction Status Cycle" page (https://docs.midtrans.com/docs/transaction-status-cycle):
pending -> settlement | expire | cancel | deny; capture -> settlement | cancel (a void);
settlement -> refund | partial_refund | chargeback | partial_chargeback | deny (a reversal,
for Permata VA, Mandiri Bill, Indomaret: "not paid, do not deliver"). A `capture` accepted by
fraud detection is money taken (the attempt is settled); Midtrans settles it within a day.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from orders.models import STOCK_RELEASED_STATUSES, OrderStatus
from orders.services import TRANSITIONS
from payments.gateways.answers import GatewayAnswer
from payments.models import MONEY_HELD_STATUSES, NotificationOutcome, PaymentStatus

P = PaymentStatus
S = OrderStatus
Outcome = NotificationOutcome

# FAILED -> SETTLED/CHALLENGE is a card denied and then paid in the same Snap session, or a
# reversal the gateway took back (settled again: `_reversal_undone`). SETTLED -> CANCELLED
# is a card capture voided before settlement. The same status again moves only when an
# amount grows (partial refunds and chargebacks).
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    P.PENDING: frozenset({P.CHALLENGE, P.SETTLED, P.FAILED, P.CANCELLED, P.EXPIRED}),
    P.CHALLENGE: frozenset({P.SETTLED, P.FAILED, P.CANCELLED, P.EXPIRED}),
    P.FAILED: frozenset({P.CHALLENGE, P.SETTLED}),
    P.SETTLED: frozenset(
        {P.FAILED, P.CANCELLED, P.REFUNDED, P.PARTIALLY_REFUNDED, P.CHARGEBACK, P.PARTIAL_CHARGEBACK}
    ),
    P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED, P.CHARGEBACK, P.PARTIAL_CHARGEBACK}),
    P.PARTIAL_CHARGEBACK: frozenset({P.PARTIAL_CHARGEBACK, P.CHARGEBACK, P.REFUNDED, P.PARTIALLY_REFUNDED}),
    P.CANCELLED: frozenset(),
    P.EXPIRED: frozenset(),
    P.REFUNDED: frozenset(),
    P.CHARGEBACK: frozenset(),
}
MONEY_HELD = frozenset(MONEY_HELD_STATUSES)
# Orders a settlement may pay; any other is already paid (or beyond): a double payment.
PAYABLE_ORDER_STATUSES = frozenset({S.PENDING_PAYMENT, *STOCK_RELEASED_STATUSES})
# Orders the kitchen may be working on: a reversal puts them on hold.
KITCHEN_ORDER_STATUSES = frozenset({S.PAID, S.PREPARING, S.READY})

MISMATCH = "Amount mismatch"
CHALLENGE_FLAG = "Fraud detection challenged this payment: accept or deny it in the Midtrans dashboard."
REVERSAL = "Reversed after it had settled"


class OrderAction:
    NONE = "none"
    SETTLE = "settle"  # the order becomes paid (invoice, receipt)
    REFUND = "refund"  # the order becomes refunded, credit note up to `credit_total`
    CREDIT = "credit"  # credit note up to `credit_total`, the order's status unchanged
    HOLD = "hold"  # the order goes on hold: payment_reversed
    LIFT = "lift"  # the hold ends: back to the status it had before


class Event:
    UPDATED = "payment_updated"
    FLAGGED = "payment_flagged"


@dataclass(frozen=True)
class AttemptState:
    """The attempt as it is, as plain values."""

    status: str
    amount: int
    refunded_amount: int = 0
    chargeback_amount: int = 0
    fee_amount: int = 0
    was_settled: bool = False  # it has settled once (settled_at is set)
    needs_refund: bool = False
    flag_reason: str = ""
    gateway_status: str = ""  # Midtrans's transaction_status last applied ("capture", ...)

    @property
    def counts_for_order(self) -> bool:
        return self.status in MONEY_HELD and not self.needs_refund


@dataclass(frozen=True)
class OrderState:
    status: str


@dataclass(frozen=True)
class Decision:
    """What to do. `to_status` None: the attempt's status stays; the other None fields stay
    as they are. `credit_total` is everything given back so far from this attempt (what the
    order's credit notes must add up to); `credit_reference` makes its note idempotent."""

    outcome: str
    detail: str
    to_status: str | None = None
    refunded_amount: int | None = None
    chargeback_amount: int | None = None
    fee_amount: int | None = None
    settled: bool = False
    flag: str = ""
    clear_flag: bool = False
    needs_refund: bool | None = None
    order_action: str = OrderAction.NONE
    credit_total: int = 0
    credit_reference: str = ""
    credit_reason: str = ""
    events: tuple[str, ...] = ()


def decide(answer: GatewayAnswer, attempt: AttemptState, order: OrderState) -> Decision:
    """What `answer` does to `attempt` (of `order`). Pure; see the module docstring."""
    to_status = answer.status
    if to_status is None:
        return Decision(Outcome.IGNORED, f"transaction_status {answer.transaction_status!r} is not handled.")
    mismatch = _mismatch(answer, attempt)
    already_mismatched = attempt.flag_reason.startswith(MISMATCH)
    refunded, chargeback = _amounts(answer, attempt, to_status)

    if not _move_allowed(answer, attempt, order, to_status, refunded, chargeback):
        if mismatch and not already_mismatched:
            return Decision(
                Outcome.REJECTED, _mismatch_reason(answer, attempt), flag=_mismatch_reason(answer, attempt),
                events=(Event.FLAGGED,),
            )  # fmt: skip
        if to_status == attempt.status:
            return Decision(Outcome.DUPLICATE, f"The attempt is already {attempt.status}.")
        return Decision(
            Outcome.IGNORED, f"Stale: the attempt is {attempt.status}, not going back to {to_status}."
        )

    base = {
        "to_status": to_status,
        "refunded_amount": refunded,
        "chargeback_amount": chargeback,
        "events": (Event.UPDATED,),
    }
    if to_status == P.SETTLED:
        base.update(settled=True, fee_amount=answer.fee_amount if not mismatch else attempt.fee_amount)
    if mismatch:  # recorded as the gateway says, never applied to the order
        reason = _mismatch_reason(answer, attempt)
        needs_refund = {P.SETTLED: True, P.REFUNDED: False}.get(to_status, attempt.needs_refund)
        if already_mismatched:
            return Decision(Outcome.REJECTED, reason, needs_refund=needs_refund, **base)
        return Decision(
            Outcome.REJECTED, reason, flag=reason, needs_refund=needs_refund,
            **{**base, "events": (Event.UPDATED, Event.FLAGGED)},
        )  # fmt: skip
    detail = f"{attempt.status} -> {to_status}"
    if to_status == P.SETTLED:
        return _settled(attempt, order, detail, base)
    if to_status == P.CHALLENGE:
        return _flagged(detail, base, CHALLENGE_FLAG)
    if to_status == P.FAILED and attempt.status in MONEY_HELD:
        return _reversed(attempt, order, detail, base)
    if to_status == P.CANCELLED and attempt.status in MONEY_HELD:
        return _voided(attempt, order, detail, base)
    if to_status in (P.REFUNDED, P.PARTIALLY_REFUNDED, P.CHARGEBACK, P.PARTIAL_CHARGEBACK):
        return _money_back(attempt, order, detail, base, to_status, refunded, chargeback)
    clear = attempt.status == P.CHALLENGE and attempt.flag_reason == CHALLENGE_FLAG
    return Decision(Outcome.APPLIED, detail, clear_flag=clear, **base)


def _mismatch(answer: GatewayAnswer, attempt: AttemptState) -> bool:
    """The answer is about another amount than the attempt's. With fee imposition the
    shopper paid `original_amount` + fee; a later answer without the metadata block (a
    status or refund answer) is matched against the amount plus the fee already recorded."""
    if answer.amount_due == attempt.amount:
        return False
    return not (attempt.fee_amount and answer.gross_amount == attempt.amount + attempt.fee_amount)


def _mismatch_reason(answer: GatewayAnswer, attempt: AttemptState) -> str:
    return (
        f"{MISMATCH}: the gateway reports {answer.raw.get('gross_amount')!s:.30}, "
        f"this attempt is for {attempt.amount}. Never applied to the order."
    )


def _amounts(answer: GatewayAnswer, attempt: AttemptState, to_status: str) -> tuple[int, int]:
    """(refunded, charged back) once the answer is applied, within the attempt's amount."""
    refunded, chargeback = attempt.refunded_amount, attempt.chargeback_amount
    if to_status == P.REFUNDED:
        refunded = attempt.amount - chargeback
    elif to_status == P.PARTIALLY_REFUNDED:
        refunded = min(answer.refund_amount or refunded, attempt.amount - chargeback)
    elif to_status == P.CHARGEBACK:
        chargeback = attempt.amount - refunded
    elif to_status == P.PARTIAL_CHARGEBACK:
        chargeback = min(answer.chargeback_amount or chargeback, attempt.amount - refunded)
    elif to_status == P.CANCELLED and attempt.status in MONEY_HELD:
        refunded = attempt.amount - chargeback  # a void: the capture is released whole
    return refunded, chargeback


def _move_allowed(
    answer: GatewayAnswer,
    attempt: AttemptState,
    order: OrderState,
    to_status: str,
    refunded: int,
    chargeback: int,
) -> bool:
    if to_status not in PAYMENT_TRANSITIONS[attempt.status]:
        return False
    if attempt.status == P.FAILED and attempt.was_settled:
        # A reversal is final unless the gateway says settled again (re-checked by staff or
        # by reconciliation): then the attempt pays again.
        return to_status == P.SETTLED and answer.transaction_status == "settlement"
    if to_status == P.CANCELLED and attempt.status in MONEY_HELD:
        return attempt.gateway_status == "capture"  # only a capture can be voided
    if attempt.status == to_status == P.PARTIALLY_REFUNDED:
        return refunded > attempt.refunded_amount
    if attempt.status == to_status == P.PARTIAL_CHARGEBACK:
        return chargeback > attempt.chargeback_amount
    return True


def _flagged(detail: str, base: dict, reason: str, **fields) -> Decision:
    return Decision(
        Outcome.APPLIED, detail, flag=reason, **{**base, "events": (Event.UPDATED, Event.FLAGGED)}, **fields
    )


def _settled(attempt: AttemptState, order: OrderState, detail: str, base: dict) -> Decision:
    clear = attempt.status == P.CHALLENGE and attempt.flag_reason == CHALLENGE_FLAG
    if attempt.status == P.FAILED and attempt.was_settled:
        # The reversal was undone at the gateway.
        if order.status == S.PAYMENT_REVERSED:
            return Decision(Outcome.APPLIED, detail, clear_flag=True, order_action=OrderAction.LIFT, **base)
        if order.status in (*KITCHEN_ORDER_STATUSES, S.COMPLETED) and not attempt.needs_refund:
            return Decision(Outcome.APPLIED, detail, clear_flag=True, **base)
    if order.status not in PAYABLE_ORDER_STATUSES:
        reason = f"Double payment: the order was already {order.status} when this attempt settled."
        return _flagged(detail, base, reason, needs_refund=True)
    if attempt.needs_refund:
        return Decision(Outcome.APPLIED, detail, clear_flag=clear, **base)
    return Decision(Outcome.APPLIED, detail, clear_flag=clear, order_action=OrderAction.SETTLE, **base)


def _reversed(attempt: AttemptState, order: OrderState, detail: str, base: dict) -> Decision:
    if attempt.counts_for_order and order.status in KITCHEN_ORDER_STATUSES:
        reason = (
            f"{REVERSAL} (a bank reversal: not paid, do not deliver): the order is on hold; "
            "re-check it with the gateway or cancel it."
        )
        return _flagged(detail, base, reason, order_action=OrderAction.HOLD)
    reason = f"{REVERSAL} (a bank reversal): the order stays {order.status}; check it."
    return _flagged(detail, base, reason)


def _order_refundable(order: OrderState) -> bool:
    return S.REFUNDED in TRANSITIONS.get(order.status, frozenset())


def _voided(attempt: AttemptState, order: OrderState, detail: str, base: dict) -> Decision:
    total = base["refunded_amount"] + base["chargeback_amount"]
    if not attempt.counts_for_order:  # the money it should not have kept is released
        return Decision(Outcome.APPLIED, detail, needs_refund=False, **base)
    credit = {
        "credit_total": total,
        "credit_reference": f"void:{total}",
        "credit_reason": gettext_noop("Card capture voided"),
    }
    if _order_refundable(order):
        return Decision(Outcome.APPLIED, detail, order_action=OrderAction.REFUND, **credit, **base)
    reason = f"Capture voided while the order is {order.status}: the order's status is left as it is."
    return _flagged(detail, base, reason, order_action=OrderAction.CREDIT, **credit)


def _money_back(
    attempt: AttemptState,
    order: OrderState,
    detail: str,
    base: dict,
    to_status: str,
    refunded: int,
    chargeback: int,
) -> Decision:
    full = to_status in (P.REFUNDED, P.CHARGEBACK)
    fields: dict = {}
    if to_status == P.REFUNDED:
        fields["needs_refund"] = False  # the money that should not have been kept went back
    if not attempt.counts_for_order:
        return Decision(Outcome.APPLIED, detail, **fields, **base)
    total = refunded + chargeback
    if not total:  # a partial refund or chargeback that does not say how much (yet)
        reason = "A partial refund or chargeback without an amount: check it in the Midtrans dashboard."
        return _flagged(detail, base, reason, **fields)
    # The reference is the attempt and what went back so far, so a repeat never credits twice.
    fields.update(
        credit_total=total,
        credit_reference=str(refunded) if not chargeback else f"{refunded}+cb{chargeback}",
        credit_reason={
            # English as frozen on the credit note; printed in its language (invoice_format).
            P.REFUNDED: gettext_noop("Refunded in full"),
            P.PARTIALLY_REFUNDED: gettext_noop("Partly refunded"),
            P.CHARGEBACK: gettext_noop("Charged back"),
            P.PARTIAL_CHARGEBACK: gettext_noop("Partly charged back"),
        }[to_status],
    )
    chargeback_move = to_status in (P.CHARGEBACK, P.PARTIAL_CHARGEBACK)
    if full and _order_refundable(order):
        action = OrderAction.REFUND
        if chargeback_move:
            return _flagged(detail, base, f"Charged back by the card holder's bank ({chargeback}).",
                            order_action=action, **fields)  # fmt: skip
        return Decision(Outcome.APPLIED, detail, order_action=action, **fields, **base)
    if full:
        what = "Charged back" if chargeback_move else "Refunded"
        reason = f"{what} in full while the order is {order.status}: the order's status is left as it is."
        return _flagged(detail, base, reason, order_action=OrderAction.CREDIT, **fields)
    if chargeback_move:
        reason = f"Partly charged back by the card holder's bank ({chargeback} so far); the order stands."
        return _flagged(detail, base, reason, order_action=OrderAction.CREDIT, **fields)
    return Decision(Outcome.APPLIED, detail, order_action=OrderAction.CREDIT, **fields, **base)
