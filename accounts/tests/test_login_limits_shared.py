"""The login limiter counts across processes when the cache is shared (CACHE_URL=redis://):
guesses made through one app process and another add up to one lock (issue 24, item 4: 18
tries got through a limit of 10 with 2 workers). A redis-server of our own on a free port
(skipped without redis-server, like the worker tests); the second process is a separate
Python interpreter with the same settings and CACHE_URL."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.tests.factories import PASSWORD
from orders.tests.test_worker import redis_url  # noqa: F401 (the module's redis-server fixture)

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def shared_cache(settings, redis_url):  # noqa: F811
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }
    cache.clear()
    yield redis_url
    cache.clear()


def in_another_process(cache_url: str, code: str) -> str:
    """Run `code` with the limiter imported, in a new interpreter on `cache_url`; its stdout."""
    env = {**os.environ, "CACHE_URL": cache_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    script = "import django\ndjango.setup()\nfrom accounts import login_limits\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_guesses_in_two_processes_add_up_to_one_lock(api_client, user, shared_cache):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert api_client.post(TOKEN, {"email": user.email, "password": "wrong"}).status_code == 401
    # Not locked yet, as the other process sees it too; then its one guess is the last.
    probe = (
        "try:\n"
        f"    login_limits.login_check(email={user.email!r}, address='10.0.0.9')\n"
        "    print('open')\n"
        "except login_limits.LoginLocked as exc:\n"
        "    print('locked', exc.retry_after)\n"
    )
    assert in_another_process(shared_cache, probe) == "open"
    in_another_process(shared_cache, f"login_limits.login_failed(email={user.email!r}, address='10.0.0.9')")

    response = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "login_locked"
    state, seconds = in_another_process(shared_cache, probe).split()
    assert state == "locked"
    assert 0 < int(seconds) <= settings.LOGIN_LOCKOUT_SECONDS


def test_with_a_per_process_cache_the_other_process_counts_alone(api_client, user):
    """What accounts.W001 warns about: the same guesses, each process on its own memory."""
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert api_client.post(TOKEN, {"email": user.email, "password": "wrong"}).status_code == 401
    in_another_process(
        "locmemcache://other", f"login_limits.login_failed(email={user.email!r}, address='10.0.0.9')"
    )
    assert api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}).status_code == 200
