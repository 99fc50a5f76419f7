"""Orders are paid the way the payments flow pays them: `payments.settlement.order_settle`,
in one transaction holding the order's row lock."""

from datetime import datetime
from io import BytesIO

from django.db import transaction
from pypdf import PdfReader

from catalog.models import Product
from invoices.models import Invoice
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import place_order
from payments.models import Payment
from payments.settlement import order_settle


def pay(
    order: Order,
    *,
    now: datetime | None = None,
    payment_method: str = "qris",
    transaction_id: str | None = None,
    gateway: str = "midtrans",
) -> Invoice:
    """Settle the order as the webhook does: marked paid and invoiced in one transaction,
    its PDF and receipt enqueued for after the commit. The attempt is described, not
    stored: these tests are about orders and documents, the payments tests about attempts."""
    attempt = Payment(
        gateway=gateway,
        gateway_order_id=f"{order.number}-1",
        payment_type=payment_method,
        transaction_id=f"TX-{order.number}" if transaction_id is None else transaction_id,
    )
    with transaction.atomic():
        locked = order_services.order_lock(order_id=order.pk)
        invoice = order_settle(order=locked, payment=attempt, now=now)
    order.refresh_from_db()
    return invoice


def invoiced_order(
    *, user, items: list[tuple[Product, int]], now: datetime | None = None, **kwargs
) -> Invoice:
    return pay(place_order(user=user, items=items), now=now, **kwargs)


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace collapsed to single spaces."""
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())
