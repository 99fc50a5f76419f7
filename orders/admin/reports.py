"""The admin's "Reports" page: the sales by day for a period with a bar chart (an inline SVG
drawn here, no script, no CDN), and the month's tax to remit. The figures come from the same
functions as `GET reports/sales/` and `GET reports/tax/`; the CSV links are those API calls
(staff's admin session counts there)."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import staff_has_perm
from config.money import rupiah
from orders.api.reports import SalesQuerySerializer, csv_response, local_bounds, sales_report, tax_report
from orders.models import Order

CHART_WIDTH, CHART_HEIGHT = 640, 160
# The groupings the page offers (the API's `group` values) and what the page calls them.
GROUPS = {
    "day": _("Day"),
    "hour": _("Hour"),
    "product": _("Product"),
    "payment_type": _("Payment type"),
}


def chart_bars(rows: list[dict]) -> list[dict]:
    """One bar per row, scaled to the highest net sales: x, y, width, height in the SVG."""
    if not rows:
        return []
    top = max(max(row["net_sales"] for row in rows), 1)
    width = CHART_WIDTH / len(rows)
    bars = []
    for index, row in enumerate(rows):
        height = round(max(row["net_sales"], 0) * (CHART_HEIGHT - 20) / top)
        bars.append(
            {
                "x": round(index * width + 2, 1),
                "y": CHART_HEIGHT - height,
                "width": round(max(width - 4, 1), 1),
                "height": height,
                "label": row["key"],
                "value": row["net_sales"],
                "amount": rupiah(row["net_sales"]),
            }
        )
    return bars


ORDER_COLUMNS = [
    "number",
    "status",
    "placed_at",
    "paid_at",
    "customer_email",
    "subtotal",
    "discount",
    "service_charge",
    "tax",
    "packaging",
    "rounding",
    "total",
    "invoice",
    "credited",
]


def check_may_report(request: HttpRequest) -> None:
    if not (
        staff_has_perm(request.user, "orders.view_order")
        and staff_has_perm(request.user, "invoices.view_invoice")
    ):
        raise PermissionDenied


def orders_csv_view(request: HttpRequest) -> HttpResponse:
    """The orders placed in the period (shop time zone) with their money, invoice number and
    credited amount, as CSV, in one query."""
    check_may_report(request)
    query = SalesQuerySerializer(data={"group": "day", **request.GET.dict()})
    if not query.is_valid():
        return HttpResponse(str(dict(query.errors)), status=400, content_type="text/plain; charset=utf-8")
    data = query.validated_data
    start, end = local_bounds(data["date_from"], data["date_to"])
    orders = (
        Order.objects.filter(placed_at__gte=start, placed_at__lt=end)
        .annotate(
            invoice_number=F("invoice__number"), credited=Coalesce(Sum("invoice__credit_notes__amount"), 0)
        )
        .order_by("placed_at", "id")
    )
    rows = [
        {
            **{name: getattr(order, name) for name in ORDER_COLUMNS[:12]},
            "placed_at": timezone.localtime(order.placed_at).isoformat(),
            "paid_at": timezone.localtime(order.paid_at).isoformat() if order.paid_at else "",
            "invoice": order.invoice_number or "",
            "credited": order.credited,
        }
        for order in orders
    ]
    return csv_response(rows, ORDER_COLUMNS, f"orders-{data['date_from']}-{data['date_to']}.csv")


def reports_view(request: HttpRequest, *, admin_site) -> HttpResponse:
    check_may_report(request)
    today = timezone.localdate()
    defaults = {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat(), "group": "day"}
    query = SalesQuerySerializer(data={**defaults, **{k: v for k, v in request.GET.items() if k in defaults}})
    errors = None
    if not query.is_valid():
        errors = query.errors
        query = SalesQuerySerializer(data=defaults)
        query.is_valid(raise_exception=True)
    data = query.validated_data
    sales = sales_report(**data)
    month_of: date = data["date_from"]
    context = {
        **admin_site.each_context(request),
        "title": _("Reports"),
        "query": data,
        "errors": errors,
        "sales": sales,
        "tax": tax_report(month=f"{month_of:%Y-%m}"),
        "bars": chart_bars(sales["rows"]) if data["group"] in ("day", "hour") else [],
        "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
        "groups": list(GROUPS.items()),
        "group_label": GROUPS[data["group"]],
    }
    return TemplateResponse(request, "admin/orders/reports.html", context)
