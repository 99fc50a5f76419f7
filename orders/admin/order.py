"""Orders in the admin: what an order shows (its lines, payments, notifications, history,
invoice and credit notes). Moving orders is in kitchen.py.

Orders are view-only here: no field is ever saved from a form, because a full-row save
could overwrite a status a webhook set a moment earlier. Staff move orders only through
the actions (and the buttons on an order's page), which call the same services as the
API, so every move is locked, checked against the transition table and logged.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from config.admin_mixins import ReadOnlyAdminMixin
from config.money import percent, rupiah, signed_rupiah
from orders.admin.kitchen import KitchenMovesMixin, S, status_badge
from orders.charge_names import charge_name
from orders.models import Order, OrderEvent, OrderLine
from payments.admin import PaymentInline, PaymentNotificationInline

# A separator for format_html_join, which escapes a plain str. bandit B308 (mark_safe):
# a constant tag, no input in it.
LINE_BREAK = mark_safe("<br>")  # nosec B308


class OrderPartMixin:
    """Lines and events are part of the order: whoever may view the order sees them, with
    no separate permission on their own models (which Django's inlines would ask for)."""

    def has_view_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return request.user.has_perm("orders.view_order") or request.user.has_perm("orders.change_order")


class OrderLineInline(OrderPartMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fields = [
        "product_name",
        "sku",
        "kind",
        "bundle_components",
        "choices",
        "price_version",
        "unit_price_display",
        "quantity",
        "line_total_display",
    ]
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("Components (per bundle)"))
    def bundle_components(self, line: OrderLine) -> str:
        return format_html_join(
            LINE_BREAK, "{} x {} ({})", ((c["quantity"], c["name"], c["sku"]) for c in line.components)
        )

    @admin.display(description=_("Options and note"))
    def choices(self, line: OrderLine) -> str:
        options = format_html_join(
            LINE_BREAK, "<strong>{}:</strong> {}", ((o["group"], o["name"]) for o in line.options)
        )
        if not line.note:
            return options
        note = format_html('<em style="color:#c53030">Note: {}</em>', line.note)
        return format_html("{}{}{}", options, LINE_BREAK if line.options else "", note)

    @admin.display(description=_("Unit price"))
    def unit_price_display(self, line: OrderLine) -> str:
        return rupiah(line.unit_price)

    @admin.display(description=_("Line total"))
    def line_total_display(self, line: OrderLine) -> str:
        return rupiah(line.line_total)


class OrderEventInline(OrderPartMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    verbose_name_plural = "History"
    fields = ["created_at", "type", "status_change", "actor_display", "data_display"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor_user")

    @admin.display(description=_("Status"))
    def status_change(self, event: OrderEvent) -> str:
        labels = [str(S(status).label) for status in (event.from_status, event.to_status) if status]
        return " → ".join(labels)

    @admin.display(description=_("By"))
    def actor_display(self, event: OrderEvent) -> str:
        label = event.get_actor_display()
        return f"{label} ({event.actor_user.email})" if event.actor_user else label

    @admin.display(description=_("Details"))
    def data_display(self, event: OrderEvent) -> str:
        # Sorted: PostgreSQL's jsonb does not keep the keys in the order they were written.
        return format_html_join(LINE_BREAK, "{}: {}", sorted(event.data.items()))


@admin.register(Order)
class OrderAdmin(KitchenMovesMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "status_display",
        "pickup",
        "total_display",
        "placed_at",
        "paid_at",
    ]
    list_filter = ["status", "placed_at"]
    list_select_related = ["pickup_slot"]
    date_hierarchy = "placed_at"
    search_fields = ["number", "customer_email"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "status_display",
                    "pickup",
                    "placed_at",
                    "expires_at",
                    "paid_at",
                    "receipt_sent_at",
                    "cancelled_at",
                    "updated_at",
                    "invoice_link",
                ]
            },
        ),
        (_("Customer"), {"fields": ["user", "customer_name", "customer_email", "customer_phone", "notes"]}),
        (_("Amounts"), {"fields": ["subtotal_display", "charges_display", "total_display", "currency"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]] + ["invoice_numbers"]
    inlines = [OrderLineInline, PaymentInline, PaymentNotificationInline, OrderEventInline]

    # --- permissions: view (and move: KitchenMovesMixin), never add, edit or delete ------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed by shoppers at checkout

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # view-only: see the module docstring

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # orders are kept for the books, even when the customer's account goes

    # --- columns ------------------------------------------------------------------------

    @admin.display(description=_("Customer"), ordering="customer_email")
    def customer(self, order: Order) -> str:
        return format_html("{}<br>{}", order.customer_name or "—", order.customer_email)

    @admin.display(description=_("Status"), ordering="status")
    def status_display(self, order: Order) -> str:
        return status_badge(order.status)

    @admin.display(description=_("Pickup"), ordering="pickup_slot__start")
    def pickup(self, order: Order) -> str:
        if order.pickup_slot:
            return str(order.pickup_slot)
        if order.ready_at:  # a shop without opening hours: no slots, a ready time all the same
            return _("As soon as possible (ready %(time)s)") % {
                "time": f"{timezone.localtime(order.ready_at):%Y-%m-%d %H:%M}"
            }
        return str(_("As soon as possible"))

    @admin.display(description=_("Subtotal"), ordering="subtotal")
    def subtotal_display(self, order: Order) -> str:
        return rupiah(order.subtotal)

    @admin.display(description=_("Discount and charges"))
    def charges_display(self, order: Order) -> str:
        """As priced at checkout (orders/totals.py): the discount, each charge, the tax."""
        parts = [f"{_('Discount')} -{rupiah(order.discount)}"] if order.discount else []
        for charge in order.charges:
            name = charge_name(charge)
            rate = f" {percent(charge['rate_bp'])}" if charge.get("rate_bp") else ""
            if charge.get("included"):
                parts.append(
                    _("%(name)s %(amount)s included (DPP %(base)s)")
                    % {
                        "name": f"{name}{rate}",
                        "amount": rupiah(charge["included"]),
                        "base": rupiah(charge["base"]),
                    }
                )
            if charge["amount"]:
                parts.append(f"{name}{rate} {signed_rupiah(charge['amount'])}")
        return "; ".join(parts) or str(_("None"))

    @admin.display(description=_("Total"), ordering="total")
    def total_display(self, order: Order) -> str:
        return rupiah(order.total)

    @admin.display(description=_("Invoice and credit notes"))
    def invoice_link(self, order: Order) -> str:
        """Links to the invoice and each credit note and their PDFs (the admin serves them)."""
        invoice = getattr(order, "invoice", None)  # the reverse one-to-one; None until paid
        if invoice is None:
            return "—"
        links = [
            format_html(
                '<a href="{}">{}</a> (<a href="{}">PDF</a>)',
                reverse("admin:invoices_invoice_change", args=[invoice.pk]),
                invoice.number,
                reverse("admin:invoices_invoice_pdf", args=[invoice.pk]),
            )
        ]
        links += [
            format_html(
                'Credit note <a href="{}">{}</a>, {} (<a href="{}">PDF</a>)',
                reverse("admin:invoices_invoice_change", args=[invoice.pk]),
                credit_note.number,
                rupiah(credit_note.amount),
                reverse("admin:invoices_creditnote_pdf", args=[credit_note.pk]),
            )
            for credit_note in invoice.credit_notes.order_by("issued_at", "id")
        ]
        return format_html_join(LINE_BREAK, "{}", ((link,) for link in links))

    @admin.display(description=_("Invoice and credit notes"))
    def invoice_numbers(self, order: Order) -> str:
        """The same documents, unlinked, for staff who may not open invoices."""
        invoice = getattr(order, "invoice", None)
        if invoice is None:
            return "—"
        numbers = [
            invoice.number,
            *invoice.credit_notes.order_by("issued_at", "id").values_list("number", flat=True),
        ]
        return ", ".join(numbers)

    def get_fieldsets(self, request: HttpRequest, obj: Order | None = None):
        if request.user.has_perm("invoices.view_invoice"):
            return self.fieldsets
        swap = {"invoice_link": "invoice_numbers"}
        return [
            (name, {**options, "fields": [swap.get(f, f) for f in options["fields"]]})
            for name, options in self.fieldsets
        ]
