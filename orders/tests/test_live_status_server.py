"""Live order status over real servers (issue 20): uvicorn processes on free ports of
127.0.0.1 serving config/asgi.py on the test database, with a redis-server of our own for the
fan-out (orders/tests/test_worker.py starts it) or without one (the table poll). Everything
started here is stopped here.

SSE framing per the WHATWG HTML standard, "Server-sent events"; the 200-stream test prints
the uvicorn process's RSS and threads before and after the streams open."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.db import transaction
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from orders import services
from orders.models import OrderStatus
from orders.tests.factories import place_order
from orders.tests.test_worker import free_port, redis_url, wait_for, worker_database_url  # noqa: F401

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
S = OrderStatus
BASE_DIR = Path(settings.BASE_DIR)
STREAMS = 200


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    log: Path

    def proc(self, field: str) -> int:
        """A number from /proc/<pid>/status (VmRSS in kB, Threads)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(field)


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[..., Server]]:
    """`serve(name, redis=None)`: a uvicorn process on config/asgi.py and the test database."""
    servers: list[Server] = []

    def start(name: str, *, redis: str | None = None) -> Server:
        port = free_port()
        log = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "CACHE_URL": redis or "locmemcache://live",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--no-access-log", "--log-level", "warning", "--lifespan", "off"]
        with log.open("w") as out:
            process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        server = Server(process, f"http://127.0.0.1:{port}", log)
        servers.append(server)

        def up() -> bool:
            assert process.poll() is None, log.read_text()[-4000:]
            try:
                return httpx.get(f"{server.base}/api/v1/health/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60, what=f"uvicorn {name}", log=log)
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGINT)
    for server in servers:
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.fixture
def paid_order():
    shopper = UserFactory(email="ani@example.com")
    order = place_order(user=shopper, items=[(ProductFactory(slug="nasi", stock=10, price=20_000), 1)])
    with transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=S.PAID, actor=services.GATEWAY
        )
    return order, shopper


def events(lines: Iterator[str]) -> Iterator[dict]:
    """Each event's data from a stream's lines (comments and the retry field skipped)."""
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


@pytest.mark.parametrize("fan_out", ["redis", "poll"])
def test_a_shoppers_open_stream_shows_preparing_and_ready_as_staff_press_the_buttons(
    serve, paid_order, fan_out, request
):
    """The stream is open on one instance, staff press the buttons on another."""
    url = request.getfixturevalue("redis_url") if fan_out == "redis" else None
    if url:
        redis.Redis.from_url(url).flushdb()
    shop_a, shop_b = serve("a", redis=url), serve("b", redis=url)
    order, shopper = paid_order
    staff = bearer(UserFactory(is_staff=True, is_superuser=True))
    bound = 1.0 if url else 2.0  # the poll looks once a second

    with httpx.Client(timeout=10) as client:
        stream_url = f"{shop_a.base}/api/v1/orders/{order.number}/events/"
        headers = {**bearer(shopper), "Accept": "text/event-stream"}
        with client.stream("GET", stream_url, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            seen = events(response.iter_lines())
            assert [next(seen)["to_status"] for _ in range(2)] == ["pending_payment", "paid"]
            for status in ("preparing", "ready", "completed"):
                pressed = time.monotonic()
                answer = client.post(
                    f"{shop_b.base}/api/v1/orders/{order.number}/status/",
                    json={"status": status},
                    headers=staff,
                )
                assert answer.status_code == 200, answer.text
                # (the ready e-mail's event may come between: the stream carries every event)
                event = next(e for e in seen if e["type"] == "status_changed")
                assert event["to_status"] == status
                assert time.monotonic() - pressed < bound
            # completed is terminal: the server ends the stream
            assert list(seen) == []


async def open_streams(base: str, path: str, headers: dict, count: int, opened: asyncio.Event, target: str):
    """`count` streams; each reports when it has caught up (its first event) and the monotonic
    time it saw an event with `to_status == target`."""
    caught_up = 0
    arrivals: list[float] = []
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(60)) as client:

        async def one() -> None:
            nonlocal caught_up
            async with client.stream("GET", path, headers=headers) as response:
                assert response.status_code == 200
                first = True
                async for line in response.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    if first:
                        first = False
                        caught_up += 1
                        if caught_up == count:
                            opened.set()
                    if json.loads(line.removeprefix("data: "))["to_status"] == target:
                        arrivals.append(time.monotonic())
                        return

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), 120)
    return arrivals


def test_200_open_streams_on_one_uvicorn_all_see_a_status_change_within_a_second(
    serve,
    paid_order,
    redis_url,  # noqa: F811
):
    redis.Redis.from_url(redis_url).flushdb()
    server = serve("one", redis=redis_url)
    order, shopper = paid_order
    staff = bearer(UserFactory(is_staff=True, is_superuser=True))
    headers = {**bearer(shopper), "Accept": "text/event-stream"}
    path = f"/api/v1/orders/{order.number}/events/"
    rss_before, threads_before = server.proc("VmRSS"), server.proc("Threads")
    measured: dict[str, float] = {}

    async def scenario() -> list[float]:
        opened = asyncio.Event()
        streams = asyncio.create_task(open_streams(server.base, path, headers, STREAMS, opened, "preparing"))
        await asyncio.wait_for(opened.wait(), 120)
        await asyncio.sleep(1)  # settled: every stream is waiting
        measured["rss_open"], measured["threads_open"] = server.proc("VmRSS"), server.proc("Threads")
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            measured["pressed"] = time.monotonic()
            answer = await client.post(
                f"/api/v1/orders/{order.number}/status/", json={"status": "preparing"}, headers=staff
            )
            assert answer.status_code == 200, answer.text
        return await streams

    arrivals = asyncio.run(scenario())

    assert len(arrivals) == STREAMS
    slowest = max(arrivals) - measured["pressed"]
    per_stream_kb = (measured["rss_open"] - rss_before) / STREAMS
    print(
        f"\n{STREAMS} streams on one uvicorn: RSS {rss_before} kB -> {measured['rss_open']:.0f} kB "
        f"({per_stream_kb:.1f} kB per open stream), threads {threads_before} -> {measured['threads_open']:.0f}; "
        f"the status change reached all in {slowest * 1000:.0f} ms (median "
        f"{sorted(arrivals)[STREAMS // 2] - measured['pressed']:.3f} s)"
    )
    assert slowest < 1.0
    # No thread per open stream (config/asgi.py): the pool's few, whatever the count.
    assert measured["threads_open"] - threads_before < 20
