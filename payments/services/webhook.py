"""The gateway's notifications (DESIGN.md §7): logged as received, checked, confirmed with
the gateway's status API, then applied through `payment_apply`. The mock gateway's page
sends its notifications through the same handler."""

import hashlib
import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from config import metrics
from orders.services import GATEWAY
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import NOTIFICATION_FIELDS, GatewayAnswer, MalformedAnswer, answer_parse
from payments.gateways.base import notification_codes_agree
from payments.gateways.mock import mock_transaction_complete
from payments.models import Payment, PaymentNotification
from payments.services.apply import payment_apply
from payments.services.status import payment_status_fetch

logger = logging.getLogger(__name__)

Outcome = PaymentNotification.Outcome


def _notification_finish(
    notification_id: int, *, outcome: str, detail: str, http_status: int, **fields: Any
) -> None:
    PaymentNotification.objects.filter(pk=notification_id).update(
        outcome=outcome, detail=detail[:500], http_status=http_status, **fields
    )
    metrics.webhook_outcome(outcome)


def notification_handle(*, raw_body: bytes) -> tuple[int, dict[str, str]]:
    """Handle one gateway notification; returns (HTTP status, small JSON body).

    In this order: store a bounded digest of the body; malformed -> 400; bad signature ->
    403 (the row keeps only the digest); signed: store the body whole; unknown order_id ->
    404; with MIDTRANS_VERIFY_STATUS, ask the status API and act on its answer (unreachable
    -> 503, so the gateway retries); lock order, then payment; check the amount; apply
    DESIGN.md §4 forward only. Repeated and stale notifications are 200 and change nothing.
    An unexpected error is a 503 too (Midtrans retries a 503 four times, a 500 once). Call
    outside any transaction, with a body the caller has already bounded (the view reads at
    most WEBHOOK_MAX_BODY_BYTES); the outcome lands on the notification."""
    notification = PaymentNotification.objects.create(
        raw_body=_as_text(raw_body[:RAW_BODY_PREFIX_BYTES]),
        body_size=len(raw_body),
        body_sha256=hashlib.sha256(raw_body).hexdigest(),
    )
    described: dict[str, Any] = {}  # what is known of it so far, written with its outcome
    try:
        return _notification_process(notification, raw_body, described)
    except Exception:
        logger.exception("Payment notification %s failed", notification.pk)
        _notification_finish(
            notification.pk, outcome=Outcome.ERROR, detail="Internal error.", http_status=503, **described
        )
        return 503, {"status": "error", "detail": "Internal error; it will be retried."}


# What is kept of a body whose signature does not hold (or was never checked).
RAW_BODY_PREFIX_BYTES = 1024
# Midtrans's notifications nest four levels deep (metadata.extra_info.gross_amount_info);
# anything much deeper is not from a gateway, and past Python's recursion limit `json`
# itself fails.
MAX_JSON_DEPTH = 32


def _as_text(raw: bytes) -> str:
    # As received, but for what a text column cannot hold: bytes that are not UTF-8 and the
    # NUL character become U+FFFD (such a body is refused as not JSON anyway).
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _too_deep(value: object, *, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests containers more than `limit` levels. Iterative."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def notifications_purge(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete the notifications older than WEBHOOK_RETENTION_DAYS that are tied to no
    payment (forged, malformed, unknown order ids); those tied to a payment stay as its
    audit trail. Returns how many went. In batches, so no long lock; safe to run twice."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    stale = PaymentNotification.objects.filter(
        received_at__lt=cutoff, payment__isnull=True, order__isnull=True
    )
    deleted = 0
    while ids := list(stale.values_list("pk", flat=True)[:batch]):
        deleted += PaymentNotification.objects.filter(pk__in=ids).delete()[0]
    return deleted


def _notification_process(
    notification: PaymentNotification, raw_body: bytes, described: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    try:
        payload = json.loads(raw_body)
        too_deep = _too_deep(payload)
    except ValueError:  # not JSON, or not UTF-8
        _notification_finish(notification.pk, outcome=Outcome.REJECTED, detail="Not JSON.", http_status=400)
        return 400, {"status": "rejected", "detail": "The body is not JSON."}
    except RecursionError:  # nested past the interpreter's own limit (was a 500)
        too_deep = True
    if too_deep:
        detail = f"The body nests more than {MAX_JSON_DEPTH} levels deep."
        _notification_finish(notification.pk, outcome=Outcome.REJECTED, detail=detail, http_status=400)
        return 400, {"status": "rejected", "detail": detail}
    try:
        notified = answer_parse(payload, required=NOTIFICATION_FIELDS)
    except MalformedAnswer as exc:
        # Unsigned: the row keeps the digest only.
        _notification_finish(notification.pk, outcome=Outcome.REJECTED, detail=str(exc), http_status=400)
        return 400, {"status": "rejected", "detail": str(exc)}
    described.update(
        gateway_order_id=notified.order_id[:100], transaction_status=notified.transaction_status[:50]
    )

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
    # Signed by the gateway: now worth keeping whole.
    described.update(signature_valid=True, payload=payload, raw_body=_as_text(raw_body))

    payment = Payment.objects.filter(gateway_order_id=notified.order_id, gateway=gateway.name).first()
    if payment is None:
        # BI-SNAP: a notification can carry the transaction id as its order_id (midtrans-php
        # #121, BSI VA); one we stored from an earlier notification finds the attempt.
        payment = Payment.objects.filter(transaction_id=notified.order_id, gateway=gateway.name).first()
    if payment is None:
        _notification_finish(
            notification.pk, outcome=Outcome.IGNORED, detail="Unknown order_id.", http_status=404, **described
        )
        return 404, {"status": "ignored", "detail": "Unknown order_id."}
    described.update(payment=payment, order_id=payment.order_id)

    answer = notified
    if settings.MIDTRANS_VERIFY_STATUS:
        try:
            answer = _fee_carried(
                payment_status_fetch(gateway=gateway, payment=payment, hint=notified), notified
            )
        except (GatewayError, MalformedAnswer) as exc:
            detail = f"Status check failed: {exc}"
            _notification_finish(
                notification.pk, outcome=Outcome.ERROR, detail=detail, http_status=503, **described
            )
            return 503, {
                "status": "error",
                "detail": "The payment status could not be confirmed; retry later.",
            }
    elif not notification_codes_agree(
        transaction_status=notified.transaction_status, status_code=payload["status_code"]
    ):
        # Acting on the body alone: its transaction_status is unsigned, but the status_code
        # beside it is signed. A pair Midtrans never sends is a forged status.
        detail = "status_code does not fit transaction_status."
        _notification_finish(
            notification.pk, outcome=Outcome.REJECTED, detail=detail, http_status=400, **described
        )
        return 400, {"status": "rejected", "detail": detail}

    # What the notification is about lands with its outcome, in the applying transaction.
    result = payment_apply(
        payment_id=payment.pk,
        order_id=payment.order_id,
        answer=answer,
        actor=GATEWAY,
        source="notification",
        notification_id=notification.pk,
        notification_fields={k: v for k, v in described.items() if k not in ("payment", "order_id")},
    )
    return 200, {"status": "ok", "outcome": result.outcome}


def _fee_carried(answer: GatewayAnswer, notified: GatewayAnswer) -> GatewayAnswer:
    """The signed notification's fee-imposition block (midtrans-php #118) for a status
    answer that confirms the same gross amount without repeating the block."""
    if (
        answer.original_amount is None
        and notified.original_amount is not None
        and answer.gross_amount == notified.gross_amount
    ):
        return replace(answer, original_amount=notified.original_amount, fee_amount=notified.fee_amount)
    return answer


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
