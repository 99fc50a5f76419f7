"""`payments.decide.decide`, table-tested without a database.

Each row reads like Midtrans's status-cycle documentation: what Midtrans says
(`transaction_status`, `fraud_status`), what the attempt and the order were, and what
Foodies does. Sources: "Transaction Status Cycle" (https://docs.midtrans.com/docs/transaction-status-cycle):
pending -> settlement | expire | cancel | deny; capture -> settlement | cancel;
settlement -> refund | partial_refund | chargeback | partial_chargeback | deny (the
reversal of Permata VA, Mandiri Bill, Indomaret); authorize -> capture | cancel; and
"HTTP(S) Notification / Webhooks" (https://docs.midtrans.com/docs/https-notification-webhooks):
a `capture` with fraud_status `challenge` waits for the merchant, `deny` is refused.
Fee imposition: midtrans-php issue #118.
"""

from dataclasses import dataclass
from itertools import product

import pytest

from payments.decide import (
    CHALLENGE_FLAG,
    PAYMENT_TRANSITIONS,
    AttemptState,
    Decision,
    OrderAction,
    OrderState,
    decide,
)
from payments.gateways.answers import answer_parse
from payments.models import PaymentStatus

AMOUNT = 30_000
A = OrderAction


def answer(transaction_status: str, fraud_status: str | None, **extra):
    raw = {"order_id": "FD-1-1", "gross_amount": f"{AMOUNT}.00", "transaction_status": transaction_status}
    if fraud_status is not None:
        raw["fraud_status"] = fraud_status
    raw.update(extra)
    return answer_parse(raw)


def attempt(status: str, **fields) -> AttemptState:
    return AttemptState(status=status, amount=AMOUNT, **fields)


# The attempt as Midtrans's cycle leaves it.
ATTEMPTS = {
    "pending": attempt("pending"),
    "denied": attempt("failed", gateway_status="deny"),  # a card refused; Snap lets it retry
    "challenge": attempt("challenge", flag_reason=CHALLENGE_FLAG, gateway_status="capture"),
    "captured": attempt("settled", was_settled=True, gateway_status="capture"),
    "settled": attempt("settled", was_settled=True, gateway_status="settlement"),
    "settled, not paying": attempt(
        "settled",
        was_settled=True,
        gateway_status="settlement",
        needs_refund=True,
        flag_reason="Double payment",
    ),
    "captured, not paying": attempt(
        "settled", was_settled=True, gateway_status="capture", needs_refund=True, flag_reason="Double payment"
    ),
    "partially refunded 12000": attempt("partially_refunded", was_settled=True, refunded_amount=12_000),
    "partially charged back 10000": attempt("partial_chargeback", was_settled=True, chargeback_amount=10_000),
    "reversed": attempt(
        "failed", was_settled=True, gateway_status="deny", flag_reason="Reversed after it had settled"
    ),
    "cancelled": attempt("cancelled", gateway_status="cancel"),
    "expired": attempt("expired", gateway_status="expire"),
    "refunded": attempt("refunded", was_settled=True, refunded_amount=AMOUNT),
    "charged back": attempt("chargeback", was_settled=True, chargeback_amount=AMOUNT),
}


@dataclass(frozen=True)
class Then:
    outcome: str
    to: str | None = None
    order: str = A.NONE
    flag: bool = False
    needs_refund: bool | None = None
    credit: int = 0


FEE = {
    "gross_amount": f"{AMOUNT + 213}.00",
    "metadata": {
        "extra_info": {
            "gross_amount_info": {
                "original_amount": str(AMOUNT),
                "gross_amount": str(AMOUNT + 213),
                "customer_imposed_payment_fee": "213",
            }
        }
    },
}

# (Midtrans says, fraud_status, extra answer fields, the attempt was, the order was) -> Foodies does
TABLE = [
    # pending: waiting for the shopper
    ("pending", "accept", {}, "pending", "pending_payment", Then("duplicate")),
    ("pending", None, {}, "denied", "pending_payment", Then("ignored")),
    ("authorize", "accept", {}, "pending", "pending_payment", Then("duplicate")),
    # pending -> settlement: paid
    ("settlement", "accept", {}, "pending", "pending_payment", Then("applied", "settled", A.SETTLE)),
    ("settlement", None, {}, "pending", "pending_payment", Then("applied", "settled", A.SETTLE)),
    ("settlement", "accept", {}, "pending", "expired", Then("applied", "settled", A.SETTLE)),
    ("settlement", "accept", {}, "pending", "cancelled", Then("applied", "settled", A.SETTLE)),
    ("settlement", "accept", {}, "denied", "pending_payment", Then("applied", "settled", A.SETTLE)),
    ("settlement", "accept", {}, "pending", "paid", Then("applied", "settled", flag=True, needs_refund=True)),
    ("settlement", "challenge", {}, "pending", "pending_payment", Then("applied", "challenge", flag=True)),
    ("settlement", "deny", {}, "pending", "pending_payment", Then("applied", "challenge", flag=True)),
    ("settlement", "accept", FEE, "pending", "pending_payment", Then("applied", "settled", A.SETTLE)),
    (
        "settlement",
        "accept",
        {"gross_amount": "31000.00"},
        "pending",
        "pending_payment",
        Then("rejected", "settled", flag=True, needs_refund=True),
    ),
    # card: capture, by fraud_status
    ("capture", "accept", {}, "pending", "pending_payment", Then("applied", "settled", A.SETTLE)),
    ("capture", "challenge", {}, "pending", "pending_payment", Then("applied", "challenge", flag=True)),
    ("capture", "deny", {}, "pending", "pending_payment", Then("applied", "failed")),
    ("capture", "accept", {}, "challenge", "pending_payment", Then("applied", "settled", A.SETTLE)),
    ("deny", "challenge", {}, "challenge", "pending_payment", Then("applied", "failed")),
    ("cancel", "challenge", {}, "challenge", "pending_payment", Then("applied", "cancelled")),
    # capture -> settlement: nothing new for the order
    ("settlement", "accept", {}, "captured", "paid", Then("duplicate")),
    # capture -> cancel: a void
    ("cancel", "accept", {}, "captured", "paid", Then("applied", "cancelled", A.REFUND, credit=AMOUNT)),
    ("cancel", "accept", {}, "captured", "preparing", Then("applied", "cancelled", A.REFUND, credit=AMOUNT)),
    (
        "cancel",
        "accept",
        {},
        "captured",
        "ready",
        Then("applied", "cancelled", A.REFUND, credit=AMOUNT),
    ),
    (
        "cancel",
        "accept",
        {},
        "captured, not paying",
        "paid",
        Then("applied", "cancelled", needs_refund=False),
    ),
    ("cancel", "accept", {}, "settled", "paid", Then("ignored")),  # only a capture can be voided
    # pending -> deny / cancel / expire / failure
    ("deny", "accept", {}, "pending", "pending_payment", Then("applied", "failed")),
    ("deny", None, {}, "denied", "pending_payment", Then("duplicate")),
    ("cancel", "accept", {}, "pending", "pending_payment", Then("applied", "cancelled")),
    ("cancel", None, {}, "pending", "cancelled", Then("applied", "cancelled")),
    ("expire", None, {}, "pending", "pending_payment", Then("applied", "expired")),
    ("expire", None, {}, "pending", "expired", Then("applied", "expired")),
    ("expire", None, {}, "expired", "expired", Then("duplicate")),
    ("failure", None, {}, "pending", "pending_payment", Then("applied", "failed")),
    ("settlement", "accept", {}, "cancelled", "cancelled", Then("ignored")),
    ("settlement", "accept", {}, "expired", "expired", Then("ignored")),
    # settlement -> deny: a reversal
    ("deny", None, {}, "settled", "paid", Then("applied", "failed", A.HOLD, flag=True)),
    ("deny", None, {}, "settled", "preparing", Then("applied", "failed", A.HOLD, flag=True)),
    ("deny", None, {}, "settled", "ready", Then("applied", "failed", A.HOLD, flag=True)),
    ("deny", None, {}, "settled", "completed", Then("applied", "failed", flag=True)),
    ("deny", None, {}, "settled, not paying", "paid", Then("applied", "failed", flag=True)),
    ("settlement", "accept", {}, "reversed", "payment_reversed", Then("applied", "settled", A.LIFT)),
    ("settlement", "accept", {}, "reversed", "completed", Then("applied", "settled")),
    ("capture", "accept", {}, "reversed", "payment_reversed", Then("ignored")),
    ("deny", None, {}, "reversed", "payment_reversed", Then("duplicate")),
    # settlement -> refund / partial_refund
    (
        "refund",
        None,
        {},
        "settled",
        "paid",
        Then("applied", "refunded", A.REFUND, needs_refund=False, credit=AMOUNT),
    ),
    (
        "refund",
        None,
        {},
        "settled",
        "completed",
        Then("applied", "refunded", A.REFUND, needs_refund=False, credit=AMOUNT),
    ),
    ("refund", None, {}, "settled, not paying", "paid", Then("applied", "refunded", needs_refund=False)),
    (
        "partial_refund",
        None,
        {"refund_amount": "12000.00"},
        "settled",
        "paid",
        Then("applied", "partially_refunded", A.CREDIT, credit=12_000),
    ),
    (
        "partial_refund",
        None,
        {"refund_amount": "20000.00"},
        "partially refunded 12000",
        "paid",
        Then("applied", "partially_refunded", A.CREDIT, credit=20_000),
    ),
    (
        "partial_refund",
        None,
        {"refund_amount": "12000.00"},
        "partially refunded 12000",
        "paid",
        Then("duplicate"),
    ),
    (
        "refund",
        None,
        {},
        "partially refunded 12000",
        "paid",
        Then("applied", "refunded", A.REFUND, needs_refund=False, credit=AMOUNT),
    ),
    ("refund", None, {}, "refunded", "refunded", Then("duplicate")),
    ("settlement", "accept", {}, "refunded", "refunded", Then("ignored")),
    # settlement -> chargeback / partial_chargeback
    (
        "chargeback",
        None,
        {},
        "settled",
        "paid",
        Then("applied", "chargeback", A.REFUND, flag=True, credit=AMOUNT),
    ),
    (
        "chargeback",
        None,
        {},
        "settled",
        "completed",
        Then("applied", "chargeback", A.REFUND, flag=True, credit=AMOUNT),
    ),
    (
        "partial_chargeback",
        None,
        {"chargeback_amount": "10000.00"},
        "settled",
        "paid",
        Then("applied", "partial_chargeback", A.CREDIT, flag=True, credit=10_000),
    ),
    (
        "partial_chargeback",
        None,
        {"chargeback_amount": "10000.00"},
        "partially charged back 10000",
        "paid",
        Then("duplicate"),
    ),
    (
        "chargeback",
        None,
        {},
        "partially charged back 10000",
        "preparing",
        Then("applied", "chargeback", A.REFUND, flag=True, credit=AMOUNT),
    ),
    (
        "partial_chargeback",
        None,
        {"chargeback_amount": "5000.00"},
        "partially refunded 12000",
        "paid",
        Then("applied", "partial_chargeback", A.CREDIT, flag=True, credit=17_000),
    ),
    ("chargeback", None, {}, "charged back", "refunded", Then("duplicate")),
    # a settled attempt hears an older status: stale
    ("settlement", "accept", {}, "settled", "paid", Then("duplicate")),
    ("pending", None, {}, "settled", "paid", Then("ignored")),
    ("expire", None, {}, "settled", "paid", Then("ignored")),
    # statuses Foodies does not handle
    ("weird", None, {}, "pending", "pending_payment", Then("ignored")),
]


def _id(row) -> str:
    ts, fraud, extra, was, order, _ = row
    more = "+fee" if "metadata" in extra else ("+other amount" if extra.get("gross_amount") else "")
    return f"{ts}/{fraud or '-'}{more} on {was} ({order})"


@pytest.mark.parametrize("row", TABLE, ids=[_id(row) for row in TABLE])
def test_decision_table(row):
    transaction_status, fraud_status, extra, was, order_status, then = row
    decision = decide(
        answer(transaction_status, fraud_status, **extra), ATTEMPTS[was], OrderState(order_status)
    )
    got = Then(
        decision.outcome,
        decision.to_status if decision.outcome in ("applied", "rejected") else None,
        decision.order_action,
        bool(decision.flag),
        decision.needs_refund,
        decision.credit_total,
    )
    assert got == then


def test_fee_imposition_pays_the_original_amount_and_records_the_fee():
    decision = decide(
        answer("settlement", "accept", **FEE), ATTEMPTS["pending"], OrderState("pending_payment")
    )
    assert (decision.to_status, decision.fee_amount, decision.order_action) == ("settled", 213, A.SETTLE)
    # A later status answer without the metadata block carries the gross amount with the fee.
    paid = AttemptState(status="settled", amount=AMOUNT, was_settled=True, fee_amount=213)
    refund = decide(answer("refund", None, gross_amount=f"{AMOUNT + 213}.00"), paid, OrderState("paid"))
    assert (refund.outcome, refund.to_status, refund.credit_total) == ("applied", "refunded", AMOUNT)


def test_fee_block_that_does_not_add_up_is_an_amount_mismatch():
    bad = {**FEE, "gross_amount": f"{AMOUNT + 500}.00"}
    decision = decide(
        answer("settlement", "accept", **bad), ATTEMPTS["pending"], OrderState("pending_payment")
    )
    assert (decision.outcome, decision.order_action, decision.needs_refund) == ("rejected", A.NONE, True)


STATUSES = [
    "pending", "authorize", "capture", "settlement", "deny", "cancel", "expire", "failure",
    "refund", "partial_refund", "chargeback", "partial_chargeback",
]  # fmt: skip
ORDER_STATUSES = [
    "pending_payment", "paid", "preparing", "ready", "completed",
    "cancelled", "expired", "refunded", "payment_reversed",
]  # fmt: skip


@pytest.mark.parametrize("transaction_status", STATUSES)
def test_every_combination_moves_forward_only(transaction_status):
    """Beyond the table: every status x fraud_status x attempt x order gives a decision that
    the attempt's state machine allows, and never acts on an order without a status move."""
    for fraud, (was, state), order_status in product(
        ("accept", "challenge", "deny", None), ATTEMPTS.items(), ORDER_STATUSES
    ):
        decision = decide(answer(transaction_status, fraud), state, OrderState(order_status))
        assert isinstance(decision, Decision)
        if decision.to_status is None:
            assert decision.order_action == A.NONE, (fraud, was, order_status)
            continue
        assert decision.to_status in PAYMENT_TRANSITIONS[state.status], (fraud, was, order_status)
        assert decision.to_status in PaymentStatus.values
        if decision.order_action in (A.REFUND, A.CREDIT):
            assert 0 < decision.credit_total <= AMOUNT
