"""SIGTERM to a real gunicorn in the middle of a checkout: the request in flight finishes
(its order placed and its payment attempt stored, answered 201) before the process exits;
nothing is left half done. The harness waits on ready/, as a load balancer does."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from config.tests.s3server import free_port
from conftest import bearer_client
from orders.models import Order
from orders.tests.test_worker import worker_database_url
from payments.models import Payment
from payments.tests.midtrans_server import FakeMidtrans, FakeMidtransServer

BASE_DIR = Path(__file__).resolve().parent.parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SERVER_KEY = "SB-Mid-server-graceful-1"


class SlowSnap(FakeMidtrans):
    """Snap that takes two seconds, and says when a request has reached it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.arrived = threading.Event()

    def _snap(self, handler, body):
        self.arrived.set()
        time.sleep(2)
        return super()._snap(handler, body)


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited before it was ready"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ready/", timeout=3) as answer:
                return json.load(answer)
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn never became ready")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_sigterm_mid_checkout_lets_the_checkout_finish(user, tmp_path):
    fake = SlowSnap(server_key=SERVER_KEY)
    midtrans = FakeMidtransServer(fake)
    midtrans.start()
    product = ProductFactory(stock=5, price=25_000)
    shopper = bearer_client(user)
    assert shopper.post("/api/v1/cart/items/", {"product": product.slug, "quantity": 2}).status_code == 201

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "SECRET_KEY": "test-only-secret-key-not-for-production-use",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CELERY_BROKER_URL": "",
        "PRIVATE_ROOT": str(tmp_path / "private"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PAYMENT_GATEWAY": "midtrans",
        "MIDTRANS_SERVER_KEY": SERVER_KEY,
        "MIDTRANS_SNAP_BASE_URL": f"{fake.base_url}/snap/v1",
        "MIDTRANS_API_BASE_URL": fake.base_url,
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [GUNICORN, "config.wsgi:application", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "2"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert wait_ready(port, server)["status"] == "ok"
        answer: dict = {}

        def checkout() -> None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/orders/",
                data=b"{}",
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": shopper._credentials["HTTP_AUTHORIZATION"],
                },
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer.update(status=response.status, body=json.load(response))

        client = threading.Thread(target=checkout)
        client.start()
        assert fake.arrived.wait(20), "the checkout never reached the gateway"
        server.send_signal(signal.SIGTERM)  # the order is placed; its payment is being opened
        client.join(30)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        log.close()
        midtrans.stop()

    assert answer["status"] == 201, (tmp_path / "gunicorn.log").read_text()[-3000:]
    order = Order.objects.get()
    payment = Payment.objects.get()
    assert answer["body"]["number"] == order.number
    assert answer["body"]["payment"]["token"] == payment.token != ""
    assert (order.status, payment.order_id, payment.gateway_order_id) == (
        "pending_payment",
        order.pk,
        f"{order.number}-1",
    )
    assert Product.objects.get(pk=product.pk).stock == 3
