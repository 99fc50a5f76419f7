"""E-mails on a status change (issue 20): "ready for pickup", "cancelled", "refunded", one per
transition, after the commit, with the receipt's claim discipline, and the sweep that sends
those whose task was lost. Django's test mail outbox stands in for the mail server
(https://docs.djangoproject.com/en/5.2/topics/testing/tools/#email-services)."""

import socket
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from catalog.tests.factories import ProductFactory
from invoices.tests.factories import pay
from orders import services
from orders.models import Order, OrderEvent, OrderStatus, StatusEmail
from orders.status_emails import status_email_send, status_emails_due
from orders.tasks import send_due_status_emails
from orders.tests.factories import place_order
from payments.services.refunds import order_refund

pytestmark = pytest.mark.django_db

S = OrderStatus
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def pending(user, settings):
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.SHOP_NAME = "Foodies"
    order = place_order(user=user, items=[(ProductFactory(stock=5, price=15_000), 2)])
    assert order.total == 30_000
    return order


@pytest.fixture
def cooking(pending):
    """A paid order being prepared, ready at 12:30 in Jakarta."""
    Order.objects.filter(pk=pending.pk).update(ready_at=datetime(2026, 11, 23, 12, 30, tzinfo=JAKARTA))
    pay(pending)
    services.order_set_status(order=pending, to_status=S.PREPARING, actor=services.SYSTEM)
    mail.outbox.clear()
    return Order.objects.get(pk=pending.pk)


def sent_events(order: Order, type: str) -> list[OrderEvent]:
    return list(order.events.filter(type=type))


def only_email(order: Order, status: str) -> StatusEmail:
    [email] = StatusEmail.objects.filter(order=order, status=status)
    return email


def test_becoming_ready_sends_one_email_after_commit(cooking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.order_set_status(order=cooking, to_status=S.READY, actor=services.SYSTEM)
        assert mail.outbox == []  # nothing before the commit

    assert len(callbacks) >= 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [cooking.customer_email]
    assert message.subject == f"Foodies: order {cooking.number} is ready for pickup"
    assert cooking.number in message.body
    assert "Pickup time: Monday, 23 Nov 2026, 12:30" in message.body
    email = only_email(cooking, S.READY)
    assert (email.sent_at is not None, email.claimed_at) == (True, None)
    assert email.event.to_status == S.READY
    assert len(sent_events(cooking, OrderEvent.Type.READY_EMAIL_SENT)) == 1

    # Sent once: another run (a retried task, the same task twice) sends nothing.
    assert status_email_send(email_id=email.pk) is False
    assert len(mail.outbox) == 1


def test_cancelling_sends_the_cancelled_email_with_number_and_amount(
    pending, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=pending, actor=services.Actor.of(pending.user), reason="Changed my mind")

    [message] = mail.outbox
    assert message.subject == f"Foodies: order {pending.number} was cancelled"
    assert message.to == [pending.customer_email]
    assert f"Order: {pending.number}\nAmount: Rp 30.000\n" in message.body
    assert len(sent_events(pending, OrderEvent.Type.CANCELLED_EMAIL_SENT)) == 1
    assert status_email_send(email_id=only_email(pending, S.CANCELLED).pk) is False
    assert len(mail.outbox) == 1


def test_a_full_refund_sends_the_refunded_email_once(cooking, staff_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(
            order=cooking,
            actor=services.Actor.of(staff_user),
            method="offline",
            reference="TRF-9",
            note="Burnt",
        )

    assert Order.objects.get(pk=cooking.pk).status == S.REFUNDED
    [message] = [m for m in mail.outbox if "refunded" in m.subject]
    assert message.subject == f"Foodies: order {cooking.number} was refunded"
    assert f"Order: {cooking.number}\nAmount refunded: Rp 30.000\n" in message.body
    assert len(sent_events(cooking, OrderEvent.Type.REFUNDED_EMAIL_SENT)) == 1
    assert StatusEmail.objects.filter(order=cooking).count() == 1


def test_no_email_once_the_order_moved_on(cooking):
    """The task of a ready e-mail that runs after the order was picked up sends nothing."""
    services.order_set_status(order=cooking, to_status=S.READY, actor=services.SYSTEM)  # task not run
    services.order_set_status(order=cooking, to_status=S.COMPLETED, actor=services.SYSTEM)
    email = only_email(cooking, S.READY)

    assert status_email_send(email_id=email.pk) is False
    assert mail.outbox == []
    email.refresh_from_db()
    assert (email.claimed_at, email.sent_at) == (None, None)


def test_a_cancel_paid_late_and_cancelled_again_sends_only_the_second(pending, staff_user):
    """Two moves into cancelled are two e-mails' rows; the first, whose order moved on
    (paid late) before its task ran, is never sent, even once the order is cancelled again."""
    services.order_cancel(order=pending, actor=services.SYSTEM)
    pay(pending)  # a late settlement: cancelled -> paid
    Order.objects.filter(pk=pending.pk).update(status=S.PAYMENT_REVERSED)
    services.order_set_status(order=pending, to_status=S.CANCELLED, actor=services.Actor.of(staff_user))
    first, second = StatusEmail.objects.filter(order=pending, status=S.CANCELLED).order_by("id")
    mail.outbox.clear()

    assert status_email_send(email_id=first.pk) is False
    assert status_email_send(email_id=second.pk) is True
    assert len(mail.outbox) == 1


def test_a_failed_send_gives_the_claim_back_and_a_retry_sends(cooking, settings):
    services.order_set_status(order=cooking, to_status=S.READY, actor=services.SYSTEM)
    email = only_email(cooking, S.READY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed, 2

    with pytest.raises(OSError):  # noqa: PT011 (connection refused: what SMTP down raises)
        status_email_send(email_id=email.pk)

    email.refresh_from_db()
    assert (email.sent_at, email.claimed_at) == (None, None)
    assert sent_events(cooking, OrderEvent.Type.READY_EMAIL_SENT) == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert status_email_send(email_id=email.pk) is True
    assert len(mail.outbox) == 1


def test_a_claim_held_by_another_sender_is_respected_until_it_lapses(cooking, settings):
    services.order_set_status(order=cooking, to_status=S.READY, actor=services.SYSTEM)
    email = only_email(cooking, S.READY)
    now = datetime(2026, 11, 23, 5, 0, tzinfo=JAKARTA)
    StatusEmail.objects.filter(pk=email.pk).update(claimed_at=now)

    assert status_email_send(email_id=email.pk, now=now + timedelta(seconds=10)) is False
    assert mail.outbox == []
    lapsed = now + timedelta(seconds=settings.RECEIPT_CLAIM_SECONDS)
    assert status_email_send(email_id=email.pk, now=lapsed) is True
    assert len(mail.outbox) == 1


def test_the_sweep_sends_what_a_lost_task_did_not(
    cooking, staff_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Tasks lost (their on-commit callbacks never run here): the sweep finds each e-mail a
    minute after its move, within RECEIPT_SWEEP_HOURS, and not one that is claimed, sent or
    about a status the order left."""
    settings.RECEIPT_SWEEP_HOURS = 24
    moved = datetime(2026, 11, 23, 12, 0, tzinfo=JAKARTA)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moved)
    services.order_set_status(order=cooking, to_status=S.READY, actor=services.SYSTEM)
    other = place_order(user=cooking.user, items=[(ProductFactory(stock=1, price=5_000), 1)])
    services.order_cancel(order=other, actor=services.SYSTEM)
    ready, cancelled = only_email(cooking, S.READY), only_email(other, S.CANCELLED)

    assert status_emails_due(now=moved + timedelta(seconds=59)) == []
    assert status_emails_due(now=moved + timedelta(minutes=1)) == [ready.pk, cancelled.pk]
    assert status_emails_due(now=moved + timedelta(hours=24, seconds=1)) == []

    monkeypatch.setattr("django.utils.timezone.now", lambda: moved + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_status_emails() == 2
    assert sorted(m.subject for m in mail.outbox) == [
        f"Foodies: order {other.number} was cancelled",
        f"Foodies: order {cooking.number} is ready for pickup",
    ]
    with django_capture_on_commit_callbacks(execute=True) as again:
        assert send_due_status_emails() == 0
    assert (again, len(mail.outbox)) == ([], 2)
