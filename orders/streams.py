"""Live order status (issue 20): what an open Server-Sent Events stream reads and waits on.

The event table is the truth: a stream reads `OrderEvent` rows after the last id it sent, so
a resumed stream (`Last-Event-ID`) misses nothing and a lost wake-up only delays an event.
What changes between deployments is how a waiting stream learns that there is something new:

- with Redis (`CELERY_BROKER_URL` or `CACHE_URL` names one), every committed event is
  published on one channel; each process keeps one subscription and wakes its streams;
- without Redis (the embedded default), each process polls the table every POLL_SECONDS.

Under ASGI (uvicorn) streams are async generators sharing one waker per event loop, so an
open stream holds no thread. Under WSGI (`make run`'s runserver) a stream is a plain
generator that polls, one thread per open stream: fine for a developer, not for production.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models.signals import post_save

from orders.models import OrderEvent, OrderStatus

log = logging.getLogger(__name__)

S = OrderStatus
# After one of these the order's stream says so and closes.
TERMINAL_STATUSES = frozenset({S.COMPLETED, S.CANCELLED, S.EXPIRED, S.REFUNDED})
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0
CHANNEL = "foodies:order-events"
WSGI_STREAM_SECONDS = 25.0
# A WSGI server learns that a client went away only when a write fails: a thread-bound stream
# writes a heartbeat this often so that its thread (and its polling) ends within seconds.
WSGI_HEARTBEAT_SECONDS = 2.0
READ_LIMIT = 200  # rows per read; a stream far behind reads again at once

# The kitchen's stream: new paid orders and every status change.
KITCHEN_TYPES = (OrderEvent.Type.STATUS_CHANGED,)


def redis_url() -> str | None:
    """The Redis that carries the wake-ups: the broker's, else the cache's, else none."""
    broker = getattr(settings, "CELERY_BROKER_URL", None) or ""
    if broker.startswith(("redis://", "rediss://")):
        return broker
    location = settings.CACHES["default"].get("LOCATION") or ""
    if isinstance(location, list | tuple):
        location = location[0] if location else ""
    if str(location).startswith(("redis://", "rediss://")):
        return str(location)
    return None


# --- reading ----------------------------------------------------------------------------


def events_after(*, order_id: int | None, after: int) -> list[OrderEvent]:
    """Committed events after the id `after`, oldest first: one order's, or (order_id None)
    the kitchen's."""
    qs = OrderEvent.objects.filter(id__gt=after).select_related("order").order_by("id")
    qs = qs.filter(order_id=order_id) if order_id is not None else qs.filter(type__in=KITCHEN_TYPES)
    return list(qs[:READ_LIMIT])


def all_events_after(*, after: int) -> list[OrderEvent]:
    """Every committed event after `after` (what one waker shares among its streams)."""
    return list(OrderEvent.objects.filter(id__gt=after).select_related("order").order_by("id")[:READ_LIMIT])


def latest_event_id() -> int:
    return OrderEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _on_pool(fn: Callable) -> Callable:
    """`fn` on the shared thread pool (not one thread per request, which would be a thread
    and a database connection per open stream); its connection is tidied first, as a
    request would (CONN_MAX_AGE, health check), since no request cycle runs there."""

    def tidy_then_call(**kwargs):
        close_old_connections()
        return fn(**kwargs)

    return sync_to_async(tidy_then_call, thread_sensitive=False)


def order_is_closed(event: OrderEvent) -> bool:
    return event.to_status in TERMINAL_STATUSES


def frame(*, event_id: int, name: str, data: dict) -> bytes:
    """One SSE event. JSON has no raw newlines, so `data:` is one line."""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"id: {event_id}\nevent: {name}\ndata: {body}\n\n".encode()


HEARTBEAT = b": heartbeat\n\n"
# Sent first: a first byte so proxies and clients see the stream open at once. A comment, not
# a `retry:` field: a block without data is not an event, but clients that parse blocks
# (schemathesis did) read it as an event without the event's fields. Browsers reconnect by
# themselves after about 3 s.
PREAMBLE = b": open\n\n"


# --- publishing -------------------------------------------------------------------------

_publisher: redis.Redis | None = None
_publisher_url: str | None = None


def _publisher_for(url: str) -> redis.Redis:
    global _publisher, _publisher_url
    if _publisher is None or _publisher_url != url:
        _publisher = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        _publisher_url = url
    return _publisher


def publish(*, event_id: int, order_id: int) -> None:
    """Wake the streams of every process. A Redis that is down loses only the wake-up: a
    waiting stream reads the table again at its next heartbeat."""
    url = redis_url()
    if url is None:
        return
    try:
        _publisher_for(url).publish(CHANNEL, json.dumps({"id": event_id, "order": order_id}))
    except redis.RedisError:
        log.warning("order event %s not published: Redis unreachable", event_id, exc_info=True)


def _on_event_saved(sender, instance: OrderEvent, created: bool, **kwargs) -> None:
    if created:
        transaction.on_commit(lambda: publish(event_id=instance.pk, order_id=instance.order_id))


post_save.connect(_on_event_saved, sender=OrderEvent, dispatch_uid="orders.streams.publish")


# --- waking (ASGI) -----------------------------------------------------------------------


class Waker:
    """One per event loop: one Redis subscription (or one table poll) and one read of the
    new events for all of its streams, however many. A stream registers an asyncio.Event
    with the order it follows (None: the kitchen's, all); on news the waker reads what is
    new once, keeps the last KEEP events (each rendered once), and wakes the streams it
    concerns, which take their events from there."""

    KEEP = 1000

    def __init__(self) -> None:
        self.waiters: dict[asyncio.Event, int | None] = {}
        self.task: asyncio.Task | None = None
        self.recent: deque[OrderEvent] = deque(maxlen=self.KEEP)
        # Every committed event with an id above `floor` that the last read saw is in
        # `recent` (None until the first read).
        self.floor: int | None = None
        self.cursor = 0
        self.lock = asyncio.Lock()

    def register(self, order_id: int | None) -> asyncio.Event:
        event = asyncio.Event()
        self.waiters[event] = order_id
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return event

    def unregister(self, event: asyncio.Event) -> None:
        self.waiters.pop(event, None)

    def since(self, *, order_id: int | None, after: int) -> list[OrderEvent] | None:
        """The kept events after `after` for one order (or the kitchen); None when the kept
        ones may not reach back that far (the stream reads the table itself)."""
        if self.floor is None or after < self.floor:
            return None
        return [e for e in self.recent if e.pk > after and _concerns(e, order_id)]

    async def refresh(self) -> None:
        async with self.lock:
            if self.floor is None:
                self.cursor = self.floor = await _on_pool(latest_event_id)()
                return
            new: list[OrderEvent] = []
            while True:
                batch = await _on_pool(all_events_after)(after=self.cursor)
                for event in batch:
                    if len(self.recent) == self.KEEP:
                        self.floor = self.recent[0].pk
                    self.recent.append(event)
                    self.cursor = event.pk
                new += batch
                if len(batch) < READ_LIMIT:
                    break
        if new:
            orders = {e.order_id for e in new}
            kitchen = any(_concerns(e, None) for e in new)
            for signal, wanted in list(self.waiters.items()):
                if kitchen if wanted is None else wanted in orders:
                    signal.set()

    def wake_all(self) -> None:
        for signal in list(self.waiters):
            signal.set()

    async def _run(self) -> None:
        url = redis_url()
        while self.waiters:
            try:
                await self.refresh()
                if url:
                    await self._listen(url)
                else:
                    await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # a lost Redis or database: let the streams read, retry
                log.warning("order event waker failed; retrying", exc_info=True)
                self.floor = None
                self.recent.clear()
                self.wake_all()
                await asyncio.sleep(POLL_SECONDS)

    async def _listen(self, url: str) -> None:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            await self.refresh()  # anything committed before the subscription took
            looked = time.monotonic()
            while self.waiters:
                message = await pubsub.get_message(timeout=POLL_SECONDS)
                # A lost message (Redis restarted, a publish that failed) costs at most a
                # heartbeat's delay: the table is looked at then anyway.
                if message is not None or time.monotonic() - looked >= HEARTBEAT_SECONDS:
                    await self.refresh()
                    looked = time.monotonic()
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _poll(self) -> None:
        while self.waiters:
            await asyncio.sleep(POLL_SECONDS)
            await self.refresh()


def _concerns(event: OrderEvent, order_id: int | None) -> bool:
    return event.order_id == order_id if order_id is not None else event.type in KITCHEN_TYPES


_wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Waker] = weakref.WeakKeyDictionary()


def waker() -> Waker:
    loop = asyncio.get_running_loop()
    if loop not in _wakers:
        _wakers[loop] = Waker()
    return _wakers[loop]


# --- the streams ------------------------------------------------------------------------

Render = Callable[[OrderEvent], bytes]


def _rendered(event: OrderEvent, render: Render) -> bytes:
    """Rendered once, however many streams send it."""
    frame_bytes = event.__dict__.get("_sse_frame")
    if frame_bytes is None:
        frame_bytes = event.__dict__["_sse_frame"] = render(event)
    return frame_bytes


async def astream(
    *, order_id: int | None, after: int, render: Render, closed: bool = False
) -> AsyncIterator[bytes]:
    """An order's (or the kitchen's) events after `after`, then each new one as it is
    committed; a heartbeat comment when quiet; ends after a terminal status (orders only),
    or at once after the catch-up when the order was `closed` already."""
    read = _on_pool(events_after)
    wake = waker()
    signal = wake.register(order_id)
    try:
        yield PREAMBLE
        quiet_since = time.monotonic()
        events = await read(order_id=order_id, after=after)  # the catch-up
        while True:
            for event in events:
                yield _rendered(event, render)
                after = event.pk
                quiet_since = time.monotonic()
                if order_id is not None and order_is_closed(event):
                    return
            if len(events) == READ_LIMIT:
                events = await read(order_id=order_id, after=after)
                continue
            if closed:
                return
            timeout = max(0.0, quiet_since + HEARTBEAT_SECONDS - time.monotonic())
            try:
                await asyncio.wait_for(signal.wait(), timeout)
            except TimeoutError:
                yield HEARTBEAT
                quiet_since = time.monotonic()
            signal.clear()
            events = wake.since(order_id=order_id, after=after)
            if events is None:
                events = await read(order_id=order_id, after=after)
    finally:
        wake.unregister(signal)


def stream(*, order_id: int | None, after: int, render: Render, closed: bool = False) -> Iterator[bytes]:
    """The same under WSGI (runserver): reads the table every POLL_SECONDS on this thread.
    Ends after WSGI_STREAM_SECONDS, inside gunicorn's worker timeout: the client reconnects
    with Last-Event-ID and misses nothing, and a stream that reached a WSGI server in
    production (not routed to uvicorn) cannot hold a worker for good."""
    yield PREAMBLE
    quiet_since = time.monotonic()
    ends = quiet_since + WSGI_STREAM_SECONDS
    while time.monotonic() < ends:
        events = events_after(order_id=order_id, after=after)
        for event in events:
            yield render(event)
            after = event.pk
            quiet_since = time.monotonic()
            if order_id is not None and order_is_closed(event):
                return
        if len(events) == READ_LIMIT:
            continue
        if closed:
            return
        if time.monotonic() - quiet_since >= WSGI_HEARTBEAT_SECONDS:
            yield HEARTBEAT
            quiet_since = time.monotonic()
        if not connection.in_atomic_block:
            # Hold no database connection while waiting (a client gone away is noticed only at
            # the next write, up to a heartbeat later).
            connection.close()
        time.sleep(POLL_SECONDS)
