"""The gateway's notifications (DESIGN.md §7): logged as received, checked, confirmed with
the gateway's status API, then applied through `payment_apply`. The mock gateway's page
sends its notifications through the same handler."""

import json
import logging
from typing import Any

from django.conf import settings

from orders.services import GATEWAY
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import NOTIFICATION_FIELDS, MalformedAnswer, answer_parse, holds_nul
from payments.gateways.base import notification_codes_agree
from payments.gateways.mock import mock_transaction_complete
from payments.models import Payment, PaymentNotification
from payments.services.apply import payment_apply

logger = logging.getLogger(__name__)

Outcome = PaymentNotification.Outcome


def _notification_finish(
    notification_id: int, *, outcome: str, detail: str, http_status: int, **fields: Any
) -> None:
    PaymentNotification.objects.filter(pk=notification_id).update(
        outcome=outcome, detail=detail[:500], http_status=http_status, **fields
    )


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
            payload=None if holds_nul(payload) else payload,
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

    PaymentNotification.objects.filter(pk=notification.pk).update(**described)
    result = payment_apply(
        payment_id=payment.pk,
        answer=answer,
        actor=GATEWAY,
        source="notification",
        notification_id=notification.pk,
    )
    return 200, {"status": "ok", "outcome": result.outcome}


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
