from http import HTTPStatus

from config.errors import Conflict, DomainError

ORDER_STATUS = {"$ref": "#/components/schemas/OrderStatusEnum"}


class CartEmpty(DomainError):
    code = "cart_empty"
    default_detail = "There is nothing to check out."


class InvalidTransition(Conflict):
    """`status`: the order's status (absent when the requested one is never a staff move);
    `requested`: the status asked for."""

    code = "invalid_transition"
    default_detail = "The order cannot take that status now."
    body_fields = {
        "status": ORDER_STATUS,
        "requested": {"type": "string", "description": "The status asked for."},
    }
    body_optional = frozenset({"status"})


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
    body_fields = {"next_opening": {"type": "string", "format": "date-time", "nullable": True}}


class SlotFull(Conflict):
    """`next_slots`: [{id, start, end}] of the next slots that still have room."""

    code = "slot_full"
    default_detail = "This pickup slot is fully booked."
    body_fields = {
        "next_slots": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                },
                "required": ["id", "start", "end"],
            },
        }
    }


class SlotUnavailable(DomainError):
    """`reason`: unknown, past, too_soon, too_far or closed."""

    code = "slot_unavailable"
    default_detail = "This pickup slot cannot be booked."
    body_fields = {"reason": {"type": "string", "enum": ["unknown", "past", "too_soon", "too_far", "closed"]}}


class TooManyUnpaidOrders(Conflict):
    """`limit`: MAX_UNPAID_ORDERS; `unpaid`: the numbers of the shopper's orders awaiting
    payment (pay or cancel one to check out again)."""

    code = "too_many_unpaid_orders"
    default_detail = "Too many orders are waiting for payment."
    body_fields = {
        "limit": {"type": "integer", "description": "MAX_UNPAID_ORDERS."},
        "unpaid": {"type": "array", "items": {"type": "string"}, "description": "Order numbers."},
    }
