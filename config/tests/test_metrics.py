"""Prometheus metrics (config/metrics.py): `/metrics` only for the bearer of METRICS_TOKEN
(a 404 for everyone else, and for all when it is unset), the counters moved by the real
flows (and not by a rolled-back one), and the multi-process mode adding processes up."""

import os
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY

from catalog.tests.factories import ProductFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-5f1c"
API = "/api/v1"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_is_a_404_when_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {TOKEN}", TOKEN, f"Bearer {TOKEN}x"])
def test_metrics_is_a_404_without_the_right_bearer_token(client, metrics_on, header):
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **headers)
    assert response.status_code == 404
    assert b"foodies_" not in response.content


def test_metrics_shows_the_counters_to_the_token_bearer(client, metrics_on):
    client.get(f"{API}/health/")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    for name in (
        "foodies_http_request_duration_seconds_bucket",
        "foodies_http_request_db_queries_bucket",
        "foodies_orders_total",
        "foodies_webhook_notifications_total",
        "foodies_gateway_request_duration_seconds",
        "foodies_task_runs_total",
        "foodies_audit_drift",
    ):
        assert f"# TYPE {name.removesuffix('_bucket')}" in text or name in text
    assert 'route="api/v1/health/"' in text


def test_request_latency_and_queries_are_per_route(api_client):
    before = value(
        "foodies_http_request_duration_seconds_count", method="GET", route="api/v1/health/", status="200"
    )
    queries = value("foodies_http_request_db_queries_sum", route="api/v1/health/")
    api_client.get(f"{API}/health/")
    assert (
        value(
            "foodies_http_request_duration_seconds_count", method="GET", route="api/v1/health/", status="200"
        )
        == before + 1
    )
    assert value("foodies_http_request_db_queries_sum", route="api/v1/health/") == queries + 1  # SELECT 1
    unmatched = value(
        "foodies_http_request_duration_seconds_count", method="GET", route="unmatched", status="404"
    )
    api_client.get("/no/such/page/at/all")
    assert (
        value("foodies_http_request_duration_seconds_count", method="GET", route="unmatched", status="404")
        == unmatched + 1
    )


def test_orders_placed_paid_cancelled_and_webhook_outcomes_count_on_commit(
    api_client, user, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_GATEWAY = "mock"
    settings.PUBLIC_BASE_URL = "http://testserver"
    shopper = bearer_client(user)
    product = ProductFactory(stock=1, price=25_000)
    before = {e: value("foodies_orders_total", event=e) for e in ("placed", "paid", "cancelled")}
    applied = value("foodies_webhook_notifications_total", outcome="applied")

    with django_capture_on_commit_callbacks(execute=True):
        shopper.post(f"{API}/cart/items/", {"product": product.slug, "quantity": 1})
        placed = shopper.post(f"{API}/orders/", {})
    assert placed.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        paid = api_client.post(
            f"{API}/payments/mock/{placed.json()['payment']['token']}/", {"transaction_status": "settlement"}
        )
    assert paid.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        shopper.post(f"{API}/cart/items/", {"product": ProductFactory(stock=2).slug, "quantity": 1})
        second = shopper.post(f"{API}/orders/", {})
    assert second.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert shopper.post(f"{API}/orders/{second.json()['number']}/cancel/").status_code == 200

    assert {e: value("foodies_orders_total", event=e) - before[e] for e in before} == {
        "placed": 2,
        "paid": 1,
        "cancelled": 1,
    }
    assert value("foodies_webhook_notifications_total", outcome="applied") == applied + 1


def test_a_checkout_that_rolls_back_counts_no_order(user, django_capture_on_commit_callbacks):
    shopper = bearer_client(user)
    product = ProductFactory(stock=1)
    shopper.post(f"{API}/cart/items/", {"product": product.slug, "quantity": 1})
    ProductFactory._meta.model.objects.filter(pk=product.pk).update(stock=0)
    placed = value("foodies_orders_total", event="placed")
    with django_capture_on_commit_callbacks(execute=True):
        response = shopper.post(f"{API}/orders/", {})
    assert response.status_code == 409
    assert value("foodies_orders_total", event="placed") == placed


def test_in_process_task_runs_are_counted(django_capture_on_commit_callbacks):
    from config.tasks import enqueue
    from orders.tasks import purge_idempotency_keys

    name = "orders.tasks.purge_idempotency_keys"
    before = value("foodies_task_runs_total", task=name, outcome="success")
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(purge_idempotency_keys)
    assert value("foodies_task_runs_total", task=name, outcome="success") == before + 1


def test_the_stock_audit_reports_its_drift(capsys):
    from django.core.management import call_command

    product = ProductFactory(stock=5)
    call_command("stock_audit")
    assert value("foodies_audit_drift", audit="stock") == 0
    ProductFactory._meta.model.objects.filter(pk=product.pk).update(stock=7)  # behind the ledger's back
    with pytest.raises(SystemExit):
        call_command("stock_audit")
    assert value("foodies_audit_drift", audit="stock") == 1


def test_multiprocess_mode_adds_up_every_process_and_drops_dead_ones(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_TOKEN": TOKEN,
    }

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); from config import metrics; {code}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    for _ in range(2):  # two worker processes, each counting one run
        run("metrics.task_run('t', 'success'); metrics.mark_process_dead(__import__('os').getpid())")
    scrape = run(
        "from django.test import RequestFactory; "
        f"r = RequestFactory().get('/metrics', HTTP_AUTHORIZATION='Bearer {TOKEN}'); "
        "print(metrics.metrics_view(r).content.decode())"
    )
    assert 'foodies_task_runs_total{outcome="success",task="t"} 2.0' in scrape
