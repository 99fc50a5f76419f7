"""The tasks on a real broker and real workers: a redis-server and `celery worker`
processes started here, on the test database (PostgreSQL: the workers must see what the
test committed, and races need real row locks). Skipped when redis-server is missing."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Product, StockMovement, StockReason
from catalog.stock import stock_audit
from catalog.tests.factories import BundleFactory, ProductFactory
from config.tasks import enqueue
from invoices.tasks import send_receipt
from invoices.tests.factories import pay
from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.factories import place_order
from payments.tasks import expire_due_orders

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

S = OrderStatus
BASE_DIR = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).with_name("celery"))
REDIS_SERVER = shutil.which("redis-server")
START_TIMEOUT = 60
TASK_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A redis-server of our own on a free port, nothing saved to disk."""
    if REDIS_SERVER is None:
        why = "redis-server is not on PATH: the broker-backed tests need it (Debian: redis-server)"
        if os.environ.get("REQUIRE_REDIS_SERVER"):  # CI: never pass by skipping these
            pytest.fail(why)
        pytest.skip(why)
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(up, timeout=START_TIMEOUT, what="redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def worker_database_url() -> str:
    """The database this test runs on (pytest-django's test_<name>), as a DATABASE_URL."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish

    def wait_stopped(self) -> None:
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def start_worker(redis_url, use_broker, mail_dir, tmp_path) -> Iterator[Callable[..., Worker]]:
    """`start_worker(name, **env)`: a `celery worker` process on the test database, the
    test broker and the tests' queue (CELERY_TASK_DEFAULT_QUEUE, pytest.ini), sending mail
    to files in `mail_dir`. This process publishes to the same broker. All are stopped at
    the end of the test."""
    redis.Redis.from_url(redis_url).flushdb()  # our own server: nothing left from a test before
    use_broker(redis_url)
    workers: list[Worker] = []

    def start(name: str = "w1", *, concurrency: int = 2, beat: bool = False, **env: str) -> Worker:
        log = tmp_path / f"{name}.log"
        command = [
            CELERY,
            "-A",
            "config",
            "worker",
            f"--hostname={name}@%h",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--loglevel=INFO",
            f"--queues={settings.CELERY_TASK_DEFAULT_QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if beat:
            command += ["--beat", f"--schedule={tmp_path / f'{name}-beat'}"]
        process_env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": redis_url,
            "EMAIL_URL": f"filemail:///{mail_dir}",
            **env,
        }
        with log.open("w") as out:
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=process_env, stdout=out, stderr=subprocess.STDOUT
            )
        worker = Worker(process, log)
        workers.append(worker)
        wait_for(
            lambda: " ready." in worker.text() or process.poll() is not None,
            timeout=START_TIMEOUT,
            what=f"worker {name} to start",
            log=log,
        )
        assert process.poll() is None, f"worker {name} exited:\n{worker.text()[-4000:]}"
        return worker

    yield start
    for worker in workers:
        worker.stop()
    for worker in workers:
        worker.wait_stopped()


def succeeded(worker: Worker, task: str) -> list[str]:
    """The return values logged for each run of `task` that finished."""
    return re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [0-9.e-]+s: (\S+)", worker.text())


def settle(order: Order, *, receipts: int = 1) -> None:
    """Settle through the payments flow; `receipts` above 1 delivers the receipt task again."""
    with transaction.atomic():
        pay(order)  # order_settle: its PDF and receipt tasks are published after the commit
        for _ in range(receipts - 1):
            enqueue(send_receipt, order.pk)


def test_a_settlement_enqueued_twice_sends_one_receipt(start_worker, mail_dir):
    worker = start_worker("receipts", concurrency=2)
    product = ProductFactory(name="Nasi Goreng", stock=10, price=25_000)
    order = place_order(user=UserFactory(), items=[(product, 2)])

    settle(order, receipts=2)  # two copies of the task, published after the commit

    results = wait_for(
        lambda: (
            len(succeeded(worker, "invoices.tasks.send_receipt")) == 2
            and succeeded(worker, "invoices.tasks.send_receipt")
        ),
        timeout=TASK_TIMEOUT,
        what="both receipt tasks",
        log=worker.log,
    )
    assert sorted(results) == ["False", "True"]
    [mail_file] = list(mail_dir.iterdir())
    content = mail_file.read_text()
    assert f"Subject: Foodies receipt for order {order.number}" in content
    assert "2 x Nasi Goreng @ Rp 25.000 = Rp 50.000" in content
    order.refresh_from_db()
    assert order.receipt_sent_at is not None
    assert order.receipt_claimed_at is None
    assert order.events.filter(type=OrderEvent.Type.RECEIPT_SENT).count() == 1


def test_expiry_from_two_workers_at_once_releases_stock_once(start_worker):
    workers = [start_worker("expiry-a", concurrency=1), start_worker("expiry-b", concurrency=1)]
    rice = ProductFactory(stock=100)
    tea = ProductFactory(stock=100)
    combo = BundleFactory(components=[(rice, 1), (tea, 2)])
    orders = []
    for index in range(30):
        items = [(rice, 1), (combo, 1)] if index % 2 else [(tea, 2)]
        orders.append(place_order(user=UserFactory(), items=items))
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Product.objects.get(pk=rice.pk).stock == 70
    assert Product.objects.get(pk=tea.pk).stock == 40

    with transaction.atomic():
        for _ in range(4):  # beat overlapping a slow run, and a redelivery on top
            enqueue(expire_due_orders)

    def finished() -> list[str]:
        runs = [
            value for worker in workers for value in succeeded(worker, "payments.tasks.expire_due_orders")
        ]
        return runs if len(runs) == 4 else []

    runs = wait_for(finished, timeout=TASK_TIMEOUT, what="four expiry runs", log=workers[0].log)
    assert sum(int(value) for value in runs) == 30
    assert all(succeeded(worker, "payments.tasks.expire_due_orders") for worker in workers)
    assert set(Order.objects.values_list("status", flat=True)) == {S.EXPIRED}
    assert OrderEvent.objects.filter(to_status=S.EXPIRED).count() == 30
    assert Product.objects.get(pk=rice.pk).stock == 100
    assert Product.objects.get(pk=tea.pk).stock == 100
    releases = StockMovement.objects.filter(reason=StockReason.RELEASE_EXPIRE)
    assert releases.count() == 15 * 2 + 15  # odd orders: rice and tea rows; even: tea
    assert stock_audit() == []


def test_a_receipt_that_keeps_failing_is_retried_then_left_unsent(start_worker, mail_dir):
    worker = start_worker(
        "smtp-down",
        EMAIL_URL=f"smtp://127.0.0.1:{free_port()}",  # nothing listens: connection refused
        RECEIPT_MAX_RETRIES="2",
        RECEIPT_RETRY_MAX_SECONDS="1",
    )
    order = place_order(user=UserFactory(), items=[(ProductFactory(stock=5), 1)])

    settle(order)

    wait_for(
        lambda: "Task invoices.tasks.send_receipt failed on order" in worker.text(),
        timeout=TASK_TIMEOUT,
        what="the receipt task to give up",
        log=worker.log,
    )
    log = worker.text()
    assert len(re.findall(r"Task invoices\.tasks\.send_receipt\[[^\]]+\] retry: Retry in", log)) == 2
    assert f"failed on order {order.number} (id {order.pk}) (after 2 retries" in log
    assert "ConnectionRefusedError" in log
    assert list(mail_dir.iterdir()) == []
    order.refresh_from_db()
    assert (order.status, order.receipt_sent_at, order.receipt_claimed_at) == (S.PAID, None, None)
    assert not order.events.filter(type=OrderEvent.Type.RECEIPT_SENT).exists()


def test_beat_in_the_worker_runs_the_periodic_jobs(start_worker, mail_dir):
    product = ProductFactory(stock=10)
    due = place_order(user=UserFactory(), items=[(product, 3)])
    Order.objects.filter(pk=due.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    lost = place_order(user=UserFactory(), items=[(product, 1)])
    with transaction.atomic():  # paid, but its receipt task was lost
        services.order_transition(
            order=services.order_lock(order_id=lost.pk), to_status=S.PAID, actor=services.GATEWAY
        )
    Order.objects.filter(pk=lost.pk).update(paid_at=timezone.now() - timedelta(minutes=5))

    start_worker(
        "all-in-one",
        beat=True,
        SCHEDULE_EXPIRE_ORDERS_SECONDS="1",
        SCHEDULE_SEND_DUE_RECEIPTS_SECONDS="1",
    )

    def done() -> bool:
        statuses = dict(Order.objects.values_list("pk", "status"))
        # The file-based mail backend creates the file before it writes the message into it.
        return statuses[due.pk] == S.EXPIRED and any(f.stat().st_size for f in mail_dir.iterdir())

    wait_for(done, timeout=TASK_TIMEOUT, what="beat to expire the order and send the lost receipt")
    assert Product.objects.get(pk=product.pk).stock == 9
    [mail_file] = list(mail_dir.iterdir())
    assert f"receipt for order {lost.number}" in mail_file.read_text()


def test_a_request_id_follows_checkout_to_receipt_into_the_worker_logs(start_worker, mail_dir, settings):
    """One checkout-to-receipt flow with LOG_FORMAT=json: the web process's line for the
    payment request and the worker's lines for the receipt it enqueued carry the same id."""
    import io
    import json
    import logging

    from config.logs import JsonFormatter, RequestIdFilter
    from conftest import bearer_client

    worker = start_worker("ids", LOG_FORMAT="json")
    settings.PAYMENT_GATEWAY = "mock"
    settings.PUBLIC_BASE_URL = "http://testserver"
    web_log = io.StringIO()
    handler = logging.StreamHandler(web_log)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logging.getLogger("foodies.request").addHandler(handler)
    try:
        shopper = bearer_client(UserFactory())
        product = ProductFactory(name="Nasi Goreng", stock=10, price=25_000)
        shopper.post("/api/v1/cart/items/", {"product": product.slug, "quantity": 1})
        placed = shopper.post("/api/v1/orders/", {}, HTTP_X_REQUEST_ID="flow-checkout-1")
        assert placed["X-Request-ID"] == "flow-checkout-1"
        paid = shopper.post(
            f"/api/v1/payments/mock/{placed.json()['payment']['token']}/",
            {"transaction_status": "settlement"},
            HTTP_X_REQUEST_ID="flow-pay-1",
        )
        assert (paid.status_code, paid["X-Request-ID"]) == (200, "flow-pay-1")
    finally:
        logging.getLogger("foodies.request").removeHandler(handler)

    web = [json.loads(line) for line in web_log.getvalue().splitlines()]
    assert [
        (w["request_id"], w["method"], w["status"]) for w in web if w["request_id"].startswith("flow-")
    ] == [
        ("flow-checkout-1", "POST", 201),
        ("flow-pay-1", "POST", 200),
    ]

    def receipt_lines() -> list[dict]:
        lines = [json.loads(line) for line in worker.text().splitlines() if line.startswith("{")]
        return [
            line
            for line in lines
            if line.get("task") == "invoices.tasks.send_receipt"
            and line["message"].endswith("finished: SUCCESS")
        ] and lines

    lines = wait_for(receipt_lines, timeout=TASK_TIMEOUT, what="the receipt task", log=worker.log)
    receipt = [line for line in lines if line.get("task") == "invoices.tasks.send_receipt"]
    assert [(line["message"], line["request_id"]) for line in receipt] == [
        ("Task invoices.tasks.send_receipt started", "flow-pay-1"),
        ("Task invoices.tasks.send_receipt finished: SUCCESS", "flow-pay-1"),
    ]
    assert receipt[0]["task_id"] == receipt[1]["task_id"] != "-"
    assert len(list(mail_dir.iterdir())) == 1


class SlowSmtp:
    """A minimal SMTP server on a free port that waits two seconds before greeting: a
    receipt being sent is a task in flight for that long."""

    def __init__(self) -> None:
        import socketserver

        self.connected = threading.Event()
        self.messages: list[bytes] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer.connected.set()
                time.sleep(2)
                self.wfile.write(b"220 slow.test ESMTP\r\n")
                data = None
                for raw in self.rfile:
                    if data is not None:
                        if raw == b".\r\n":
                            outer.messages.append(b"".join(data))
                            data = None
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            data.append(raw)
                        continue
                    verb = raw[:4].upper()
                    if verb == b"DATA":
                        data = []
                        self.wfile.write(b"354 go on\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_sigterm_lets_the_running_task_finish(start_worker):
    """Warm shutdown: SIGTERM while a receipt is being sent; the send completes, is recorded,
    and the worker exits afterwards."""
    smtp = SlowSmtp()
    try:
        worker = start_worker("graceful", concurrency=1, EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}")
        product = ProductFactory(name="Nasi Goreng", stock=10, price=25_000)
        order = place_order(user=UserFactory(), items=[(product, 1)])
        settle(order)
        assert smtp.connected.wait(TASK_TIMEOUT), worker.text()[-3000:]
        worker.stop()  # SIGTERM mid-send
        worker.wait_stopped()
        assert worker.process.returncode == 0, worker.text()[-3000:]
    finally:
        smtp.stop()
    assert len(smtp.messages) == 1
    assert f"Subject: Foodies receipt for order {order.number}".encode() in smtp.messages[0]
    order.refresh_from_db()
    assert order.receipt_sent_at is not None
    assert succeeded(worker, "invoices.tasks.send_receipt") == ["True"]
