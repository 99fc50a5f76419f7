"""The public flows that carry money into and out of an order, across orders and invoices
(DESIGN.md §1, §4, §8). `payments` sits above both in the dependency order, so these are
the one place where "the order became paid" and "the order was refunded" happen; every
path (the webhook, reconciliation, a staff refund, the test factories) calls them.

- `order_settle`: the order becomes paid, its invoice is issued in the same transaction,
  and after commit its PDF is rendered and the receipt (which attaches it) is sent.
- `order_refund_record`: money went back: a full refund moves the order to refunded, and
  the invoice gets a credit note for what was not credited yet.
- `order_reversal_hold` / `order_reversal_lift`: the gateway took a settled payment back
  (a reversal): the order goes on hold (`payment_reversed`), and back to where it was if
  the gateway says it is settled again.
"""

from datetime import datetime

from django.db import transaction

from config.tasks import enqueue
from invoices.models import Invoice
from invoices.selectors import invoice_credited
from invoices.services import credit_note_issue, invoice_issue
from invoices.tasks import render_credit_note_pdf, render_invoice_pdf, send_receipt
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import GATEWAY, Actor, order_events_flush, order_lock, order_transition
from payments.models import Payment

S = OrderStatus


def order_settle(
    *, order: Order, payment: Payment, actor: Actor = GATEWAY, now: datetime | None = None
) -> Invoice:
    """`payment` paid `order`: mark it paid, issue its invoice, and once the caller's
    transaction commits render the PDF, then send the receipt (which attaches it, rendering
    it if the first task has not yet).

    Call inside the transaction that holds the order's row lock (and the payment's), with
    that locked order. An expired or cancelled order takes its stock again; when it is gone
    raises InsufficientStock with nothing changed. Runs once per order: a second call finds
    the order paid and raises InvalidTransition."""
    order_transition(
        order=order,
        to_status=S.PAID,
        actor=actor,
        now=now,
        data={"gateway_order_id": payment.gateway_order_id, "payment_type": payment.payment_type},
    )
    invoice = invoice_issue(
        order=order,
        payment_method=payment.payment_type,
        transaction_id=payment.transaction_id,
        paid_at=order.paid_at,
        gateway=payment.gateway,
        now=now,
        order_locked=True,  # as this function requires
    )
    # After commit, outside this request when a worker runs.
    enqueue(render_invoice_pdf, invoice.pk)
    enqueue(send_receipt, order.pk)
    return invoice


@transaction.atomic
def order_refund_record(
    *,
    order: Order,
    refunded: int,
    refund_reference: str,
    full: bool,
    actor: Actor,
    reason: str,
    data: dict | None = None,
    now: datetime | None = None,
) -> Order:
    """Money went back to the shopper for `order`: every refund path records it here (the
    gateway's refund, partial refund or void, and staff's offline refund).

    When `full` the order becomes refunded (InvalidTransition, nothing changed, when its
    state does not allow it), with `data` on its event. Its invoice, if it has one, gets a
    credit note for what of `refunded` (everything refunded so far from the source that
    `refund_reference` names) is not credited yet; the note's PDF is rendered after commit.
    Locks the order: inside the caller's transaction, or in its own. Idempotent per
    `refund_reference` (credit_note_issue). Returns the order, locked and up to date."""
    order = order_lock(order_id=order.pk)
    if full:
        order_transition(order=order, to_status=S.REFUNDED, actor=actor, now=now, data=data)
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        return order
    amount = min(refunded, invoice.total) - invoice_credited(invoice=invoice)
    if amount <= 0:
        return order
    credit_note = credit_note_issue(
        invoice=invoice, amount=amount, reason=reason, refund_reference=refund_reference, now=now
    )
    enqueue(render_credit_note_pdf, credit_note.pk)
    return order


def order_reversal_hold(*, order: Order, payment: Payment, actor: Actor, now: datetime | None = None) -> None:
    """The payment that paid `order` (locked) was reversed: hold the order, so the kitchen
    stops (Midtrans: "not paid, do not deliver"). Staff re-check it with the gateway or
    cancel it."""
    order_transition(
        order=order,
        to_status=S.PAYMENT_REVERSED,
        actor=actor,
        now=now,
        data={"gateway_order_id": payment.gateway_order_id, "reason": "The payment was reversed."},
    )


def order_reversal_lift(*, order: Order, payment: Payment, actor: Actor, now: datetime | None = None) -> None:
    """The gateway says the reversed payment is settled again: `order` (locked, on hold)
    goes back to the status it had when it was put on hold."""
    order_events_flush()  # the events this flow has logged so far, if it batches them
    previous = (
        OrderEvent.objects.filter(
            order=order, type=OrderEvent.Type.STATUS_CHANGED, to_status=S.PAYMENT_REVERSED
        )
        .order_by("-created_at", "-id")
        .values_list("from_status", flat=True)
        .first()
    )
    order_transition(
        order=order,
        to_status=previous or S.PAID,
        actor=actor,
        now=now,
        data={"gateway_order_id": payment.gateway_order_id, "reason": "The gateway says it is settled."},
    )
