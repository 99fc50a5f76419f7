from config.errors import Conflict


class InsufficientStock(Conflict):
    """`products`: [{slug, name, requested, available}] for each product that is short."""

    code = "insufficient_stock"
    default_detail = "Not enough stock."


class StockChanged(Conflict):
    """A set-with-expected-value found another stock than the one the staff member saw."""

    code = "stock_changed"
    default_detail = "The stock changed since it was read; nothing was changed."


class StockWouldGoNegative(Conflict):
    code = "stock_negative"
    default_detail = "That would take the stock below zero; nothing was changed."


class ProductUnavailable(Conflict):
    """`products`: [{slug, name, reason}] for each product that is not for sale."""

    code = "product_unavailable"
    default_detail = "Some products are no longer for sale; remove them from the selection."
