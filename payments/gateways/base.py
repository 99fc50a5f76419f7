"""What the payments code needs from a gateway (DESIGN.md §7), and its one error."""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orders.models import Order


class GatewayError(Exception):
    """The gateway could not be reached, timed out, or refused the request.

    `reachable` is False when no answer came back (connection failure, timeout): the caller
    may retry. `status_code` is the gateway's own status code when it answered (Midtrans puts
    one in the body: "404" for an unknown transaction). The message never holds a key."""

    def __init__(self, message: str, *, reachable: bool = True, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reachable = reachable
        self.status_code = status_code

    @property
    def not_found(self) -> bool:
        return self.status_code == 404


@dataclass(frozen=True)
class OpenedPayment:
    token: str
    redirect_url: str
    expires_at: datetime


class Gateway(Protocol):
    name: str

    def create_payment(self, *, order: Order, gateway_order_id: str, expires_at: datetime) -> OpenedPayment:
        """Open a transaction for `order.total` that can be paid until `expires_at`."""

    def get_status(self, *, gateway_order_id: str) -> dict[str, Any]:
        """The transaction as the gateway sees it, in Midtrans's status API shape.
        An unknown transaction raises GatewayError with status_code 404."""

    def cancel(self, *, gateway_order_id: str) -> dict[str, Any]:
        """Cancel a transaction that is not paid yet; answers in the status API shape."""

    def approve(self, *, gateway_order_id: str) -> dict[str, Any]:
        """Accept a card capture that fraud detection challenged; answers in the status API shape."""

    def deny(self, *, gateway_order_id: str) -> dict[str, Any]:
        """Refuse a card capture that fraud detection challenged; answers in the status API shape."""

    def refund(self, *, gateway_order_id: str, amount: int, refund_key: str, reason: str) -> dict[str, Any]:
        """Refund `amount` of a paid transaction. `refund_key` makes a repeat harmless: the
        gateway refuses a second refund with the same key."""

    def signature_valid(self, payload: dict[str, Any]) -> bool:
        """The notification's `signature_key` is this gateway's, over the strings received."""


# The `status_code` Midtrans sends in a notification for each `transaction_status`: 200
# for money that moved (or moved back), 201 while waiting, 202 for a refusal or an end
# without payment. Sources: Midtrans's "HTTP(S) Notification / Webhooks" and "Status Code"
# documentation pages, and the published samples in /work/shared/midtrans/notifications/.
# (The status API differs for expiry: 407, see the mock's STATUS_API_CODES.)
NOTIFICATION_STATUS_CODES = {
    "capture": "200",
    "settlement": "200",
    "refund": "200",
    "partial_refund": "200",
    "chargeback": "200",
    "partial_chargeback": "200",
    "pending": "201",
    "deny": "202",
    "cancel": "202",
    "expire": "202",
    "failure": "202",
}


# The payment types Midtrans refunds (its Refund Transaction reference: "Refund transaction
# is supported only for credit_card, gopay, shopeepay, dana, ovo, QRIS, kredivo and akulaku
# payment methods"), and only once settled. Bank transfer VAs, Mandiri Bill (echannel) and
# convenience stores (cstore) cannot be refunded at the gateway.
REFUNDABLE_PAYMENT_TYPES = frozenset(
    {"credit_card", "gopay", "shopeepay", "dana", "ovo", "qris", "kredivo", "akulaku"}
)


def notification_codes_agree(*, transaction_status: str, status_code: object) -> bool:
    """Whether a notification's signed `status_code` fits its unsigned `transaction_status`
    (a status this table does not know is left to the caller, which ignores it)."""
    expected = NOTIFICATION_STATUS_CODES.get(transaction_status)
    return expected is None or status_code == expected


def midtrans_signature(*, order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """Midtrans's notification signature: hex SHA-512 of the four strings, as received."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def signature_matches(payload: dict[str, Any], *, server_key: str) -> bool:
    """Constant-time check of a notification's `signature_key` with `server_key`."""
    fields = [payload.get(k) for k in ("order_id", "status_code", "gross_amount", "signature_key")]
    if not all(isinstance(value, str) for value in fields) or not server_key:
        return False
    order_id, status_code, gross_amount, received = fields
    expected = midtrans_signature(
        order_id=order_id, status_code=status_code, gross_amount=gross_amount, server_key=server_key
    )
    return hmac.compare_digest(expected.encode(), received.encode())
