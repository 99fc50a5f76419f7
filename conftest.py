"""Shared fixtures: API clients for anonymous, shopper and staff callers; `run_at_once` for
the race tests."""

import os
import threading
from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import translation
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from catalog.api import menu_fast
from orders import setup as shop_setup

# Browser tests (`@pytest.mark.browser`, the `page` fixture): Playwright and Chromium; and
# pytester, which tests that plugin; the `s3` fixture (an S3-protocol server, config/tests/s3server.py).
pytest_plugins = ["config.tests.browser", "pytester", "config.tests.s3server"]


def pytest_addoption(parser):
    parser.addoption(
        "--pgbouncer",
        action="store_true",
        default=os.environ.get("FOODIES_PGBOUNCER", "") not in ("", "0", "false"),
        help="Run the PostgreSQL tests through a pgbouncer in transaction pooling mode "
        "(config/tests/pgbouncer.py); also FOODIES_PGBOUNCER=1.",
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """pytest-django's test database; with --pgbouncer every connection after its creation
    (this process's, the race tests' threads', the worker processes') goes through a
    pgbouncer in transaction mode, and it is dropped directly on PostgreSQL at the end."""
    from django.db import connections

    if not request.config.getoption("--pgbouncer") or connections["default"].vendor != "postgresql":
        yield
        return
    from config.tests.pgbouncer import PgBouncer

    direct = connections["default"].settings_dict
    bouncer = PgBouncer(host=direct["HOST"], port=direct["PORT"], user=direct["USER"])
    bouncer.start()
    saved = {key: direct.get(key) for key in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS")}
    with django_db_blocker.unblock():
        connections.close_all()
    direct.update({"HOST": "127.0.0.1", "PORT": str(bouncer.port), "DISABLE_SERVER_SIDE_CURSORS": True})
    request.config._pgbouncer_port = bouncer.port
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            connections.close_all()
        direct.update(saved)
        bouncer.stop()


def pytest_configure(config):
    from django.conf import settings

    # A fast hasher: the suite creates many users; the real one is PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_report_header(config):
    from django.db import connection

    through = " through pgbouncer (transaction pooling)" if config.getoption("--pgbouncer") else ""
    return f"database: {connection.vendor} ({connection.settings_dict['NAME']}){through}"


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="row-lock races need PostgreSQL; SQLite serialises writers")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def use_broker(monkeypatch):
    """`use_broker(url)`: this process's Celery app publishes to `url` for one test (the
    tests' default is no broker: tasks run in-process)."""
    from kombu import pools

    from config.celery import app

    def forget_connections() -> None:
        # Celery and kombu keep their connection pools once made; the next URL needs new ones.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    def use(url: str) -> None:
        forget_connections()
        monkeypatch.setenv("CELERY_BROKER_URL", url)

    yield use
    forget_connections()


@pytest.fixture(autouse=True)
def _shop_language_after_each_test():
    # LocaleMiddleware activates a request's language for the thread and leaves it there
    # (the next request activates its own); a test's requests must not decide the language
    # of the next test's code that runs outside a request.
    yield
    translation.deactivate()


def _forget_menu_bodies() -> None:
    # Each test's database rolls back to the same catalog version: bodies kept per process
    # under it (catalog/api/menu_fast.py) belong to the test that made them.
    menu_fast.BODIES.clear()
    menu_fast.ORDERS.clear()
    # Likewise the shop's setup kept under the busy-mode row's number (orders/setup.py).
    shop_setup.kept_forget()


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttle counters live in the cache; one test must not throttle the next.
    cache.clear()
    _forget_menu_bodies()
    yield
    cache.clear()
    _forget_menu_bodies()


def bearer_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    client.user = user
    return client


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def auth_client(user) -> APIClient:
    return bearer_client(user)


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return bearer_client(staff_user)


@pytest.fixture
def admin_client_staff(client, staff_user):
    """Django test client logged in to the admin as staff (session auth)."""
    client.force_login(staff_user)
    return client


def run_at_once(tasks: list[Callable[[], object]], timeout: float = 60) -> list[object]:
    """Run every task in its own thread, released together; return results or exceptions."""
    barrier = threading.Barrier(len(tasks))
    results: list[object] = [None] * len(tasks)

    def worker(index: int, task: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = task()
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results
