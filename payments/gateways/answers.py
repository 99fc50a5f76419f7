"""Gateway answers (a notification body, a status API answer, a refund answer): checked,
normalised, and read as the payment attempt status they mean (DESIGN.md §4)."""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from payments.models import Payment

P = Payment.Status

# Midtrans `transaction_status` -> attempt status (a `capture` depends on `fraud_status`).
MIDTRANS_STATUSES = {
    "settlement": P.SETTLED,
    "pending": P.PENDING,
    "deny": P.FAILED,
    "cancel": P.CANCELLED,
    "expire": P.EXPIRED,
    "failure": P.FAILED,
    "refund": P.REFUNDED,
    "partial_refund": P.PARTIALLY_REFUNDED,
}
CAPTURE_BY_FRAUD_STATUS = {"accept": P.SETTLED, "": P.SETTLED, "challenge": P.CHALLENGE, "deny": P.FAILED}

NOTIFICATION_FIELDS = ("order_id", "status_code", "gross_amount", "signature_key", "transaction_status")
ANSWER_FIELDS = ("order_id", "gross_amount", "transaction_status")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")


class MalformedAnswer(ValueError):
    pass


@dataclass(frozen=True)
class GatewayAnswer:
    """A notification body or status API answer, checked and normalised."""

    order_id: str
    transaction_status: str
    fraud_status: str
    gross_amount: int | None  # None: not a whole rupiah amount
    transaction_id: str
    payment_type: str
    refund_amount: int | None
    raw: dict[str, Any]


def _rupiah(value: object) -> int | None:
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not AMOUNT_PATTERN.fullmatch(value):
        return None
    amount = Decimal(value)
    return int(amount) if amount == amount.to_integral_value() else None


def _refund_amount(raw: dict[str, Any]) -> int | None:
    if "refund_amount" in raw:
        return _rupiah(raw["refund_amount"])
    refunds = raw.get("refunds")
    if isinstance(refunds, list) and refunds:
        amounts = [_rupiah(r.get("refund_amount")) if isinstance(r, dict) else None for r in refunds]
        return None if None in amounts else sum(amounts)
    return None


def holds_nul(value: object) -> bool:
    """Whether the NUL character is in any string or key of a parsed JSON value (PostgreSQL
    cannot store it; no gateway sends it). Iterative: the depth is the sender's choice."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def answer_parse(raw: object, *, required: tuple[str, ...] = ANSWER_FIELDS) -> GatewayAnswer:
    """Check a gateway answer's shape; raises MalformedAnswer naming what is wrong."""
    if not isinstance(raw, dict):
        raise MalformedAnswer("The body is not a JSON object.")
    if holds_nul(raw):
        raise MalformedAnswer("The body contains the NUL character (U+0000).")
    missing = [name for name in required if not isinstance(raw.get(name), str) or not raw[name]]
    if missing:
        raise MalformedAnswer(f"Missing or not a string: {', '.join(missing)}.")
    if AMOUNT_PATTERN.fullmatch(raw["gross_amount"]) is None:
        raise MalformedAnswer("gross_amount is not an amount.")

    def text(name: str) -> str:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) else ""

    return GatewayAnswer(
        order_id=raw["order_id"],
        transaction_status=text("transaction_status").lower(),  # Midtrans has sent "PENDING"
        fraud_status=text("fraud_status").lower(),
        gross_amount=_rupiah(raw["gross_amount"]),
        transaction_id=text("transaction_id")[:100],
        payment_type=text("payment_type")[:50],
        refund_amount=_refund_amount(raw),
        raw=raw,
    )


def target_status(answer: GatewayAnswer) -> str | None:
    """DESIGN.md §4: the attempt status a Midtrans answer means; None for one not handled."""
    if answer.transaction_status == "capture":
        return CAPTURE_BY_FRAUD_STATUS.get(answer.fraud_status)
    return MIDTRANS_STATUSES.get(answer.transaction_status)
