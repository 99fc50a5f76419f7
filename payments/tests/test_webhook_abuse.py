"""Issue 24, items 3 and 8: the webhook is open to anyone, so what an unsigned caller can
make it store, read and log is bounded; old notifications that belong to no payment are
purged."""

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.utils import timezone

from payments.api.throttling import WebhookRejectedThrottle
from payments.api.views import body_read_limited
from payments.models import PaymentNotification
from payments.services.opening import payment_open
from payments.services.webhook import RAW_BODY_PREFIX_BYTES, notifications_purge
from payments.tests.conftest import WEBHOOK, database_state, deliver, notification, post_notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(midtrans, order):
    return payment_open(order=order)


def forged(payment, *, padding: int) -> bytes:
    """A well-formed notification with a wrong signature, padded with `padding` bytes."""
    body = {**notification("doc_bca_va_settlement", payment=payment), "signature_key": "0" * 128}
    return json.dumps({**body, "padding": "x" * padding}).encode()


def stored_bytes() -> int:
    """What the notification rows hold of request bodies: raw text plus parsed payload."""
    return sum(
        len(row.raw_body.encode()) + (len(json.dumps(row.payload)) if row.payload is not None else 0)
        for row in PaymentNotification.objects.all()
    )


def test_big_unsigned_bodies_are_kept_as_bounded_digests(api_client, midtrans, payment):
    """Issue 24, item 3: ten anonymous requests grew the table from 96 kB to 48 MB in 1.3 s:
    each 2.5 MB body was stored twice (raw and parsed) before the signature check.
    Reproduction: `POST /api/v1/payments/midtrans/notification/` ten times with a 60 kB
    body and a wrong signature_key. Now each row keeps size, SHA-256 and the first 1 kB."""
    bodies = [forged(payment, padding=60_000 + n) for n in range(10)]
    for body in bodies:
        response = post_notification(api_client, body)
        assert response.status_code == 403
    rows = list(PaymentNotification.objects.order_by("id"))
    assert [(r.body_size, r.body_sha256, r.raw_body, r.payload) for r in rows] == [
        (len(b), hashlib.sha256(b).hexdigest(), b[:RAW_BODY_PREFIX_BYTES].decode(), None) for b in bodies
    ]
    assert stored_bytes() == 10 * RAW_BODY_PREFIX_BYTES  # was 2 x 600 kB


def test_a_signed_notification_keeps_its_body_whole(api_client, midtrans, order, payment):
    body = notification("doc_bca_va_settlement", payment=payment)
    body["custom_field1"] = "y" * 3000  # a body longer than the prefix kept for unsigned ones
    response = deliver(api_client, midtrans, body)
    assert response.status_code == 200
    [row] = PaymentNotification.objects.all()
    raw = json.dumps(body).encode()
    assert (row.raw_body, row.payload, row.body_size, row.body_sha256, row.signature_valid) == (
        raw.decode(),
        body,
        len(raw),
        hashlib.sha256(raw).hexdigest(),
        True,
    )


def test_a_body_over_the_limit_is_413_and_stores_nothing(settings, api_client, midtrans, payment):
    before = database_state()
    body = forged(payment, padding=settings.WEBHOOK_MAX_BODY_BYTES)
    response = post_notification(api_client, body)
    assert (response.status_code, response.json()) == (
        413,
        {
            "status": "rejected",
            "detail": f"The body is larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes.",
            "code": "request_too_large",
        },
    )
    assert database_state() == before


def test_a_body_at_the_limit_is_read(settings, api_client, midtrans, payment):
    body = forged(payment, padding=0)
    body = body[:-1] + b" " * (settings.WEBHOOK_MAX_BODY_BYTES - len(body)) + b"}"
    assert len(body) == settings.WEBHOOK_MAX_BODY_BYTES
    response = post_notification(api_client, body)
    assert response.status_code == 403
    [row] = PaymentNotification.objects.all()
    assert row.body_size == settings.WEBHOOK_MAX_BODY_BYTES


class CountingStream(io.RawIOBase):
    """An endless body (a chunked upload that never ends) that counts what is read of it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"x" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def test_without_content_length_at_most_limit_plus_one_bytes_are_read():
    """A chunked body has no Content-Length (on ASGI Django hands the view a stream)."""
    stream = CountingStream()
    scope = {"type": "http", "method": "POST", "path": WEBHOOK, "headers": [], "query_string": b""}
    request = ASGIRequest(scope, io.BufferedReader(stream, buffer_size=1024))
    assert body_read_limited(request, limit=64 * 1024) is None
    assert stream.read_bytes <= 64 * 1024 + 1024  # limit + 1, rounded up to the read buffer


def test_a_declared_content_length_over_the_limit_is_refused_unread():
    stream = CountingStream()
    scope = {
        "type": "http",
        "method": "POST",
        "path": WEBHOOK,
        "headers": [(b"content-length", b"65537")],
        "query_string": b"",
    }
    request = ASGIRequest(scope, io.BufferedReader(stream))
    assert body_read_limited(request, limit=64 * 1024) is None
    assert stream.read_bytes == 0


def test_deeply_nested_json_is_400_not_500(api_client, midtrans, payment):
    """Issue 24, item 8: `POST …/notification/` with `[[[[…]]]]` 30 000 levels deep was a
    500 (RecursionError in payments/services.py)."""
    before = database_state(exclude=("payments.PaymentNotification",))
    for body in (b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 33 + b"1" + b"}" * 33):
        response = post_notification(api_client, body)
        assert (response.status_code, response.json()) == (
            400,
            {"status": "rejected", "detail": "The body nests more than 32 levels deep."},
        )
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    assert list(PaymentNotification.objects.values_list("outcome", "http_status", "payload")) == [
        ("rejected", 400, None),
        ("rejected", 400, None),
    ]


def test_refused_calls_are_throttled_per_client_address(monkeypatch, api_client, midtrans, order, payment):
    monkeypatch.setitem(WebhookRejectedThrottle.THROTTLE_RATES, "webhook_rejected", "3/min")
    bad = forged(payment, padding=10)
    statuses = [
        post_notification(api_client, bad).status_code,
        post_notification(api_client, b"not json").status_code,
        post_notification(api_client, b"x" * (64 * 1024 + 1)).status_code,
    ]
    assert statuses == [403, 400, 413]
    stored = PaymentNotification.objects.count()

    throttled = post_notification(api_client, bad)
    assert (throttled.status_code, throttled.json()["code"]) == (429, "throttled")
    assert PaymentNotification.objects.count() == stored  # refused before anything is stored

    # Another address still gets through, and so does the gateway from its own address.
    api_client.defaults["REMOTE_ADDR"] = "203.0.113.9"
    assert post_notification(api_client, bad).status_code == 403
    response = deliver(api_client, midtrans, notification("doc_bca_va_settlement", payment=payment))
    assert response.status_code == 200


def test_signed_notifications_cost_no_budget(monkeypatch, api_client, midtrans, order, payment):
    monkeypatch.setitem(WebhookRejectedThrottle.THROTTLE_RATES, "webhook_rejected", "1/min")
    body = notification("doc_bca_va_settlement", payment=payment)
    for _ in range(3):  # repeats are 200 and free
        assert deliver(api_client, midtrans, body).status_code == 200
    assert post_notification(api_client, b"not json").status_code == 400


def test_purge_deletes_old_rows_tied_to_no_payment(settings, api_client, midtrans, order, payment):
    settings.WEBHOOK_RETENTION_DAYS = 90
    now = timezone.now()
    deliver(api_client, midtrans, notification("doc_bca_va_settlement", payment=payment))
    post_notification(api_client, b"not json")
    post_notification(api_client, b"not json either")
    signed_row, old_junk, new_junk = PaymentNotification.objects.order_by("id")
    assert signed_row.payment_id == payment.pk
    PaymentNotification.objects.filter(pk__in=[signed_row.pk, old_junk.pk]).update(
        received_at=now - timedelta(days=91)
    )
    PaymentNotification.objects.filter(pk=new_junk.pk).update(received_at=now - timedelta(days=89))

    assert notifications_purge(now=now) == 1
    assert sorted(PaymentNotification.objects.values_list("pk", flat=True)) == [signed_row.pk, new_junk.pk]
    assert notifications_purge(now=now) == 0


def test_purge_runs_from_beat(settings):
    assert (
        settings.CELERY_BEAT_SCHEDULE["purge-notifications"]["task"] == "payments.tasks.purge_notifications"
    )
    from payments.tasks import purge_notifications

    PaymentNotification.objects.create(raw_body="x", received_at=timezone.now() - timedelta(days=365))
    assert purge_notifications() == 1
    assert not PaymentNotification.objects.exists()


@pytest.mark.postgres_only
def test_table_growth_for_big_unsigned_bodies_is_small(api_client, midtrans, payment):
    """The issue's measurement: ten near-limit forged bodies grow the table by kilobytes."""
    with connection.cursor() as cursor:
        cursor.execute("select pg_total_relation_size('payments_paymentnotification')")
        [[before]] = cursor.fetchall()
        for n in range(10):
            post_notification(api_client, forged(payment, padding=64_000 + n))
        cursor.execute("select pg_total_relation_size('payments_paymentnotification')")
        [[after]] = cursor.fetchall()
    assert after - before < 200 * 1024
