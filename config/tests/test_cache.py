"""An unreachable Redis (CACHE_URL=redis://) is a cache miss, not an error: the API keeps
answering, throttles let requests through, the catalog is served (its version is a
database row, so its 304s still hold), and a write
whose after-commit cache update fails still answers with its success."""

import ast
import logging
import os
import socket
import subprocess
import sys

import pytest
from django.core.cache import cache

from catalog.tests.factories import ProductFactory
from catalog.version import catalog_version
from config import cache as resilient
from orders.models import Order


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    """The cache pointed at a loopback port nobody listens on, as settings.py configures a
    redis:// CACHE_URL; the catalog cache on, as with a shared cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }
    settings.CATALOG_CACHE = True
    resilient._last_logged = 0.0
    yield
    resilient._last_logged = 0.0


def test_a_redis_cache_url_gets_the_resilient_backend_with_timeouts():
    env = {**os.environ, "CACHE_URL": "redis://127.0.0.1:6379/3", "DJANGO_SETTINGS_MODULE": "config.settings"}
    shown = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(repr(settings.CACHES['default']))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ast.literal_eval(shown) == {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
    }


def test_every_operation_degrades_to_a_miss(redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        assert cache.get("k") is None
        assert cache.get("k", "fallback") == "fallback"
        assert cache.set("k", 1) is None
        assert cache.add("k", 1) is False
        assert cache.touch("k") is False
        assert cache.delete("k") is False
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("k") is False
        assert cache.set_many({"a": 1}) == []
        assert cache.delete_many(["a"]) is None
        assert cache.clear() is False
        with pytest.raises(ValueError, match="unreachable"):
            cache.incr("k")
    # Logged once for the burst, not once per call.
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["Cache server unreachable"]


@pytest.mark.django_db
def test_the_catalog_version_needs_no_cache(redis_down, django_capture_on_commit_callbacks):
    # A database row (catalog/version.py): the same for every reader, and moved on by a write.
    first = catalog_version()
    assert catalog_version() == first
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory()
    assert catalog_version() > first


def test_the_api_answers_without_the_cache(
    redis_down, auth_client, user, api_client, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock=5, price=20_000)

    menu = api_client.get("/api/v1/products/")
    assert menu.status_code == 200
    assert [p["slug"] for p in menu.json()["results"]] == [product.slug]
    again = api_client.get(f"/api/v1/products/{product.slug}/", HTTP_IF_NONE_MATCH=menu["ETag"])
    assert again.status_code == 304  # the version is the database's, which is up

    added = auth_client.post("/api/v1/cart/items/", {"product": product.slug, "quantity": 2})
    assert added.status_code == 201
    # Throttled, and the stock move bumps the catalog version after the commit.
    with django_capture_on_commit_callbacks(execute=True) as bumps:
        placed = auth_client.post("/api/v1/orders/", {})
    assert placed.status_code == 201, placed.json()
    assert bumps  # the after-commit cache update ran, and failed quietly
    number = placed.json()["number"]
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = auth_client.post(f"/api/v1/orders/{number}/cancel/", {})
    assert cancelled.status_code == 200
    assert Order.objects.get(number=number).status == "cancelled"
    product.refresh_from_db()
    assert product.stock == 5
