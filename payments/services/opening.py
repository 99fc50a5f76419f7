"""Opening payment attempts at the gateway (DESIGN.md §6 step 2, §7).

The network is never called inside a transaction or while a row is locked: opening an
attempt reserves its number in one short transaction, asks the gateway with no
transaction open, then stores the answer in another.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, OrderEvent, OrderStatus
from orders.services import SYSTEM, order_event_log, order_lock
from payments.exceptions import (
    PaymentGatewayError,
    PaymentGatewayUnavailable,
    PaymentNotAllowed,
    PaymentOpening,
)
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import MalformedAnswer, answer_parse
from payments.models import Payment
from payments.selectors import PAYMENT_ERROR_TEXT
from payments.services.apply import payment_apply
from payments.services.reconcile import payment_reconcile
from payments.services.transition import payment_transition

logger = logging.getLogger(__name__)

P = Payment.Status
S = OrderStatus

# An attempt still without a token after PAYMENT_OPENING_STALE_SECONDS belongs to a request
# that died while asking the gateway (settings.py keeps it above the connect and read
# timeouts together); until then a retry is told the attempt is being opened.
# Opening an attempt with less of the order's window left than this is pointless.
MIN_PAYMENT_WINDOW = timedelta(minutes=1)


def payment_open(*, order: Order, now: datetime | None = None) -> Payment:
    """Open a payment attempt for a pending order at the gateway, or return the current
    one while its page is valid and the gateway may still take money on it (pending, or a
    denied card, which Snap lets try again). A new attempt is opened only when the last one
    ended in a state Midtrans does not reopen (cancel, expire), could not be opened, or was
    first cancelled at the gateway here (its page ended while still payable there).

    Call outside any transaction: the attempt number is reserved in one short transaction,
    the gateway is asked with no transaction open, and the answer is stored in another.
    The order must be pending_payment (else PaymentNotAllowed, 409). When the gateway fails
    raises PaymentGatewayError (502) or PaymentGatewayUnavailable (503); the order stays as
    it is, and the failed attempt records why (`payment_error` on the order)."""
    now = now or timezone.now()
    gateway = get_gateway()
    try:
        payment, reserved = _payment_reserve(order_id=order.pk, gateway=gateway.name, now=now)
    except _CancelFirst as first:
        # The last attempt's page has ended but the gateway may still take money on it: a new
        # attempt only once it is cancelled there (else the shopper could pay twice).
        if not _payment_gateway_cancel(payment=first.payment):
            # Unknown there (nobody paid) or moved on (it may have settled): its status decides.
            payment_reconcile(payment=first.payment, now=now)
        payment, reserved = _payment_reserve(order_id=order.pk, gateway=gateway.name, now=now, cancelled=True)
    if not reserved:
        return payment
    return _payment_ask(
        gateway=gateway,
        order=Order.objects.prefetch_related("lines").get(pk=order.pk),
        payment=payment,
        now=now,
    ).payment


def payment_reserve_placed(*, order: Order, now: datetime | None = None) -> Payment | None:
    """Reserve the first attempt of an order placed in the caller's transaction (checkout),
    in that transaction: one INSERT, no lock and no read, since no one else can see the
    order before it commits. None when the order's window is too short to open a payment
    (`payment_open_reserved` then says so)."""
    now = now or timezone.now()
    if order.expires_at - now < MIN_PAYMENT_WINDOW:
        return None
    return Payment.objects.create(
        order=order,
        attempt=1,
        gateway=get_gateway().name,
        gateway_order_id=f"{order.number}-1",
        amount=order.total,
        currency=order.currency,
        expires_at=order.expires_at,
        created_at=now,
    )


@dataclass(frozen=True)
class Opened:
    payment: Payment
    event: OrderEvent  # the order's `payment_opened`


def payment_open_reserved(*, order: Order, payment: Payment | None, now: datetime | None = None) -> Opened:
    """Outside any transaction, once the order is committed: ask the gateway for the
    attempt `payment_reserve_placed` reserved (None: the window was too short,
    PaymentNotAllowed) and store its answer in a short transaction. `order` carries its
    lines (as `order_place_within` leaves them cached), so nothing is read again. Fails
    as `payment_open` does."""
    if payment is None:
        raise PaymentNotAllowed(_("The order's payment window has closed."), status=order.status)
    return _payment_ask(gateway=get_gateway(), order=order, payment=payment, now=now or timezone.now())


def _payment_ask(*, gateway, order: Order, payment: Payment, now: datetime) -> Opened:
    """Ask the gateway to open the reserved `payment` for `order` (with its lines), with no
    transaction open, then record the answer or the failure."""
    try:
        opened = gateway.create_payment(
            order=order, gateway_order_id=payment.gateway_order_id, expires_at=payment.expires_at
        )
    except GatewayError as exc:
        logger.warning("Opening payment %s failed: %s", payment.gateway_order_id, exc.message)
        _payment_open_failed(payment=payment, reason=exc.message, now=now)
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(PAYMENT_ERROR_TEXT.format(number=order.number), order=order.number) from None
    return _payment_opened(
        payment=payment, token=opened.token, redirect_url=opened.redirect_url, expires_at=opened.expires_at
    )


class _CancelFirst(Exception):
    def __init__(self, payment: Payment) -> None:
        super().__init__(payment.gateway_order_id)
        self.payment = payment


def _reopenable(payment: Payment) -> bool:
    """The gateway opened this attempt and may still take money on it: waiting, or denied
    (Snap lets a denied card try again on the same page). Only `expire` and `cancel` are
    terminal states Midtrans will not reopen; an attempt that never opened (open_error) or
    that settled once (then reversed) is not reused."""
    return (
        payment.status in (P.PENDING, P.FAILED)
        and payment.is_open
        and not payment.open_error
        and payment.settled_at is None
    )


@transaction.atomic(durable=True)
def _payment_reserve(
    *, order_id: int, gateway: str, now: datetime, cancelled: bool = False
) -> tuple[Payment, bool]:
    order = order_lock(order_id=order_id)
    if order.status != S.PENDING_PAYMENT:
        raise PaymentNotAllowed(
            _("An order that is %(status)s cannot be paid.") % {"status": S(order.status).label.lower()},
            status=order.status,
        )
    latest = Payment.objects.filter(order=order).order_by("-attempt").first()
    if latest is not None:
        if _reopenable(latest) and latest.expires_at > now:
            return latest, False  # its page is still valid: the same attempt (issue 17, item 8)
        if _reopenable(latest) and not cancelled:
            raise _CancelFirst(latest)
        if latest.status == P.CHALLENGE:
            raise PaymentNotAllowed(_("The last payment is being reviewed; wait for its outcome."))
        if latest.status == P.PENDING and not latest.is_open and not latest.open_error:
            if latest.created_at > now - timedelta(seconds=settings.PAYMENT_OPENING_STALE_SECONDS):
                raise PaymentOpening()
            payment_transition(
                order=order,
                payment=Payment.objects.select_for_update().get(pk=latest.pk),
                to_status=P.FAILED,
                actor=SYSTEM,
                source="open",
                now=now,
                fields={"open_error": "The request opening this attempt never finished."},
                data={"reason": "The request opening this payment never finished."},
            )
    if order.expires_at - now < MIN_PAYMENT_WINDOW:
        raise PaymentNotAllowed(_("The order's payment window has closed."), status=order.status)
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
def _payment_opened(*, payment: Payment, token: str, redirect_url: str, expires_at: datetime) -> Opened:
    """Store the gateway's answer on the attempt and log it: two statements. The event goes
    first: its INSERT takes the order row's key-share lock, which waits for any flow holding
    the order locked (they lock order, then payment), so the payment row is locked second,
    as everywhere else. The attempt comes back as stored."""
    event = order_event_log(
        order=payment.order,
        type=OrderEvent.Type.PAYMENT_OPENED,
        actor=SYSTEM,
        data={
            "gateway": payment.gateway,
            "gateway_order_id": payment.gateway_order_id,
            "attempt": payment.attempt,
            "amount": payment.amount,
        },
    )
    payment.token, payment.redirect_url, payment.expires_at = token, redirect_url, expires_at
    payment.updated_at = event.created_at
    Payment.objects.filter(pk=payment.pk).update(
        token=token, redirect_url=redirect_url, expires_at=expires_at, updated_at=payment.updated_at
    )
    return Opened(payment=payment, event=event)


@transaction.atomic(durable=True)
def _payment_open_failed(*, payment: Payment, reason: str, now: datetime) -> None:
    order = order_lock(order_id=payment.order_id)
    payment_transition(
        order=order,
        payment=Payment.objects.select_for_update().get(pk=payment.pk),
        to_status=P.FAILED,
        actor=SYSTEM,
        source="open",
        now=now,
        fields={"open_error": reason[:500] or "The gateway failed."},
        data={"reason": "The gateway could not open the payment."},
    )


# Attempts the gateway may still take money on: waiting, challenged (a capture held for
# review) or denied (Snap lets the shopper try again on the same page).
GATEWAY_OPEN = (P.PENDING, P.CHALLENGE, P.FAILED)


def order_attempts_to_cancel(*, order_id: int) -> list[int]:
    """Ids of the order's attempts the gateway opened and may still take money on."""
    return list(
        Payment.objects.filter(order_id=order_id, status__in=GATEWAY_OPEN, settled_at__isnull=True)
        .exclude(token="")
        .order_by("attempt")
        .values_list("pk", flat=True)
    )


def order_attempts_cancel(*, order_id: int) -> int:
    """Cancel at the gateway (`/v2/{id}/cancel`) every attempt of a cancelled or expired
    order that could still be paid, and apply the gateway's answer (the attempt becomes
    cancelled). Safe to repeat: an attempt already closed is skipped, and a transaction the
    gateway never heard of (404: nobody picked a payment method; Snap's page ends with its
    window) or will not change (412: it moved on, e.g. settled meanwhile, which the webhook
    and reconciliation apply) is left as it is. Raises PaymentGatewayError when the gateway
    fails, for the worker to retry. Returns how many the gateway cancelled."""
    cancelled = 0
    for payment in Payment.objects.filter(pk__in=order_attempts_to_cancel(order_id=order_id)):
        cancelled += _payment_gateway_cancel(payment=payment)
    return cancelled


def _payment_gateway_cancel(*, payment: Payment) -> bool:
    """Cancel one attempt at the gateway and apply the answer; True if the gateway cancelled
    it. A 404 (nobody started paying) or 412 (it moved on) is left to the webhook and
    reconciliation; any other failure raises PaymentGatewayError (502/503)."""
    gateway = get_gateway()
    if payment.gateway != gateway.name:
        return False
    try:
        answer = answer_parse(gateway.cancel(gateway_order_id=payment.gateway_order_id))
    except GatewayError as exc:
        if exc.status_code in (404, 412):
            logger.info("Cancel of %s at the gateway: %s", payment.gateway_order_id, exc.message)
            return False
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(f"Cancelling {payment.gateway_order_id} at the gateway failed: {exc.message}") from None
    except MalformedAnswer as exc:
        raise PaymentGatewayError(
            f"The cancel answer for {payment.gateway_order_id} is unreadable: {exc}"
        ) from None
    payment_apply(payment_id=payment.pk, answer=answer, actor=SYSTEM, source="order_closed")
    return True
