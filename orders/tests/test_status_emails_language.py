"""The status e-mails (ready, cancelled, refunded) speak the language the order was placed in
(Order.language), like the receipt, whatever language is active when they are sent. Django's
test mail outbox stands in for the mail server
(https://docs.djangoproject.com/en/5.2/topics/testing/tools/#email-services)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import translation

from catalog.tests.factories import ProductFactory
from invoices.tests.factories import pay
from orders import services
from orders.models import Order, OrderStatus
from orders.tests.factories import place_order
from payments.services.refunds import order_refund

pytestmark = pytest.mark.django_db

S = OrderStatus
JAKARTA = ZoneInfo("Asia/Jakarta")


def placed_in(language: str, user, settings) -> Order:
    settings.TIME_ZONE = "Asia/Jakarta"
    settings.SHOP_NAME = "Foodies"
    order = place_order(user=user, items=[(ProductFactory(stock=5, price=15_000), 2)])
    Order.objects.filter(pk=order.pk).update(
        language=language, ready_at=datetime(2026, 11, 23, 12, 30, tzinfo=JAKARTA)
    )
    mail.outbox.clear()
    return Order.objects.get(pk=order.pk)


def cooking(order: Order) -> Order:
    pay(order)
    services.order_set_status(order=order, to_status=S.PREPARING, actor=services.SYSTEM)
    mail.outbox.clear()
    return Order.objects.get(pk=order.pk)


def test_an_indonesian_order_gets_an_indonesian_ready_email_from_an_english_request(
    user, settings, django_capture_on_commit_callbacks
):
    order = cooking(placed_in("id", user, settings))

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.order_set_status(order=order, to_status=S.READY, actor=services.SYSTEM)

    [message] = mail.outbox
    assert message.subject == f"Foodies: pesanan {order.number} siap diambil"
    assert f"pesanan Anda {order.number} sudah siap diambil di Foodies." in message.body
    assert "Waktu pengambilan: Senin, 23 Nov 2026, 12:30" in message.body  # the documents' "7 Des 2026"
    assert "ready for pickup" not in message.body
    assert translation.get_language() == "en"  # the override ended with the message


def test_an_english_order_gets_an_english_ready_email_from_an_indonesian_request(
    user, settings, django_capture_on_commit_callbacks
):
    order = cooking(placed_in("en", user, settings))

    with translation.override("id"), django_capture_on_commit_callbacks(execute=True):
        services.order_set_status(order=order, to_status=S.READY, actor=services.SYSTEM)

    [message] = mail.outbox
    assert message.subject == f"Foodies: order {order.number} is ready for pickup"
    assert "Pickup time: Monday, 23 Nov 2026, 12:30" in message.body


def test_an_indonesian_order_gets_indonesian_cancelled_and_refunded_emails(
    user, staff_user, settings, django_capture_on_commit_callbacks
):
    pending = placed_in("id", user, settings)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=pending, actor=services.Actor.of(pending.user), reason="Ganti pikiran")

    [cancelled] = mail.outbox
    assert cancelled.subject == f"Foodies: pesanan {pending.number} dibatalkan"
    assert f"Pesanan: {pending.number}\nJumlah: Rp 30.000\n" in cancelled.body
    assert "Jika Anda sudah membayar" in cancelled.body

    order = cooking(placed_in("id", user, settings))
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        order_refund(
            order=order,
            actor=services.Actor.of(staff_user),
            method="offline",
            reference="TRF-9",
            note="Gosong",
        )

    [refunded] = [m for m in mail.outbox if order.number in m.subject]
    assert refunded.subject == f"Foodies: dana pesanan {order.number} telah dikembalikan"
    assert f"Pesanan: {order.number}\nJumlah yang dikembalikan: Rp 30.000\n" in refunded.body
