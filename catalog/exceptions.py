from django.utils.translation import gettext_lazy as _

from config.errors import Conflict


class InsufficientStock(Conflict):
    """`products`: [{slug, name, requested, available}] for each product that is short."""

    code = "insufficient_stock"
    default_detail = _("Not enough stock.")
    body_fields = {
        "products": {
            "type": "array",
            "description": "Each product (`slug`) or option (`option`) that is short.",
            "items": {
                "type": "object",
                "properties": {
                    "slug": {"type": "string", "description": "The product's slug (a product line)."},
                    "option": {"type": "string", "description": "The option's slug (an option line)."},
                    "name": {"type": "string"},
                    "requested": {"type": "integer", "description": "Units asked for."},
                    "available": {"type": "integer", "description": "Units in stock now."},
                },
                "required": ["name", "requested", "available"],
            },
        }
    }


class StockChanged(Conflict):
    """A set-with-expected-value found another stock than the one the staff member saw."""

    code = "stock_changed"
    default_detail = _("The stock changed since it was read; nothing was changed.")
    body_fields = {"stock": {"type": "integer", "description": "The stock now."}}


class StockWouldGoNegative(Conflict):
    code = "stock_negative"
    default_detail = _("That would take the stock below zero; nothing was changed.")
    body_fields = {"stock": {"type": "integer", "description": "The stock now."}}


class ProductUnavailable(Conflict):
    """`products`: [{slug, name, reason}] for each product that is not for sale."""

    code = "product_unavailable"
    default_detail = _("Some products are no longer for sale; remove them from the selection.")
    body_fields = {
        "products": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "reason": {"$ref": "#/components/schemas/SellabilityReasonEnum"},
                },
                "required": ["slug", "name", "reason"],
            },
        }
    }
