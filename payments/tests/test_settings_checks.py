"""Issue 24, items 1 and 9: payment settings that let a shopper pay nothing, or let a
forged status move money, are refused before anything serves (payments/checks.py), and a
notification acted on by its body alone must carry the status_code Midtrans sends with its
transaction_status."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from invoices.models import Invoice
from orders.models import Order
from payments.checks import check_payment_settings
from payments.gateways.base import NOTIFICATION_STATUS_CODES, notification_codes_agree
from payments.models import Payment, PaymentNotification
from payments.services.opening import payment_open
from payments.tests.conftest import database_state, notification, post_notification
from payments.tests.midtrans_server import SHARED

ROOT = Path(django_settings.BASE_DIR)


def ids() -> list[str]:
    return [message.id for message in check_payment_settings()]


# --- the checks --------------------------------------------------------------------------


def test_the_suite_runs_the_mock_because_pytest_ini_allows_it(settings):
    """pytest.ini sets DEBUG=false, PAYMENT_GATEWAY=mock and PAYMENT_MOCK_ALLOWED=true."""
    assert (settings.DEBUG, settings.PAYMENT_GATEWAY, settings.PAYMENT_MOCK_ALLOWED) == (False, "mock", True)
    assert ids() == []


def test_without_payment_mock_allowed_the_mock_is_a_check_error(settings):
    settings.PAYMENT_MOCK_ALLOWED = False
    assert ids() == ["payments.E002"]
    with pytest.raises(SystemCheckError, match=r"payments\.E002"):
        call_command("check")


def test_with_debug_the_mock_needs_no_permission(settings):
    settings.DEBUG = True
    settings.PAYMENT_MOCK_ALLOWED = False
    assert ids() == []


def test_the_mock_never_runs_against_production_midtrans(settings):
    settings.MIDTRANS_IS_PRODUCTION = True
    assert ids() == ["payments.E001"]
    settings.DEBUG = True
    assert ids() == ["payments.E001"]


def test_midtrans_without_its_server_key_is_a_check_error(settings):
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = ""
    assert ids() == ["payments.E003"]
    settings.MIDTRANS_SERVER_KEY = "SB-Mid-server-x"
    assert ids() == []


def test_acting_on_the_body_alone_is_refused_without_debug(settings):
    """Issue 24 item 9: with MIDTRANS_VERIFY_STATUS=false a genuine signed `settlement`
    notification replayed with `"transaction_status": "refund"` (status_code 200 fits both)
    refunded the order. No status_code check can tell those apart, so the mode is refused."""
    settings.MIDTRANS_VERIFY_STATUS = False
    assert ids() == ["payments.E004"]
    settings.DEBUG = True
    assert ids() == []


# --- a production start without a Midtrans key fails, with a clear message ---------------


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Production settings as an operator would give them, without a Midtrans key."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PAYMENT_", "MIDTRANS_", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # An empty value wins over a developer's .env.
        PAYMENT_GATEWAY="",
        MIDTRANS_SERVER_KEY="",
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_and_migrate_stop_without_a_midtrans_key(tmp_path):
    """Issue 24 item 1 (HIGH): with DEBUG=false and no Midtrans key the mock gateway ran,
    `check --deploy` reported nothing, and anyone paid an order for free:
        POST /api/v1/payments/mock/<token>/ {"transaction_status": "settlement"}  -> 200, paid
    Now the default gateway without DEBUG is Midtrans, and without its key nothing starts."""
    env = production_env(tmp_path)
    deploy = run(["manage.py", "check", "--deploy"], env)
    assert deploy.returncode == 1, deploy.stdout + deploy.stderr
    assert "payments.E003" in deploy.stderr
    assert "MIDTRANS_SERVER_KEY is not set" in deploy.stderr

    migrate = run(["manage.py", "migrate", "--noinput"], env)
    assert migrate.returncode == 1, migrate.stdout + migrate.stderr
    assert "payments.E003" in migrate.stderr
    # Refused before touching the database: not one table was created.
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone() == (0,)


def test_the_mock_without_debug_needs_payment_mock_allowed(tmp_path):
    refused = run(["manage.py", "check", "--deploy"], production_env(tmp_path, PAYMENT_GATEWAY="mock"))
    assert refused.returncode == 1
    assert "payments.E002" in refused.stderr
    assert "PAYMENT_MOCK_ALLOWED=true" in refused.stderr

    allowed = run(
        ["manage.py", "check"],
        production_env(tmp_path, PAYMENT_GATEWAY="mock", PAYMENT_MOCK_ALLOWED="true"),
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_gunicorn_refuses_to_serve_without_a_midtrans_key(tmp_path):
    """gunicorn runs no Django checks of its own: config/wsgi.py runs ours, so the worker
    cannot boot and gunicorn exits instead of serving the free mock gateway."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "config.wsgi:application", "--bind", "127.0.0.1:0", "--workers", "1"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Refusing to serve with these settings" in result.stderr
    assert "payments.E003" in result.stderr


@pytest.mark.django_db
def test_an_unallowed_mock_pays_nothing(settings, mock_gateway, order, api_client, client):
    """The attack of item 1 against a mock payment page opened earlier: with the mock no
    longer allowed (DEBUG off, no PAYMENT_MOCK_ALLOWED) its page and endpoint are 404s.
        POST /api/v1/payments/mock/<token>/ {"transaction_status": "settlement"}"""
    payment = payment_open(order=order)
    settings.PAYMENT_MOCK_ALLOWED = False
    response = api_client.post(
        f"/api/v1/payments/mock/{payment.token}/", {"transaction_status": "settlement"}
    )
    assert response.status_code == 404
    assert client.get(f"/payments/mock/{payment.token}/").status_code == 404
    assert Order.objects.get().status == "pending_payment"
    assert Payment.objects.get().status == "pending"
    assert Invoice.objects.count() == 0


# --- body-only mode: status_code against transaction_status --------------------------------


def test_every_published_notification_fits_the_status_code_table():
    """Every sample in /work/shared/midtrans/notifications (Midtrans's documentation and
    client libraries) carries the status_code the table expects for its transaction_status."""
    samples = sorted((SHARED / "notifications").glob("*.json"))
    assert len(samples) >= 30
    seen = set()
    for path in samples:
        body = json.loads(path.read_text())
        status = body["transaction_status"].lower()
        seen.add(status)
        assert NOTIFICATION_STATUS_CODES[status] == body["status_code"], path.name
        assert notification_codes_agree(transaction_status=status, status_code=body["status_code"])
    assert seen >= {
        "capture",
        "settlement",
        "pending",
        "deny",
        "cancel",
        "expire",
        "refund",
        "partial_refund",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sample", "forged_status"),
    [
        ("doc_shopeepay_pending", "settlement"),  # signed 201: waiting, not paid
        ("doc_shopeepay_expire", "settlement"),  # signed 202: ended without payment
        ("doc_shopeepay_settlement", "expire"),  # signed 200: paid, not expired
    ],
)
def test_body_only_a_status_that_does_not_fit_its_signed_code_is_refused(
    settings, midtrans, order, api_client, sample, forged_status
):
    """Issue 24 item 9, where a status_code check can tell: a genuine signed notification
    with its unsigned transaction_status changed, in body-only mode (MIDTRANS_VERIFY_STATUS
    false, DEBUG on):
        POST /api/v1/payments/midtrans/notification/ {..."status_code": "201",
             "transaction_status": "settlement", "signature_key": <genuine, for 201>}
    was applied (the order paid). Midtrans pairs 200 with capture/settlement/refund/
    partial_refund/chargeback, 201 with pending, 202 with deny/cancel/expire/failure
    (Midtrans docs, "HTTP(S) Notification / Webhooks" > status codes; and the samples)."""
    settings.DEBUG = True
    payment = payment_open(order=order)
    settings.MIDTRANS_VERIFY_STATUS = False
    body = notification(sample, payment=payment)
    body["transaction_status"] = forged_status  # not part of the signature
    before = database_state(exclude=("payments.PaymentNotification",))

    response = post_notification(api_client, body)

    assert response.status_code == 400
    assert response.json() == {"status": "rejected", "detail": "status_code does not fit transaction_status."}
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    logged = PaymentNotification.objects.get()
    assert (logged.outcome, logged.http_status, logged.signature_valid) == ("rejected", 400, True)


@pytest.mark.django_db
def test_body_only_a_fitting_notification_is_still_applied(settings, midtrans, order, api_client):
    settings.DEBUG = True
    payment = payment_open(order=order)
    settings.MIDTRANS_VERIFY_STATUS = False
    response = post_notification(api_client, notification("doc_shopeepay_settlement", payment=payment))
    assert response.status_code == 200
    assert Order.objects.get().status == "paid"
