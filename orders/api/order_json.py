"""The order as the API shows it, built directly (`order_data`); `OrderSerializer`
(orders/api/serializers.py) documents the same shape for the schema."""

from django.utils import timezone

from config.api.representation import iso_datetime
from invoices.api.serializers import invoice_ref_data
from orders.api.money import charge_data
from orders.models import Order
from payments.api.serializers import payment_data
from payments.selectors import payment_current, payment_error


def order_data(order: Order, *, request=None) -> dict:
    """`OrderSerializer(order, context={"request": request}).data` built directly, key for
    key and value for value, from an order with its details loaded (orders.selectors.
    with_details, or the objects checkout holds): the serializer's field machinery was about
    a third of a checkout's CPU. orders/tests/test_order_representation.py compares the two
    over a grid of orders; a field added to the serializers above must be added here too
    (that test fails until it is). OrderSerializer stays the schema's source."""
    tz = timezone.get_current_timezone()
    lines = order.lines.all()
    slot = order.pickup_slot
    use = getattr(order, "voucher_use", None)
    payment = payment_current(order=order)
    invoice = getattr(order, "invoice", None)
    return {
        "number": order.number,
        "status": order.status,
        "currency": order.currency,
        "subtotal": order.subtotal,
        "discount": order.discount,
        "voucher": use.voucher.code if use is not None else None,
        "charges": [charge_data(charge) for charge in order.charges],
        "tax": order.tax,
        "total": order.total,
        "item_count": sum(line.quantity for line in lines),
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "notes": order.notes,
        "pickup_slot": None
        if slot is None
        else {"id": slot.id, "start": iso_datetime(slot.start, tz), "end": iso_datetime(slot.end, tz)},
        "ready_at": iso_datetime(order.ready_at, tz),
        "lines": [
            {
                "product_slug": line.product_slug,
                "product_name": line.product_name,
                "sku": line.sku,
                "kind": line.kind,
                "price_version": line.price_version,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
                "line_total": line.line_total,
                "components": [
                    {"slug": c["slug"], "name": c["name"], "sku": c["sku"], "quantity": c["quantity"]}
                    for c in line.components
                ],
                "options": [
                    {"group": str(o["group"]), "name": str(o["name"]), "price_delta": int(o["price_delta"])}
                    for o in line.options
                ],
                "note": line.note,
            }
            for line in lines
        ],
        "events": [
            {
                "type": event.type,
                "from_status": event.from_status or None,
                "to_status": event.to_status or None,
                "actor": event.actor,
                "data": event.data,
                "created_at": iso_datetime(event.created_at, tz),
            }
            for event in order.events.all()
        ],
        "payment": None if payment is None else payment_data(payment),
        "payment_error": payment_error(order=order),
        "invoice": None if invoice is None else invoice_ref_data(invoice, request=request),
        "placed_at": iso_datetime(order.placed_at, tz),
        "expires_at": iso_datetime(order.expires_at, tz),
        "paid_at": iso_datetime(order.paid_at, tz),
        "cancelled_at": iso_datetime(order.cancelled_at, tz),
    }
