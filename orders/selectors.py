from django.db.models import Prefetch, QuerySet

from accounts.models import User
from cart.models import CartItem
from cart.selectors import cart_items
from catalog.models import BundleItem
from orders.models import Order, OrderEvent


def order_list(*, user: User) -> QuerySet[Order]:
    """Orders the user may see, newest first: their own, or every order for staff.
    The invoice comes joined (without its snapshot); lines and events in two more queries
    whatever their number."""
    qs = Order.objects.all() if user.is_staff else Order.objects.filter(user=user)
    return (
        qs.select_related("invoice")
        .defer("invoice__snapshot")  # the order shows only the number
        .prefetch_related(
            "lines", Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id"))
        )
        .order_by("-placed_at", "-id")
    )


def checkout_items(*, user: User, item_ids: list[int] | None) -> list[CartItem]:
    """The cart lines to check out (all when `item_ids` is None) with current prices,
    availability and, for bundles, their components."""
    qs = cart_items(user=user).prefetch_related(
        Prefetch(
            "product__bundle_items", queryset=BundleItem.objects.select_related("component").order_by("id")
        )
    )
    if item_ids is not None:
        qs = qs.filter(pk__in=item_ids)
    return list(qs)
