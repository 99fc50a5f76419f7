"""The Celery app's configuration and `enqueue`, the one way code starts background work."""

import logging
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from config.celery import app, broker_configured
from config.tasks import enqueue
from invoices.tasks import send_receipt
from orders.models import IdempotencyKey
from orders.tasks import purge_idempotency_keys

BASE_DIR = Path(settings.BASE_DIR)


def test_every_scheduled_job_names_a_registered_task():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {name: entry["task"] for name, entry in schedule.items()} == {
        "expire-due-orders": "payments.tasks.expire_due_orders",
        "reconcile-payments": "payments.tasks.reconcile_payments",
        "switch-due-prices": "catalog.tasks.switch_due_prices",
        "send-due-receipts": "invoices.tasks.send_due_receipts",
        "send-due-status-emails": "orders.tasks.send_due_status_emails",
        "purge-idempotency-keys": "orders.tasks.purge_idempotency_keys",
        "make-pickup-slots": "orders.tasks.make_pickup_slots",
        "purge-notifications": "payments.tasks.purge_notifications",
    }
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks)
    assert schedule["expire-due-orders"]["schedule"] == 60.0
    assert schedule["purge-idempotency-keys"]["schedule"] == 86400.0
    assert schedule["make-pickup-slots"]["schedule"] == 3600.0
    # A run that waited longer than its interval is dropped: the next one does its work.
    assert all(entry["options"]["expires"] == entry["schedule"] for entry in schedule.values())


def test_the_app_settings_that_make_tasks_safe():
    conf = app.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost) == (True, True)
    assert (conf.worker_prefetch_multiplier, conf.task_ignore_result, conf.result_backend) == (1, True, None)
    assert (conf.task_serializer, conf.accept_content) == ("json", ["json"])
    assert conf.task_default_queue == "foodies-tests"  # pytest.ini; `foodies` by default
    assert conf.timezone == "Asia/Jakarta"
    assert not broker_configured()  # the tests' default: no broker


@pytest.mark.django_db
def test_enqueue_runs_after_commit_and_never_after_a_rollback(django_capture_on_commit_callbacks):
    user = UserFactory()
    old = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)

    def old_key(name: str) -> IdempotencyKey:
        return IdempotencyKey.objects.create(user=user, key=name, request_hash="h", created_at=old)

    def change_then_fail():
        with transaction.atomic():
            old_key("rolled-back")
            enqueue(purge_idempotency_keys)
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            change_then_fail()
        kept = old_key("kept")
        with transaction.atomic():
            enqueue(purge_idempotency_keys)
            assert IdempotencyKey.objects.filter(pk=kept.pk).exists()  # not before the commit
    assert not IdempotencyKey.objects.exists()


def test_enqueue_refuses_arguments_a_broker_could_not_carry(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(TypeError):
        enqueue(send_receipt, object())
    assert callbacks == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_an_unreachable_broker_is_logged_and_the_caller_goes_on(
    use_broker, caplog, django_capture_on_commit_callbacks
):
    use_broker(f"redis://127.0.0.1:{closed_port()}/0")
    assert broker_configured()
    started = time.monotonic()
    with (
        caplog.at_level(logging.ERROR, logger="foodies.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        enqueue(send_receipt, 42)
    assert time.monotonic() - started < 30
    [record] = caplog.records
    assert (
        record.getMessage()
        == "Could not publish invoices.tasks.send_receipt (args=(42,) kwargs={}) to the broker"
    )
    assert record.exc_info is not None


def test_a_worker_without_a_broker_refuses_to_start():
    env = {**os.environ, "CELERY_BROKER_URL": ""}
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CELERY_BROKER_URL is not set" in result.stdout + result.stderr
