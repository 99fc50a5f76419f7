"""Gateway answers (a notification body, a status API answer, a refund answer): checked,
normalised, and read as the payment attempt status they mean (DESIGN.md §4). Pure: no
database, no network; `payments.decide` reads the result.

Beyond the basic fields, an answer carries what production Midtrans adds:
- Automatic Fee Imposition: `gross_amount` (and the signature over it) includes the fee the
  shopper paid; `metadata.extra_info.gross_amount_info` holds `original_amount`,
  `gross_amount` and `customer_imposed_payment_fee`, all strings (midtrans-php issue #118).
- BI-SNAP channels (DANA; the Danamon, BSI, SeaBank and Saqu virtual accounts): their status
  is asked by transaction id, and the answer may carry the transaction id in `order_id`
  (Midtrans's Get Status API reference; midtrans-php #113, #121; SNAP-Woocommerce PR #85).
- Chargebacks: `chargeback` / `partial_chargeback` after a settlement (Midtrans's
  "Transaction Status Cycle" page). The amount is read from `chargeback_amount` or a
  `chargebacks` list, shaped like the refund fields; a full chargeback is the whole amount.
"""

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
    "chargeback": P.CHARGEBACK,
    "partial_chargeback": P.PARTIAL_CHARGEBACK,
    # A card pre-authorisation: nothing captured yet (it becomes capture or cancel).
    "authorize": P.PENDING,
}
CAPTURE_BY_FRAUD_STATUS = {"accept": P.SETTLED, "": P.SETTLED, "challenge": P.CHALLENGE, "deny": P.FAILED}

NOTIFICATION_FIELDS = ("order_id", "status_code", "gross_amount", "signature_key", "transaction_status")
ANSWER_FIELDS = ("order_id", "gross_amount", "transaction_status")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")


# Midtrans payment types and virtual account banks that go through BI-SNAP.
BISNAP_PAYMENT_TYPES = frozenset({"dana"})
BISNAP_VA_BANKS = frozenset({"danamon", "bsi", "seabank", "saqu"})


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
    # Fee imposition (`metadata.extra_info.gross_amount_info`): what the order asked for and
    # the fee the shopper paid on top; None / 0 when the block is absent or inconsistent.
    original_amount: int | None = None
    fee_amount: int = 0
    chargeback_amount: int | None = None
    va_numbers: tuple[tuple[str, str], ...] = ()  # (bank, number)
    bisnap: bool = False

    @property
    def amount_due(self) -> int | None:
        """The amount this answer paid towards the order: the original amount when the
        shopper was charged a fee on top, else `gross_amount`."""
        return self.original_amount if self.original_amount is not None else self.gross_amount

    @property
    def status(self) -> str | None:
        """The attempt status this answer means (None: a status not handled)."""
        return target_status(self)


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


def _chargeback_amount(raw: dict[str, Any]) -> int | None:
    if "chargeback_amount" in raw:
        return _rupiah(raw["chargeback_amount"])
    chargebacks = raw.get("chargebacks")
    if isinstance(chargebacks, list) and chargebacks:
        amounts = [_rupiah(c.get("chargeback_amount")) if isinstance(c, dict) else None for c in chargebacks]
        return None if None in amounts else sum(amounts)
    return None


def _fee_imposition(raw: dict[str, Any], gross_amount: int | None) -> tuple[int | None, int]:
    """(original amount, fee) from `metadata.extra_info.gross_amount_info`, when it is there
    and adds up to the signed `gross_amount`; else (None, 0) and the gross amount stands."""
    info = raw.get("metadata")
    for key in ("extra_info", "gross_amount_info"):
        info = info.get(key) if isinstance(info, dict) else None
    if not isinstance(info, dict):
        return None, 0
    original = _rupiah(info.get("original_amount"))
    fee = _rupiah(info.get("customer_imposed_payment_fee"))
    total = _rupiah(info.get("gross_amount"))
    if None in (original, fee, total, gross_amount) or original + fee != total or total != gross_amount:
        return None, 0
    return original, fee


def _va_numbers(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = []
    for entry in raw.get("va_numbers") or []:
        if isinstance(entry, dict) and isinstance(entry.get("va_number"), str):
            found.append((str(entry.get("bank") or "").lower()[:20], entry["va_number"][:40]))
    for bank_field, number_field in (("permata", "permata_va_number"), ("mandiri", "bill_key")):
        if isinstance(raw.get(number_field), str):
            found.append((bank_field, raw[number_field][:40]))
    return tuple(found[:5])


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

    gross_amount = _rupiah(raw["gross_amount"])
    original_amount, fee_amount = _fee_imposition(raw, gross_amount)
    payment_type = text("payment_type")[:50].lower()
    transaction_id = text("transaction_id")[:100]
    va_numbers = _va_numbers(raw)
    return GatewayAnswer(
        order_id=raw["order_id"],
        transaction_status=text("transaction_status").lower(),  # Midtrans has sent "PENDING"
        fraud_status=text("fraud_status").lower(),
        gross_amount=gross_amount,
        transaction_id=transaction_id,
        payment_type=payment_type,
        refund_amount=_refund_amount(raw),
        raw=raw,
        original_amount=original_amount,
        fee_amount=fee_amount,
        chargeback_amount=_chargeback_amount(raw),
        va_numbers=va_numbers,
        bisnap=channel_is_bisnap(payment_type=payment_type, va_banks=[bank for bank, _ in va_numbers])
        or bool(transaction_id and raw["order_id"] == transaction_id),
    )


def channel_is_bisnap(*, payment_type: str, va_banks: list[str] | tuple[str, ...]) -> bool:
    """Whether a payment channel goes through BI-SNAP (its status only by transaction id)."""
    return payment_type in BISNAP_PAYMENT_TYPES or any(bank in BISNAP_VA_BANKS for bank in va_banks)


def target_status(answer: GatewayAnswer) -> str | None:
    """DESIGN.md §4: the attempt status a Midtrans answer means; None for one not handled."""
    if answer.transaction_status == "capture":
        return CAPTURE_BY_FRAUD_STATUS.get(answer.fraud_status)
    if answer.transaction_status == "settlement" and answer.fraud_status not in ("", "accept"):
        # A settlement whose fraud_status is present and not `accept` never pays: flagged
        # for staff, as a challenge is (DESIGN.md §4).
        return P.CHALLENGE
    return MIDTRANS_STATUSES.get(answer.transaction_status)
