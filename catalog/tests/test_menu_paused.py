"""Busy mode on menu reads: the `X-Shop-Paused-Until` header (catalog/api/caching.py) is
sent outside the cached body, so a cached read shows a pause at once and stops showing it
when the pause ends by itself, with nothing written."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from catalog.tests.factories import CategoryFactory, ProductFactory
from orders.pickup import kitchen

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=JAKARTA)  # a Monday
HEADER = "X-Shop-Paused-Until"


@pytest.fixture(params=[True, False], ids=["catalog-cache", "no-catalog-cache"])
def catalog_cache(request, settings):
    settings.CATALOG_CACHE = request.param
    settings.CATALOG_CACHE_MAX_AGE = 5
    return request.param


@pytest.fixture
def product(db):
    return ProductFactory(
        name="Nasi goreng", slug="nasi-goreng", category=CategoryFactory(name="Rice", slug="rice")
    )


@pytest.mark.parametrize(
    "path", ["/api/v1/products/", "/api/v1/products/nasi-goreng/", "/api/v1/categories/"]
)
def test_a_pause_shows_on_a_cached_read_and_disappears_when_it_ends(
    api_client, product, catalog_cache, path, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False) as clock:
        before = api_client.get(path)
        assert before.status_code == 200
        assert HEADER not in before
        with django_capture_on_commit_callbacks(execute=True):
            kitchen.kitchen_pause(minutes=20)

        paused = api_client.get(path)
        assert paused[HEADER] == "2026-03-02T12:20:00+07:00"
        assert paused.content == before.content  # the body is the same (cached) one
        if catalog_cache:
            again = api_client.get(path, HTTP_IF_NONE_MATCH=paused["ETag"])
            assert (again.status_code, again[HEADER]) == (304, "2026-03-02T12:20:00+07:00")

        clock.move_to(datetime(2026, 3, 2, 12, 19, 59, tzinfo=JAKARTA))
        assert api_client.get(path)[HEADER] == "2026-03-02T12:20:00+07:00"
        clock.move_to(datetime(2026, 3, 2, 12, 20, tzinfo=JAKARTA))  # ended by itself: no write
        ended = api_client.get(path)
        assert HEADER not in ended
        assert ended.content == before.content


def test_a_resume_removes_the_header_at_once(
    api_client, product, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_CACHE = True
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            kitchen.kitchen_pause(minutes=45, reason="Too many orders")
        assert api_client.get("/api/v1/products/")[HEADER] == "2026-03-02T12:45:00+07:00"
        with django_capture_on_commit_callbacks(execute=True):
            kitchen.kitchen_resume()
        assert HEADER not in api_client.get("/api/v1/products/")


def test_signed_in_reads_show_the_pause_too(auth_client, product):
    with time_machine.travel(NOON, tick=False):
        kitchen.kitchen_pause(minutes=10)
        assert auth_client.get("/api/v1/products/nasi-goreng/")[HEADER] == "2026-03-02T12:10:00+07:00"


def test_the_schema_documents_the_header(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/v1/products/", "/api/v1/products/{slug}/", "/api/v1/categories/"):
        ok = schema["paths"][path]["get"]["responses"]
        assert ok["200"]["headers"][HEADER]["schema"] == {"type": "string", "format": "date-time"}
        assert HEADER in ok["304"]["headers"]
