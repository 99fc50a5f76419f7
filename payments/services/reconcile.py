"""Reconciliation: asking the gateway about attempts whose notification may have been
lost, and applying its answers through `payment_apply` (DESIGN.md §7): pending attempts,
and settled ones whose money may still move (voids, reversals, chargebacks, refunds).
Also the one expiry of unpaid orders, which reconciles each order before expiring it."""

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.services import GATEWAY, Actor, order_expire
from payments.exceptions import NothingToRecheck, PaymentGatewayError, PaymentGatewayUnavailable
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import GatewayAnswer, MalformedAnswer, answer_parse
from payments.models import Payment, PaymentNotification
from payments.services.apply import MONEY_HELD, payment_apply
from payments.services.status import attempt_is_bisnap, payment_status_fetch

logger = logging.getLogger(__name__)

P = Payment.Status
S = OrderStatus
Outcome = PaymentNotification.Outcome

# A transaction the gateway has never heard of, this long after its window closed, can no
# longer be paid (Midtrans answers 404 for a Snap order nobody started).
UNSTARTED_EXPIRY_GRACE = timedelta(minutes=5)


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
        answer = payment_status_fetch(gateway=gateway, payment=payment)
    except GatewayError as exc:
        if not exc.not_found:
            error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
            raise error(f"Status check of {payment.gateway_order_id} failed: {exc.message}") from None
        if payment.expires_at + UNSTARTED_EXPIRY_GRACE > now or not _unstarted(payment):
            return Outcome.IGNORED
        answer = _unstarted_expiry(payment)
    except MalformedAnswer as exc:
        raise PaymentGatewayError(f"Status of {payment.gateway_order_id} unreadable: {exc}") from None
    return payment_apply(
        payment_id=payment.pk, answer=answer, actor=actor, source="reconcile", now=now
    ).outcome


def _unstarted(payment: Payment) -> bool:
    """Nobody started paying: the gateway never sent a signed notification about it, and
    it is not a BI-SNAP channel (whose status by order id is a 404 even when paid). A 404
    for anything else is never read as an expiry."""
    if payment.transaction_id or attempt_is_bisnap(payment):
        return False
    return not PaymentNotification.objects.filter(payment=payment, signature_valid=True).exists()


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


# Midtrans settles a card capture within a day; reversals and chargebacks come after the
# settlement. Attempts that settled this recently are asked about again.
POST_SETTLEMENT_WINDOW = timedelta(hours=24)


def payments_recheck_settled(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Ask the gateway again about attempts whose money may still move (DESIGN.md §7), so a
    lost post-settlement notification heals: card captures until they settle, attempts
    settled within POST_SETTLEMENT_WINDOW (a reversal, a chargeback, a refund in flight),
    and reversed attempts whose order is on hold (settled again lifts the hold). Returns
    how many changed; one failing lookup is logged and skipped."""
    now = now or timezone.now()
    money_held = Q(status__in=MONEY_HELD)
    due = Payment.objects.filter(
        (money_held & Q(raw_status__transaction_status="capture"))
        | (money_held & Q(settled_at__gte=now - POST_SETTLEMENT_WINDOW))
        | Q(status=P.FAILED, settled_at__isnull=False, order__status=S.PAYMENT_REVERSED)
    ).exclude(token="")
    changed = 0
    for payment in due.order_by("updated_at", "id")[:limit]:
        try:
            outcome = payment_reconcile(payment=payment, now=now)
        except PaymentGatewayError as exc:
            logger.warning("Re-checking %s failed: %s", payment.gateway_order_id, exc.detail)
            continue
        changed += outcome in CHANGED
    return changed


def order_payment_recheck(*, order: Order, actor: Actor) -> tuple[Payment, str]:
    """Staff re-check an order's payment with the gateway (the way out of
    `payment_reversed`: the hold lifts when the gateway says settled again). The attempt
    asked about is the one that paid or was reversed, else the latest opened one. Returns it
    (refreshed) and the outcome; NothingToRecheck (409) when no attempt was opened; the
    gateway's failures as in `payment_reconcile`."""
    opened = Payment.objects.filter(order=order).exclude(token="")
    payment = (
        opened.filter(
            Q(status__in=MONEY_HELD, needs_refund=False) | Q(status=P.FAILED, settled_at__isnull=False)
        )
        .order_by("-attempt")
        .first()
        or opened.order_by("-attempt").first()
    )
    if payment is None:
        raise NothingToRecheck()
    outcome = payment_reconcile(payment=payment, actor=actor)
    payment.refresh_from_db()
    return payment, outcome


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
