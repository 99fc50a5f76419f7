"""`ready/`: what a load balancer asks before sending an instance traffic. Each dependency is
really taken away (a database connection to a closed port, the S3 server stopped, a cache
on a port nobody listens on) and brought back."""

import time

import pytest
from django.db import connection

from config.tests.test_cache import closed_port

READY = "/api/v1/ready/"
ALL_OK = {"database": "ok", "cache": "ok", "broker": "not_configured", "storage": "ok"}


@pytest.mark.django_db
def test_ready_is_200_with_each_dependency_state(api_client):
    response = api_client.get(READY)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": ALL_OK}


@pytest.mark.django_db(transaction=True)
def test_ready_is_503_naming_the_database_while_it_is_down_and_200_after(api_client):
    if connection.vendor == "sqlite":
        # The suite's SQLite database is in memory, shared by the checker's long-lived thread,
        # whose open connection a renamed file cannot take down; PostgreSQL's can be (CI runs both).
        pytest.skip("a database outage is simulated on PostgreSQL")
    real_port = connection.settings_dict["PORT"]
    real_name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port())
    try:
        down = api_client.get(READY)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
        connection.settings_dict["NAME"] = real_name
    assert down.status_code == 503
    assert down.json() == {
        "status": "unavailable",
        "down": ["database"],
        "checks": {**ALL_OK, "database": "unavailable"},
    }
    back = api_client.get(READY)
    assert (back.status_code, back.json()["checks"]) == (200, ALL_OK)


@pytest.mark.django_db
def test_ready_is_503_naming_the_storage_while_the_store_is_down_and_200_after(api_client, s3, settings):
    # A stopped store refuses connections at once; the deadline only bounds a slow one (and a
    # loaded test machine's moto is slow).
    settings.READY_CHECK_TIMEOUT = 4
    assert api_client.get(READY).json() == {"status": "ok", "checks": ALL_OK}
    s3.stop()
    started = time.monotonic()
    down = api_client.get(READY)
    assert time.monotonic() - started < 5
    assert down.status_code == 503
    assert down.json()["down"] == ["storage"]
    s3.start()
    assert api_client.get(READY).status_code == 200


@pytest.mark.django_db
def test_ready_is_503_naming_the_cache_and_the_broker_when_unreachable(api_client, settings, use_broker):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    use_broker(f"redis://127.0.0.1:{closed_port()}/0")
    settings.READY_CHECK_TIMEOUT = 1.5
    started = time.monotonic()
    response = api_client.get(READY)
    assert time.monotonic() - started < 4  # the checks run side by side, each with a deadline
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["cache", "broker"]
    assert body["checks"]["database"] == body["checks"]["storage"] == "ok"
    assert body["checks"]["broker"] in ("unavailable", "timeout")
