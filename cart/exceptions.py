"""The cart's limits against hoarding (README, "Limits"): answered 409 with their code."""

from django.utils.translation import gettext_lazy as _

from config.errors import Conflict


class CartProductLimit(Conflict):
    """`product` (slug), `limit`, `in_cart`: units of the product already in the cart, over
    all its lines (whatever the options and notes)."""

    code = "cart_product_limit"
    default_detail = _("The cart cannot hold more of this product.")
    body_fields = {
        "product": {"type": "string", "description": "The product's slug."},
        "limit": {"type": "integer", "description": "CART_MAX_UNITS_PER_PRODUCT."},
        "in_cart": {"type": "integer"},
    }


class CartLineLimit(Conflict):
    """`limit`: the most lines a cart holds."""

    code = "cart_line_limit"
    default_detail = _("The cart cannot hold more lines.")
    body_fields = {"limit": {"type": "integer", "description": "CART_MAX_LINES."}}
