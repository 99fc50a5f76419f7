"""The Redis cache, where an unreachable cache server is a cache miss instead of an error.

Everything the app keeps in the cache can be done without it for a while: a throttle
counter that cannot be read lets the request through, a catalog response that cannot be
read or stored is computed, a catalog version that cannot be read or moved on is replaced
by a fresh one (catalog.version). Without this, a Redis restart turned every request into a
500, and a write whose after-commit cache update failed answered 500 for a change that had
been committed (found by `make stress`, which stops its redis-server mid-run).

Only connection failures and timeouts are absorbed (logged at most every few seconds per
process); any other Redis error is a bug and is raised. settings.py puts this backend in
place of Django's own whenever CACHE_URL is redis://, with short socket timeouts so a cache
server that does not answer costs a request about a second, not minutes.

Why not django-redis with IGNORE_EXCEPTIONS (issue 25; tried with django-redis 7.0.0 against
a closed port): it does not behave the same. `touch` is not covered and raises
ConnectionError (a 500 again); `incr` answers None instead of raising ValueError, so a
caller cannot tell "no such key" from a number; it also swallows ResponseError (a WRONGTYPE
or a script error is a bug, not an outage); and it logs a traceback on every failed call
instead of once every few seconds. Django's own Redis backend plus these 90 lines keeps
the behaviour config/tests/test_cache.py pins down.
"""

import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
LOG_EVERY_SECONDS = 10.0
_last_logged = 0.0


def _unreachable(operation: str, exc: Exception) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= LOG_EVERY_SECONDS:
        _last_logged = now
        logger.warning("Cache server unreachable (%s: %s); carrying on without the cache", operation, exc)


class ResilientRedisCacheClient(RedisCacheClient):
    def add(self, key, value, timeout) -> bool:
        try:
            return super().add(key, value, timeout)
        except UNREACHABLE as exc:
            _unreachable("add", exc)
            return False

    def get(self, key, default) -> Any:
        try:
            return super().get(key, default)
        except UNREACHABLE as exc:
            _unreachable("get", exc)
            return default

    def set(self, key, value, timeout) -> None:
        try:
            super().set(key, value, timeout)
        except UNREACHABLE as exc:
            _unreachable("set", exc)

    def touch(self, key, timeout) -> bool:
        try:
            return super().touch(key, timeout)
        except UNREACHABLE as exc:
            _unreachable("touch", exc)
            return False

    def delete(self, key) -> bool:
        try:
            return super().delete(key)
        except UNREACHABLE as exc:
            _unreachable("delete", exc)
            return False

    def get_many(self, keys) -> dict:
        try:
            return super().get_many(keys)
        except UNREACHABLE as exc:
            _unreachable("get_many", exc)
            return {}

    def has_key(self, key) -> bool:
        try:
            return super().has_key(key)
        except UNREACHABLE as exc:
            _unreachable("has_key", exc)
            return False

    def incr(self, key, delta) -> int:
        try:
            return super().incr(key, delta)
        except UNREACHABLE as exc:
            _unreachable("incr", exc)
            # As for a key that is not there: callers fall back to setting it.
            raise ValueError(f"Key {key!r} not found (the cache server is unreachable).") from exc

    def set_many(self, data, timeout) -> None:
        try:
            super().set_many(data, timeout)
        except UNREACHABLE as exc:
            _unreachable("set_many", exc)

    def delete_many(self, keys) -> None:
        try:
            super().delete_many(keys)
        except UNREACHABLE as exc:
            _unreachable("delete_many", exc)

    def clear(self) -> bool:
        try:
            return super().clear()
        except UNREACHABLE as exc:
            _unreachable("clear", exc)
            return False


class ResilientRedisCache(RedisCache):
    """Django's Redis cache backend with ResilientRedisCacheClient."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
