from django.db.models import Prefetch, QuerySet

from accounts.models import User
from cart.models import CartItem
from cart.selectors import cart_items, with_line_details
from orders.models import Order, OrderEvent


def with_details(qs: QuerySet[Order]) -> QuerySet[Order]:
    """What the order representation shows: the pickup slot and invoice are joined; lines, events and
    payment attempts come in three more queries whatever their number."""
    return (
        qs.select_related("pickup_slot", "invoice")
        .defer("invoice__snapshot")  # the order shows only the invoice's number
        .prefetch_related(
            "lines", Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")), "payments"
        )
    )


def order_list(*, user: User) -> QuerySet[Order]:
    """Orders the user may see, newest first: their own, or every order for staff."""
    qs = Order.objects.all() if user.is_staff else Order.objects.filter(user=user)
    return with_details(qs).order_by("-placed_at", "-id")


def order_detail(*, order_id: int) -> Order:
    """One order with its details, for answering a write (no access check: the caller
    already has the order)."""
    return with_details(Order.objects.all()).get(pk=order_id)


def checkout_items(*, user: User, item_ids: list[int] | None) -> list[CartItem]:
    """The cart lines to check out (all when `item_ids` is None) with current prices,
    availability and, for bundles, their components."""
    qs = cart_items(user=user)
    if item_ids is not None:
        qs = qs.filter(pk__in=item_ids)
    return with_line_details(list(qs))
