"""Refunds, the one service behind every way staff give money back: the staff API
(`POST orders/{number}/refund/`), the admin's refund action and the offline refund recorded
through `POST orders/{number}/status/` (DESIGN.md §4, §7).

What the gateway can do decides the path (Midtrans's Refund and Cancel references):
- a card captured but not settled yet is voided with `/v2/{id}/cancel` (Midtrans: "If
  transaction's status is still Pending Authorize or Capture please use Cancel API
  instead"), in full only;
- a settled payment of a type Midtrans refunds goes through `/v2/{id}/refund` with a
  `refund_key`, in full or in part;
- any other type (bank transfer VAs, Mandiri Bill `echannel`, convenience stores …) is
  `refund_not_supported` with nothing changed, unless staff record a refund they made by
  hand (`method="offline"` with their `reference`): the gateway is never called.

Every path ends in `payment_apply`, which records the refund on the order through
`payments.settlement.order_refund_record`: the credit note for exactly what was refunded.

The gateway's `refund_key` identifies one refund request at Midtrans. With the caller's
Idempotency-Key it is derived from that key (`refund_key_for`), so a retry that reaches
Midtrans is the same refund there; without one, from what was already refunded.
"""

import hashlib

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from config.errors import Invalid
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import Actor, order_event_log
from payments.exceptions import (
    PaymentGatewayError,
    PaymentGatewayUnavailable,
    RefundNotAllowed,
    RefundNotSupported,
)
from payments.gateways import GatewayError, get_gateway
from payments.gateways.answers import GatewayAnswer, MalformedAnswer, answer_parse
from payments.gateways.base import REFUNDABLE_PAYMENT_TYPES
from payments.models import Payment, PaymentNotification
from payments.services.apply import MONEY_HELD, payment_apply
from payments.services.reconcile import payment_reconcile
from payments.settlement import order_refund_record

P = Payment.Status

GATEWAY = "gateway"
OFFLINE = "offline"
METHODS = (GATEWAY, OFFLINE)

# English as frozen on the credit note; printed in the note's language (invoice_format.credit_reason).
DEFAULT_REASON = gettext_noop("Refund by staff.")

# Midtrans's answer to a refund_key it has already used ("Duplicate refund ID").
DUPLICATE_REFUND_KEY = 406


def refund_key_for(payment: Payment, *, user: User, key: str) -> str:
    """The gateway refund_key for `payment` refunded under `user`'s Idempotency-Key `key`:
    the same for every retry, different for every other key or user."""
    digest = hashlib.sha256(f"{user.pk}:{key}".encode()).hexdigest()[:24]
    return f"{payment.gateway_order_id}-refund-{digest}"


def _paying_attempt(order: Order) -> Payment | None:
    return (
        Payment.objects.filter(order=order, status__in=MONEY_HELD, needs_refund=False)
        .order_by("-attempt")
        .first()
    )


def order_refund_by_status(*, order: Order, actor: Actor, note: str = "") -> Order:
    """`POST orders/{number}/status/ {"status": "refunded"}`: staff record that they gave
    everything back by hand: an offline refund of the whole order (`order_refund`)."""
    order_refund(
        order=order,
        actor=actor,
        reason=note or gettext_noop("Refunded by staff (offline)"),
        method=OFFLINE,
        reference=note or f"offline:{order.number}",
        note=note,
    )
    return Order.objects.get(pk=order.pk)


def order_reject(
    *, order: Order, actor: Actor, reason: str, method: str = GATEWAY, reference: str = ""
) -> Order:
    """`POST orders/{number}/reject/`: staff turn down a paid order the kitchen has not
    started. It is cancelled with its money given back, which the order states (DESIGN.md
    §4) say as paid -> refunded: the whole amount goes back by `order_refund` (the gateway,
    or `method="offline"` with its `reference` for a type the gateway cannot refund, which
    is RefundNotSupported otherwise), with the reason on the gateway's refund and, once it
    went through, on a `rejected` event of the order. An order that is not paid is InvalidTransition, nothing changed. The
    gateway is never called under the order's lock: a kitchen move racing the rejection
    leaves the refund to take a preparing order to refunded, as a refund would."""
    reason = reason.strip()
    if not reason:
        raise Invalid(_("Say why the order is rejected; the shopper is told."), field="reason")
    order = Order.objects.get(pk=order.pk)
    if order.status != OrderStatus.PAID:
        raise InvalidTransition(
            _("Only a paid order the kitchen has not started can be rejected; this one is %(status)s.")
            % {"status": OrderStatus(order.status).label.lower()},
            status=order.status,
            requested=OrderStatus.REFUNDED,
        )
    # The shopper is told, on the gateway's refund and the credit note: in the order's language.
    with translation.override(order.language or None):
        told = _("Rejected by the shop: %(reason)s") % {"reason": reason}
    order_refund(
        order=order,
        actor=actor,
        reason=told[:255],
        method=method,
        reference=reference,
        note=told if method == OFFLINE else "",
    )
    order = Order.objects.get(pk=order.pk)
    order_event_log(order=order, type=OrderEvent.Type.REJECTED, actor=actor, data={"reason": reason})
    return order


def order_refund(
    *,
    order: Order,
    actor: Actor,
    reason: str = DEFAULT_REASON,
    amount: int | None = None,
    method: str = GATEWAY,
    reference: str = "",
    note: str = "",
    idempotency_key: str | None = None,
) -> Payment | None:
    """Refund `amount` (default: all that is left) of the attempt that paid `order`
    (`payment_refund`). An order marked paid with no attempt on record (paid before the
    gateway was wired, or by hand) can only be refunded offline and in full: the order
    becomes refunded and its invoice is credited (`order_refund_record`); returns None."""
    payment = _paying_attempt(order)
    if payment is not None:
        return payment_refund(
            payment=payment,
            actor=actor,
            reason=reason,
            amount=amount,
            method=method,
            reference=reference,
            idempotency_key=idempotency_key,
        )
    if method != OFFLINE or amount not in (None, order.total):
        raise RefundNotAllowed(_("No payment of this order holds money to refund."))
    if not reference.strip():
        raise Invalid(
            _("An offline refund needs the reference of the transfer staff made."), field="reference"
        )
    order_refund_record(
        order=order,
        refunded=order.total,
        refund_reference=f"offline:{order.number}",
        full=True,
        actor=actor,
        reason=reason,
        data={"note": note} if note else {"reference": reference.strip()[:100]},
    )
    return None


def payment_refund(
    *,
    payment: Payment,
    actor: Actor,
    reason: str = DEFAULT_REASON,
    amount: int | None = None,
    method: str = GATEWAY,
    reference: str = "",
    idempotency_key: str | None = None,
) -> Payment:
    """Give back `amount` (default: what is left) of a settled attempt, by the path the
    module docstring describes, and apply the outcome through `payment_apply`.

    Refusals change nothing: RefundNotAllowed (409) when the attempt holds no money or the
    gateway did not confirm; RefundNotSupported (409) for a type the gateway cannot refund;
    Invalid (400) for an amount outside 1..what is left or an offline refund without its
    reference; PaymentGatewayError (502/503) when the gateway refused or could not be
    reached. The refund key is derived from `idempotency_key` (the caller's, with
    `actor.user`) when given, else from what was already refunded, so a repeated or
    concurrent request is refused by the gateway instead of refunding twice."""
    payment = Payment.objects.get(pk=payment.pk)
    if method not in METHODS:
        raise Invalid(_("Unknown refund method %(method)r.") % {"method": method}, field="method")
    if payment.status not in MONEY_HELD:
        raise RefundNotAllowed(
            _("A payment that is %(status)s cannot be refunded.")
            % {"status": P(payment.status).label.lower()}
        )
    remaining = payment.amount - payment.refunded_amount
    amount = remaining if amount is None else amount
    if not 0 < amount <= remaining:
        raise Invalid(
            _("The amount must be between 1 and %(remaining)d (what is left to refund).")
            % {"remaining": remaining},
            field="amount",
        )
    keyed = bool(idempotency_key) and actor.user is not None
    if method == OFFLINE:
        return _offline(
            payment=payment,
            actor=actor,
            reason=reason,
            amount=amount,
            reference=reference,
            refund_key=refund_key_for(payment, user=actor.user, key=idempotency_key) if keyed else None,
        )
    refund_key = (
        refund_key_for(payment, user=actor.user, key=idempotency_key)
        if keyed
        else f"{payment.gateway_order_id}-refund-{payment.refunded_amount}"
    )
    return _through_gateway(
        payment=payment, actor=actor, reason=reason, amount=amount, refund_key=refund_key, keyed=keyed
    )


def _offline(
    *, payment: Payment, actor: Actor, reason: str, amount: int, reference: str, refund_key: str | None
) -> Payment:
    """Staff gave the money back by hand: recorded as the gateway would report a refund,
    so the attempt, the order and the credit note follow the same code.

    With an Idempotency-Key the refund carries `refund_key` (derived from it, as the gateway
    path's) into its `payment_updated` event: a retry of a request that recorded it and died
    before completing its key (once the key's lock lapsed) finds the event and records
    nothing. One key's requests never run at once (its lock): the look-up needs no other."""
    reference = reference.strip()
    if not reference:
        raise Invalid(
            _("An offline refund needs the reference of the transfer staff made."), field="reference"
        )
    if (
        refund_key is not None
        and OrderEvent.objects.filter(
            order_id=payment.order_id, type=OrderEvent.Type.PAYMENT_UPDATED, data__refund_key=refund_key
        ).exists()
    ):
        return payment
    total = payment.refunded_amount + amount
    answer = answer_parse(
        {
            "order_id": payment.gateway_order_id,
            "gross_amount": f"{payment.amount}.00",
            "transaction_status": "refund" if total == payment.amount else "partial_refund",
            "refund_amount": f"{total}.00",
            "transaction_id": payment.transaction_id,
            "payment_type": payment.payment_type,
            "refund_method": OFFLINE,
            "refund_reference": reference[:100],
            "refund_reason": reason[:255],
            **({"refund_key": refund_key} if refund_key else {}),
        }
    )
    applied = payment_apply(payment_id=payment.pk, answer=answer, actor=actor, source="offline_refund")
    if applied.outcome != PaymentNotification.Outcome.APPLIED:
        # Another refund was recorded meanwhile (two staff at once): this one changed nothing.
        raise RefundNotAllowed(
            _("The payment changed while this refund was recorded (%(detail)s); check it and try again.")
            % {"detail": applied.detail}
        )
    return _confirmed(payment=payment, total=total, message="the offline refund was not applied")


def _through_gateway(
    *, payment: Payment, actor: Actor, reason: str, amount: int, refund_key: str, keyed: bool
) -> Payment:
    gateway = get_gateway()
    if payment.gateway != gateway.name:
        raise RefundNotAllowed(
            _("This payment went through %(gateway)s, which is not the configured gateway.")
            % {"gateway": payment.gateway}
        )
    if payment.payment_type not in REFUNDABLE_PAYMENT_TYPES:
        raise RefundNotSupported(
            _(
                "The gateway cannot refund a %(payment_type)s payment: give the money back by hand "
                'and record it with method "offline" and its reference.'
            )
            % {"payment_type": payment.payment_type or _("payment of unknown type")},
            payment_type=payment.payment_type,
        )
    captured = _captured(gateway=gateway, payment=payment)
    if captured and amount != payment.amount - payment.refunded_amount:
        raise RefundNotAllowed(
            _(
                "A card payment that is captured but not settled can only be voided in full; "
                "refund part of it once it has settled."
            )
        )
    total = payment.refunded_amount + amount
    # Fee imposition: the shopper paid the order's amount and a fee on top (`fee_amount`); the
    # refund that completes the order's amount gives the fee back too, so the gateway's
    # transaction ends `refund`. What is recorded and credited stays the order's money.
    fee_back = payment.fee_amount if total == payment.amount else 0
    try:
        if captured:
            raw = gateway.cancel(gateway_order_id=payment.gateway_order_id)
            answer = answer_parse(raw)
        else:
            raw = gateway.refund(
                gateway_order_id=payment.gateway_order_id,
                amount=amount + fee_back,
                refund_key=refund_key,
                reason=reason,
            )
            answer = _refund_answer(raw, amount=amount + fee_back, total=total + fee_back)
    except _AnotherRefund:
        # The same refund_key repeats the same refund (Midtrans's Refund reference): this
        # answer is about a refund made meanwhile with another amount. The status says what
        # went back; nothing more was refunded for this request.
        payment_reconcile(payment=payment, actor=actor)
        raise RefundNotAllowed(
            _(
                "Another refund of this payment was made at the same time; check what was refunded and try again."
            )
        ) from None
    except GatewayError as exc:
        if exc.status_code == DUPLICATE_REFUND_KEY and keyed:
            # A request with this Idempotency-Key got its refund made at the gateway, then died
            # before recording it: bring the payment up to date from the gateway's status.
            payment_reconcile(payment=payment, actor=actor)
            raise RefundNotAllowed(
                _(
                    "The gateway already made the refund of this Idempotency-Key (an earlier request "
                    "got no answer); the payment now shows what went back. Check it before refunding more."
                )
            ) from None
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(
            _("The refund of %(payment)s failed: %(reason)s")
            % {"payment": payment.gateway_order_id, "reason": exc.message}
        ) from None
    except MalformedAnswer as exc:
        raise PaymentGatewayError(
            f"The refund answer for {payment.gateway_order_id} is unreadable: {exc}"
        ) from None
    payment_apply(payment_id=payment.pk, answer=answer, actor=actor, source="void" if captured else "refund")
    message = raw.get("status_message") or "no reason given"
    if captured:
        payment.refresh_from_db()
        if payment.status != P.CANCELLED:
            raise RefundNotAllowed(
                _("The gateway did not confirm the void (%(reason)s).") % {"reason": f"{message!s:.200}"}
            )
        return payment
    return _confirmed(payment=payment, total=total, message=message)


def _captured(*, gateway, payment: Payment) -> bool:
    """Whether a card payment is still only captured (voided, not refunded): the gateway's
    status says, since a capture settles at the gateway without telling us (no
    notification is promised for it). Other payment types are never captured."""
    if payment.payment_type != "credit_card":
        return False
    try:
        status = gateway.get_status(gateway_order_id=payment.gateway_order_id)
    except GatewayError as exc:
        error = PaymentGatewayUnavailable if not exc.reachable else PaymentGatewayError
        raise error(f"The status of {payment.gateway_order_id} is unknown: {exc.message}") from None
    return status.get("transaction_status") == "capture"


class _AnotherRefund(Exception):
    pass


def _refund_answer(raw: dict, *, amount: int, total: int) -> GatewayAnswer:
    """Midtrans's refund answer carries this refund's `refund_amount` (refund_200_partial:
    5000 of 10000), where its status answer and notifications carry the total refunded so
    far, which is what `payment_apply` reads: the answer is applied with the total. An
    approved answer for another amount is another refund's (_AnotherRefund). An answer that
    is not an approved refund (the bank rejected it: status_code 202, status still
    `settlement`) is applied as it is and changes nothing."""
    answer = answer_parse(raw)
    if raw.get("status_code") == "200" and answer.transaction_status in ("refund", "partial_refund"):
        if answer.refund_amount != amount:
            raise _AnotherRefund()
        answer = answer_parse({**raw, "refund_amount": f"{total}.00"})
    return answer


def _confirmed(*, payment: Payment, total: int, message: object) -> Payment:
    payment.refresh_from_db()
    if payment.refunded_amount < total or payment.status not in (P.REFUNDED, P.PARTIALLY_REFUNDED):
        raise RefundNotAllowed(
            _("The gateway did not confirm the refund (%(reason)s).") % {"reason": f"{message!s:.200}"}
        )
    return payment
