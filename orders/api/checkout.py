"""Checkout: the one use case that spans the domains, called once by the view.

1. Idempotency-Key (optional): claim the key for this user and request body; a key already
   completed replays its first response; a key whose request died after placing its order
   replays that order; another body is 422, a request still running 409.
2. Place the order (`orders.placing.order_place_within`, one durable transaction): the
   selection is checked against the sellability rule, stock is taken through
   `catalog.stock` (all or nothing), the lines are removed from the cart; the payment
   attempt is reserved in the same transaction (`payment_reserve_placed`).
3. Outside any transaction: open the payment with the gateway (the payments step), and
   store its answer in a second short transaction. The answer is built from what the use
   case holds (the order, its lines, events and attempt), not read again.
   Whatever happens there (the gateway down or refusing, a payment window too short to
   open, any error), the order stands: 201 with the order, `payment: null` and
   `payment_error` saying why; `POST orders/{number}/pay/` tries again.
4. Record the response on the key, so a retry gets exactly this answer.

A refusal in step 2 (bad selection, not for sale, short of stock) changes nothing and
forgets the key, so the shopper may retry with it.
"""

import logging
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _
from rest_framework import status

from accounts.models import User
from config.errors import DomainError
from orders import idempotency, placing, selectors
from orders.api.order_json import order_data
from orders.models import IdempotencyKey, Order
from payments.models import Payment
from payments.selectors import PAYMENT_NOT_OPENED_TEXT
from payments.services.opening import Opened, payment_open, payment_open_reserved, payment_reserve_placed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutResult:
    status: int
    body: dict
    replayed: bool = False


def order_body(order: Order, *, request=None) -> dict:
    """The order as the API shows it; links on the request's host (without one, on
    PUBLIC_BASE_URL: a checkout answer is stored and replayed)."""
    return order_data(selectors.order_detail(order_id=order.pk), request=request)


# Reverse one-to-ones the order representation reads: a placed order has no invoice.
_INVOICE = Order._meta.get_field("invoice")
_VOUCHER_USE = Order._meta.get_field("voucher_use")


@dataclass(frozen=True)
class _Placed:
    placed: placing.Placed
    payment: Payment | None  # the attempt reserved with it; None: the window is too short

    @property
    def order(self) -> Order:
        return self.placed.order


def _place(*, user: User, selection: dict, record: IdempotencyKey | None = None) -> _Placed:
    def place() -> _Placed:
        placed = placing.order_place_within(user=user, idempotency_key=record, **selection)
        return _Placed(placed=placed, payment=payment_reserve_placed(order=placed.order))

    return placing.placing_transaction(place)


def _held_body(placed: _Placed, opened: Opened) -> dict:
    """The order as the API shows it, from the objects the use case holds: the same body
    `order_body` reads back, without reading it (test_query_budgets compares the two). The
    order is only serialized here: its relations are set as plain lists."""
    order = placed.order
    order._prefetched_objects_cache.update(
        events=[placed.placed.event, opened.event], payments=[opened.payment]
    )
    _VOUCHER_USE.set_cached_value(order, placed.placed.voucher_use)
    _INVOICE.set_cached_value(order, None)
    return order_data(order)


def _opened(placed: _Placed) -> CheckoutResult:
    """The order is placed (committed) with its attempt reserved; ask the gateway, outside
    any transaction. Any failure is answered as `_placed` answers it (read back: rare)."""
    placed.order._prefetched_objects_cache = {"lines": placed.placed.lines}  # what the gateway is told
    try:
        opened = payment_open_reserved(order=placed.order, payment=placed.payment)
    except Exception as exc:
        return _placed(placed.order, failed=exc)
    return CheckoutResult(status=status.HTTP_201_CREATED, body=_held_body(placed, opened))


def _placed(order: Order, *, failed: Exception | None = None) -> CheckoutResult:
    """The order is placed (committed); open its payment (unless that has `failed`
    already), outside any transaction. Nothing that goes wrong from here hides the order
    (issue 17, item 11): it stands with `payment: null` and `payment_error`, and
    `POST orders/{number}/pay/` tries again."""
    why = None
    try:
        if failed is not None:
            raise failed
        payment_open(order=order)
    except DomainError as exc:  # the gateway failed or refused; the window is too short …
        logger.warning("Order %s: no payment opened at checkout: %s", order.number, exc.detail)
        why = exc.detail
    except Exception:  # never a 500 for an order that exists and holds stock
        logger.exception("Order %s: opening its payment at checkout failed", order.number)
        why = _("An unexpected error.")
    body = order_body(order)
    if body["payment"] is None and not body["payment_error"]:
        body["payment_error"] = PAYMENT_NOT_OPENED_TEXT.format(
            why=why or _("no payment was opened."), number=order.number
        )
    return CheckoutResult(status=status.HTTP_201_CREATED, body=body)


def _complete(record: IdempotencyKey, result: CheckoutResult, *, replayed: bool) -> CheckoutResult:
    idempotency.idempotency_complete(record=record, status=result.status, body=result.body)
    return replace(result, replayed=replayed)


def checkout(
    *, user: User, selection: dict, idempotency_key: str | None = None, request_hash: str = ""
) -> CheckoutResult:
    """Check out `selection` ({item_ids?, phone?, notes?}) for `user`. Domain errors
    (cart_empty, product_unavailable, insufficient_stock, idempotency conflicts) propagate
    for the API layer to answer."""
    if idempotency_key is None:
        return _opened(_place(user=user, selection=selection))

    record = idempotency.idempotency_claim(user=user, key=idempotency_key, request_hash=request_hash)
    if record.state == IdempotencyKey.State.COMPLETED:
        return CheckoutResult(status=record.response_status, body=record.response_body, replayed=True)
    if record.order_id is not None:  # the first request placed the order, then died
        return _complete(record, _placed(record.order), replayed=True)
    try:
        placed = _place(user=user, selection=selection, record=record)
    except Exception:
        idempotency.idempotency_release(record=record)
        raise
    return _complete(record, _opened(placed), replayed=False)
