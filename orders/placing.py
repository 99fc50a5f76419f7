"""Placing an order from the shopper's cart: order numbers, the order's lines copied from the
catalog, the cap on unpaid orders, and `order_place` itself. Stock is taken through
`catalog.stock`, the only code that moves it.

Locks are always taken in one order, so two flows can never wait on each other in a
cycle: the kitchen's busy-mode row (shared), idempotency key row, then cart row, then
product rows in id order, then the slot.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import check_phone
from accounts.verification import check_email_verified
from cart.models import Cart, CartItem
from cart.selectors import chosen_options
from catalog.exceptions import ProductUnavailable
from catalog.models import StockReason
from catalog.options import options_snapshot
from catalog.sellability import Unsellable, sellability
from catalog.sellability import unit_price as line_unit_price
from catalog.services import prices_switch_due
from catalog.stock import Why, demand_total, stock_take
from config import metrics
from config.i18n import request_language
from orders.exceptions import CartEmpty, TooManyUnpaidOrders
from orders.idempotency import check_key_still_ours
from orders.models import IdempotencyKey, Order, OrderEvent, OrderLine, OrderStatus
from orders.pickup import kitchen
from orders.pickup import selectors as pickup_selectors
from orders.pickup import services as pickup
from orders.pricing import current_charges, lines_totals
from orders.selectors import checkout_items
from orders.setup import setup_scope
from orders.totals import Line
from orders.vouchers.models import VoucherUse
from orders.vouchers.services import (
    REASON_TEXT,
    VoucherUnavailable,
    applied_voucher,
    voucher_check,
    voucher_take,
)

S = OrderStatus

NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


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


T = TypeVar("T")

# Draws of an order number before a clash is let through (about one in 10^12 a day each).
NUMBER_DRAWS = 5


def _number_clash(exc: IntegrityError) -> bool:
    """Whether `exc` is the unique order number refusing a draw (PostgreSQL names the
    constraint, SQLite the column)."""
    text = str(exc)
    return "orders_order_number_key" in text or "orders_order.number" in text


def placing_transaction(place: Callable[[], T]) -> T:
    """Run `place` (which calls `order_place_within`) in one durable transaction, and again
    in a new one when the order number it drew was taken meanwhile. Retrying the whole
    transaction, not a savepoint around the INSERT, spares every checkout two statements
    for a clash that happens about once in 10^12 orders a day; nothing is kept from the
    attempt that failed."""
    for attempt in range(NUMBER_DRAWS):
        try:
            with transaction.atomic(durable=True), pickup_selectors.schedule_once(), setup_scope():
                return place()
        except IntegrityError as exc:
            if attempt == NUMBER_DRAWS - 1 or not _number_clash(exc):
                raise
    raise AssertionError("unreachable")


def _untracked(items: list[CartItem]) -> set[int]:
    """Ids of the dishes made to order among the lines' products and bundle components,
    as read with the lines (stock_take then need not read them again)."""
    untracked = set()
    for item in items:
        product = item.product
        for component in (
            [bi.component for bi in product.bundle_items.all()] if product.is_bundle else [product]
        ):
            if not component.track_stock:
                untracked.add(component.pk)
    return untracked


def _cart_items_remove(*, items: list[CartItem]) -> None:
    """Delete the checked-out cart lines and their chosen options (lines without options,
    `options_key` empty, have none): one or two DELETEs, where `QuerySet.delete()` first
    reads the lines back to collect their options. Nothing else refers to a cart line."""
    if any(item.options_key for item in items):
        CartItem.options.through.objects.filter(cartitem_id__in=[item.pk for item in items]).delete()
    CartItem.objects.filter(pk__in=[item.pk for item in items])._raw_delete(CartItem.objects.db)


def check_unpaid_orders(*, user: User, unpaid: int | None = None) -> None:
    """At most MAX_UNPAID_ORDERS orders awaiting payment per shopper: each holds stock and
    a pickup place until it expires, so more would let one account hoard them. Call with the
    shopper's cart row locked (every checkout takes that lock first), so two checkouts at
    once cannot both see room for one more. `unpaid`: their number as already read under
    that lock (`checkout_items`); the orders are read only to name them in a refusal."""
    limit = settings.MAX_UNPAID_ORDERS
    if unpaid is not None and unpaid < limit:
        return
    unpaid = list(
        Order.objects.filter(user=user, status=S.PENDING_PAYMENT)
        .order_by("placed_at", "id")
        .values_list("number", flat=True)
    )
    if len(unpaid) >= limit:
        raise TooManyUnpaidOrders(
            _("You have %(unpaid)d orders waiting for payment (at most %(limit)d); pay or cancel one first.")
            % {"unpaid": len(unpaid), "limit": limit},
            limit=limit,
            unpaid=unpaid,
        )


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
    """`order_place_within` in a durable transaction of its own."""
    return placing_transaction(
        lambda: (
            order_place_within(
                user=user,
                item_ids=item_ids,
                phone=phone,
                notes=notes,
                pickup_slot_id=pickup_slot_id,
                idempotency_key=idempotency_key,
                now=now,
            ).order
        )
    )


@dataclass(frozen=True)
class Placed:
    """What placing wrote, as written (checkout answers with it instead of reading it back)."""

    order: Order
    lines: list[OrderLine]
    event: OrderEvent  # `placed`
    voucher_use: VoucherUse | None


def order_place_within(
    *,
    user: User,
    item_ids: list[int] | None = None,
    phone: str | None = None,
    notes: str = "",
    pickup_slot_id: int | None = None,
    idempotency_key: IdempotencyKey | None = None,
    now: datetime | None = None,
) -> Placed:
    """Inside `placing_transaction` (checkout adds its payment attempt to the same
    transaction). Take stock and create a pending order from the chosen cart lines (all when
    `item_ids` is None), then remove those lines from the cart.

    All or nothing: on a shortfall raises InsufficientStock naming every short product,
    and nothing changes. Prices and totals come from the catalog, never from the client.
    While the kitchen is paused every checkout is refused (ShopPaused). Without a pickup
    slot the shop must be open now (ShopClosed) and the order takes the first slot with room
    after the preparation time (KitchenFull); a booked slot is taken with its capacity like
    stock (SlotFull, SlotUnavailable). Either way after the stock, and the order carries
    its `ready_at`. A shopper with MAX_UNPAID_ORDERS orders awaiting payment gets
    TooManyUnpaidOrders; with REQUIRE_VERIFIED_EMAIL, one whose address is not verified
    EmailNotVerified. A `phone` for this order is stored like the profile's (E.164;
    ValidationError otherwise). The cart's voucher, if any, must still apply and have a
    use left (VoucherUnavailable); its use is taken in this transaction.

    Returns the order with what was written for it (`Placed`)."""
    now = now or timezone.now()
    busy = kitchen.check_taking_orders(now=now)  # a shared lock on busy mode, to the commit
    check_email_verified(user=user)  # with REQUIRE_VERIFIED_EMAIL: 403 email_not_verified
    phone = user.phone if phone is None else check_phone(phone)  # the snapshot, in E.164
    pickup.check_can_order(now=now, slot_id=pickup_slot_id)
    if idempotency_key is not None:
        check_key_still_ours(idempotency_key)
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
            raise ValidationError(
                {"items": [_("Not in your cart: %(items)s.") % {"items": ", ".join(map(str, missing))}]}
            )
    if not items:
        raise CartEmpty()
    check_unpaid_orders(user=user, unpaid=items[0].unpaid_orders)
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

    # What its documents and mails speak: the account's chosen language, else the request's.
    language = user.language or request_language()
    with translation.override(language):  # the lines keep the dish and option names in it
        lines = [_order_line(item) for item in items]
    priced = [
        Line(line.line_total, item.product.category.slug) for line, item in zip(lines, items, strict=True)
    ]
    voucher = applied_voucher(user=user) if items[0].applied_voucher_id is not None else None
    if voucher is not None:
        reason = voucher_check(voucher=voucher, user=user, lines=priced, now=now)
        if reason is not None:
            raise VoucherUnavailable(REASON_TEXT[reason], reason=reason, voucher=voucher.code)
    charges = current_charges()
    totals = lines_totals(
        lines=priced, charges=charges, discount=voucher.discount_terms() if voucher is not None else None
    )
    order = Order.objects.create(
        number=order_number_new(now=now),
        user=user,
        customer_name=user.name,
        customer_email=user.email,
        customer_phone=phone,
        language=language,
        status=S.PENDING_PAYMENT,
        subtotal=totals.subtotal,
        discount=totals.discount,
        charges=totals.charges,
        tax=totals.tax,
        service_charge=totals.charge("service"),
        packaging=totals.charge("packaging"),
        rounding=totals.charge("rounding"),
        pricing=charges.as_dict(),
        total=totals.total,
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
        untracked=_untracked(items),
        savepoint=False,  # a shortfall rolls the whole order back
    )
    # Lock order: products, then the slot.
    order.pickup_slot, order.ready_at = kitchen.ready_place_take(
        now=now, slot_id=pickup_slot_id, units=sum(line.dish_units() for line in lines), busy=busy
    )
    Order.objects.filter(pk=order.pk).update(pickup_slot=order.pickup_slot, ready_at=order.ready_at)
    # Mealtimes are judged at the ready time, known only now; refusing rolls it all back.
    not_served = [
        {"slug": item.product.slug, "name": item.product.name, "reason": Unsellable.NOT_SERVED_THEN}
        for item in items
        if sellability(
            item.product, price=item.product.current_price, options=chosen_options(item), at=order.ready_at
        ).reason
        is Unsellable.NOT_SERVED_THEN
    ]
    if not_served:
        names = ", ".join(p["name"] for p in not_served)
        raise ProductUnavailable(
            _("Not served at the pickup time %(time)s: %(products)s.")
            % {"time": date_format(timezone.localtime(order.ready_at), "D H:i"), "products": names},
            products=not_served,
        )
    use = None
    if voucher is not None:  # lock order: products, the slot, then the voucher
        use = voucher_take(order=order, user=user, voucher=voucher, amount=totals.discount)
    metrics.order_event("placed")  # counted when the transaction commits
    placed = OrderEvent.objects.create(
        order=order,
        type=OrderEvent.Type.PLACED,
        to_status=S.PENDING_PAYMENT,
        actor=OrderEvent.Actor.USER,
        actor_user=user,
        data={"total": totals.total, "lines": len(lines)},
        created_at=now,
    )
    _cart_items_remove(items=items)
    if idempotency_key is not None:
        IdempotencyKey.objects.filter(pk=idempotency_key.pk).update(order=order)
    return Placed(order=order, lines=lines, event=placed, voucher_use=use)
