"""Moving orders along in the admin: the kitchen's actions, the buttons on an order's page
and the kitchen board. Every move calls `orders.services.order_set_status`, the same
service as the API, so it is locked, checked against the transition table and logged.
"""

from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_has_perm
from catalog.models import Product
from catalog.sold_out import product_sold_out_set
from config.api.fields import parse_query_int
from config.errors import DomainError
from orders import selectors, services
from orders.models import Order, OrderStatus
from orders.permissions import may_set_status
from orders.pickup import kitchen as busy_mode
from orders.pickup.admin import BUSY_BUTTONS, busy_press
from orders.pickup.kitchen import BUSY_PERMISSION

SOLD_OUT_PERMISSION = "catalog.set_sold_out"

S = OrderStatus

STATUS_COLOURS = {
    S.PENDING_PAYMENT: "#b7791f",
    S.PAID: "#2b6cb0",
    S.PREPARING: "#6b46c1",
    S.READY: "#2f855a",
    S.COMPLETED: "#4a5568",
    S.CANCELLED: "#c53030",
    S.EXPIRED: "#a0aec0",
    S.REFUNDED: "#975a16",
    S.PAYMENT_REVERSED: "#e53e3e",  # on hold: staff re-check or cancel
}

# The moves the kitchen makes from the admin: (action and button label, what the summary
# says was done). A refund is left to the payments flow, which talks to the gateway.
KITCHEN_MOVES = {
    S.PREPARING: (_("Mark preparing"), _("marked preparing")),
    S.READY: (_("Mark ready"), _("marked ready")),
    S.COMPLETED: (_("Mark completed"), _("marked completed")),
    S.CANCELLED: (_("Cancel (release stock)"), _("cancelled")),
}

# Written into each event's data, so the audit trail tells admin moves from API ones.
ADMIN_NOTE = "Set in the admin."


def status_badge(status: str) -> str:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:8px;white-space:nowrap">'
        "{}</span>",
        STATUS_COLOURS[status],
        S(status).label,
    )


def count_orders(n: int) -> str:
    return f"{n} order" if n == 1 else f"{n} orders"


class KitchenMovesMixin:
    """OrderAdmin's moves: the changelist actions, the buttons on an order's page (and on
    the board), and the kitchen board itself."""

    actions = ["mark_preparing", "mark_ready", "mark_completed", "cancel_orders"]

    def has_move_permission(self, request: HttpRequest) -> bool:
        """Moving an order through the kitchen flow is what the model's change permission
        grants, even though the form itself is read-only (orders.permissions, as in the API)."""
        return may_set_status(request.user, S.PREPARING)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return may_set_status(request.user, S.CANCELLED)

    def move_orders(self, request: HttpRequest, orders: Iterable[Order], *, to_status: str) -> None:
        """Move each order through `order_set_status`, each in its own transaction, so one
        that cannot make the move is reported and the others still go."""
        actor = services.Actor.of(request.user)
        moved = 0
        skipped = []
        for order in orders:
            try:
                services.order_set_status(order=order, to_status=to_status, actor=actor, note=ADMIN_NOTE)
            except DomainError as exc:
                skipped.append(f"{order.number}: {exc.detail}")
            else:
                moved += 1
        if moved:
            done = KITCHEN_MOVES[to_status][1]
            self.message_user(request, f"{count_orders(moved)} {done}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{count_orders(len(skipped))} skipped. {' '.join(skipped)}", messages.WARNING
            )

    @admin.action(description=KITCHEN_MOVES[S.PREPARING][0], permissions=["move"])
    def mark_preparing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.PREPARING)

    @admin.action(description=KITCHEN_MOVES[S.READY][0], permissions=["move"])
    def mark_ready(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.READY)

    @admin.action(description=KITCHEN_MOVES[S.COMPLETED][0], permissions=["move"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.COMPLETED)

    @admin.action(description=KITCHEN_MOVES[S.CANCELLED][0], permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.CANCELLED)

    # --- one order from its own page ----------------------------------------------------

    def get_urls(self):
        move = self.admin_site.admin_view(require_POST(self.move_view))
        kitchen = self.admin_site.admin_view(self.kitchen_view)
        busy = self.admin_site.admin_view(require_POST(self.busy_view))
        sold_out = self.admin_site.admin_view(require_POST(self.sold_out_view))
        # Before the defaults: their `<path:object_id>/` would swallow `<id>/move/`.
        return [
            path("kitchen/", kitchen, name="orders_order_kitchen"),
            path("kitchen/busy/", busy, name="orders_order_kitchen_busy"),
            path("kitchen/sold-out/", sold_out, name="orders_order_kitchen_sold_out"),
            path("<path:object_id>/move/", move, name="orders_order_move"),
            *super().get_urls(),
        ]

    KITCHEN_REFRESH_SECONDS = 30

    def kitchen_view(self, request: HttpRequest) -> HttpResponse:
        """The kitchen board: today's orders to cook (paid, preparing, ready) by pickup time,
        each line with its options and note, moved along with one click. Refreshes itself."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        orders = selectors.kitchen_orders(day=timezone.localdate())
        can_move = self.has_move_permission(request)
        groups: dict[str, list[dict]] = {}
        for order in orders:
            ready_at = order.ready_at or (order.pickup_slot.start if order.pickup_slot else None)
            label = (
                date_format(timezone.localtime(ready_at), "D d M H:i")
                if ready_at
                else _("As soon as possible")
            )
            allowed = services.TRANSITIONS.get(order.status, frozenset())
            moves = [(status, KITCHEN_MOVES[status][0]) for status in (S.PREPARING, S.READY, S.COMPLETED)]
            groups.setdefault(label, []).append(
                {
                    "order": order,
                    "badge": status_badge(order.status),
                    "moves": [(status, text) for status, text in moves if status in allowed]
                    if can_move
                    else [],
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Kitchen board"),
            "opts": self.model._meta,
            "groups": groups,
            "refresh_seconds": self.KITCHEN_REFRESH_SECONDS,
            "events_url": reverse("kitchen-events"),
            "busy": busy_mode.busy_read(now=timezone.now()),
            "can_run_busy_mode": staff_has_perm(request.user, BUSY_PERMISSION),
            "busy_buttons": BUSY_BUTTONS,
            "can_mark_sold_out": staff_has_perm(request.user, SOLD_OUT_PERMISSION),
        }
        return TemplateResponse(request, "admin/orders/order/kitchen.html", context)

    def busy_view(self, request: HttpRequest) -> HttpResponse:
        """The board's busy-mode buttons: the same services as `shop/pause/`, `shop/resume/`
        and `shop/delay/`, with the same permission."""
        if not staff_has_perm(request.user, BUSY_PERMISSION):
            raise PermissionDenied
        button = request.POST.get("button")
        if button not in BUSY_BUTTONS:
            return HttpResponseBadRequest("Unknown button.")
        message = busy_press(button)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_order_kitchen"))

    def sold_out_view(self, request: HttpRequest) -> HttpResponse:
        """The board's "sold out today" button beside a dish: the same service as
        `POST products/{slug}/sold-out/`, with the same permission; back by itself at midnight."""
        if not staff_has_perm(request.user, SOLD_OUT_PERMISSION):
            raise PermissionDenied
        product_id = parse_query_int(request.POST.get("product"))
        product = (
            Product.objects.filter(pk=product_id).first() if product_id and 0 < product_id < 2**63 else None
        )
        if product is None:
            return HttpResponseBadRequest("Unknown dish.")
        product = product_sold_out_set(product=product)
        self.message_user(
            request,
            f"{product.name} is sold out until {timezone.localtime(product.sold_out_until):%a %H:%M}.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:orders_order_kitchen"))

    def move_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The buttons on an order's page: the same move as the action, for this order."""
        if not (self.has_move_permission(request) or self.has_cancel_permission(request)):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404
        to_status = request.POST.get("to_status")
        if to_status not in KITCHEN_MOVES:
            return HttpResponseBadRequest("Unknown move.")
        if not may_set_status(request.user, to_status):
            raise PermissionDenied
        self.move_orders(request, [order], to_status=to_status)
        if request.POST.get("next") == "kitchen":
            return HttpResponseRedirect(reverse("admin:orders_order_kitchen"))
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and (self.has_move_permission(request) or self.has_cancel_permission(request)):
            allowed = services.TRANSITIONS.get(obj.status, frozenset())
            context["kitchen_moves"] = [
                (status, label)
                for status, (label, _) in KITCHEN_MOVES.items()
                if status in allowed and may_set_status(request.user, status)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)
