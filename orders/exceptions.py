from http import HTTPStatus

from config.errors import Conflict, DomainError


class CartEmpty(DomainError):
    code = "cart_empty"
    default_detail = "There is nothing to check out."


class InvalidTransition(Conflict):
    code = "invalid_transition"


class IdempotencyKeyReused(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."


class ShopClosed(Conflict):
    """`next_opening`: when the shop opens next (ISO 8601), or null when nothing is scheduled."""

    code = "shop_closed"
    default_detail = "The shop is closed now; choose a pickup slot for later."


class SlotFull(Conflict):
    """`next_slots`: [{id, start, end}] of the next slots that still have room."""

    code = "slot_full"
    default_detail = "This pickup slot is fully booked."


class SlotUnavailable(DomainError):
    """`reason`: unknown, past, too_soon, too_far or closed."""

    code = "slot_unavailable"
    default_detail = "This pickup slot cannot be booked."


class TooManyUnpaidOrders(Conflict):
    """`limit`: MAX_UNPAID_ORDERS; `unpaid`: the numbers of the shopper's orders awaiting
    payment (pay or cancel one to check out again)."""

    code = "too_many_unpaid_orders"
    default_detail = "Too many orders are waiting for payment."


class KitchenFull(Conflict):
    """`next_slots`: [{id, start, end}] of the next slots with room after the shop's current
    opening, to book."""

    code = "kitchen_full"
    default_detail = "The kitchen has no room left before closing for an order as soon as possible."


class ShopPaused(Conflict):
    """`resumes_at`: when the shop takes orders again (ISO 8601); `reason`: what staff gave."""

    code = "shop_paused"
    default_detail = "The kitchen has paused new orders for a while."
