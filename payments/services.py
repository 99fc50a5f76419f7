"""Every write to payments: opening attempts at the gateway, applying what the gateway says
(webhook, reconciliation, refunds), and the order moves that follow (DESIGN.md §4, §7).

Two rules hold everywhere:

- The network is never called inside a transaction or while a row is locked. Opening an
  attempt reserves its number in one short transaction, asks the gateway with no
  transaction open, then stores the answer in another.
- Whatever the gateway says (a webhook, a status lookup, a refund answer) goes through
  `_payment_apply`, which locks the order, then the payment, and applies
  PAYMENT_TRANSITIONS forward only. Repeats and stale answers change nothing, so any
  number of deliveries, reconciliations and retries, in any order and at the same time,
  move an order at most once.
"""

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.exceptions import InsufficientStock
from config import metrics
from config.tasks import enqueue
from invoices.models import Invoice
from invoices.selectors import invoice_credited
from invoices.services import credit_note_issue, invoice_issue
from invoices.tasks import render_credit_note_pdf, render_invoice_pdf
from orders.models import STOCK_RELEASED_STATUSES, Order, OrderEvent, OrderStatus
from orders.services import (
    GATEWAY,
    SYSTEM,
    TRANSITIONS,
    Actor,
    order_event_log,
    order_expire,
    order_lock,
    order_paid_side_effects,
    order_transition,
)
from payments.exceptions import (
    PaymentGatewayError,
    PaymentGatewayUnavailable,
    PaymentNotAllowed,
    PaymentOpening,
    RefundNotAllowed,
)
from payments.gateways import GatewayError, get_gateway
from payments.gateways.mock import mock_transaction_complete
from payments.models import Payment, PaymentNotification
from payments.selectors import PAYMENT_ERROR_TEXT, payment_current, payment_error

__all__ = [
    "PAYMENT_TRANSITIONS",
    "notification_handle",
    "orders_expire_due_reconciled",
    "payment_current",
    "payment_error",
    "payment_mock_complete",
    "payment_open",
    "payment_reconcile",
    "payment_refund",
    "payments_reconcile_pending",
]

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
MONEY_HELD = frozenset({P.SETTLED, P.PARTIALLY_REFUNDED})

# An attempt still without a token after PAYMENT_OPENING_STALE_SECONDS belongs to a request
# that died while asking the gateway (settings.py keeps it above the connect and read
# timeouts together); until then a retry is told the attempt is being opened.
# Opening an attempt with less of the order's window left than this is pointless.
MIN_PAYMENT_WINDOW = timedelta(minutes=1)
# A transaction the gateway has never heard of, this long after its window closed, can no
# longer be paid (Midtrans answers 404 for a Snap order nobody started).
UNSTARTED_EXPIRY_GRACE = timedelta(minutes=5)

NOTIFICATION_FIELDS = ("order_id", "status_code", "gross_amount", "signature_key", "transaction_status")
ANSWER_FIELDS = ("order_id", "gross_amount", "transaction_status")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")


# --- gateway answers --------------------------------------------------------------------


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


def _holds_nul(value: object) -> bool:
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
    if _holds_nul(raw):
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


# --- applying an answer: the one code path ----------------------------------------------


@dataclass(frozen=True)
class Applied:
    outcome: str
    detail: str


def _payment_apply(
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
    elif to_status == P.REFUNDED and counted:
        _order_refunded(order=order, payment=payment, actor=actor, now=now)
    if to_status in (P.REFUNDED, P.PARTIALLY_REFUNDED) and counted:
        _refund_credited(order=order, payment=payment, now=now)
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
        _order_paid(order=order, payment=payment, actor=actor, now=now)
    except InsufficientStock as exc:
        _flag(
            order=order,
            payment=payment,
            reason=f"Settled after the order was {was}, and the stock is gone ({exc.detail}) Refund it.",
            actor=actor,
            now=now,
            needs_refund=True,
        )


def _order_paid(
    *, order: Order, payment: Payment, actor: Actor = GATEWAY, now: datetime | None = None
) -> None:
    """The order became paid by `payment`: the one place where that happens, inside the
    transaction that holds the order's and the payment's row locks. An expired or cancelled
    order takes its stock again (InsufficientStock, with nothing changed, when it is gone).
    Whatever else must happen exactly once on payment (issuing the invoice) goes here."""
    order_transition(
        order=order,
        to_status=S.PAID,
        actor=actor,
        now=now,
        data={"gateway_order_id": payment.gateway_order_id, "payment_type": payment.payment_type},
    )
    invoice = invoice_issue(
        order=order,
        payment_method=payment.payment_type,
        transaction_id=payment.transaction_id,
        paid_at=order.paid_at,
        gateway=payment.gateway,
        now=now,
    )
    # After commit, outside this request when a worker runs: the PDF, then the receipt
    # (which attaches it, rendering it if the first task has not yet).
    enqueue(render_invoice_pdf, invoice.pk)
    order_paid_side_effects(order=order)


def _refund_credited(*, order: Order, payment: Payment, now: datetime) -> None:
    """Money went back on the attempt that paid the order: its invoice gets a credit note
    for what has not been credited yet. The reference is the attempt and the total refunded
    so far, so a repeated notification never credits twice."""
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        return
    amount = min(payment.refunded_amount, invoice.total) - invoice_credited(invoice=invoice)
    if amount <= 0:
        return
    credit_note = credit_note_issue(
        invoice=invoice,
        amount=amount,
        reason="Refunded in full" if payment.status == P.REFUNDED else "Partly refunded",
        refund_reference=f"{payment.gateway_order_id}:{payment.refunded_amount}",
        now=now,
    )
    enqueue(render_credit_note_pdf, credit_note.pk)


def _order_refunded(*, order: Order, payment: Payment, actor: Actor, now: datetime) -> None:
    """The attempt that paid the order was refunded in full: so is the order, when its
    state allows (paid, preparing); otherwise staff are told."""
    if S.REFUNDED not in TRANSITIONS.get(order.status, frozenset()):
        _flag(
            order=order,
            payment=payment,
            reason=f"Refunded in full while the order is {order.status}: the order's status is left as it is.",
            actor=actor,
            now=now,
        )
        return
    order_transition(
        order=order,
        to_status=S.REFUNDED,
        actor=actor,
        now=now,
        data={"gateway_order_id": payment.gateway_order_id},
    )


# --- the webhook ------------------------------------------------------------------------


def _notification_finish(
    notification_id: int, *, outcome: str, detail: str, http_status: int, **fields: Any
) -> None:
    PaymentNotification.objects.filter(pk=notification_id).update(
        outcome=outcome, detail=detail[:500], http_status=http_status, **fields
    )
    metrics.webhook_outcome(outcome)


def notification_handle(*, raw_body: bytes) -> tuple[int, dict[str, str]]:
    """Handle one gateway notification; returns (HTTP status, small JSON body).

    In this order: store the raw body; malformed -> 400; bad signature -> 403; unknown
    order_id -> 404; with MIDTRANS_VERIFY_STATUS, ask the status API and act on its answer
    (unreachable -> 503, so the gateway retries); lock order, then payment; check the
    amount; apply DESIGN.md §4 forward only. Repeated and stale notifications are 200 and
    change nothing. Call outside any transaction; the outcome lands on the notification."""
    # As received, but for what a text column cannot hold: bytes that are not UTF-8 and the
    # NUL character become U+FFFD (such a body is refused as not JSON below anyway).
    received = raw_body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    notification = PaymentNotification.objects.create(raw_body=received)
    try:
        return _notification_process(notification, raw_body)
    except Exception:
        logger.exception("Payment notification %s failed", notification.pk)
        _notification_finish(
            notification.pk, outcome=Outcome.ERROR, detail="Internal error.", http_status=500
        )
        return 500, {"status": "error", "detail": "Internal error; it will be retried."}


def _notification_process(notification: PaymentNotification, raw_body: bytes) -> tuple[int, dict[str, str]]:
    try:
        payload = json.loads(raw_body)
    except ValueError:  # not JSON, or not UTF-8
        _notification_finish(notification.pk, outcome=Outcome.REJECTED, detail="Not JSON.", http_status=400)
        return 400, {"status": "rejected", "detail": "The body is not JSON."}
    try:
        notified = answer_parse(payload, required=NOTIFICATION_FIELDS)
    except MalformedAnswer as exc:
        _notification_finish(
            notification.pk,
            outcome=Outcome.REJECTED,
            detail=str(exc),
            http_status=400,
            # The raw body is kept as received; a parsed one with NUL cannot be stored.
            payload=None if _holds_nul(payload) else payload,
        )
        return 400, {"status": "rejected", "detail": str(exc)}
    described = {
        "payload": payload,
        "gateway_order_id": notified.order_id[:100],
        "transaction_status": notified.transaction_status[:50],
    }

    gateway = get_gateway()
    if not gateway.signature_valid(payload):
        _notification_finish(
            notification.pk,
            outcome=Outcome.REJECTED,
            detail="Invalid signature.",
            http_status=403,
            signature_valid=False,
            **described,
        )
        return 403, {"status": "rejected", "detail": "Invalid signature."}
    described["signature_valid"] = True

    payment = Payment.objects.filter(gateway_order_id=notified.order_id, gateway=gateway.name).first()
    if payment is None:
        _notification_finish(
            notification.pk, outcome=Outcome.IGNORED, detail="Unknown order_id.", http_status=404, **described
        )
        return 404, {"status": "ignored", "detail": "Unknown order_id."}
    described.update(payment=payment, order_id=payment.order_id)

    answer = notified
    if settings.MIDTRANS_VERIFY_STATUS:
        try:
            answer = answer_parse(gateway.get_status(gateway_order_id=payment.gateway_order_id))
            if answer.order_id != payment.gateway_order_id:
                raise MalformedAnswer("The status API answered about another order_id.")
        except (GatewayError, MalformedAnswer) as exc:
            detail = f"Status check failed: {exc}"
            _notification_finish(
                notification.pk, outcome=Outcome.ERROR, detail=detail, http_status=503, **described
            )
            return 503, {
                "status": "error",
                "detail": "The payment status could not be confirmed; retry later.",
            }

    PaymentNotification.objects.filter(pk=notification.pk).update(**described)
    result = _payment_apply(
        payment_id=payment.pk,
        answer=answer,
        actor=GATEWAY,
        source="notification",
        notification_id=notification.pk,
    )
    return 200, {"status": "ok", "outcome": result.outcome}


# --- opening an attempt -----------------------------------------------------------------


def payment_open(*, order: Order, now: datetime | None = None) -> Payment:
    """Open a payment attempt for a pending order at the gateway, or return the current
    one while it is pending and its window is open.

    Call outside any transaction: the attempt number is reserved in one short transaction,
    the gateway is asked with no transaction open, and the answer is stored in another.
    The order must be pending_payment (else PaymentNotAllowed, 409). When the gateway fails
    raises PaymentGatewayError (502) or PaymentGatewayUnavailable (503); the order stays as
    it is, and the failed attempt records why (`payment_error` on the order)."""
    now = now or timezone.now()
    gateway = get_gateway()
    payment, reserved = _payment_reserve(order_id=order.pk, gateway=gateway.name, now=now)
    if not reserved:
        return payment
    full_order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    try:
        opened = gateway.create_payment(
            order=full_order, gateway_order_id=payment.gateway_order_id, expires_at=payment.expires_at
        )
    except GatewayError as exc:
        logger.warning("Opening payment %s failed: %s", payment.gateway_order_id, exc.message)
        _payment_open_failed(payment=payment, reason=exc.message, now=now)
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(PAYMENT_ERROR_TEXT.format(number=order.number), order=order.number) from None
    return _payment_opened(
        payment=payment, token=opened.token, redirect_url=opened.redirect_url, expires_at=opened.expires_at
    )


@transaction.atomic(durable=True)
def _payment_reserve(*, order_id: int, gateway: str, now: datetime) -> tuple[Payment, bool]:
    order = order_lock(order_id=order_id)
    if order.status != S.PENDING_PAYMENT:
        raise PaymentNotAllowed(
            f"An order that is {S(order.status).label.lower()} cannot be paid.", status=order.status
        )
    latest = Payment.objects.filter(order=order).order_by("-attempt").first()
    if latest is not None:
        if latest.status == P.PENDING and latest.is_open and latest.expires_at > now:
            return latest, False
        if latest.status == P.CHALLENGE:
            raise PaymentNotAllowed("The last payment is being reviewed; wait for its outcome.")
        if latest.status == P.PENDING and not latest.is_open and not latest.open_error:
            if latest.created_at > now - timedelta(seconds=settings.PAYMENT_OPENING_STALE_SECONDS):
                raise PaymentOpening()
            latest.status, latest.open_error = P.FAILED, "The request opening this attempt never finished."
            latest.save(update_fields=["status", "open_error", "updated_at"])
    if order.expires_at - now < MIN_PAYMENT_WINDOW:
        raise PaymentNotAllowed("The order's payment window has closed.", status=order.status)
    attempt = latest.attempt + 1 if latest else 1
    payment = Payment.objects.create(
        order=order,
        attempt=attempt,
        gateway=gateway,
        gateway_order_id=f"{order.number}-{attempt}",
        amount=order.total,
        currency=order.currency,
        expires_at=order.expires_at,
        created_at=now,
    )
    return payment, True


@transaction.atomic(durable=True)
def _payment_opened(*, payment: Payment, token: str, redirect_url: str, expires_at: datetime) -> Payment:
    order = order_lock(order_id=payment.order_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    payment.token, payment.redirect_url, payment.expires_at = token, redirect_url, expires_at
    payment.save(update_fields=["token", "redirect_url", "expires_at", "updated_at"])
    order_event_log(
        order=order,
        type=OrderEvent.Type.PAYMENT_OPENED,
        actor=SYSTEM,
        data={
            "gateway": payment.gateway,
            "gateway_order_id": payment.gateway_order_id,
            "attempt": payment.attempt,
            "amount": payment.amount,
        },
    )
    return payment


@transaction.atomic(durable=True)
def _payment_open_failed(*, payment: Payment, reason: str, now: datetime) -> None:
    order = order_lock(order_id=payment.order_id)
    Payment.objects.filter(pk=payment.pk).update(
        status=P.FAILED, open_error=reason[:500] or "The gateway failed.", updated_at=timezone.now()
    )
    order_event_log(
        order=order,
        type=OrderEvent.Type.PAYMENT_UPDATED,
        actor=SYSTEM,
        now=now,
        data={
            "gateway_order_id": payment.gateway_order_id,
            "from": P.PENDING,
            "to": P.FAILED,
            "source": "open",
            "reason": "The gateway could not open the payment.",
        },
    )


# --- reconciliation ---------------------------------------------------------------------


def payment_reconcile(*, payment: Payment, actor: Actor = GATEWAY, now: datetime | None = None) -> str:
    """Ask the gateway about one attempt and apply its answer through the webhook's code
    path; returns the outcome. Safe to repeat and to race with notifications.

    A transaction the gateway has never heard of (nobody started paying it) is left alone
    until its window has been closed a while; then it is expired, as it can no longer be
    paid. Raises PaymentGatewayUnavailable / PaymentGatewayError when the gateway fails."""
    now = now or timezone.now()
    gateway = get_gateway()
    if payment.gateway != gateway.name or not payment.is_open:
        return Outcome.IGNORED
    try:
        answer = answer_parse(gateway.get_status(gateway_order_id=payment.gateway_order_id))
    except GatewayError as exc:
        if not exc.not_found:
            error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
            raise error(f"Status check of {payment.gateway_order_id} failed: {exc.message}") from None
        if payment.expires_at + UNSTARTED_EXPIRY_GRACE > now:
            return Outcome.IGNORED
        answer = _unstarted_expiry(payment)
    except MalformedAnswer as exc:
        raise PaymentGatewayError(f"Status of {payment.gateway_order_id} unreadable: {exc}") from None
    if answer.order_id != payment.gateway_order_id:
        raise PaymentGatewayError(
            f"The status API answered about another order than {payment.gateway_order_id}."
        )
    return _payment_apply(
        payment_id=payment.pk, answer=answer, actor=actor, source="reconcile", now=now
    ).outcome


def _unstarted_expiry(payment: Payment) -> GatewayAnswer:
    raw = {
        "order_id": payment.gateway_order_id,
        "transaction_status": "expire",
        "gross_amount": f"{payment.amount}.00",
        "status_message": "Unknown to the gateway after its payment window closed.",
    }
    return answer_parse(raw)


RECONCILABLE = (P.PENDING, P.CHALLENGE)
CHANGED = (Outcome.APPLIED, Outcome.REJECTED)  # outcomes that wrote something


def payments_reconcile_pending(
    *, min_age_seconds: int = 60, now: datetime | None = None, limit: int | None = None
) -> int:
    """Reconcile every opened attempt still pending (or challenged) for at least
    `min_age_seconds`, oldest first; returns how many changed. One failing lookup is
    logged and skipped. Safe to run concurrently (each answer is applied under locks)."""
    now = now or timezone.now()
    due = Payment.objects.filter(
        status__in=RECONCILABLE, created_at__lte=now - timedelta(seconds=min_age_seconds)
    ).exclude(token="")
    changed = 0
    for payment in due.order_by("created_at", "id")[:limit]:
        try:
            outcome = payment_reconcile(payment=payment, now=now)
        except PaymentGatewayError as exc:
            logger.warning("Reconciling %s failed: %s", payment.gateway_order_id, exc.detail)
            continue
        changed += outcome in CHANGED
    return changed


def orders_expire_due_reconciled(*, now: datetime | None = None, limit: int | None = None) -> tuple[int, int]:
    """Expire pending orders past their window, each after asking the gateway about its
    open attempts, so a paid order whose notification was lost is paid, not expired.
    Returns (attempts changed, orders expired). When the gateway cannot be asked the order
    still expires: a settlement that arrives later takes the stock again, or is flagged
    for a refund (DESIGN.md §4)."""
    now = now or timezone.now()
    due = Order.objects.filter(status=S.PENDING_PAYMENT, expires_at__lte=now).order_by("expires_at", "id")
    changed = expired = 0
    for order_id in list(due.values_list("pk", flat=True)[:limit]):
        open_attempts = Payment.objects.filter(order_id=order_id, status__in=RECONCILABLE).exclude(token="")
        for payment in open_attempts.order_by("attempt"):
            try:
                changed += payment_reconcile(payment=payment, now=now) in CHANGED
            except PaymentGatewayError as exc:
                logger.warning(
                    "Reconciling %s before expiry failed: %s", payment.gateway_order_id, exc.detail
                )
        expired += order_expire(order_id=order_id, now=now)
    return changed, expired


# --- refunds ----------------------------------------------------------------------------


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
    _payment_apply(payment_id=payment.pk, answer=answer, actor=actor, source="refund")
    payment.refresh_from_db()
    if payment.status != P.REFUNDED:
        message = raw.get("status_message") or "no reason given"
        raise RefundNotAllowed(f"The gateway did not confirm a full refund ({message!s:.200}).")
    return payment


# --- the mock gateway's payment page ----------------------------------------------------


def payment_mock_complete(
    *, token: str, transaction_status: str, payment_type: str | None = None
) -> tuple[int, dict[str, str]]:
    """The shopper's choice on the mock gateway's page: the mock records it, then its
    signed Midtrans-shaped notification goes through `notification_handle`, as Midtrans's
    would. Returns the handler's answer."""
    notification = mock_transaction_complete(
        token=token, transaction_status=transaction_status, payment_type=payment_type
    )
    return notification_handle(raw_body=json.dumps(notification).encode())
