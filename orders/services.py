"""Every write to orders: placing them, the status machine, expiry, and the
Idempotency-Key records of checkout. Stock is taken and given back through
`catalog.stock`, the only code that moves it.

Locks are always taken in one order, so two flows can never wait on each other in a
cycle: idempotency key row, then cart row or order row, then product rows in id order.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from cart.models import Cart, CartItem
from cart.selectors import chosen_options
from catalog.exceptions import ProductUnavailable
from catalog.models import StockReason
from catalog.options import options_snapshot
from catalog.sellability import sellability
from catalog.sellability import unit_price as line_unit_price
from catalog.services import prices_switch_due
from catalog.stock import Demand, Why, demand_total, stock_release, stock_take
from config import metrics
from orders.exceptions import (
    CartEmpty,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidTransition,
    TooManyUnpaidOrders,
)
from orders.models import (
    STOCK_RELEASED_STATUSES,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from orders.permissions import STATUS_PERMISSIONS
from orders.pickup import services as pickup
from orders.selectors import checkout_items

logger = logging.getLogger(__name__)

S = OrderStatus

# The order state machine (DESIGN.md §4). `order_transition` is the only code that
# changes Order.status, and it refuses anything not listed here.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED}),
    S.PAID: frozenset({S.PREPARING, S.REFUNDED}),
    S.PREPARING: frozenset({S.READY, S.REFUNDED}),
    S.READY: frozenset({S.COMPLETED}),
    S.EXPIRED: frozenset({S.PAID}),  # a late settlement, if the stock can be taken again
    S.CANCELLED: frozenset({S.PAID}),
}
# What staff may set by hand: each with its permission in orders.permissions; `paid` only
# ever comes from the gateway.
STAFF_TARGETS = frozenset(STATUS_PERMISSIONS)
# A refund also issues a credit note, which orders cannot do (it imports no invoices): staff
# record one through `payments.settlement.order_refund_record`, never `order_set_status`.
KITCHEN_TARGETS = STAFF_TARGETS - {S.REFUNDED}

NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


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
            f"An order that is {S(from_status).label.lower()} cannot become {S(to_status).label.lower()}.",
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
            pickup.pickup_slot_release(slot_id=order.pickup_slot_id)
    elif from_status in STOCK_RELEASED_STATUSES:
        # All or nothing in its own savepoint: on a shortfall the caller's transaction goes on.
        stock_take(
            demand=order_stock_demand(order=order),
            options=order_option_demand(order=order),
            why=Why.for_order(StockReason.RETAKE_LATE_PAYMENT, order),
        )
        if order.pickup_slot_id and not pickup.pickup_slot_retake(slot_id=order.pickup_slot_id):
            # The food is paid for; its slot filled up meanwhile: the kitchen fits it in as
            # soon as possible instead, and the audit trail says so.
            data = {**(data or {}), "pickup_slot_lost": order.pickup_slot_id}
            order.pickup_slot = None
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
    return OrderEvent.objects.create(
        order=order,
        type=OrderEvent.Type.STATUS_CHANGED,
        from_status=from_status,
        to_status=to_status,
        actor=actor.kind,
        actor_user=actor.user,
        data=data or {},
        created_at=now,
    )


def order_event_log(
    *, order: Order, type: str, actor: Actor, data: dict | None = None, now: datetime | None = None
) -> OrderEvent:
    """Append an event that is not a status change (a payment flagged, an invoice issued)
    to the order's audit trail. Call inside the transaction that made the change."""
    return OrderEvent.objects.create(
        order=order,
        type=type,
        actor=actor.kind,
        actor_user=actor.user,
        data=data or {},
        created_at=now or timezone.now(),
    )


@transaction.atomic(durable=True)
def order_cancel(*, order: Order, actor: Actor, reason: str = "") -> Order:
    """Cancel a pending order and give its stock back. Exactly once: the row lock orders a
    cancel racing an expiry (or another cancel), and the later one gets InvalidTransition."""
    order = order_lock(order_id=order.pk)
    order_transition(
        order=order, to_status=S.CANCELLED, actor=actor, data={"reason": reason} if reason else None
    )
    return order


@transaction.atomic(durable=True)
def order_set_status(*, order: Order, to_status: str, actor: Actor, note: str = "") -> Order:
    """Staff move an order through the kitchen flow (or cancel it). A refund is not a
    kitchen move: `payments.settlement.order_refund_record` records it with its credit note."""
    if to_status not in KITCHEN_TARGETS:
        raise InvalidTransition(f"Staff cannot set an order to {to_status}.", requested=to_status)
    order = order_lock(order_id=order.pk)
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


# --- checkout ---------------------------------------------------------------------------


def order_number_new(*, now: datetime) -> str:
    """`FD-261121-7K3QX9AB`: the local date, then 8 random base32 characters (40 bits), so
    numbers cannot be guessed from one another."""
    suffix = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"FD-{timezone.localtime(now):%y%m%d}-{suffix}"


def _order_line(item: CartItem) -> OrderLine:
    product = item.product
    components = [
        {
            "product_id": bi.component_id,
            "slug": bi.component.slug,
            "name": bi.component.name,
            "sku": bi.component.sku,
            "quantity": bi.quantity,
        }
        for bi in (product.bundle_items.all() if product.is_bundle else ())
    ]
    options = chosen_options(item)
    price = line_unit_price(product.current_price, options)
    return OrderLine(
        product=product,
        product_slug=product.slug,
        product_name=product.name,
        sku=product.sku,
        kind=product.kind,
        price_version=product.current_price_version,
        unit_price=price,
        quantity=item.quantity,
        line_total=price * item.quantity,
        components=components,
        options=options_snapshot(options),
        note=item.note,
    )


def _order_create(*, now: datetime, **fields) -> Order:
    for attempt in range(5):
        try:
            with transaction.atomic():
                return Order.objects.create(number=order_number_new(now=now), **fields)
        except IntegrityError:  # a number clash (about one in 10^12 a day): draw again
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def check_unpaid_orders(*, user: User) -> None:
    """At most MAX_UNPAID_ORDERS orders awaiting payment per shopper: each holds stock and
    a pickup place until it expires, so more would let one account hoard them. Call with the
    shopper's cart row locked (every checkout takes that lock first), so two checkouts at
    once cannot both see room for one more."""
    limit = settings.MAX_UNPAID_ORDERS
    unpaid = list(
        Order.objects.filter(user=user, status=S.PENDING_PAYMENT)
        .order_by("placed_at", "id")
        .values_list("number", flat=True)
    )
    if len(unpaid) >= limit:
        raise TooManyUnpaidOrders(
            f"You have {len(unpaid)} orders waiting for payment (at most {limit}); pay or cancel one first.",
            limit=limit,
            unpaid=unpaid,
        )


@transaction.atomic(durable=True)
def order_place(
    *,
    user: User,
    item_ids: list[int] | None = None,
    phone: str | None = None,
    notes: str = "",
    pickup_slot_id: int | None = None,
    idempotency_key: IdempotencyKey | None = None,
    now: datetime | None = None,
) -> Order:
    """Take stock and create a pending order from the chosen cart lines (all when
    `item_ids` is None), then remove those lines from the cart.

    All or nothing: on a shortfall raises InsufficientStock naming every short product,
    and nothing changes. Prices and totals come from the catalog, never from the client.
    Without a pickup slot the shop must be open now (ShopClosed); a slot is booked after
    the stock, with its capacity taken like stock (SlotFull, SlotUnavailable). A shopper
    with MAX_UNPAID_ORDERS orders awaiting payment gets TooManyUnpaidOrders."""
    now = now or timezone.now()
    pickup.check_can_order(now=now, slot_id=pickup_slot_id)
    if idempotency_key is not None:
        _check_key_still_ours(idempotency_key)
    # The cart row lock makes a double submit wait, then find its lines gone.
    cart = Cart.objects.select_for_update().filter(user=user).first()
    items = checkout_items(user=user, item_ids=item_ids) if cart else []
    if any(item.product.price_changes_at and item.product.price_changes_at <= now for item in items):
        # A scheduled price has come into force and nothing has switched it yet: never
        # charge the old one.
        prices_switch_due(now=now)
        items = checkout_items(user=user, item_ids=item_ids)
    if item_ids is not None:
        missing = sorted(set(item_ids) - {item.pk for item in items})
        if missing:
            raise ValidationError({"items": [f"Not in your cart: {', '.join(map(str, missing))}."]})
    if not items:
        raise CartEmpty()
    check_unpaid_orders(user=user)
    # The sellability rule decides what is for sale; stock is left to the conditional
    # UPDATEs below, which are right under concurrency where a read is not.
    not_for_sale = []
    for item in items:
        verdict = sellability(item.product, price=item.product.current_price, options=chosen_options(item))
        if not verdict.for_sale:
            not_for_sale.append(
                {"slug": item.product.slug, "name": item.product.name, "reason": verdict.reason}
            )
    if not_for_sale:
        raise ProductUnavailable(products=not_for_sale)

    lines = [_order_line(item) for item in items]
    subtotal = sum(line.line_total for line in lines)
    order = _order_create(
        now=now,
        user=user,
        customer_name=user.name,
        customer_email=user.email,
        customer_phone=phone if phone is not None else user.phone,
        status=S.PENDING_PAYMENT,
        subtotal=subtotal,
        total=subtotal,
        currency=settings.CURRENCY,
        notes=notes,
        placed_at=now,
        expires_at=now + timedelta(minutes=settings.ORDER_PAYMENT_TTL_MINUTES),
    )
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    # Taken after the rows are written, so the product rows stay locked for as short a time
    # as possible; a shortfall raises and rolls the whole order back.
    stock_take(
        demand=demand_total(line.stock_demand() for line in lines),
        options=demand_total(line.option_demand() for line in lines),
        why=Why.for_order(StockReason.SALE, order),
    )
    if pickup_slot_id is not None:  # lock order: products, then the slot
        order.pickup_slot = pickup.pickup_slot_take(slot_id=pickup_slot_id, now=now)
        Order.objects.filter(pk=order.pk).update(pickup_slot=order.pickup_slot)
    metrics.order_event("placed")  # counted when the transaction commits
    OrderEvent.objects.create(
        order=order,
        type=OrderEvent.Type.PLACED,
        to_status=S.PENDING_PAYMENT,
        actor=OrderEvent.Actor.USER,
        actor_user=user,
        data={"total": subtotal, "lines": len(lines)},
        created_at=now,
    )
    CartItem.objects.filter(pk__in=[item.pk for item in items]).delete()
    if idempotency_key is not None:
        IdempotencyKey.objects.filter(pk=idempotency_key.pk).update(order=order)
    return order


# --- Idempotency-Key --------------------------------------------------------------------


def request_fingerprint(*, method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic(durable=True)
def idempotency_claim(
    *, user: User, key: str, request_hash: str, now: datetime | None = None
) -> IdempotencyKey:
    """Claim `key` for a request. Returns the record: COMPLETED (replay its response),
    IN_PROGRESS with an order (its request died after placing it: replay the order), or
    IN_PROGRESS and now ours (go ahead). Raises IdempotencyKeyReused for another request
    body, IdempotencyKeyInFlight while the first request is still running."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=cutoff).delete()
    for _attempt in range(3):
        record, created = IdempotencyKey.objects.get_or_create(
            user=user, key=key, defaults={"request_hash": request_hash, "created_at": now, "locked_at": now}
        )
        if created:
            return record
        locked = IdempotencyKey.objects.select_for_update().filter(pk=record.pk).first()
        if locked is not None:
            record = locked
            break
        # The request that held the key failed and gave it up (idempotency_release) between
        # our read and our lock: the key is free again, so claim it afresh.
    else:
        raise IdempotencyKeyInFlight()
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if record.state == IdempotencyKey.State.COMPLETED:
        return record
    if record.locked_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS):
        raise IdempotencyKeyInFlight()
    if record.order_id is None:
        record.locked_at = now  # the first request died before placing an order: take over
        record.save(update_fields=["locked_at"])
    return record


def _check_key_still_ours(record: IdempotencyKey) -> None:
    current = IdempotencyKey.objects.select_for_update().filter(pk=record.pk).first()
    if current is None or current.order_id is not None or current.locked_at != record.locked_at:
        raise IdempotencyKeyInFlight()


def idempotency_complete(*, record: IdempotencyKey, status: int, body: object) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyKey.State.COMPLETED, response_status=status, response_body=body
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget a claim whose request failed before placing an order, so a retry with the
    same key can succeed (nothing was changed by the failed attempt)."""
    IdempotencyKey.objects.filter(pk=record.pk, order__isnull=True, locked_at=record.locked_at).delete()


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def orders_stock_release_all() -> int:
    """Give back all the stock that orders still hold (data resets only); returns units."""
    held = list(OrderLine.objects.exclude(order__status__in=STOCK_RELEASED_STATUSES).iterator())
    return stock_release(
        demand=demand_total(line.stock_demand() for line in held),
        options=demand_total(line.option_demand() for line in held),
        why=Why(StockReason.RESET, note="Data reset: orders deleted"),
    )
