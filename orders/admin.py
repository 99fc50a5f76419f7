"""The kitchen's view of orders.

Orders are view-only here: no field is ever saved from a form, because a full-row save
could overwrite a status a webhook set a moment earlier. Staff move orders only through
the actions (and the buttons on an order's page), which call the same services as the
API, so every move is locked, checked against the transition table and logged.
"""

from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from config.admin_mixins import ReadOnlyAdminMixin
from config.exceptions import DomainError
from config.money import rupiah
from orders import services
from orders.models import IdempotencyKey, Order, OrderEvent, OrderLine, OrderStatus

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
}

# The moves the kitchen makes from the admin: (action and button label, what the summary
# says was done). A refund is left to the payments flow, which talks to the gateway.
KITCHEN_MOVES = {
    S.PREPARING: ("Mark preparing", "marked preparing"),
    S.READY: ("Mark ready", "marked ready"),
    S.COMPLETED: ("Mark completed", "marked completed"),
    S.CANCELLED: ("Cancel (release stock)", "cancelled"),
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


LINE_BREAK = mark_safe("<br>")  # a separator for format_html_join, which escapes a plain str


def count_orders(n: int) -> str:
    return f"{n} order" if n == 1 else f"{n} orders"


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fields = [
        "product_name",
        "sku",
        "kind",
        "bundle_components",
        "price_version",
        "unit_price_display",
        "quantity",
        "line_total_display",
    ]
    readonly_fields = fields
    extra = 0

    @admin.display(description="Components (per bundle)")
    def bundle_components(self, line: OrderLine) -> str:
        return format_html_join(
            LINE_BREAK, "{} x {} ({})", ((c["quantity"], c["name"], c["sku"]) for c in line.components)
        )

    @admin.display(description="Unit price")
    def unit_price_display(self, line: OrderLine) -> str:
        return rupiah(line.unit_price)

    @admin.display(description="Line total")
    def line_total_display(self, line: OrderLine) -> str:
        return rupiah(line.line_total)


class OrderEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    verbose_name_plural = "History"
    fields = ["created_at", "type", "status_change", "actor_display", "data_display"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor_user")

    @admin.display(description="Status")
    def status_change(self, event: OrderEvent) -> str:
        labels = [S(status).label for status in (event.from_status, event.to_status) if status]
        return " → ".join(labels)

    @admin.display(description="By")
    def actor_display(self, event: OrderEvent) -> str:
        label = event.get_actor_display()
        return f"{label} ({event.actor_user.email})" if event.actor_user else label

    @admin.display(description="Details")
    def data_display(self, event: OrderEvent) -> str:
        # Sorted: PostgreSQL's jsonb does not keep the keys in the order they were written.
        return format_html_join(LINE_BREAK, "{}: {}", sorted(event.data.items()))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "status_display", "total_display", "placed_at", "paid_at"]
    list_filter = ["status", "placed_at"]
    date_hierarchy = "placed_at"
    search_fields = ["number", "customer_email"]
    actions = ["mark_preparing", "mark_ready", "mark_completed", "cancel_orders"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status_display",
                    "placed_at",
                    "expires_at",
                    "paid_at",
                    "cancelled_at",
                    "updated_at",
                    "invoice_link",
                ]
            },
        ),
        ("Customer", {"fields": ["user", "customer_name", "customer_email", "customer_phone", "notes"]}),
        ("Amounts", {"fields": ["subtotal_display", "total_display", "currency"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [OrderLineInline, OrderEventInline]

    # --- permissions: view and move, never add, edit or delete --------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed by shoppers at checkout

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # view-only: see the module docstring

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # orders are kept for the books, even when the customer's account goes

    def has_move_permission(self, request: HttpRequest) -> bool:
        """Moving an order along is what the model's change permission grants, even though
        the form itself is read-only."""
        return request.user.has_perm("orders.change_order")

    # --- columns ------------------------------------------------------------------------

    @admin.display(description="Customer", ordering="customer_email")
    def customer(self, order: Order) -> str:
        return format_html("{}<br>{}", order.customer_name or "—", order.customer_email)

    @admin.display(description="Status", ordering="status")
    def status_display(self, order: Order) -> str:
        return status_badge(order.status)

    @admin.display(description="Subtotal", ordering="subtotal")
    def subtotal_display(self, order: Order) -> str:
        return rupiah(order.subtotal)

    @admin.display(description="Total", ordering="total")
    def total_display(self, order: Order) -> str:
        return rupiah(order.total)

    @admin.display(description="Invoice")
    def invoice_link(self, order: Order) -> str:
        invoice = getattr(order, "invoice", None)  # the reverse one-to-one; None until paid
        if invoice is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a> (<a href="{}">PDF</a>)',
            reverse("admin:invoices_invoice_change", args=[invoice.pk]),
            invoice.number,
            reverse("admin:invoices_invoice_pdf", args=[invoice.pk]),
        )

    # --- moving orders ------------------------------------------------------------------

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

    @admin.action(description=KITCHEN_MOVES[S.CANCELLED][0], permissions=["move"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.move_orders(request, queryset, to_status=S.CANCELLED)

    # --- one order from its own page ----------------------------------------------------

    def get_urls(self):
        move = self.admin_site.admin_view(require_POST(self.move_view))
        # Before the defaults: their `<path:object_id>/` would swallow `<id>/move/`.
        return [path("<path:object_id>/move/", move, name="orders_order_move"), *super().get_urls()]

    def move_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The buttons on an order's page: the same move as the action, for this order."""
        if not self.has_move_permission(request):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404
        to_status = request.POST.get("to_status")
        if to_status not in KITCHEN_MOVES:
            return HttpResponseBadRequest("Unknown move.")
        self.move_orders(request, [order], to_status=to_status)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_move_permission(request):
            allowed = services.TRANSITIONS.get(obj.status, frozenset())
            context["kitchen_moves"] = [
                (status, label) for status, (label, _) in KITCHEN_MOVES.items() if status in allowed
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Checkout's Idempotency-Key records, to look into a disputed double submit; purged by
    `purge_idempotency_keys` once they age out."""

    list_display = ["key", "user", "state", "order", "response_status", "created_at"]
    list_filter = ["state"]
    list_select_related = ["user", "order"]
    search_fields = ["key", "user__email", "order__number"]
