"""HTTP caching of anonymous catalog reads.

Every anonymous GET of the menu carries `Cache-Control: public, max-age=CATALOG_CACHE_MAX_AGE`
and an ETag. With `CATALOG_CACHE` on (the default), the ETag is the catalog version
(`catalog.version`, a database row every process reads: one query) and the answer's
language, a matching `If-None-Match` is answered 304 after that one query, and response
bodies are kept in the cache under the version and the language (menu names are the
reader's, catalog/i18n.py): any menu, price or stock write bumps it on commit, so no cached
answer outlives the state it showed. With it off, ETags come from the body
(`ConditionalGetMiddleware`), so 304s are still right, only not free. The anonymous product
list and detail are answered before DRF by `catalog.api.menu_fast` under the same rules.

Busy mode shows on every menu read as the `X-Shop-Paused-Until` header (the pause's end,
ISO 8601 in the shop's zone; absent while the kitchen takes orders), outside the cached
body: a pause ends by itself with no write, so no body keyed by the catalog version could
say when it has ended. A pause or a resume moves the version on, so with `CATALOG_CACHE`
on the pause's end is kept in the cache under the version and compared with the clock on
each read: a hit costs no query beyond the version's. Browsers may keep the header for the answer's max-age.
"""

import hashlib
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import get_language
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.services import menu_ensure_current
from catalog.version import catalog_version
from orders.pickup import schedule
from orders.pickup.kitchen import busy_read

PAUSED_HEADER = "X-Shop-Paused-Until"


def _digest(text: str) -> str:
    # Keys stay short and safe for any cache backend whatever the URL.
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def catalog_etag(version: int) -> str:
    """The validator of an anonymous menu answer: the catalog version and the answer's
    language (one validator per language, as the body)."""
    return f'"{version}-{get_language()}"'


def _key(version: int, request: Request) -> str:
    # Per language (Accept-Language, through LocaleMiddleware): names and descriptions are
    # the reader's (catalog/i18n.py), so an Indonesian body is never served to English.
    where = request.get_host() + request.get_full_path()
    return f"catalog:response:{version}:{get_language()}:{_digest(where)}"


_JSON = JSONRenderer()


def _json(body: bytes) -> HttpResponse:
    # Anonymous callers always get JSON (config/negotiation.py), so the bytes rendered once
    # are the answer: a cache hit costs no serializer and no renderer.
    return HttpResponse(body, content_type="application/json")


def paused_until(version: int | None) -> str:
    """The running pause's end (ISO), or "" when the kitchen takes orders. Under a catalog
    version (every pause and resume moves it on) the end is cached and checked against the
    clock, so a pause that ended by itself reads as none with nothing written."""
    now = timezone.now()
    key = None if version is None else f"catalog:paused:{version}"
    until = cache.get(key) if key else None
    if until is None:
        busy = busy_read(now=now)
        until = busy.paused_until.isoformat() if busy.paused_until else ""
        if key:
            cache.set(key, until, timeout=settings.CATALOG_CACHE_TIMEOUT)
    if not until:
        return ""
    end = datetime.fromisoformat(until)
    return schedule.iso(end) if end > now else ""


def _paused(response: HttpResponse, version: int | None) -> HttpResponse:
    until = paused_until(version)
    if until:
        response[PAUSED_HEADER] = until
    return response


def _mark(response: HttpResponse, etag: str | None, version: int | None = None) -> HttpResponse:
    _paused(response, version)
    if etag:
        response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=settings.CATALOG_CACHE_MAX_AGE)
    patch_vary_headers(response, ["Authorization"])
    return response


def catalog_cached(handler):
    """Wrap a catalog GET handler (list, retrieve, price history) with the HTTP cache for
    anonymous callers. Signed-in callers (staff see hidden products) always get a fresh,
    uncached answer."""

    @wraps(handler)
    def wrapper(view, request: Request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or request.user.is_authenticated:
            return _paused(handler(view, request, *args, **kwargs), None)
        if not settings.CATALOG_CACHE:
            return _mark(handler(view, request, *args, **kwargs), etag=None)
        # The version must be read before anything else: a write committing meanwhile moves
        # it on, so what is computed below can only be as new as, or newer than, its key.
        # Switches any due price first (a cached body must not outlive it), then the version.
        version = menu_ensure_current()
        etag = catalog_etag(version)
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            return _mark(Response(status=304), etag, version)
        key = _key(version, request)
        body = cache.get(key)
        if body is not None:
            return _mark(_json(body), etag, version)
        response = handler(view, request, *args, **kwargs)
        if response.status_code != 200:
            return _paused(response, version)
        body = _JSON.render(response.data)
        cache.set(key, body, timeout=settings.CATALOG_CACHE_TIMEOUT)
        return _mark(_json(body), etag, version)

    wrapper.cache_public = True  # the schema documents its Cache-Control (config.api.schema)
    return wrapper


def catalog_count(request: Request, queryset) -> int | None:
    """The number of products a filtered list has, from the cache when the same filters were
    counted at the same catalog version (every page of a list shares it), else None (the
    paginator counts, and `catalog_cached` is not caching). Anonymous reads only."""
    if not settings.CATALOG_CACHE or request.user.is_authenticated:
        return None
    params = sorted((k, v) for k, v in request.query_params.lists() if k not in ("page", "cursor", "format"))
    key = f"catalog:count:{catalog_version()}:{_digest(repr(params))}"
    count = cache.get(key)
    if count is None:
        count = queryset.count()
        cache.set(key, count, timeout=settings.CATALOG_CACHE_TIMEOUT)
    return count
