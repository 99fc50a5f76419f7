"""The admin index's dashboard: what the shop needs to know at a glance today. Each panel
shows only to staff who may see the model behind it."""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.selectors import available_q
from orders.models import OrderStatus
from orders.selectors import dashboard_counts
from payments.models import Payment


@dataclass
class Panel:
    title: str
    rows: list[tuple[str, int, str]] = field(default_factory=list)  # label, count, link


def dashboard_for(user) -> list[Panel]:
    panels = []
    if user.has_perm("orders.view_order"):
        orders = reverse("admin:orders_order_changelist")
        today = timezone.localdate()
        counts = dashboard_counts(day=today)
        since = f"placed_at__gte={today:%Y-%m-%d}"
        panels.append(
            Panel(
                _("Orders placed today"),
                [
                    (label, counts.placed_by_status.get(value, 0), f"{orders}?status__exact={value}&{since}")
                    for value, label in OrderStatus.choices
                ],
            )
        )
        panels.append(
            Panel(
                _("Kitchen"),
                [
                    (
                        _("Waiting (paid or preparing)"),
                        counts.kitchen_waiting,
                        reverse("admin:orders_order_kitchen"),
                    )
                ],
            )
        )
    if user.has_perm("catalog.view_product"):
        products = reverse("admin:catalog_product_changelist")
        sold_out = Product.objects.filter(is_active=True).exclude(available_q()).count()
        panels.append(
            Panel(
                _("Menu"),
                [(_("Sold out or unavailable"), sold_out, f"{products}?in_stock=no&is_active__exact=1")],
            )
        )
    if user.has_perm("payments.view_payment"):
        payments = reverse("admin:payments_payment_changelist")
        flagged = Payment.objects.filter(needs_refund=True).count()
        panels.append(
            Panel(
                _("Payments"),
                [
                    (
                        _("Flagged needs refund (money to give back)"),
                        flagged,
                        f"{payments}?needs_refund__exact=1",
                    )
                ],
            )
        )
    return panels
