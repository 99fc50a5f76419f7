"""What invoices and credit notes print, frozen as plain JSON when they are issued: the seller,
the buyer, the lines, the money as the order was priced (orders/totals.py) and the payment."""

from datetime import datetime

from django.conf import settings

from config.clock import shop_zone
from orders.models import Order, OrderLine
from orders.shop_settings import TaxName, shop_settings_get

SNAPSHOT_VERSION = 1

# Midtrans `payment_type` values (and what staff record by hand) as printed on invoices.
PAYMENT_METHOD_LABELS = {
    "bank_transfer": "Bank transfer (virtual account)",
    "echannel": "Mandiri Bill Payment",
    "permata": "Permata virtual account",
    "credit_card": "Credit or debit card",
    "gopay": "GoPay",
    "shopeepay": "ShopeePay",
    "qris": "QRIS",
    "cstore": "Convenience store",
    "akulaku": "Akulaku",
    "kredivo": "Kredivo",
    "cash": "Cash",
}
GATEWAY_LABELS = {"midtrans": "Midtrans", "mock": "Mock gateway (test payments)"}


def shop_iso(moment: datetime | None) -> str | None:
    return moment.astimezone(shop_zone()).isoformat(timespec="seconds") if moment else None


def payment_method_label(method: str) -> str:
    return PAYMENT_METHOD_LABELS.get(method) or method.replace("_", " ").capitalize() or "Not recorded"


def seller_snapshot() -> dict:
    """The seller as printed. The tax registration number is the shop settings' (staff set
    it with the tax: NPWPD for the regional PB1/PBJT, NPWP for PPN), else SHOP_TAX_ID."""
    shop = shop_settings_get()
    regional = shop.tax_name in (TaxName.PB1, TaxName.PBJT)
    return {
        "name": settings.SHOP_NAME,
        "address": settings.SHOP_ADDRESS,
        "tax_id": shop.tax_registration_number or settings.SHOP_TAX_ID,
        "tax_id_label": "NPWPD" if shop.tax_registration_number and regional else "NPWP",
    }


def money_snapshot(order: Order) -> dict:
    """The order's totals as orders/totals.py priced them at checkout, with the tax's
    terms for the receipt's "harga sudah termasuk PB1" line."""
    pricing = order.pricing or {}
    return {
        "subtotal": order.subtotal,
        "discount": order.discount,
        "charges": order.charges,
        "tax": order.tax,
        "total": order.total,
        "prices_include_tax": bool(pricing.get("prices_include_tax")),
    }


def line_snapshot(line: OrderLine) -> dict:
    return {
        "name": line.product_name,
        "sku": line.sku,
        "kind": line.kind,
        "price_version": line.price_version,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "line_total": line.line_total,
        # Per one bundle, as on the order line; internal product ids stay out.
        "components": [
            {"name": c["name"], "sku": c["sku"], "quantity": c["quantity"]} for c in line.components
        ],
        # The dish's choices (the unit price includes their deltas) and the shopper's note.
        "options": [
            {"group": o["group"], "name": o["name"], "price_delta": o["price_delta"]} for o in line.options
        ],
        "note": line.note,
    }


def invoice_snapshot(
    *,
    order: Order,
    issued_at: datetime,
    paid_at: datetime,
    payment_method: str,
    transaction_id: str,
    gateway: str,
) -> dict:
    """Everything an invoice prints, as it is now, in plain JSON."""
    return {
        "version": SNAPSHOT_VERSION,
        # The words it prints in: the order's language (invoices/pdf.py renders with it).
        "language": order.language,
        "issued_at": shop_iso(issued_at),
        "seller": seller_snapshot(),
        "buyer": {"name": order.customer_name, "email": order.customer_email, "phone": order.customer_phone},
        "order": {
            "number": order.number,
            "placed_at": shop_iso(order.placed_at),
            "paid_at": shop_iso(paid_at),
        },
        "lines": [line_snapshot(line) for line in order.lines.order_by("id")],
        **money_snapshot(order),
        "currency": order.currency,
        "payment": {
            "method": payment_method,
            "method_label": payment_method_label(payment_method),
            "gateway": gateway,
            "gateway_label": GATEWAY_LABELS.get(gateway, gateway),
            "transaction_id": transaction_id,
            "paid_at": shop_iso(paid_at),
        },
    }
