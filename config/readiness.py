"""Readiness (`GET /api/v1/ready/`): may a load balancer send this instance traffic?

Each dependency is checked with a short deadline (READY_CHECK_TIMEOUT seconds): the
database (SELECT 1 on this thread's connection, as requests use it), the cache (a value
written and read back: a cache that silently drops writes is down too), the broker (a
connection opened, when CELERY_BROKER_URL is set; else `not_configured`, which is fine:
tasks then run in-process) and the file stores (config.storage.storage_check). The checks
other than the database run side by side, each on its own long-lived thread, so a hung
dependency costs the probe the deadline, not the sum of everyone's timeouts.

`health/` stays liveness: the process answers and reaches its database.
"""

import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger("foodies.ready")

OK = "ok"
DOWN = "unavailable"
TIMEOUT = "timeout"
NOT_CONFIGURED = "not_configured"


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_cache() -> str:
    key = f"ready-probe:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    cache.set(key, value, timeout=10)
    read = cache.get(key)
    cache.delete(key)
    return OK if read == value else DOWN


def check_broker() -> str:
    from config.celery import app, broker_configured

    if not broker_configured():
        return NOT_CONFIGURED
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READY_CHECK_TIMEOUT)
    return OK


def check_storage() -> str:
    from config.storage import storage_check

    storage_check()
    return OK


THREADED_CHECKS: dict[str, Callable[[], str]] = {
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
}


def _run(name: str, check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:  # any failure of a dependency means: not ready
        logger.warning("Readiness: %s is down: %r", name, exc)
        return DOWN


# One long-lived thread per dependency: its clients (boto3's are per thread) are made
# once, not on every probe, and a check that hangs holds up only its own next probes, which
# then report `timeout`.
_executors = {
    name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ready-{name}") for name in THREADED_CHECKS
}


def readiness() -> dict[str, str]:
    """{dependency: "ok" | "not_configured" | "unavailable" | "timeout"}."""
    futures = {name: _executors[name].submit(_run, name, check) for name, check in THREADED_CHECKS.items()}
    states = {"database": _run("database", check_database)}
    deadline = time.monotonic() + settings.READY_CHECK_TIMEOUT
    for name, future in futures.items():
        try:
            states[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            future.cancel()
            logger.warning("Readiness: %s did not answer within %ss", name, settings.READY_CHECK_TIMEOUT)
            states[name] = TIMEOUT
    return states


def is_ready(states: dict[str, str]) -> bool:
    return all(state in (OK, NOT_CONFIGURED) for state in states.values())
