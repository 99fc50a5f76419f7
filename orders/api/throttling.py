from rest_framework.request import Request
from rest_framework.response import Response

from config.api.throttling import OutcomeRateThrottle

REPLAYED_HEADER = "Idempotent-Replayed"


class CheckoutThrottle(OutcomeRateThrottle):
    """Checkouts per user, at THROTTLE_CHECKOUT (DRF scope `checkout`)."""

    scope = "checkout"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user.is_authenticated:
            return None  # checkout needs a user: anonymous callers are refused with a 401 first
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def checkout_counts(response: Response) -> bool:
    """Whether a checkout answer costs the shopper throttle budget: an order placed (201, not
    a replay of an earlier Idempotency-Key answer) or a refusal for stock (409
    insufficient_stock). Bad input, an empty cart, key conflicts and replays are free."""
    if response.get(REPLAYED_HEADER) == "true":
        return False
    if response.status_code == 201:
        return True
    data = getattr(response, "data", None)
    return response.status_code == 409 and isinstance(data, dict) and data.get("code") == "insufficient_stock"


def checkout_throttle_record(request: Request, response: Response) -> None:
    """Count this checkout against the user's rate if its outcome counts (see checkout_counts).
    Call once per checkout request, with the final response (the view's finalize_response)."""
    if checkout_counts(response):
        CheckoutThrottle().record(request)
