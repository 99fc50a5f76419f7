"""Reads of payments shared by the API, the admin and the services. Both work on
`order.payments.all()`, so a list of orders prefetched with "payments" costs one query."""

from django.utils.translation import gettext_lazy as _

from orders.models import Order
from payments.models import Payment

# What the shopper reads when the gateway could not open a payment; the technical reason
# stays on the attempt (`Payment.open_error`) for staff.
PAYMENT_ERROR_TEXT = _(
    "The payment could not be opened because the payment gateway is unavailable. "
    "The order is kept: try again with POST /api/v1/orders/{number}/pay/."
)
# What checkout answers when opening the payment failed in any other way (the order is
# placed: it is never hidden behind an error).
PAYMENT_NOT_OPENED_TEXT = _(
    "The payment could not be opened: {why} The order is kept until it expires: "
    "POST /api/v1/orders/{number}/pay/ tries again."
)


def _latest_attempt(order: Order) -> Payment | None:
    return max(order.payments.all(), key=lambda payment: payment.attempt, default=None)


def payment_current(*, order: Order) -> Payment | None:
    """The order's current attempt: its latest, once the gateway has opened it. None before
    any attempt, while one is being opened, and when the latest could not be opened."""
    latest = _latest_attempt(order)
    return latest if latest is not None and latest.is_open else None


def payment_error(*, order: Order) -> str | None:
    """Why the order has no payment to show: set only when its latest attempt could not be
    opened at the gateway (the order stands; `POST orders/{number}/pay/` retries)."""
    latest = _latest_attempt(order)
    if latest is None or latest.is_open or not latest.open_error:
        return None
    return PAYMENT_ERROR_TEXT.format(number=order.number)
