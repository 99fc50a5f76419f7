from http import HTTPStatus

from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, DomainError

ORDER_STATUS = {"$ref": "#/components/schemas/OrderStatusEnum"}


class CartEmpty(DomainError):
    code = "cart_empty"
    default_detail = _("There is nothing to check out.")


class InvalidTransition(Conflict):
    """`status`: the order's status (absent when the requested one is never a staff move);
    `requested`: the status asked for."""

    code = "invalid_transition"
    default_detail = _("The order cannot take that status now.")
    body_fields = {
        "status": ORDER_STATUS,
        "requested": {"type": "string", "description": "The status asked for."},
    }
    body_optional = frozenset({"status"})


class IdempotencyKeyReused(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was used with a different request.")


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    default_detail = _("A request with this Idempotency-Key is still being processed; retry shortly.")


class ShopClosed(Conflict):
    """`next_opening`: when the shop opens next (ISO 8601), or null when nothing is scheduled."""

    code = "shop_closed"
    default_detail = _("The shop is closed now; choose a pickup slot for later.")
    body_fields = {"next_opening": {"type": "string", "format": "date-time", "nullable": True}}


class SlotFull(Conflict):
    """`next_slots`: [{id, start, end}] of the next slots that still have room."""

    code = "slot_full"
    default_detail = _("This pickup slot is fully booked.")
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
    default_detail = _("This pickup slot cannot be booked.")
    body_fields = {"reason": {"type": "string", "enum": ["unknown", "past", "too_soon", "too_far", "closed"]}}


class TooManyUnpaidOrders(Conflict):
    """`limit`: MAX_UNPAID_ORDERS; `unpaid`: the numbers of the shopper's orders awaiting
    payment (pay or cancel one to check out again)."""

    code = "too_many_unpaid_orders"
    default_detail = _("Too many orders are waiting for payment.")
    body_fields = {
        "limit": {"type": "integer", "description": "MAX_UNPAID_ORDERS."},
        "unpaid": {"type": "array", "items": {"type": "string"}, "description": "Order numbers."},
    }


class KitchenFull(Conflict):
    """`next_slots`: [{id, start, end}] of the next slots with room after the shop's current
    opening, to book."""

    code = "kitchen_full"
    default_detail = _("The kitchen has no room left before closing for an order as soon as possible.")
    body_fields = SlotFull.body_fields


class ShopPaused(Conflict):
    """`resumes_at`: when the shop takes orders again (ISO 8601); `reason`: what staff gave."""

    code = "shop_paused"
    default_detail = _("The kitchen has paused new orders for a while.")
    body_fields = {
        "resumes_at": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "description": "What staff gave (may be empty)."},
    }
