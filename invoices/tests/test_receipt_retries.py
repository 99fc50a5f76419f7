"""The receipt task when the document store is down: it retries, and the retry finds the
claim the failed attempt gave back and sends. Run against a real S3-protocol server on
127.0.0.1 (moto in server mode, config/tests/s3server.py) that is stopped and started again,
as the topology stress run does (.ci/stress/README.md).

`send_receipt.apply()` runs the task as a worker would, with its retry options: a retry
runs again at once (no countdown), which is Celery's documented eager behaviour
(docs.celeryq.dev, "Task.retry": "when called in eager mode ... the task will be executed
again immediately").
"""

import hashlib
import os
import socket

import pytest
from django.core import mail
from django.db import connection, transaction

from catalog.tests.factories import ProductFactory
from invoices import receipts
from invoices.models import Invoice
from invoices.storage import StorageUnavailable
from invoices.tasks import send_receipt
from invoices.tests.factories import invoiced_order
from orders.models import OrderEvent


@pytest.fixture
def paid(user):
    """A paid order with its invoice issued and not rendered yet (the tasks the payment
    enqueued never ran: a test transaction does not commit)."""
    product = ProductFactory(name="Nasi Goreng", sku="RIC-001", price=25_000, stock=20)
    return invoiced_order(user=user, items=[(product, 2)])


def test_a_receipt_whose_invoice_store_is_down_is_retried_and_sent_once_it_is_back(s3, paid, monkeypatch):
    order = paid.order
    real_open = receipts.invoice_pdf_open
    seen = []

    def pdf_open(*, invoice):
        # What each attempt finds: the order claimed by this attempt, the store up or down.
        order.refresh_from_db()
        seen.append((order.receipt_claimed_at is not None, s3._server is not None))
        try:
            return real_open(invoice=invoice)
        finally:
            if s3._server is None:
                s3.start()  # the store comes back before the retry

    monkeypatch.setattr(receipts, "invoice_pdf_open", pdf_open)
    s3.stop()

    result = send_receipt.apply(args=[order.pk])

    assert seen == [(True, False), (True, True)]  # the retry claimed the receipt again
    assert (result.state, result.result) == ("SUCCESS", True)  # sent by the retry
    assert len(mail.outbox) == 1
    [(filename, content, mimetype)] = mail.outbox[0].attachments
    invoice = Invoice.objects.get()
    assert (filename, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert hashlib.sha256(content).hexdigest() == invoice.pdf_sha256
    assert s3.keys() == [invoice.pdf.name]
    order.refresh_from_db()
    assert order.receipt_sent_at is not None
    assert order.receipt_claimed_at is None
    assert order.events.filter(type=OrderEvent.Type.RECEIPT_SENT).count() == 1


def test_a_receipt_whose_store_stays_down_gives_its_claim_back_for_the_sweep(s3, paid):
    """Every retry fails; the last one gives up with the store's error, the claim given
    back (orders_receipt_due finds it again)."""
    order = paid.order
    s3.stop()

    result = send_receipt.apply(args=[order.pk])

    assert result.state == "FAILURE"
    assert isinstance(result.result, StorageUnavailable)
    assert mail.outbox == []
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_at) == (None, None)
    assert not order.events.filter(type=OrderEvent.Type.RECEIPT_SENT).exists()
    assert Invoice.objects.get().pdf.name == ""


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_retry_takes_over_the_claim_an_earlier_attempt_could_not_give_back(monkeypatch, caplog):
    """The database goes away mid-send and stays away while the claim is given back and
    for the first retry (a PgBouncer restart: the connection is cut, new ones refused;
    found by the topology stress run). The retry that finds the database back takes over
    the claim an earlier attempt of the task left, instead of finding it "being sent" and
    leaving the receipt for the sweep after RECEIPT_CLAIM_SECONDS."""
    from accounts.tests.factories import UserFactory
    from config.tests.pgbouncer import free_port
    from invoices import tasks
    from orders import services
    from orders.models import OrderStatus
    from orders.tests.factories import place_order

    order = place_order(user=UserFactory(), items=[(ProductFactory(stock=5), 1)])
    with transaction.atomic():  # paid, without running the receipt task here
        locked = services.order_lock(order_id=order.pk)
        services.order_transition(order=locked, to_status=OrderStatus.PAID, actor=services.GATEWAY)
    port = connection.settings_dict["PORT"]
    attempts = []

    def database_gone(o):
        # This attempt's connection is cut while sending, and every new one is refused
        # (nothing listens where the database was) until the third attempt.
        connection.settings_dict["PORT"] = str(free_port())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    def receipt_send(**kwargs):
        attempts.append(len(kwargs.get("left_claims", ())))
        if len(attempts) == 1:
            return real_send(**kwargs, attachments=database_gone)
        if len(attempts) == 3:
            connection.settings_dict["PORT"] = port  # the database is back
            connection.close()
        return real_send(**kwargs)

    real_send = tasks.receipt_send
    monkeypatch.setattr(tasks, "receipt_send", receipt_send)
    with caplog.at_level("WARNING", logger="invoices.receipts"):
        try:
            result = send_receipt.apply(args=[order.pk])
        finally:
            connection.settings_dict["PORT"] = port
    assert f"Could not give back the receipt claim of order id {order.pk}" in caplog.text
    # The second attempt could not even claim; the third takes over the first one's claim.
    assert (result.state, result.result) == ("SUCCESS", True)
    assert attempts == [0, 1, 2]  # claims passed on: none yet, the first's, both earlier ones
    assert [m.subject for m in mail.outbox] == [f"Foodies receipt for order {order.number}"]
    order.refresh_from_db()
    assert (order.receipt_sent_at is not None, order.receipt_claimed_at) == (True, None)
    assert order.events.filter(type=OrderEvent.Type.RECEIPT_SENT).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_receipt_sent_but_not_recorded_is_recorded_by_the_retry_not_sent_again(monkeypatch):
    """The mail server accepted the receipt, then the database went away before it was
    recorded (a PgBouncer restart; found by the topology stress run, where the customer got
    it twice). The retry records it; it does not send it again."""
    from accounts.tests.factories import UserFactory
    from config.tests.pgbouncer import free_port
    from invoices import tasks
    from orders import services
    from orders.models import OrderStatus
    from orders.tests.factories import place_order

    order = place_order(user=UserFactory(), items=[(ProductFactory(stock=5), 1)])
    with transaction.atomic():
        locked = services.order_lock(order_id=order.pk)
        services.order_transition(order=locked, to_status=OrderStatus.PAID, actor=services.GATEWAY)
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    real_message = receipts.receipt_message

    def message_then_database_gone(*, order):
        message = real_message(order=order)
        send = message.send

        def send_then_gone(*args, **kwargs):
            sent = send(*args, **kwargs)
            # The connection is cut (the socket shut down under it, as a restarting pooler
            # or server does) and no new one is accepted for now.
            cut = socket.socket(fileno=os.dup(connection.connection.fileno()))
            cut.shutdown(socket.SHUT_RDWR)
            cut.close()
            settings_dict["PORT"] = str(free_port())
            return sent

        message.send = send_then_gone
        return message

    attempts = []

    def receipt_send(**kwargs):
        attempts.append(sorted(k for k in kwargs if k not in ("order_id", "now")))
        if len(attempts) > 1:
            settings_dict["PORT"] = port  # the database is back for the retry
            connection.close()
        return real_send(**kwargs)

    real_send = tasks.receipt_send
    monkeypatch.setattr(receipts, "receipt_message", message_then_database_gone)
    monkeypatch.setattr(tasks, "receipt_send", receipt_send)
    try:
        result = send_receipt.apply(args=[order.pk])
    finally:
        settings_dict["PORT"] = port

    assert len(attempts) == 2
    assert (result.state, result.result) == ("SUCCESS", True)
    assert [m.subject for m in mail.outbox] == [f"Foodies receipt for order {order.number}"]
    order.refresh_from_db()
    assert (order.receipt_sent_at is not None, order.receipt_claimed_at) == (True, None)
    assert order.events.filter(type=OrderEvent.Type.RECEIPT_SENT).count() == 1
