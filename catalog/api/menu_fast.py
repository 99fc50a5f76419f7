"""The anonymous product list and detail, answered in front of DRF.

The menu is the most-read resource and nearly every reader is anonymous, so for a GET or
HEAD of `products/` or `products/{slug}/` with no `Authorization` header and no session
cookie (signed-in staff may see hidden products) this view answers without DRF's dispatch,
authentication, negotiation or serializers:

1. `menu_ensure_current` (one query: the catalog version row, which also says whether a
   scheduled price or a sold-out end is due, and brings the menu up to date first if so);
   for a detail that one statement also reads the product (`menu_rows.detail_with_state`);
2. an `If-None-Match` naming that version is a 304;
3. else a per-process LRU of rendered bodies keyed by (version, language, absolute URL):
   a hit is that query and a dictionary lookup;
4. a miss builds the body from `values()` rows wrapped in small row objects that
   `catalog.api.serializers.product_data` (the serializer's own representation, so the
   two cannot drift apart) reads like products, straight to bytes with orjson.

Every other request (a filter or ordering parameter, `cursor`, `format`, a page past the
end, an unknown slug, a signed-in caller) goes to the DRF view, which answers with the same
body and headers (catalog/tests/test_menu_fast.py holds them side by side).

A list page costs no COUNT and no OFFSET scan: the ids of the listed products in menu order
are read once per (version, language) in this process (one index-only scan) and give the
count and every page's ids; a page is then one `id IN (...)` lookup, deep or not.
"""

import threading
from collections import OrderedDict

import orjson
from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog.api.caching import PAUSED_HEADER, catalog_etag, paused_until
from catalog.api.menu_rows import ORDER_BY_NAME, detail_with_state, products_complete, products_rows
from catalog.api.serializers import product_data
from catalog.models import Product
from catalog.services import menu_ensure_current
from config.api.fields import parse_query_int

ENABLED = True  # tests switch it off to compare with the DRF path

# Bodies kept per process (a list page of 20 is about 10 kB, a detail under 1 kB).
LRU_SIZE = 2048

# Answers the DRF view gives these routes (its `Allow`, and `Vary` as its response has it
# before the middleware adds `origin`): the header test compares both paths.
ALLOW_LIST = "GET, POST, HEAD, OPTIONS"
ALLOW_DETAIL = "GET, PATCH, DELETE, HEAD, OPTIONS"
VARY = "Authorization, Accept, Accept-Language, Cookie"

LIST_PARAMS = frozenset({"page", "page_size"})


_IMAGES = Product._meta.get_field("image").storage


def _data(product, request) -> dict:
    image_url = request.build_absolute_uri(_IMAGES.url(product.image)) if product.image else None
    return product_data(product, image_url=image_url)


# --- per-process state ------------------------------------------------------------------------


class _Lru:
    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


BODIES = _Lru(LRU_SIZE)
# The listed ids in menu order, for the latest (version, language)s only.
ORDERS = _Lru(4)


def _listed_ids(version: int, language: str) -> list[int]:
    key = (version, language)
    ids = ORDERS.get(key)
    if ids is None:
        # Index-only scan of product_listed_name (name, id) WHERE listed.
        queryset = Product.objects.filter(listed=True).order_by(ORDER_BY_NAME, "id")
        ids = list(queryset.values_list("id", flat=True))
        ORDERS.put(key, ids)
    return ids


# --- the bodies -------------------------------------------------------------------------------


# DRF's JSONRenderer writes these two as escapes (JavaScript reads them raw as line ends).
_RAW_LINE_ENDS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def _json(data) -> bytes:
    """The bytes DRF's renderer gives for the same data: compact, UTF-8, U+2028/9 escaped."""
    body = orjson.dumps(data)
    for raw, escaped in _RAW_LINE_ENDS:
        if raw in body:
            body = body.replace(raw, escaped)
    return body


def _detail_body(request, product, language: str) -> bytes | None:
    if product is None:
        return None  # no such listed product: the DRF view's 404
    return _json(_data(products_complete([product], language)[0], request))


def _list_body(request, version: int, language: str, number: int, size: int) -> bytes | None:
    start = (number - 1) * size
    listed = Product.objects.filter(listed=True)
    if settings.CATALOG_CACHE:
        ids = _listed_ids(version, language)
        count = len(ids)
    else:  # nothing kept: a count, as the DRF path reads it
        count = listed.count()
    pages = max(1, -(-count // size))
    if number > pages:
        return None  # past the end: the DRF view's empty page
    if settings.CATALOG_CACHE:  # the page's ids are known: no OFFSET scan, however deep
        wanted = ids[start : start + size]
        found = {p.pk: p for p in products_rows(listed.filter(pk__in=wanted), language)}
        products = [found[pk] for pk in wanted if pk in found]
    else:
        products = products_rows(listed.order_by(ORDER_BY_NAME, "id")[start : start + size], language)
    url = request.build_absolute_uri()
    previous = None
    if number > 1:
        previous = (
            remove_query_param(url, "page") if number == 2 else replace_query_param(url, "page", number - 1)
        )
    body = {
        "count": count,
        "next": replace_query_param(url, "page", number + 1) if number < pages else None,
        "previous": previous,
        "results": [_data(product, request) for product in products],
    }
    return _json(body)


def _list_page(request) -> tuple[int, int] | None:
    """(page, page size) when the query asks for nothing but those, in the forms the DRF
    pagination takes without an error; else None."""
    query = request.GET
    if not set(query) <= LIST_PARAMS or any(len(query.getlist(name)) > 1 for name in query):
        return None
    number, size = 1, settings.REST_FRAMEWORK["PAGE_SIZE"]
    if "page" in query:
        number = parse_query_int(query["page"])
        if number is None or number < 1:
            return None
    if "page_size" in query:
        size = parse_query_int(query["page_size"])
        if size is None or not 1 <= size <= 100:
            return None
    return number, size


def _eligible(request) -> bool:
    return (
        ENABLED
        and request.method in ("GET", "HEAD")
        and "HTTP_AUTHORIZATION" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def _headers(response, etag: str | None, version: int | None, allow: str):
    """What `catalog.api.caching` and DRF put on the same answer; the middleware adds the
    rest (Content-Language, Vary: origin, Content-Length, a body ETag when none is set)."""
    until = paused_until(version)
    if until:
        response[PAUSED_HEADER] = until
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.CATALOG_CACHE_MAX_AGE}"
    response["Vary"] = VARY
    response["Allow"] = allow
    return response


def menu_fast(drf_view, *, detail: bool):
    """Wrap the router's list or detail view of products (config/api_urls.py)."""
    allow = ALLOW_DETAIL if detail else ALLOW_LIST

    def view(request, *args, **kwargs):
        if not _eligible(request):
            return drf_view(request, *args, **kwargs)
        page = None
        if detail:
            if request.GET:
                return drf_view(request, *args, **kwargs)
        else:
            page = _list_page(request)
            if page is None:
                return drf_view(request, *args, **kwargs)
        language = get_language()
        now = timezone.now()
        product = None
        if detail:
            # The version and the product in one statement; a due change re-reads both.
            state, product = detail_with_state(kwargs["slug"], language)
            version = menu_ensure_current(now=now, state=state)
            if state is None or version != state.version:
                state, product = detail_with_state(kwargs["slug"], language)
        else:
            version = menu_ensure_current(now=now)
        # With CATALOG_CACHE off nothing is kept and the ETag comes from the body
        # (ConditionalGetMiddleware), as on the DRF path.
        cached = settings.CATALOG_CACHE
        etag = catalog_etag(version) if cached else None
        if cached and etag in parse_etags(request.headers.get("If-None-Match", "")):
            return _headers(HttpResponseNotModified(), etag, version, allow)
        key = (version, language, request.build_absolute_uri())
        body = BODIES.get(key) if cached else None
        if body is None:
            if detail:
                body = _detail_body(request, product, language)
            else:
                body = _list_body(request, version, language, *page)
            if body is None:
                return drf_view(request, *args, **kwargs)
            if cached:
                BODIES.put(key, body)
        response = HttpResponse(body, content_type="application/json")
        return _headers(response, etag, version if cached else None, allow)

    # The schema generator reads the DRF view's attributes (cls, actions, initkwargs).
    view.__dict__.update(drf_view.__dict__)
    view.__name__, view.__doc__ = drf_view.__name__, drf_view.__doc__
    return csrf_exempt(view)
