from rest_framework import status

from config.exceptions import Conflict, DomainError


class CartEmpty(DomainError):
    code = "cart_empty"
    default_detail = "There is nothing to check out."


class InsufficientStock(Conflict):
    """`products`: [{slug, name, requested, available}] for each product that is short."""

    code = "insufficient_stock"
    default_detail = "Not enough stock."


class ProductUnavailable(Conflict):
    code = "product_unavailable"
    default_detail = "Some products are no longer for sale; remove them from the selection."


class InvalidTransition(Conflict):
    code = "invalid_transition"


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."
