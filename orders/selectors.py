from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from cart.models import CartItem
from cart.selectors import cart_items, with_line_details
from orders.models import RECEIPT_STATUSES, Order, OrderEvent, OrderStatus
from orders.permissions import sees_all_orders
from orders.vouchers.models import AppliedVoucher

# The sweep leaves an order paid this recently to the receipt task its payment enqueued.
RECEIPT_SWEEP_GRACE = timedelta(minutes=1)


def with_details(qs: QuerySet[Order]) -> QuerySet[Order]:
    """What the order representation shows: the pickup slot, invoice and voucher are joined; lines, events and
    payment attempts come in three more queries whatever their number."""
    return (
        qs.select_related("pickup_slot", "invoice", "voucher_use__voucher")
        .defer("invoice__snapshot")  # the order shows only the invoice's number
        .prefetch_related(
            "lines", Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")), "payments"
        )
    )


def order_list(*, user: User) -> QuerySet[Order]:
    """Orders the user may see, newest first: their own, or every order for staff holding
    orders.view_order (other staff see only their own, like a shopper)."""
    qs = Order.objects.all() if sees_all_orders(user) else Order.objects.filter(user=user)
    return with_details(qs).order_by("-placed_at", "-id")


def order_detail(*, order_id: int) -> Order:
    """One order with its details, for answering a write (no access check: the caller
    already has the order)."""
    return with_details(Order.objects.all()).get(pk=order_id)


def checkout_items(*, user: User, item_ids: list[int] | None) -> list[CartItem]:
    """The cart lines to check out (all when `item_ids` is None) with current prices,
    availability and, for bundles, their components. Each line also carries what checkout
    asks next in the same statement: `unpaid_orders` (the shopper's orders awaiting
    payment) and `applied_voucher_id` (the cart's voucher, or None). Read with the cart row
    locked, the statement's snapshot is taken once the lock is granted: as fresh as a query
    of its own."""
    qs = cart_items(user=user).annotate(
        unpaid_orders=Coalesce(
            Subquery(
                Order.objects.filter(user=user, status=OrderStatus.PENDING_PAYMENT)
                .order_by()
                .values("user")
                .annotate(n=Count("id"))
                .values("n")
            ),
            0,
        ),
        applied_voucher_id=Subquery(AppliedVoucher.objects.filter(user=user).values("voucher_id")[:1]),
    )
    if item_ids is not None:
        qs = qs.filter(pk__in=item_ids)
    return with_line_details(list(qs))


def order_for_receipt(*, order_id: int) -> Order:
    """An order with what its receipt shows: lines and pickup slot."""
    return Order.objects.select_related("pickup_slot").prefetch_related("lines").get(pk=order_id)


def orders_receipt_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Ids of orders paid in the last RECEIPT_SWEEP_HOURS (and at least a minute ago) whose
    receipt has not gone out and is not being sent now (no claim, or a lapsed one)."""
    lapsed = now - timedelta(seconds=settings.RECEIPT_CLAIM_SECONDS)
    due = Order.objects.filter(
        Q(receipt_claimed_at__isnull=True) | Q(receipt_claimed_at__lte=lapsed),
        status__in=RECEIPT_STATUSES,
        receipt_sent_at__isnull=True,
        paid_at__gte=now - timedelta(hours=settings.RECEIPT_SWEEP_HOURS),
        paid_at__lte=now - RECEIPT_SWEEP_GRACE,
    )
    return list(due.order_by("paid_at", "id").values_list("pk", flat=True)[:limit])


# --- the kitchen board and the admin dashboard --------------------------------------------

# What the kitchen board shows: paid orders not yet collected.
KITCHEN_STATUSES = (OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY)
# What the dashboard counts as waiting for the kitchen: not yet ready.
KITCHEN_WAITING_STATUSES = (OrderStatus.PAID, OrderStatus.PREPARING)


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the shop's time zone."""
    return datetime.combine(day, time(0), tzinfo=timezone.get_default_timezone())


def kitchen_orders(*, day: date) -> list[Order]:
    """The kitchen board's orders: paid, preparing or ready, picked up from `day` on (or,
    as soon as possible, paid since `day` began); by pickup time with "as soon as
    possible" first, then by payment. With their slot and lines: two queries."""
    start = _day_start(day)
    return list(
        Order.objects.filter(status__in=KITCHEN_STATUSES)
        .filter(Q(pickup_slot__start__gte=start) | Q(pickup_slot__isnull=True, paid_at__gte=start))
        .select_related("pickup_slot")
        .prefetch_related("lines")
        .order_by(F("pickup_slot__start").asc(nulls_first=True), "paid_at", "id")
    )


@dataclass(frozen=True)
class DashboardCounts:
    placed_by_status: dict[str, int]  # orders placed since `day` began; statuses with none left out
    kitchen_waiting: int  # paid or preparing, whenever placed


def dashboard_counts(*, day: date) -> DashboardCounts:
    """The order figures of the admin dashboard: two queries."""
    placed = (
        Order.objects.filter(placed_at__gte=_day_start(day))
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    waiting = Order.objects.filter(status__in=KITCHEN_WAITING_STATUSES).count()
    return DashboardCounts(placed_by_status=dict(placed), kitchen_waiting=waiting)
