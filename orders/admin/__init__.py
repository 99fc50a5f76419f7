"""The orders app's admin, one module per subject: order.py (what an order shows),
kitchen.py (moving orders: actions, buttons, the kitchen board), idempotency.py, and the
opening hours and pickup slots from the pickup package. Importing them registers them."""

from orders.admin import idempotency, kitchen, order, shop_settings  # noqa: F401
from orders.pickup import admin as pickup_admin  # noqa: F401
from orders.vouchers import admin as voucher_admin  # noqa: F401
