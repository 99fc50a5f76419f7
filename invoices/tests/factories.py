"""Invoices are issued the way the payments flow issues them: the order is marked paid
and the invoice issued in one transaction, after locking the order."""

from datetime import datetime
from io import BytesIO

from django.db import transaction
from pypdf import PdfReader

from catalog.models import Product
from invoices.models import Invoice
from invoices.services import invoice_issue
from orders import services as order_services
from orders.models import Order, OrderStatus
from orders.tests.factories import place_order


def pay(order: Order, *, now: datetime | None = None, **issue_kwargs) -> Invoice:
    """Mark the order paid and issue its invoice in one transaction, like the webhook."""
    issue_kwargs = {
        "payment_method": "qris",
        "transaction_id": f"TX-{order.number}",
        "gateway": "midtrans",
    } | (issue_kwargs)
    with transaction.atomic():
        locked = order_services.order_lock(order_id=order.pk)
        order_services.order_transition(
            order=locked, to_status=OrderStatus.PAID, actor=order_services.GATEWAY, now=now
        )
        invoice = invoice_issue(order=locked, now=now, **issue_kwargs)
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
