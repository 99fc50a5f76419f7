"""The admin's "Reports" page: the sales by day for a period with a bar chart (an inline SVG
drawn here, no script, no CDN), and the month's tax to remit. The figures come from the same
functions as `GET reports/sales/` and `GET reports/tax/`; the CSV links are those API calls
(staff's admin session counts there)."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.permissions import staff_has_perm
from orders.api.reports import SalesQuerySerializer, sales_report, tax_report

CHART_WIDTH, CHART_HEIGHT = 640, 160


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
            }
        )
    return bars


def reports_view(request: HttpRequest, *, admin_site) -> HttpResponse:
    if not (
        staff_has_perm(request.user, "orders.view_order")
        and staff_has_perm(request.user, "invoices.view_invoice")
    ):
        raise PermissionDenied
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
        "title": "Reports",
        "query": data,
        "errors": errors,
        "sales": sales,
        "tax": tax_report(month=f"{month_of:%Y-%m}"),
        "bars": chart_bars(sales["rows"]) if data["group"] in ("day", "hour") else [],
        "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
        "groups": ["day", "hour", "product", "payment_type"],
    }
    return TemplateResponse(request, "admin/orders/reports.html", context)
