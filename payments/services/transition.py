"""`payment_transition`: the one code that writes a payment attempt's status, and the
order event that says so (DESIGN.md §4). Every path that changes an attempt's status (the
gateway's answers through `apply`, an opening that failed, reconciliation and refunds,
which go through `apply`) calls it inside the transaction that holds the order's row lock."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from orders.models import Order, OrderEvent
from orders.services import Actor, order_event_log
from payments.models import Payment

# The fields besides `status` a transition may write.
WRITABLE = frozenset(
    {
        "refunded_amount",
        "chargeback_amount",
        "fee_amount",
        "raw_status",
        "transaction_id",
        "payment_type",
        "va_numbers",
        "flag_reason",
        "needs_refund",
        "settled_at",
        "open_error",
    }
)


def payment_transition(
    *,
    order: Order,
    payment: Payment,
    to_status: str,
    actor: Actor,
    source: str,
    now: datetime | None = None,
    fields: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Move `payment` (locked, of the locked `order`) to `to_status`, with `fields`, and log
    a `payment_updated` event with `data` added. The caller decided the move is allowed
    (`payments.decide`); this only writes it, so that no status changes without its event."""
    fields = fields or {}
    unknown = set(fields) - WRITABLE
    if unknown:
        raise ValueError(f"payment_transition cannot write {sorted(unknown)}")
    from_status = payment.status
    payment.status = to_status
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.save(update_fields=["status", *fields, "updated_at"])
    return order_event_log(
        order=order,
        type=OrderEvent.Type.PAYMENT_UPDATED,
        actor=actor,
        now=now or timezone.now(),
        data={
            "gateway_order_id": payment.gateway_order_id,
            "from": from_status,
            "to": to_status,
            "source": source,
            **(data or {}),
        },
    )
