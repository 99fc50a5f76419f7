"""The menu as staff run it, one module per model (or group of models).

Every write goes through `catalog.services` (a product's through `product_save`, as the
API's), and a service's refusal comes back as the form's error (`common.SaveRefused`).
Products and categories are not deleted here: as with the API's DELETE they are
deactivated, so order history and the append-only price history stay whole.
"""

from catalog.admin import categories, ledger, option_groups, products

__all__ = ["categories", "ledger", "option_groups", "products"]
