"""The "ready for pickup" e-mail (issue 20): sent once when an order becomes ready, after
the commit, with the receipt's claim discipline. Django's test mail outbox stands in for
the mail server (https://docs.djangoproject.com/en/5.2/topics/testing/tools/#email-services)."""

import socket
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from catalog.tests.factories import ProductFactory
from invoices.tests.factories import pay
from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from orders.ready_email import ready_email_send
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

S = OrderStatus
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def cooking(user, settings):
    """A paid order being prepared, ready at 12:30 in Jakarta."""
    settings.TIME_ZONE = "Asia/Jakarta"
    order = place_order(user=user, items=[(ProductFactory(stock=5), 1)])
    Order.objects.filter(pk=order.pk).update(ready_at=datetime(2026, 11, 23, 12, 30, tzinfo=JAKARTA))
    pay(order)
    services.order_set_status(order=order, to_status=S.PREPARING, actor=services.SYSTEM)
    mail.outbox.clear()
    return Order.objects.get(pk=order.pk)


def ready_events(order: Order) -> list[OrderEvent]:
    return list(order.events.filter(type=OrderEvent.Type.READY_EMAIL_SENT))


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
    assert "Pickup time: Monday 23 November 2026, 12:30" in message.body
    order = Order.objects.get(pk=cooking.pk)
    assert order.ready_email_sent_at is not None
    assert order.ready_email_claimed_at is None
    assert len(ready_events(order)) == 1

    # Sent once: another run (a retried task, the same task twice) sends nothing.
    assert ready_email_send(order_id=cooking.pk) is False
    assert len(mail.outbox) == 1


def test_no_email_for_an_order_that_is_not_ready(cooking):
    assert ready_email_send(order_id=cooking.pk) is False
    assert mail.outbox == []
    assert Order.objects.get(pk=cooking.pk).ready_email_claimed_at is None


def test_a_failed_send_gives_the_claim_back_and_a_retry_sends(cooking, settings):
    Order.objects.filter(pk=cooking.pk).update(status=S.READY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed, 2

    with pytest.raises(OSError):  # noqa: PT011 (connection refused: what SMTP down raises)
        ready_email_send(order_id=cooking.pk)

    order = Order.objects.get(pk=cooking.pk)
    assert (order.ready_email_sent_at, order.ready_email_claimed_at, ready_events(order)) == (None, None, [])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert ready_email_send(order_id=cooking.pk) is True
    assert len(mail.outbox) == 1


def test_a_claim_held_by_another_sender_is_respected_until_it_lapses(cooking, settings):
    Order.objects.filter(pk=cooking.pk).update(status=S.READY)
    now = datetime(2026, 11, 23, 5, 0, tzinfo=JAKARTA)
    Order.objects.filter(pk=cooking.pk).update(ready_email_claimed_at=now)

    assert ready_email_send(order_id=cooking.pk, now=now + timedelta(seconds=10)) is False
    assert mail.outbox == []
    lapsed = now + timedelta(seconds=settings.RECEIPT_CLAIM_SECONDS)
    assert ready_email_send(order_id=cooking.pk, now=lapsed) is True
    assert len(mail.outbox) == 1
