"""The catalog version: one number that every menu, price or stock write moves on, so a
cached menu response (keyed by it, and its ETag) is never served after a write commits.

It lives in the cache (`CACHE_URL`): shared by every process when that is Redis. A fresh
value starts from the clock, so a version lost with the cache can never come back and
match a response cached under it before.

While the cache server is unreachable every read gets a fresh version (nothing cached is
served) and a bump is lost. A server that restarts empty (the usual outage) then starts
afresh; one that comes back with its data (a network partition) may serve menu responses
cached before the outage for up to CATALOG_CACHE_TIMEOUT. Nothing is sold on their word:
the cart and checkout read stock and prices from the database."""

import time

from django.core.cache import cache
from django.db import transaction

KEY = "catalog:version"


def _fresh() -> int:
    return time.time_ns() // 1000


def catalog_version() -> int:
    version = cache.get(KEY)
    if version is None:
        cache.add(KEY, _fresh(), timeout=None)
        version = cache.get(KEY)
    if version is None:
        # The cache cannot be reached (config/cache.py): a version nothing was cached under,
        # so no stored response is served and no 304 is claimed for an old ETag.
        return _fresh()
    return version


def _bump() -> None:
    try:
        cache.incr(KEY)
    except ValueError:  # not in the cache (evicted, or never read): start afresh
        cache.set(KEY, _fresh(), timeout=None)


def catalog_changed() -> None:
    """Call from any write that changes what the menu shows; takes effect on commit (at
    once outside a transaction), so no reader caches the old state under the new version."""
    transaction.on_commit(_bump)


def catalog_changed_now() -> None:
    """For a change that is no write (a time passing: a sold-out mark ending), so nothing
    to wait for: move the version on at once, even inside a transaction."""
    _bump()
