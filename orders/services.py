"""Every write to an order once it exists: the status machine, cancel, expiry, the audit
trail, and giving back the stock orders hold. Placing an order is `orders.placing`; the
Idempotency-Key records of checkout are `orders.idempotency`. Stock is taken and given back
through `catalog.stock`, the only code that moves it.

Locks are always taken in one order, so two flows can never wait on each other in a
cycle: idempotency key row, then cart row or order row, then product rows in id order.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.models import StockReason
from catalog.stock import Demand, Why, demand_total, stock_release, stock_take
from config import metrics
from config.tasks import enqueue
from orders.exceptions import InvalidTransition
from orders.models import (
    EMAILED_STATUSES,
    STOCK_RELEASED_STATUSES,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    StatusEmail,
)
from orders.permissions import STATUS_PERMISSIONS
from orders.pickup import services as pickup
from orders.signals import order_closed
from orders.vouchers.services import voucher_release, voucher_retake

logger = logging.getLogger(__name__)

S = OrderStatus

# The order state machine (DESIGN.md §4). `order_transition` is the only code that
# changes Order.status, and it refuses anything not listed here.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED}),
    S.PAID: frozenset({S.PREPARING, S.REFUNDED, S.PAYMENT_REVERSED}),
    S.PREPARING: frozenset({S.READY, S.REFUNDED, S.PAYMENT_REVERSED}),
    S.READY: frozenset({S.COMPLETED, S.REFUNDED, S.PAYMENT_REVERSED}),
    # A refund, void or chargeback after the food went out (DESIGN.md §4).
    S.COMPLETED: frozenset({S.REFUNDED}),
    # On hold after a reversal: back to where it was when the gateway says it is settled
    # again (`payments.settlement.order_reversal_lift`), or cancelled by staff. The kitchen
    # cannot move it (`order_set_status`).
    S.PAYMENT_REVERSED: frozenset({S.PAID, S.PREPARING, S.READY, S.CANCELLED}),
    S.EXPIRED: frozenset({S.PAID}),  # a late settlement, if the stock can be taken again
    S.CANCELLED: frozenset({S.PAID}),
}
# What staff may set by hand: each with its permission in orders.permissions; `paid` only
# ever comes from the gateway.
STAFF_TARGETS = frozenset(STATUS_PERMISSIONS)
# A refund also issues a credit note, which orders cannot do (it imports no invoices): staff
# record one through `payments.settlement.order_refund_record`, never `order_set_status`.
KITCHEN_TARGETS = STAFF_TARGETS - {S.REFUNDED}


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(OrderEvent.Actor.STAFF if user.is_staff else OrderEvent.Actor.USER, user)


SYSTEM = Actor(OrderEvent.Actor.SYSTEM)
GATEWAY = Actor(OrderEvent.Actor.GATEWAY)


# --- stock ------------------------------------------------------------------------------


def order_stock_demand(*, order: Order) -> Demand:
    return demand_total(line.stock_demand() for line in order.lines.all())


def order_option_demand(*, order: Order) -> Demand:
    return demand_total(line.option_demand() for line in order.lines.all())


def order_dish_units(*, order: Order) -> int:
    """The dish units the order holds in its slot's `capacity_items`."""
    return sum(line.dish_units() for line in order.lines.all())


# --- state machine ----------------------------------------------------------------------


def order_lock(*, order_id: int) -> Order:
    """The order, row-locked until the end of the caller's transaction."""
    return Order.objects.select_for_update().get(pk=order_id)


def order_transition(
    *, order: Order, to_status: str, actor: Actor, data: dict | None = None, now: datetime | None = None
) -> OrderEvent:
    """Move a row-locked order to `to_status`, moving its stock along, and log the event.

    Into cancelled/expired the stock is released; out of them (a late payment) it is taken
    again, and if it is gone InsufficientStock is raised with nothing changed. Anything not
    in TRANSITIONS raises InvalidTransition."""
    from_status = order.status
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        raise InvalidTransition(
            _("An order that is %(status)s cannot become %(requested)s.")
            % {"status": S(from_status).label.lower(), "requested": S(to_status).label.lower()},
            status=from_status,
            requested=to_status,
        )
    now = now or timezone.now()
    if to_status in STOCK_RELEASED_STATUSES:
        reason = StockReason.RELEASE_CANCEL if to_status == S.CANCELLED else StockReason.RELEASE_EXPIRE
        stock_release(
            demand=order_stock_demand(order=order),
            options=order_option_demand(order=order),
            why=Why.for_order(reason, order),
        )
        if order.pickup_slot_id:
            pickup.pickup_slot_release(slot_id=order.pickup_slot_id, units=order_dish_units(order=order))
        voucher_release(order=order, now=now)
    elif from_status in STOCK_RELEASED_STATUSES:
        # All or nothing in its own savepoint: on a shortfall the caller's transaction goes on.
        stock_take(
            demand=order_stock_demand(order=order),
            options=order_option_demand(order=order),
            why=Why.for_order(StockReason.RETAKE_LATE_PAYMENT, order),
        )
        if order.pickup_slot_id and not pickup.pickup_slot_retake(
            slot_id=order.pickup_slot_id, units=order_dish_units(order=order)
        ):
            # The food is paid for; its slot filled up meanwhile: the kitchen fits it in as
            # soon as possible instead, and the audit trail says so.
            data = {**(data or {}), "pickup_slot_lost": order.pickup_slot_id}
            order.pickup_slot = None
        over_limit = voucher_retake(order=order)
        if over_limit:  # paid with the discount; the voucher has no use left to count it
            data = {**(data or {}), "voucher_use_not_retaken": over_limit}
    order.status = to_status
    fields = ["status", "updated_at", "pickup_slot"]
    if to_status == S.PAID:
        order.paid_at = now
        fields.append("paid_at")
    elif to_status == S.CANCELLED:
        order.cancelled_at = now
        fields.append("cancelled_at")
    order.save(update_fields=fields)
    metrics.order_event(to_status)  # counted when the transaction commits
    if to_status in STOCK_RELEASED_STATUSES:  # payments closes the order's attempt at the gateway
        order_closed.send(sender=Order, order=order, to_status=to_status)
    event = _event_write(
        OrderEvent(
            order=order,
            type=OrderEvent.Type.STATUS_CHANGED,
            from_status=from_status,
            to_status=to_status,
            actor=actor.kind,
            actor_user=actor.user,
            data=data or {},
            created_at=now,
        ),
        refer=to_status in EMAILED_STATUSES,
    )
    if to_status in EMAILED_STATUSES:  # the customer is told, once per move (orders/status_emails.py)
        from orders.tasks import send_status_email  # tasks import the services: import it when used

        email = StatusEmail.objects.create(event=event, order=order, status=to_status, created_at=now)
        enqueue(send_status_email, email.pk)  # after the commit
    return event


def order_event_log(
    *, order: Order, type: str, actor: Actor, data: dict | None = None, now: datetime | None = None
) -> OrderEvent:
    """Append an event that is not a status change (a payment flagged, an invoice issued)
    to the order's audit trail. Call inside the transaction that made the change."""
    return _event_write(
        OrderEvent(
            order=order,
            type=type,
            actor=actor.kind,
            actor_user=actor.user,
            data=data or {},
            created_at=now or timezone.now(),
        )
    )


# Inside `order_events_batched`: the events logged and not yet written.
_events_pending: ContextVar[list[OrderEvent] | None] = ContextVar("order_events_pending", default=None)


@contextmanager
def order_events_batched() -> Iterator[None]:
    """Within this block (inside a transaction) the events `order_transition` and
    `order_event_log` log are written together, in one INSERT in the order they were
    logged, when it ends; an exception discards them with the transaction it rolls back.
    One flow that logs several (a settlement: the attempt, the status, the invoice) saves a
    statement for each but the first. Code inside that reads events back calls
    `order_events_flush` first."""
    pending: list[OrderEvent] = []
    token = _events_pending.set(pending)
    try:
        yield
        order_events_flush()
    finally:
        _events_pending.reset(token)


def order_events_flush() -> None:
    """Write the events `order_events_batched` holds (none outside it)."""
    pending = _events_pending.get()
    if pending:
        OrderEvent.objects.bulk_create(pending)
        pending.clear()


def _event_write(event: OrderEvent, *, refer: bool = False) -> OrderEvent:
    """Write `event`, or hold it for the batch; `refer`: a row is about to refer to it, so
    it is written now (with those held before it)."""
    pending = _events_pending.get()
    if pending is None:
        event.save(force_insert=True)
        return event
    pending.append(event)
    if refer:
        order_events_flush()
    return event


@transaction.atomic(durable=True)
def order_cancel(*, order: Order, actor: Actor, reason: str = "") -> Order:
    """Cancel a pending order and give its stock back. Exactly once: the row lock orders a
    cancel racing an expiry (or another cancel), and the later one gets InvalidTransition."""
    order = order_lock(order_id=order.pk)
    if order.status == S.PAYMENT_REVERSED and actor.kind != OrderEvent.Actor.STAFF:
        raise InvalidTransition(
            _("The order's payment was reversed: staff re-check it with the gateway or cancel it."),
            status=order.status,
            requested=S.CANCELLED,
        )
    order_transition(
        order=order, to_status=S.CANCELLED, actor=actor, data={"reason": reason} if reason else None
    )
    return order


@transaction.atomic(durable=True)
def order_set_status(*, order: Order, to_status: str, actor: Actor, note: str = "") -> Order:
    """Staff move an order through the kitchen flow (or cancel it). A refund is not a
    kitchen move: `payments.settlement.order_refund_record` records it with its credit note."""
    if to_status not in KITCHEN_TARGETS:
        raise InvalidTransition(
            _("Staff cannot set an order to %(requested)s.") % {"requested": to_status}, requested=to_status
        )
    order = order_lock(order_id=order.pk)
    if order.status == S.PAYMENT_REVERSED and to_status != S.CANCELLED:
        raise InvalidTransition(
            _("The order's payment was reversed: re-check it with the gateway or cancel the order."),
            status=order.status,
            requested=to_status,
        )
    order_transition(order=order, to_status=to_status, actor=actor, data={"note": note} if note else None)
    return order


@transaction.atomic(durable=True)
def order_expire(*, order_id: int, now: datetime | None = None) -> bool:
    """Expire one order if it is still pending and past its time; True if it did. Safe to
    race with itself, a cancel or a payment: the row lock decides and the rest see it."""
    now = now or timezone.now()
    order = order_lock(order_id=order_id)
    if order.status != S.PENDING_PAYMENT or order.expires_at > now:
        return False
    order_transition(order=order, to_status=S.EXPIRED, actor=SYSTEM, now=now)
    return True


def orders_stock_release_all() -> int:
    """Give back all the stock that orders still hold (data resets only); returns units."""
    held = list(OrderLine.objects.exclude(order__status__in=STOCK_RELEASED_STATUSES).iterator())
    return stock_release(
        demand=demand_total(line.stock_demand() for line in held),
        options=demand_total(line.option_demand() for line in held),
        why=Why(StockReason.RESET, note="Data reset: orders deleted"),
    )
