"""`/_bench/bare` exists only for the benchmark: routed when BENCH_ROUTES is on, never by default."""

import importlib

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches

from config import urls
from config.bench import bench_urlpatterns

pytestmark = pytest.mark.django_db


def rebuild_urls() -> None:
    importlib.reload(urls)
    clear_url_caches()


def test_bare_is_not_routed_by_default(api_client):
    assert settings.BENCH_ROUTES is False
    assert "_bench/bare" not in [str(pattern.pattern) for pattern in urls.urlpatterns]

    assert api_client.get("/_bench/bare").status_code == 404


def test_bare_is_routed_only_while_bench_routes_is_on(api_client):
    try:
        with override_settings(BENCH_ROUTES=True):
            rebuild_urls()
            response = api_client.get("/_bench/bare")
    finally:
        rebuild_urls()

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    # Rebuilt with the setting back off: gone again.
    assert api_client.get("/_bench/bare").status_code == 404


def test_bench_urlpatterns_builder():
    assert bench_urlpatterns(enabled=False) == []
    (bare,) = bench_urlpatterns(enabled=True)
    assert (str(bare.pattern), bare.name) == ("_bench/bare", "bench-bare")
