"""An offline gateway that speaks Midtrans's protocol, for development and demos.

It keeps its own transactions (`MockTransaction`, what Midtrans would keep on its side).
A shopper pays on `/payments/mock/{token}/` (or `POST /api/v1/payments/mock/{token}/`):
the transaction changes here, then a Midtrans-shaped notification signed with
`MOCK_GATEWAY_KEY` goes through the same webhook handler as Midtrans's. Its status lookup
answers like Midtrans's status API. It refuses to exist against production Midtrans, and
without DEBUG unless PAYMENT_MOCK_ALLOWED is on (`mock_refusal`).
"""

import secrets
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import Order
from payments.exceptions import MockTransactionClosed, MockTransactionNotFound
from payments.gateways.base import (
    NOTIFICATION_STATUS_CODES,
    REFUNDABLE_PAYMENT_TYPES,
    GatewayError,
    OpenedPayment,
    midtrans_signature,
    signature_matches,
)
from payments.models import MockTransaction

# What the shopper can do on the mock page, in Midtrans's words; "challenge" is a card
# payment that fraud detection holds for staff to approve or deny (capture + challenge).
ACTIONS = ("settlement", "deny", "cancel", "expire", "challenge")
PAYMENT_TYPES = ("bank_transfer", "credit_card", "gopay", "qris", "shopeepay", "echannel", "cstore")
# Where the shopper can still act: waiting, or denied (Snap lets them try again).
OPEN_STATUSES = frozenset({"pending", "deny"})
# What Midtrans lets a merchant cancel (Cancel Transaction reference): a transaction not paid
# yet, or a card captured but not settled (a void). What it refunds (Refund Transaction
# reference): settled payments only, of REFUNDABLE_PAYMENT_TYPES.
CANCELLABLE_STATUSES = frozenset({"pending", "deny", "capture"})
REFUNDABLE_STATUSES = frozenset({"settlement", "partial_refund"})
REFUSED = "Mock gateway refused the request (412): Merchant cannot modify the status of the transaction"

# Midtrans's `status_code` per transaction status in its status API's answers.
STATUS_API_CODES = {**NOTIFICATION_STATUS_CODES, "expire": "407"}


def mock_refusal() -> str | None:
    """Why the mock gateway may not run with the current settings, or None when it may:
    never against production Midtrans, and without DEBUG only when allowed explicitly.
    The one rule: the system check (payments/checks.py), the gateway and its pages use it."""
    if settings.MIDTRANS_IS_PRODUCTION:
        return "The mock payment gateway cannot run with MIDTRANS_IS_PRODUCTION on."
    if not settings.DEBUG and not settings.PAYMENT_MOCK_ALLOWED:
        return (
            "The mock payment gateway marks orders paid for free: with DEBUG off it runs only "
            "with PAYMENT_MOCK_ALLOWED=true."
        )
    return None


def refuse_in_production() -> None:
    reason = mock_refusal()
    if reason:
        raise ImproperlyConfigured(reason)


def _amount(value: int) -> str:
    return f"{value}.00"  # Midtrans's form: "10000.00"


def _answer(tx: MockTransaction, *, status_code: str, message: str) -> dict[str, Any]:
    answer = {
        "status_code": status_code,
        "status_message": message,
        "transaction_id": tx.transaction_id,
        "order_id": tx.gateway_order_id,
        "merchant_id": "MOCK-MERCHANT",
        "gross_amount": _amount(tx.gross_amount),
        "currency": "IDR",
        "payment_type": tx.payment_type,
        "transaction_time": timezone.localtime(tx.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        "transaction_status": tx.transaction_status,
        "fraud_status": tx.fraud_status or "accept",
        "expiry_time": timezone.localtime(tx.expires_at).strftime("%Y-%m-%d %H:%M:%S"),
    }
    if tx.transaction_status in ("settlement", "capture", "refund", "partial_refund"):
        answer["settlement_time"] = timezone.localtime(tx.updated_at).strftime("%Y-%m-%d %H:%M:%S")
    if tx.refund_amount:
        answer["refund_amount"] = _amount(tx.refund_amount)
    if tx.chargeback_amount:  # as the project's Midtrans test server answers a partial chargeback
        answer["chargeback_amount"] = _amount(tx.chargeback_amount)
    answer["signature_key"] = midtrans_signature(
        order_id=tx.gateway_order_id,
        status_code=status_code,
        gross_amount=answer["gross_amount"],
        server_key=settings.MOCK_GATEWAY_KEY,
    )
    return answer


def notification_for(tx: MockTransaction) -> dict[str, Any]:
    """The notification Midtrans would send for the transaction as it is now."""
    return _answer(
        tx,
        status_code=NOTIFICATION_STATUS_CODES[tx.transaction_status],
        message="midtrans payment notification",
    )


class MockGateway:
    name = "mock"

    def __init__(self) -> None:
        refuse_in_production()

    def __repr__(self) -> str:
        return "<MockGateway>"

    def create_payment(self, *, order: Order, gateway_order_id: str, expires_at: datetime) -> OpenedPayment:
        token = secrets.token_urlsafe(24)
        try:
            MockTransaction.objects.create(
                gateway_order_id=gateway_order_id,
                token=token,
                order=order,
                gross_amount=order.total,
                transaction_id=str(uuid.uuid4()),
                expires_at=expires_at,
            )
        except IntegrityError:  # as Midtrans does for a reused order id
            raise GatewayError(
                "Mock gateway refused the request (400): transaction_details.order_id has already been taken",
                status_code=400,
            ) from None
        return OpenedPayment(
            token=token,
            redirect_url=f"{settings.PUBLIC_BASE_URL}/payments/mock/{token}/",
            expires_at=expires_at,
        )

    def get_status(self, *, gateway_order_id: str) -> dict[str, Any]:
        with transaction.atomic():
            tx = _locked(gateway_order_id=gateway_order_id)
            if not tx.payment_type:  # as on Midtrans: unknown until a payment method is picked
                raise GatewayError("Mock gateway (404): Transaction doesn't exist.", status_code=404)
            if tx.transaction_status == "pending" and tx.expires_at <= timezone.now():
                _set(tx, transaction_status="expire")
        return _answer(
            tx, status_code=STATUS_API_CODES[tx.transaction_status], message="Success, transaction is found"
        )

    def cancel(self, *, gateway_order_id: str) -> dict[str, Any]:
        with transaction.atomic():
            tx = _locked(gateway_order_id=gateway_order_id)
            if tx.transaction_status not in CANCELLABLE_STATUSES:
                raise GatewayError(REFUSED, status_code=412)
            _set(tx, transaction_status="cancel")
        return _answer(tx, status_code="200", message="Success, transaction is canceled")

    def approve(self, *, gateway_order_id: str) -> dict[str, Any]:
        return self._review(gateway_order_id=gateway_order_id, status="capture", fraud_status="accept")

    def deny(self, *, gateway_order_id: str) -> dict[str, Any]:
        return self._review(gateway_order_id=gateway_order_id, status="deny", fraud_status="deny")

    def _review(self, *, gateway_order_id: str, status: str, fraud_status: str) -> dict[str, Any]:
        """As Midtrans's Approve/Deny Transaction: only a challenged card capture."""
        with transaction.atomic():
            tx = _locked(gateway_order_id=gateway_order_id)
            if (tx.transaction_status, tx.fraud_status) != ("capture", "challenge"):
                raise GatewayError(REFUSED, status_code=412)
            _set(tx, transaction_status=status, fraud_status=fraud_status)
        return _answer(
            tx,
            status_code="200",
            message=f"Success, transaction is {'approved' if status == 'capture' else 'denied'}",
        )

    def refund(self, *, gateway_order_id: str, amount: int, refund_key: str, reason: str) -> dict[str, Any]:
        with transaction.atomic():
            tx = _locked(gateway_order_id=gateway_order_id)
            if (
                tx.transaction_status not in REFUNDABLE_STATUSES
                or tx.payment_type not in REFUNDABLE_PAYMENT_TYPES
            ):
                raise GatewayError(REFUSED, status_code=412)
            if refund_key in tx.refund_keys:
                raise GatewayError(
                    "Mock gateway refused the request (406): Duplicate refund ID", status_code=406
                )
            if not 0 < amount <= tx.gross_amount - tx.refund_amount:
                raise GatewayError(
                    "Mock gateway refused the request (414): Refund request is rejected due to invalid amount",
                    status_code=414,
                )
            refunded = tx.refund_amount + amount
            tx.refund_keys = [*tx.refund_keys, refund_key]
            _set(
                tx,
                transaction_status="refund" if refunded == tx.gross_amount else "partial_refund",
                refund_amount=refunded,
            )
        answer = _answer(tx, status_code="200", message="Success, refund request is approved")
        answer.update(refund_key=refund_key, refund_amount=_amount(amount))
        return answer

    def signature_valid(self, payload: dict[str, Any]) -> bool:
        return signature_matches(payload, server_key=settings.MOCK_GATEWAY_KEY)


def _locked(*, gateway_order_id: str) -> MockTransaction:
    # As on Midtrans, the id in the URL is the order id or the transaction id.
    by_either = Q(gateway_order_id=gateway_order_id) | Q(transaction_id=gateway_order_id)
    tx = MockTransaction.objects.select_for_update().filter(by_either).first()
    if tx is None:
        raise GatewayError("Mock gateway (404): Transaction doesn't exist.", status_code=404)
    return tx


def _set(tx: MockTransaction, **fields) -> None:
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(tx, name, value)
    tx.save(update_fields=list(fields))


def _check_mock_in_use() -> None:
    # Its pages exist only while it is the gateway, and only where it may run.
    if settings.PAYMENT_GATEWAY != "mock" or mock_refusal():
        raise MockTransactionNotFound()


def mock_transaction_get(*, token: str) -> MockTransaction:
    """The mock transaction behind a payment page token (the token is the capability)."""
    _check_mock_in_use()
    tx = MockTransaction.objects.select_related("order").filter(token=token).first()
    if tx is None:
        raise MockTransactionNotFound()
    return tx


@transaction.atomic(durable=True)
def mock_transaction_complete(
    *, token: str, transaction_status: str, payment_type: str | None = None
) -> dict[str, Any]:
    """What the shopper did on the mock page, as Midtrans would record it; returns the
    notification to deliver. Only a transaction still open (pending, or denied and tried
    again) can change: anything else raises MockTransactionClosed and changes nothing."""
    _check_mock_in_use()
    if transaction_status not in ACTIONS:
        raise ValueError(f"Unknown mock action {transaction_status!r}.")
    tx = MockTransaction.objects.select_for_update().filter(token=token).first()
    if tx is None:
        raise MockTransactionNotFound()
    if tx.transaction_status not in OPEN_STATUSES:
        raise MockTransactionClosed(status=tx.transaction_status)
    payment_type = payment_type or tx.payment_type or PAYMENT_TYPES[0]
    fraud_status = "accept"
    if transaction_status == "challenge":  # only a card is reviewed by fraud detection
        transaction_status, payment_type, fraud_status = "capture", "credit_card", "challenge"
    elif transaction_status == "settlement" and payment_type == "credit_card":
        transaction_status = "capture"  # a card payment is captured (then settled by the bank)
    _set(tx, transaction_status=transaction_status, payment_type=payment_type, fraud_status=fraud_status)
    return notification_for(tx)
