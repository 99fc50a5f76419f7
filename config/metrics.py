"""Prometheus metrics: every metric of the app is defined here, and the domain code calls
one small function where the thing happens (an order placed, a webhook answered …).

Kernel-safe: imports no app. Counters of business events are counted when their
transaction commits (`transaction.on_commit`), so a rolled-back checkout counts nothing.

Several processes (gunicorn workers, Celery's prefork children): set
PROMETHEUS_MULTIPROC_DIR to an empty folder per service and machine before they start;
each process writes its values there and `/metrics` adds them up (MultiProcessCollector).
gunicorn.conf.py empties the folder when the server starts and marks a dead worker's
files (`child_exit`); the Celery worker does the same for its children. Without it, each
process reports its own values (fine for one process).

`/metrics` answers only `Authorization: Bearer $METRICS_TOKEN`; without METRICS_TOKEN, or
without the right token, it is a 404, so it never tells an anonymous client it exists.
"""

import hmac
import os
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_LATENCY = Histogram(
    "foodies_http_request_duration_seconds",
    "Time from the request reaching Django to its response, per route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_QUERIES = Histogram(
    "foodies_http_request_db_queries",
    "Database queries made by one request, per route.",
    ["route"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
)
ORDERS = Counter("foodies_orders_total", "Orders placed and moved into each status (committed).", ["event"])
WEBHOOKS = Counter("foodies_webhook_notifications_total", "Payment notifications by outcome.", ["outcome"])
GATEWAY_LATENCY = Histogram(
    "foodies_gateway_request_duration_seconds",
    "Calls to the payment gateway's HTTP API.",
    ["gateway", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15),
)
GATEWAY_ERRORS = Counter(
    "foodies_gateway_errors_total",
    "Gateway calls that failed (timeout, connection, 5xx).",
    ["gateway", "operation"],
)
TASKS = Counter("foodies_task_runs_total", "Background task runs by outcome.", ["task", "outcome"])
AUDIT_DRIFT = Gauge(
    "foodies_audit_drift",
    "Rows that disagree with their ledger at the last audit (stock, catalog).",
    ["audit"],
    multiprocess_mode="mostrecent",
)


# --- the points where things happen ------------------------------------------------------


def _after_commit(function) -> None:
    transaction.on_commit(function)


def order_event(event: str) -> None:
    """`placed`, or the status an order moved into (`paid`, `cancelled`, `expired` …)."""
    _after_commit(lambda: ORDERS.labels(event=event).inc())


def webhook_outcome(outcome: str) -> None:
    WEBHOOKS.labels(outcome=outcome).inc()


@contextmanager
def gateway_call(*, gateway: str, operation: str):
    """Times one gateway call; an exception counts as an error (and is raised on)."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        GATEWAY_ERRORS.labels(gateway=gateway, operation=operation).inc()
        raise
    finally:
        GATEWAY_LATENCY.labels(gateway=gateway, operation=operation).observe(time.perf_counter() - started)


def task_run(task: str, outcome: str) -> None:
    """`success`, `failure` or `retry`."""
    TASKS.labels(task=task, outcome=outcome).inc()


def audit_drift(audit: str, rows: int) -> None:
    AUDIT_DRIFT.labels(audit=audit).set(rows)


# --- requests ----------------------------------------------------------------------------


def _route(request: HttpRequest) -> str:
    """The URL pattern, not the path: `api/v1/orders/<number>/` style, bounded in number."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.route or match.view_name or "unmatched"


class MetricsMiddleware:
    """Latency and database queries per route."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = [0]

        def count(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        route = _route(request)
        HTTP_LATENCY.labels(method=request.method, route=route, status=str(response.status_code)).observe(
            time.perf_counter() - started
        )
        DB_QUERIES.labels(route=route).observe(queries[0])
        return response


# --- /metrics ----------------------------------------------------------------------------


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        raise Http404
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def mark_process_dead(pid: int) -> None:
    """For gunicorn's child_exit and Celery's worker_process_shutdown."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
