"""Payments as staff see them: read-only records of what the gateway said, and actions that
go through the same services as the webhook: ask the gateway for an attempt's status (and
apply it), refund an attempt in full (`payments.services.refunds`: a captured card is
voided), and approve or deny a card payment that fraud detection challenged."""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin_mixins import ReadOnlyAdminMixin
from config.errors import DomainError
from config.money import rupiah
from orders.models import OrderStatus
from orders.permissions import may_set_status
from orders.services import Actor
from payments.models import Payment, PaymentNotification
from payments.services.reconcile import payment_reconcile
from payments.services.refunds import payment_refund
from payments.services.review import payment_review


def _pretty_json(value: object) -> str:
    return format_html(
        "<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(value, indent=2, sort_keys=True)
    )


class FlaggedFilter(admin.SimpleListFilter):
    title = "flagged for staff"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(flag_reason="")
        if self.value() == "no":
            return queryset.filter(flag_reason="")
        return queryset


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "gateway_order_id",
        "order_link",
        "gateway",
        "status",
        "amount_display",
        "refunded_display",
        "payment_type",
        "needs_refund",
        "flag_reason",
        "created_at",
    ]
    list_filter = ["gateway", "status", "needs_refund", FlaggedFilter, "payment_type"]
    list_select_related = ["order"]
    search_fields = ["gateway_order_id", "order__number", "transaction_id"]
    date_hierarchy = "created_at"
    actions = ["check_status", "refund", "approve_challenged", "deny_challenged"]
    fields = [
        "gateway_order_id",
        "order_link",
        "attempt",
        "gateway",
        "status",
        "amount_display",
        "refunded_display",
        "chargeback_amount",
        "fee_amount",
        "payment_type",
        "transaction_id",
        "va_numbers",
        "needs_refund",
        "flag_reason",
        "open_error",
        "redirect_url",
        "expires_at",
        "settled_at",
        "created_at",
        "updated_at",
        "raw_status_display",
    ]
    readonly_fields = fields

    def has_act_permission(self, request: HttpRequest) -> bool:
        """Asking the gateway and refunding change payments through the services; that is
        what the model's change permission grants, though the form stays read-only."""
        return request.user.has_perm("payments.change_payment")

    def has_refund_permission(self, request: HttpRequest) -> bool:
        """Money back to the customer: the refund permission, as `POST orders/{number}/status/`
        asks it (orders.permissions), on top of acting on payments."""
        return self.has_act_permission(request) and may_set_status(request.user, OrderStatus.REFUNDED)

    @admin.display(description=_("Order"), ordering="order__number")
    def order_link(self, payment: Payment) -> str:
        url = reverse("admin:orders_order_change", args=[payment.order_id])
        return format_html('<a href="{}">{}</a>', url, payment.order.number)

    @admin.display(description=_("Amount"), ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return rupiah(payment.amount)

    @admin.display(description=_("Refunded"), ordering="refunded_amount")
    def refunded_display(self, payment: Payment) -> str:
        return rupiah(payment.refunded_amount)

    @admin.display(description=_("Last gateway answer"))
    def raw_status_display(self, payment: Payment) -> str:
        return _pretty_json(payment.raw_status)

    def _each(self, request: HttpRequest, payments: QuerySet[Payment], run, done: str) -> None:
        succeeded, failed = [], []
        for payment in payments.order_by("id"):
            try:
                result = run(payment)
            except DomainError as exc:
                failed.append(f"{payment.gateway_order_id}: {exc.detail}")
            else:
                succeeded.append(f"{payment.gateway_order_id}: {result}")
        if succeeded:
            self.message_user(request, f"{done} {'; '.join(succeeded)}", messages.SUCCESS)
        if failed:
            self.message_user(request, f"Failed. {'; '.join(failed)}", messages.WARNING)

    @admin.action(description=_("Check status with gateway"), permissions=["act"])
    def check_status(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        actor = Actor.of(request.user)
        self._each(
            request,
            queryset,
            lambda payment: payment_reconcile(payment=payment, actor=actor),
            "Checked with the gateway.",
        )

    @admin.action(description=_("Refund in full through the gateway"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        actor = Actor.of(request.user)
        self._each(
            request,
            queryset,
            lambda payment: payment_refund(payment=payment, actor=actor).get_status_display().lower(),
            "Refunded.",
        )

    @admin.action(description=_("Approve challenged card payment at the gateway"), permissions=["act"])
    def approve_challenged(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        actor = Actor.of(request.user)
        self._each(
            request,
            queryset,
            lambda payment: (
                payment_review(payment=payment, approve=True, actor=actor).get_status_display().lower()
            ),
            "Approved.",
        )

    @admin.action(description=_("Deny challenged card payment at the gateway"), permissions=["act"])
    def deny_challenged(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        actor = Actor.of(request.user)
        self._each(
            request,
            queryset,
            lambda payment: (
                payment_review(payment=payment, approve=False, actor=actor).get_status_display().lower()
            ),
            "Denied.",
        )


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "gateway_order_id",
        "transaction_status",
        "signature_valid",
        "outcome",
        "http_status",
        "detail",
    ]
    list_filter = ["outcome", "signature_valid", "http_status", "transaction_status"]
    search_fields = ["gateway_order_id", "order__number"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "gateway_order_id",
        "transaction_status",
        "signature_valid",
        "outcome",
        "http_status",
        "detail",
        "payment",
        "order",
        "body_size",
        "body_sha256",
        "raw_body",
    ]
    readonly_fields = fields


class PaymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Payment
    verbose_name_plural = "Payment attempts"
    fields = [
        "attempt_link",
        "gateway",
        "status",
        "amount_display",
        "refunded_display",
        "payment_type",
        "needs_refund",
        "flag_reason",
        "open_error",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["attempt"]
    extra = 0

    @admin.display(description=_("Attempt"))
    def attempt_link(self, payment: Payment) -> str:
        url = reverse("admin:payments_payment_change", args=[payment.pk])
        return format_html('<a href="{}">{}</a>', url, payment.gateway_order_id)

    @admin.display(description=_("Amount"))
    def amount_display(self, payment: Payment) -> str:
        return rupiah(payment.amount)

    @admin.display(description=_("Refunded"))
    def refunded_display(self, payment: Payment) -> str:
        return rupiah(payment.refunded_amount)


class PaymentNotificationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentNotification
    fk_name = "order"
    verbose_name_plural = "Gateway notifications"
    fields = ["received_at", "gateway_order_id", "transaction_status", "signature_valid", "outcome", "detail"]
    readonly_fields = fields
    ordering = ["received_at", "id"]
    extra = 0
