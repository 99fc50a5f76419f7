"""Live order status (issue 20) in-process: the streams as `make run` (runserver, WSGI) serves
them, through Django's test client. The ASGI path, over a real uvicorn and redis-server, is
orders/tests/test_live_status_server.py. The wire format is the WHATWG HTML standard's
"Server-sent events" (id/event/data fields, `:` comments, `Last-Event-ID` on reconnect)."""

import json

import pytest
from django.db import transaction

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from conftest import bearer_client
from orders import services, streams
from orders.models import OrderEvent, OrderStatus
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
S = OrderStatus


def parse(raw: bytes) -> list[dict]:
    """Events of an SSE body, as a browser's EventSource dispatches them (comments dropped)."""
    events = []
    for block in raw.decode().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" in fields:
            events.append(
                {"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])}
            )
    return events


def read_until_closed(response) -> bytes:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/event-stream")
    return b"".join(response.streaming_content)


def hang_up(response) -> None:
    """The client goes away: the test client's wrapper closes the response (its
    request_finished must not close the test's connection, which response.close() would)."""
    response._iterator.close()


def read_events(response, count: int) -> list[dict]:
    """The first `count` events of a stream that stays open, then the client hangs up."""
    raw = b""
    chunks = iter(response.streaming_content)
    while len(parse(raw)) < count:
        raw += next(chunks)
    hang_up(response)
    return parse(raw)


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch):
    monkeypatch.setattr(streams, "POLL_SECONDS", 0.01)


@pytest.fixture
def shopper():
    return UserFactory(email="ani@example.com")


@pytest.fixture
def order(shopper):
    return place_order(user=shopper, items=[(ProductFactory(slug="nasi", stock=10, price=20_000), 1)])


def move(order, *to: str) -> None:
    for status in to:
        if status == S.PAID:
            with transaction.atomic():
                services.order_transition(
                    order=services.order_lock(order_id=order.pk), to_status=S.PAID, actor=services.GATEWAY
                )
        else:
            services.order_set_status(order=order, to_status=status, actor=services.SYSTEM)


def url(order) -> str:
    return f"/api/v1/orders/{order.number}/events/"


def test_a_finished_order_streams_every_event_as_the_api_shows_it_and_closes(shopper, order):
    move(order, S.PAID, S.PREPARING, S.READY, S.COMPLETED)
    client = bearer_client(shopper)

    events = parse(read_until_closed(client.get(url(order), HTTP_ACCEPT="text/event-stream")))

    rows = list(OrderEvent.objects.filter(order=order).order_by("id"))
    assert [e["id"] for e in events] == [row.pk for row in rows]
    assert [e["event"] for e in events] == ["placed"] + ["status_changed"] * 4
    assert [e["data"]["to_status"] for e in events] == [
        "pending_payment",
        "paid",
        "preparing",
        "ready",
        "completed",
    ]
    shown = client.get(f"/api/v1/orders/{order.number}/").json()["events"]
    assert [{k: v for k, v in e["data"].items() if k not in ("id", "order")} for e in events] == shown
    assert {e["data"]["order"] for e in events} == {order.number}


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_stream_resumed_with_last_event_id_misses_nothing(shopper, order, how):
    move(order, S.PAID, S.PREPARING)
    client = bearer_client(shopper)
    first = read_events(client.get(url(order)), 3)
    seen = first[1]["id"]  # the connection dropped after the second event
    move(order, S.READY, S.COMPLETED)  # ...and these happened meanwhile

    if how == "header":
        resumed = client.get(url(order), HTTP_LAST_EVENT_ID=str(seen))
    else:
        resumed = client.get(url(order) + f"?last_event_id={seen}")
    events = parse(read_until_closed(resumed))

    after = list(
        OrderEvent.objects.filter(order=order, id__gt=seen).order_by("id").values_list("id", flat=True)
    )
    assert [e["id"] for e in events] == after
    assert [e["data"]["to_status"] for e in events] == ["preparing", "ready", "completed"]
    assert [e["id"] for e in first[:2]] + after == [e.pk for e in OrderEvent.objects.filter(order=order)]


def test_an_open_stream_waits_and_sends_a_heartbeat_when_quiet(shopper, order, monkeypatch):
    monkeypatch.setattr(streams, "WSGI_HEARTBEAT_SECONDS", 0.0)
    response = bearer_client(shopper).get(url(order))
    chunks = iter(response.streaming_content)
    assert next(chunks) == streams.PREAMBLE
    assert parse(next(chunks))[0]["event"] == "placed"
    assert next(chunks) == streams.HEARTBEAT
    hang_up(response)


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "9" * 40, "٣"])
def test_a_bad_last_event_id_is_a_json_400(shopper, order, value):
    response = bearer_client(shopper).get(
        url(order), HTTP_ACCEPT="text/event-stream", HTTP_LAST_EVENT_ID=value
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"Last-Event-ID": ["An event id (a non-negative integer)."]}


def test_another_shoppers_order_is_a_404_and_anonymous_a_401(order):
    other = bearer_client(UserFactory(email="budi@example.com"))
    response = other.get(url(order), HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
    assert bearer_client(UserFactory()).get("/api/v1/orders/NOPE-1/events/").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(url(order), HTTP_ACCEPT="text/event-stream").status_code == 401


def test_the_kitchen_stream_starts_now_and_carries_status_changes_of_every_order(shopper, order):
    other = place_order(user=shopper, items=[(ProductFactory(slug="teh", stock=5), 1)])
    move(order, S.PAID)
    kitchen = bearer_client(UserFactory(is_staff=True, is_superuser=True))

    response = kitchen.get("/api/v1/kitchen/events/", HTTP_ACCEPT="text/event-stream")
    chunks = iter(response.streaming_content)
    assert next(chunks) == streams.PREAMBLE  # opened: what came before is not replayed
    move(other, S.PAID)
    move(order, S.PREPARING)
    events = parse(next(chunks) + next(chunks))
    hang_up(response)

    assert [(e["data"]["order"], e["data"]["to_status"]) for e in events] == [
        (other.number, "paid"),
        (order.number, "preparing"),
    ]


def test_under_wsgi_a_stream_ends_in_time_and_the_reconnect_misses_nothing(shopper, order, monkeypatch):
    """A stream served by a WSGI server ends within gunicorn's worker timeout; EventSource
    reconnects with Last-Event-ID (HTML standard, "Server-sent events")."""
    monkeypatch.setattr(streams, "WSGI_STREAM_SECONDS", 0.05)
    client = bearer_client(shopper)
    first = parse(read_until_closed(client.get(url(order))))  # the order is still open
    move(order, S.PAID)
    second = parse(read_until_closed(client.get(url(order), HTTP_LAST_EVENT_ID=str(first[-1]["id"]))))
    assert [e["data"]["to_status"] for e in first + second] == ["pending_payment", "paid"]


def test_a_redis_that_is_down_loses_only_the_wake_up(
    order, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    """The publish runs after the commit and never fails the write: the status moved, the
    event is in the table (a stream reads it at its next look), a warning is logged."""
    monkeypatch.setattr(streams, "redis_url", lambda: "redis://127.0.0.1:1/0")  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        move(order, S.PAID)
    assert callbacks  # the publish was among them
    order.refresh_from_db()
    assert order.status == S.PAID
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert event.to_status == S.PAID
    assert f"order event {event.pk} not published: Redis unreachable" in caplog.text


def test_redis_is_taken_from_the_broker_then_the_cache(settings):
    settings.CELERY_BROKER_URL = None
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert streams.redis_url() is None
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": "redis://r:6379/1"}
    }
    assert streams.redis_url() == "redis://r:6379/1"
    settings.CELERY_BROKER_URL = "redis://b:6379/0"
    assert streams.redis_url() == "redis://b:6379/0"
