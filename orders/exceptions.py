from rest_framework import status

from config.exceptions import Conflict, DomainError


class CartEmpty(DomainError):
    code = "cart_empty"
    default_detail = "There is nothing to check out."


class InvalidTransition(Conflict):
    code = "invalid_transition"


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."
