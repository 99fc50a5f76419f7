"""The receipt of a paid order: an e-mail with the order's summary and its invoice PDF
attached, sent once per order after the paying transaction has committed
(`payments.settlement.order_settle` enqueues `invoices.tasks.send_receipt`).

It lives with the invoice it attaches: orders know nothing of invoices (DESIGN.md §1), and
the receipt's state (`receipt_claimed_at`, `receipt_sent_at`) is on the order row, which
invoices may write.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, InterfaceError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from config.money import percent, rupiah, signed_rupiah
from invoices.models import Invoice
from invoices.services import invoice_pdf_open
from orders.charge_names import charge_name
from orders.models import RECEIPT_STATUSES, Order, OrderEvent
from orders.selectors import order_for_receipt
from orders.services import SYSTEM, order_event_log

logger = logging.getLogger(__name__)


class ReceiptNotRecorded(Exception):
    """The mail server accepted the receipt, and recording it failed (the database went
    away in between). The receipt stays claimed (`claimed_at`) so that nobody sends it
    again; a retry passes the claim back as `sent_claim` and only records it."""

    def __init__(self, claimed_at: datetime) -> None:
        super().__init__(claimed_at)
        self.claimed_at = claimed_at


# One file attached to the receipt: (file name, content, MIME type), as EmailMessage.attach takes.
Attachment = tuple[str, bytes, str]


def receipt_attachments(order: Order) -> list[Attachment]:
    """The paid order's invoice as an e-mail attachment, rendered first if it is missing
    (safe to run twice). None yet (no invoice): no attachment."""
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        return []
    with invoice_pdf_open(invoice=invoice) as pdf:
        return [(f"{invoice.number}.pdf", pdf.read(), "application/pdf")]


def receipt_send(
    *,
    order_id: int,
    attachments: Callable[[Order], Sequence[Attachment]] = receipt_attachments,
    now: datetime | None = None,
    left_claims: Sequence[datetime] = (),
    sent_claim: datetime | None = None,
) -> bool:
    """E-mail the receipt of a paid order to its customer; True if this call sent it.

    Once per order, however many copies run at once: a call first claims the receipt with
    one conditional UPDATE (not sent, not claimed or the claim lapsed, order paid), then
    sends with no lock or transaction open, then records it with a RECEIPT_SENT event. A
    call that finds it sent, claimed or the order not paid (or gone) returns False.

    At least once rather than at most once: a failed send (SMTP down, a failing
    `attachments`) gives the claim back and raises, so the task retries; a sender that died
    holding the claim leaves it to lapse after RECEIPT_CLAIM_SECONDS, and the sweep
    (`orders_receipt_due`) sends again. A mail accepted and then not recorded (the database
    gone) raises ReceiptNotRecorded, claim kept, and the task's retry records it without
    sending. The one way to get two e-mails is a crash (or retries run out) after the mail
    server accepted the message and before the record: a rare duplicate receipt was judged
    better than a lost one.

    `attachments(order)` gives the files to attach (by default the invoice PDF); called only
    when sending. `left_claims`: the claims (their times, `now` of those calls) earlier
    attempts of the same sender may have made, then failed and not given back because the
    database was gone too; this call takes such a claim over rather than wait for it to
    lapse (a retrying task passes them: invoices.tasks.send_receipt). `sent_claim`: an
    earlier attempt sent the receipt under this claim and raised ReceiptNotRecorded; this
    call records it (if nobody did) and sends nothing."""
    now = now or timezone.now()
    if sent_claim is not None:
        _receipt_record(order=order_for_receipt(order_id=order_id))
        return True
    lapsed = now - timedelta(seconds=settings.RECEIPT_CLAIM_SECONDS)
    free = Q(receipt_claimed_at__isnull=True) | Q(receipt_claimed_at__lte=lapsed)
    if left_claims:
        free |= Q(receipt_claimed_at__in=list(left_claims))
    claimed = Order.objects.filter(
        free,
        pk=order_id,
        status__in=RECEIPT_STATUSES,
        receipt_sent_at__isnull=True,
    ).update(receipt_claimed_at=now)
    if not claimed:
        return False
    try:
        order = order_for_receipt(order_id=order_id)
        message = receipt_message(order=order)
        for filename, content, mimetype in attachments(order):
            message.attach(filename, content, mimetype)
        message.send()
    except BaseException:
        _receipt_claim_give_back(order_id=order_id, claimed_at=now)
        raise
    try:
        _receipt_record(order=order)
    except (DatabaseError, InterfaceError) as exc:  # the connection is gone: the retry records
        raise ReceiptNotRecorded(now) from exc
    return True


def _receipt_record(*, order: Order) -> None:
    """Mark the receipt sent (once) and log it, giving the claim up."""
    with transaction.atomic():
        sent_at = timezone.now()
        recorded = Order.objects.filter(pk=order.pk, receipt_sent_at__isnull=True).update(
            receipt_sent_at=sent_at, receipt_claimed_at=None
        )
        if recorded:
            order_event_log(
                order=order,
                type=OrderEvent.Type.RECEIPT_SENT,
                actor=SYSTEM,
                data={"to": order.customer_email},
                now=sent_at,
            )
        else:  # our claim lapsed while we were sending and another sender finished first
            logger.warning("The receipt of order %s was sent twice", order.number)


def _receipt_claim_give_back(*, order_id: int, claimed_at: datetime) -> None:
    """Give a receipt claim back (only ours: a later claimant's stands), so a retry can send.

    Called while a failure propagates, which may be the database connection itself (dropped
    mid-send): then the give-back runs once more on a fresh connection. If that fails too,
    it is logged and the claim lapses after RECEIPT_CLAIM_SECONDS, when the sweep sends."""
    for attempt in range(2):
        try:
            Order.objects.filter(
                pk=order_id, receipt_claimed_at=claimed_at, receipt_sent_at__isnull=True
            ).update(receipt_claimed_at=None)
            return
        except DatabaseError:
            if attempt or transaction.get_connection().in_atomic_block:
                logger.warning(
                    "Could not give back the receipt claim of order id %s", order_id, exc_info=True
                )
                return
            transaction.get_connection().close()  # broken: the next query opens a new one


def receipt_charge_label(charge: dict) -> str:
    rate = charge.get("rate_bp")
    if not rate:
        return charge_name(charge)
    return f"{charge_name(charge)} {percent(rate)}"


def receipt_message(*, order: Order) -> EmailMultiAlternatives:
    """The receipt e-mail of `order` (with its lines and pickup slot loaded), text and HTML,
    in the language the order was placed in."""
    with translation.override(order.language):
        return _receipt_message(order=order)


def _receipt_message(*, order: Order) -> EmailMultiAlternatives:
    lines = [
        {
            "quantity": line.quantity,
            "name": line.product_name,
            "unit_price": rupiah(line.unit_price),
            "line_total": rupiah(line.line_total),
            "components": [f"{c['quantity']} x {c['name']}" for c in line.components],
        }
        for line in order.lines.all()
    ]
    slot = order.pickup_slot
    context = {
        "shop_name": settings.SHOP_NAME,
        "order": order,
        "lines": lines,
        "subtotal": rupiah(order.subtotal),
        # The discount and each charge as priced at checkout (orders/totals.py), signed.
        "adjustments": [
            *([(_("Discount"), f"-{rupiah(order.discount)}")] if order.discount else []),
            *(
                (receipt_charge_label(charge), signed_rupiah(charge["amount"]))
                for charge in order.charges
                if charge["amount"]
            ),
        ],
        "tax_included": [
            _("Harga sudah termasuk %(name)s %(amount)s (DPP %(base)s)")
            % {"name": c["name"], "amount": rupiah(c["included"]), "base": rupiah(c["base"])}
            for c in order.charges
            if c.get("included")
        ],
        "total": rupiah(order.total),
        "paid_at": timezone.localtime(order.paid_at) if order.paid_at else None,
        "pickup": (
            f"{date_format(timezone.localtime(slot.start), 'l, j M Y, H:i')}-{timezone.localtime(slot.end):%H:%M}"
            if slot
            else None
        ),
    }
    message = EmailMultiAlternatives(
        subject=_("%(shop)s receipt for order %(number)s")
        % {"shop": settings.SHOP_NAME, "number": order.number},
        body=render_to_string("orders/receipt_email.txt", context),
        to=[order.customer_email],
    )
    message.attach_alternative(render_to_string("orders/receipt_email.html", context), "text/html")
    return message
