"""Background work in the embedded default (no broker): the tasks run in this process after
the transaction commits, and do what the management commands do. The receipt goes out
once per paid order. orders/tests/test_worker.py runs the same tasks on a real worker."""

import logging
import socket
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from catalog.models import Product
from catalog.services import price_add
from catalog.stock import stock_audit
from catalog.tasks import switch_due_prices
from catalog.tests.factories import BundleFactory, ProductFactory
from config.tasks import _dispatch, enqueue
from invoices.receipts import receipt_send
from invoices.tasks import send_due_receipts, send_receipt
from invoices.tests.factories import pay
from orders import services
from orders.models import IdempotencyKey, Order, OrderEvent, OrderStatus
from orders.selectors import orders_receipt_due
from orders.tasks import purge_idempotency_keys
from orders.tests.factories import PickupSlotFactory, place_order
from payments.tasks import expire_due_orders

S = OrderStatus
SMTP_FAILING = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def product(db):
    return ProductFactory(slug="nasi", name="Nasi Goreng", stock=10, price=25_000)


def settle(order: Order) -> Order:
    """A settlement through the payments flow (payments.settlement.order_settle): in one
    transaction the order is paid and invoiced, its PDF and receipt enqueued."""
    pay(order)
    return order


def receipt_events(order: Order) -> list[OrderEvent]:
    return list(order.events.filter(type=OrderEvent.Type.RECEIPT_SENT))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = SMTP_FAILING
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2


# --- the receipt ------------------------------------------------------------------------


def test_settlement_sends_one_receipt_after_commit(user, product, django_capture_on_commit_callbacks):
    order = place_order(user=user, items=[(product, 2)], notes="extra sambal")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        settle(order)
        assert mail.outbox == []  # nothing before the commit
    # The tasks after the commit (the other callbacks count metrics, config/metrics.py).
    assert [c.args[0].name for c in callbacks if getattr(c, "func", None) is _dispatch] == [
        "invoices.tasks.render_invoice_pdf",
        "invoices.tasks.send_receipt",
    ]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    invoice = order.invoice
    assert [(name, mimetype) for name, _, mimetype in message.attachments] == [
        (f"{invoice.number}.pdf", "application/pdf")
    ]
    assert message.to == [user.email]
    assert message.subject == f"Foodies receipt for order {order.number}"
    assert message.from_email == "Foodies <no-reply@foodies.local>"
    body = message.body
    assert f"Order number: {order.number}" in body
    assert "2 x Nasi Goreng @ Rp 25.000 = Rp 50.000" in body
    assert "Total:    Rp 50.000 (IDR)" in body
    assert "Pickup: as soon as possible" in body
    assert "Your notes: extra sambal" in body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert order.number in html
    assert "Rp 50.000" in html

    order.refresh_from_db()
    assert order.receipt_sent_at is not None
    assert order.receipt_claimed_at is None
    [event] = receipt_events(order)
    assert (event.actor, event.data, event.created_at) == (
        "system",
        {"to": user.email},
        order.receipt_sent_at,
    )


def test_receipt_shows_the_pickup_slot_and_bundle_components(user, product):
    drink = ProductFactory(name="Es Teh", stock=10)
    combo = BundleFactory(name="Paket Hemat", components=[(product, 1), (drink, 2)], price=30_000)
    order = place_order(user=user, items=[(combo, 1)])
    slot = PickupSlotFactory(start=datetime(2030, 1, 7, 5, 0, tzinfo=UTC))  # 12:00 in Jakarta
    Order.objects.filter(pk=order.pk).update(pickup_slot=slot)
    settle(order)

    assert receipt_send(order_id=order.pk) is True
    body = mail.outbox[0].body
    assert "Pickup: Monday, 7 Jan 2030, 12:00-12:15" in body
    assert "1 x Paket Hemat @ Rp 30.000 = Rp 30.000\n    1 x Nasi Goreng\n    2 x Es Teh\n" in body


def test_receipt_task_run_twice_sends_once(user, product):
    order = settle(place_order(user=user, items=[(product, 1)]))

    assert send_receipt(order.pk) is True
    assert send_receipt(order.pk) is False
    enqueue(send_receipt, order.pk)  # outside a transaction: runs at once

    assert len(mail.outbox) == 1
    assert len(receipt_events(order)) == 1


@pytest.mark.parametrize("path", [(), (S.CANCELLED,), (S.PAID, S.REFUNDED)])
def test_no_receipt_for_an_order_not_paid_or_refunded(user, product, path):
    order = place_order(user=user, items=[(product, 1)])
    for to_status in path:
        with transaction.atomic():
            services.order_transition(
                order=services.order_lock(order_id=order.pk), to_status=to_status, actor=services.GATEWAY
            )

    assert receipt_send(order_id=order.pk) is False
    assert mail.outbox == []
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_at, receipt_events(order)) == (None, None, [])


def test_receipt_of_an_order_that_no_longer_exists_is_a_no_op(db):
    assert receipt_send(order_id=987654) is False
    assert mail.outbox == []


def test_a_rolled_back_settlement_sends_nothing(user, product, django_capture_on_commit_callbacks):
    order = place_order(user=user, items=[(product, 1)])

    def settle_then_fail():
        with transaction.atomic():
            pay(order)
            raise RuntimeError("the webhook failed after marking the order paid")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        settle_then_fail()
    assert callbacks == []
    assert mail.outbox == []
    order.refresh_from_db()
    assert (order.status, order.receipt_sent_at) == (S.PENDING_PAYMENT, None)


def test_a_claim_in_flight_is_left_alone_until_it_lapses(user, product, settings):
    settings.RECEIPT_CLAIM_SECONDS = 600
    order = settle(place_order(user=user, items=[(product, 1)]))
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(receipt_claimed_at=now - timedelta(seconds=599))

    assert receipt_send(order_id=order.pk, now=now) is False
    assert mail.outbox == []
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_at) == (None, now - timedelta(seconds=599))

    # The sender died: after RECEIPT_CLAIM_SECONDS another call takes over.
    assert receipt_send(order_id=order.pk, now=now + timedelta(seconds=2)) is True
    assert len(mail.outbox) == 1
    order.refresh_from_db()
    assert order.receipt_sent_at is not None
    assert order.receipt_claimed_at is None


def test_attachments_are_made_only_by_the_call_that_sends(user, product):
    order = settle(place_order(user=user, items=[(product, 1)]))
    made = []

    def invoice_pdf(o: Order):
        made.append(o.number)
        return [(f"{o.number}.pdf", b"%PDF-1.7 test", "application/pdf")]

    assert receipt_send(order_id=order.pk, attachments=invoice_pdf) is True
    assert receipt_send(order_id=order.pk, attachments=invoice_pdf) is False
    assert made == [order.number]
    assert mail.outbox[0].attachments == [(f"{order.number}.pdf", b"%PDF-1.7 test", "application/pdf")]


def test_a_failing_attachment_sends_nothing_and_gives_the_claim_back(user, product):
    order = settle(place_order(user=user, items=[(product, 1)]))

    def broken(o: Order):
        raise RuntimeError("PDF renderer crashed")

    with pytest.raises(RuntimeError):
        receipt_send(order_id=order.pk, attachments=broken)
    assert mail.outbox == []
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_at, receipt_events(order)) == (None, None, [])
    assert receipt_send(order_id=order.pk) is True


def test_smtp_down_gives_the_claim_back_and_the_service_raises(user, product, smtp_down):
    order = settle(place_order(user=user, items=[(product, 1)]))
    with pytest.raises(ConnectionRefusedError):
        receipt_send(order_id=order.pk)
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_at, receipt_events(order)) == (None, None, [])


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_connection_dropped_mid_send_still_gives_the_claim_back():
    """The database connection dies while the receipt is being made (pg_terminate_backend,
    a failover): the claim is given back on a fresh connection, so a retry sends at once
    instead of waiting RECEIPT_CLAIM_SECONDS for the sweep (found by `make stress`)."""
    from accounts.tests.factories import UserFactory

    order = place_order(user=UserFactory(), items=[(ProductFactory(stock=5), 1)])
    with transaction.atomic():  # paid, without running the receipt task here
        locked = services.order_lock(order_id=order.pk)
        services.order_transition(order=locked, to_status=S.PAID, actor=services.GATEWAY)

    def connection_dropped(o: Order):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(OperationalError):
        receipt_send(order_id=order.pk, attachments=connection_dropped)
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_at, receipt_events(order)) == (None, None, [])
    assert mail.outbox == []
    assert receipt_send(order_id=order.pk) is True
    assert [m.subject for m in mail.outbox] == [f"Foodies receipt for order {order.number}"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_in_process_task_is_logged_and_never_breaks_the_commit(smtp_down, caplog):
    # A real commit (no test transaction around it): the callback runs as in a request.
    user_product = ProductFactory(stock=5)
    from accounts.tests.factories import UserFactory

    user = UserFactory()
    order = place_order(user=user, items=[(user_product, 2)])

    with caplog.at_level(logging.ERROR, logger="foodies.tasks"):
        settle(order)  # the receipt's SMTP connection is refused after the commit

    order.refresh_from_db()
    assert order.status == S.PAID  # committed, and no exception reached the caller
    assert (order.receipt_sent_at, order.receipt_claimed_at, receipt_events(order)) == (None, None, [])
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert f"Task invoices.tasks.send_receipt failed on order {order.number} (id {order.pk})" in message
    assert "in-process, not retried" in message
    assert "ConnectionRefusedError" in message
    assert stock_audit() == []


# --- the receipt sweep ------------------------------------------------------------------


def test_sweep_sends_the_receipts_that_did_not_go_out(
    user, product, settings, django_capture_on_commit_callbacks
):
    settings.RECEIPT_SWEEP_HOURS = 24
    settings.RECEIPT_CLAIM_SECONDS = 600
    now = timezone.now()

    def paid(minutes_ago: float, **fields) -> Order:
        order = place_order(user=user, items=[(product, 1)])
        with transaction.atomic():  # no side effects: as if the receipt task was lost
            services.order_transition(
                order=services.order_lock(order_id=order.pk), to_status=S.PAID, actor=services.GATEWAY
            )
        Order.objects.filter(pk=order.pk).update(paid_at=now - timedelta(minutes=minutes_ago), **fields)
        return order

    lost = paid(5)
    crashed = paid(30, receipt_claimed_at=now - timedelta(minutes=11))
    paid(5, receipt_sent_at=now - timedelta(minutes=4))  # sent
    paid(0.5)  # just paid: its own task is on its way
    paid(60 * 25)  # older than the sweep looks
    paid(5, receipt_claimed_at=now - timedelta(minutes=1))  # being sent right now
    pending = place_order(user=user, items=[(product, 1)])
    Order.objects.filter(pk=pending.pk).update(paid_at=now - timedelta(minutes=5))

    assert orders_receipt_due(now=now) == [crashed.pk, lost.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_receipts() == 2
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"Foodies receipt for order {o.number}" for o in (lost, crashed)
    )
    assert orders_receipt_due(now=now) == []


# --- periodic jobs: the task and the command give the same result -------------------------


@pytest.fixture(params=["command", "task"])
def run_job(request, django_capture_on_commit_callbacks):
    """Run a periodic job as cron does (its command) or as beat does (its task, enqueued
    and run in-process once the test's transaction "commits")."""

    def run(*, task, command: str) -> None:
        if request.param == "command":
            call_command(command, stdout=StringIO())
        else:
            with django_capture_on_commit_callbacks(execute=True):
                enqueue(task)

    return run


def test_expiry_through_task_or_command(run_job, user, product):
    due = place_order(user=user, items=[(product, 2)])
    not_yet = place_order(user=user, items=[(product, 1)])
    Order.objects.filter(pk=due.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    run_job(task=expire_due_orders, command="expire_orders")
    run_job(task=expire_due_orders, command="expire_orders")  # a second run changes nothing

    assert dict(Order.objects.values_list("pk", "status")) == {
        due.pk: S.EXPIRED,
        not_yet.pk: S.PENDING_PAYMENT,
    }
    assert Product.objects.get(pk=product.pk).stock == 9
    assert due.events.filter(to_status=S.EXPIRED).count() == 1
    assert stock_audit() == []


def test_price_switch_through_task_or_command(run_job, db, monkeypatch):
    due = ProductFactory(price=10_000)
    later = ProductFactory(price=20_000)
    now = timezone.now()
    price_add(product=due, amount=11_000, valid_from=now + timedelta(minutes=10))
    price_add(product=later, amount=21_000, valid_from=now + timedelta(days=1))
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(minutes=11))

    run_job(task=switch_due_prices, command="switch_prices")

    assert dict(Product.objects.values_list("pk", "current_price")) == {due.pk: 11_000, later.pk: 20_000}


def test_key_purge_through_task_or_command(run_job, user, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    now = timezone.now()
    old = IdempotencyKey.objects.create(
        user=user, key="old", request_hash="h", created_at=now - timedelta(hours=25)
    )
    fresh = IdempotencyKey.objects.create(
        user=user, key="new", request_hash="h", created_at=now - timedelta(hours=23)
    )

    run_job(task=purge_idempotency_keys, command="purge_idempotency_keys")

    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_periodic_tasks_return_what_they_did(user, product):
    Order.objects.filter(pk=place_order(user=user, items=[(product, 1)]).pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert expire_due_orders() == 1
    assert expire_due_orders() == 0
    assert switch_due_prices() == 0
    assert purge_idempotency_keys() == 0
    assert send_due_receipts() == 0
