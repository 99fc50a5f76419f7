"""Staff reports for the owner: `GET reports/sales/` and `GET reports/tax/?month=`, JSON or CSV
(`?format=csv`, or `Accept: text/csv`). Both need `orders.view_order` and
`invoices.view_invoice` (Manager). Every figure is summed by the database.

The sales report counts the orders paid in the period (paid_at, in the shop's time zone;
refunded ones included: they were sold, and their refunds are a column), grouped by day,
hour, product or payment type, in one grouped query (`payment_type` is the method the
order's invoice printed; `refunds` the credit notes of the row's orders, a correlated
subquery). It lives in the API layer because it reads orders and invoices together.

net_sales = gross_sales - discounts - refunds (charges are not sales: the service charge is
the staff's, tax the government's, packaging and rounding pass through)."""

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, ExtractHour, TruncDate
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.permissions import staff_may
from config.clock import shop_zone
from invoices.models import CreditNote
from orders.models import Order, OrderLine

SOLD = Q(paid_at__isnull=False)
FIGURES = ("orders", "gross_sales", "discounts", "service_charge", "tax", "packaging", "refunds", "net_sales")
GROUPS = ("day", "hour", "product", "payment_type")


class SalesQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(help_text="First day, in the shop's time zone.")
    date_to = serializers.DateField(help_text="Last day (included).")
    group = serializers.ChoiceField(choices=GROUPS, default="day")

    def validate(self, attrs: dict) -> dict:
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": [_("Must not be before date_from.")]})
        if (attrs["date_to"] - attrs["date_from"]).days > 366:
            raise serializers.ValidationError({"date_to": [_("At most a year at a time.")]})
        return attrs


class TaxQuerySerializer(serializers.Serializer):
    # Year 0001 on: date() has no year 0 (schemathesis sent 0000-01).
    month = serializers.RegexField(
        r"^(?!0000)\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM, in the shop's time zone."
    )


class SalesRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The day (YYYY-MM-DD), hour (0-23), product name or payment type.")
    orders = serializers.IntegerField()
    gross_sales = serializers.IntegerField()
    discounts = serializers.IntegerField()
    service_charge = serializers.IntegerField()
    tax = serializers.IntegerField()
    packaging = serializers.IntegerField()
    refunds = serializers.IntegerField()
    net_sales = serializers.IntegerField()


class SalesReportSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    group = serializers.CharField()
    orders = serializers.IntegerField()
    gross_sales = serializers.IntegerField()
    discounts = serializers.IntegerField()
    service_charge = serializers.IntegerField()
    tax = serializers.IntegerField()
    packaging = serializers.IntegerField()
    refunds = serializers.IntegerField()
    net_sales = serializers.IntegerField()
    rows = SalesRowSerializer(many=True)


class TaxReportSerializer(serializers.Serializer):
    month = serializers.CharField()
    tax_collected = serializers.IntegerField(help_text="Tax of the orders paid in the month.")
    tax_credited = serializers.IntegerField(
        help_text="Tax given back by the credit notes issued in the month."
    )
    tax_due = serializers.IntegerField(help_text="To remit: collected - credited.")
    orders = serializers.IntegerField()
    credit_notes = serializers.IntegerField()


def local_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    zone = shop_zone()
    return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)


def _refunds_of_order():
    return Coalesce(
        Subquery(
            CreditNote.objects.filter(invoice__order=OuterRef("pk"))
            .values("invoice__order")
            .annotate(s=Sum("amount"))
            .values("s")
        ),
        Value(0),
    )


def sales_rows(*, date_from: date, date_to: date, group: str) -> list[dict]:
    """One grouped query over the paid orders of the period (over their lines by product)."""
    start, end = local_bounds(date_from, date_to)
    if group == "product":
        rows = (
            OrderLine.objects.filter(order__paid_at__gte=start, order__paid_at__lt=end)
            .values(key=F("product_name"))
            .annotate(orders=Count("order", distinct=True), gross_sales=Sum("line_total"))
            .order_by("key")
        )
        return [
            {**dict.fromkeys(FIGURES, 0), **row, "net_sales": row["gross_sales"], "key": row["key"]}
            for row in rows
        ]
    orders = Order.objects.filter(SOLD, paid_at__gte=start, paid_at__lt=end).annotate(
        refunded=_refunds_of_order()
    )
    if group == "day":
        orders = orders.annotate(key=TruncDate("paid_at", tzinfo=shop_zone()))
    elif group == "hour":
        orders = orders.annotate(key=ExtractHour("paid_at", tzinfo=shop_zone()))
    else:
        # The method the invoice printed: the settled payment's payment_type.
        orders = orders.annotate(
            key=Coalesce(
                KeyTextTransform("method", KeyTransform("payment", "invoice__snapshot")),
                Value("unknown"),
                output_field=TextField(),
            )
        )
    rows = (
        orders.values("key")
        .annotate(
            orders=Count("id"),
            gross_sales=Sum("subtotal"),
            discounts=Sum("discount"),
            service_charge=Sum("service_charge"),
            tax=Sum("tax"),
            packaging=Sum("packaging"),
            refunds=Sum("refunded"),
        )
        .order_by("key")
    )
    return [
        {**row, "key": str(row["key"]), "net_sales": row["gross_sales"] - row["discounts"] - row["refunds"]}
        for row in rows
    ]


def sales_report(*, date_from: date, date_to: date, group: str) -> dict:
    rows = sales_rows(date_from=date_from, date_to=date_to, group=group)
    totals = {name: sum(row[name] for row in rows) for name in FIGURES}
    if group == "product":  # an order with several dishes is one order, not one per dish
        start, end = local_bounds(date_from, date_to)
        totals["orders"] = Order.objects.filter(SOLD, paid_at__gte=start, paid_at__lt=end).count()
    return {"date_from": date_from, "date_to": date_to, "group": group, **totals, "rows": rows}


def tax_report(*, month: str) -> dict:
    """Tax collected on the orders paid in the month minus tax credited by the credit notes
    issued in it: one aggregate query over each table."""
    year, number = map(int, month.split("-"))
    first = date(year, number, 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start, end = local_bounds(first, last)
    figures = Order.objects.filter(SOLD, paid_at__gte=start, paid_at__lt=end).aggregate(
        tax_collected=Coalesce(Sum("tax"), 0), orders=Count("id")
    )
    figures |= CreditNote.objects.filter(issued_at__gte=start, issued_at__lt=end).aggregate(
        tax_credited=Coalesce(Sum("tax"), 0), credit_notes=Count("id")
    )
    return {"month": month, **figures, "tax_due": figures["tax_collected"] - figures["tax_credited"]}


def wants_csv(request: Request) -> bool:
    return isinstance(request.accepted_renderer, CSVRenderer)


def csv_response(rows: list[dict], columns: list[str], filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` and `Accept: text/csv` through negotiation; the views write the CSV
    themselves (HttpResponse), and an error answer falls back to JSON (ReportView)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise NotImplementedError("reports write their CSV themselves")


class ReportView(APIView):
    """One report: the permission check, the query's validation, the figures (`build`),
    then JSON (`report_serializer`) or CSV (`csv_rows` under `csv_columns`)."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    query_serializer: type[serializers.Serializer]
    report_serializer: type[serializers.Serializer]
    csv_columns: list[str]
    # Each report's own: the figures for the validated query, and the CSV file's name.
    build: Callable[[dict], dict]
    csv_filename: Callable[[dict], str]

    def csv_rows(self, report: dict) -> list[dict]:
        return [report]

    def answer(self, request: Request) -> Response | HttpResponse:
        check_may_report(request)
        query = self.query_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = self.build(query.validated_data)
        if wants_csv(request):
            return csv_response(
                self.csv_rows(report), self.csv_columns, self.csv_filename(query.validated_data)
            )
        return Response(self.report_serializer(report).data)

    def perform_content_negotiation(self, request, force=False):
        """An unknown `?format=` is a 400 naming the parameter (DRF's own answer is a 404)."""
        wanted = request.query_params.get("format")
        if wanted and wanted not in ("json", "csv"):
            if force:  # answering an error: in JSON
                return JSONRenderer(), JSONRenderer.media_type
            raise ValidationError({"format": [_('Use "json" or "csv".')]})
        return super().perform_content_negotiation(request, force)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), CSVRenderer
        ):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def check_may_report(request: Request) -> None:
    if not (staff_may(request, "orders.view_order") and staff_may(request, "invoices.view_invoice")):
        raise PermissionDenied(_("Reports need orders.view_order and invoices.view_invoice."))


FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="csv: a spreadsheet (or Accept: text/csv)."
)


class SalesReportView(ReportView):
    query_serializer = SalesQuerySerializer
    report_serializer = SalesReportSerializer
    csv_columns = ["key", *FIGURES]

    def build(self, query: dict) -> dict:
        return sales_report(**query)

    def csv_rows(self, report: dict) -> list[dict]:
        return report["rows"]

    def csv_filename(self, query: dict) -> str:
        return f"sales-{query['date_from']}-{query['date_to']}-{query['group']}.csv"

    @extend_schema(
        parameters=[SalesQuerySerializer, FORMAT],
        responses={
            200: SalesReportSerializer,
            403: OpenApiResponse(description="Needs the report permissions."),
        },
        tags=["reports"],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        """Sales of the paid orders in a period, in total and by day, hour, product or payment type."""
        return self.answer(request)


class TaxReportView(ReportView):
    query_serializer = TaxQuerySerializer
    report_serializer = TaxReportSerializer
    csv_columns = ["month", "tax_collected", "tax_credited", "tax_due", "orders", "credit_notes"]

    def build(self, query: dict) -> dict:
        return tax_report(month=query["month"])

    def csv_filename(self, query: dict) -> str:
        return f"tax-{query['month']}.csv"

    @extend_schema(
        parameters=[TaxQuerySerializer, FORMAT],
        responses={
            200: TaxReportSerializer,
            403: OpenApiResponse(description="Needs the report permissions."),
        },
        tags=["reports"],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        """The tax to remit for a month: collected on paid orders minus credited by credit notes."""
        return self.answer(request)
