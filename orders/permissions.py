"""The Django permission behind each staff move of an order, for the API
(`POST orders/{number}/status/`, `cancel/`) and the admin (actions, buttons, kitchen board)
alike.

The kitchen flow is the order's change permission: the admin never edits an order's fields,
so changing an order means moving it along. Cancelling someone else's order and recording a
refund are powers of their own (Order.Meta.permissions), which the "Kitchen" group lacks."""

from accounts.models import User
from accounts.permissions import staff_has_perm
from orders.models import Order, OrderStatus

S = OrderStatus

VIEW_ALL = "orders.view_order"
KITCHEN = "orders.change_order"
CANCEL = "orders.cancel_order"
REFUND = "orders.refund_order"

# Every status staff may set by hand, with the permission it needs; `paid` only ever comes
# from the gateway.
STATUS_PERMISSIONS: dict[str, str] = {
    S.PREPARING: KITCHEN,
    S.READY: KITCHEN,
    S.COMPLETED: KITCHEN,
    S.CANCELLED: CANCEL,
    S.REFUNDED: REFUND,
}


def sees_all_orders(user: User) -> bool:
    return staff_has_perm(user, VIEW_ALL)


def may_set_status(user: User, to_status: str) -> bool:
    """`user` may move orders to `to_status` (False for a status staff never set)."""
    perm = STATUS_PERMISSIONS.get(to_status)
    return perm is not None and staff_has_perm(user, perm)


def may_set_any_status(user: User) -> bool:
    return any(staff_has_perm(user, perm) for perm in set(STATUS_PERMISSIONS.values()))


def may_cancel(user: User, order: Order) -> bool:
    """The shopper who placed it, or staff with the cancel permission."""
    return (order.user_id is not None and order.user_id == user.pk) or staff_has_perm(user, CANCEL)
