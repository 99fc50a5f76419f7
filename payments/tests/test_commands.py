"""Data resets take payments, notifications and the mock's transactions with the orders."""

from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import Order
from payments.models import MockTransaction, Payment, PaymentNotification
from payments.services.opening import payment_open
from payments.services.webhook import payment_mock_complete

pytestmark = pytest.mark.django_db


def test_reset_data_removes_payments(settings, mock_gateway, order, product):
    payment = payment_open(order=order)
    payment_mock_complete(token=payment.token, transaction_status="settlement")
    assert (
        Payment.objects.count(),
        PaymentNotification.objects.count(),
        MockTransaction.objects.count(),
    ) == (1, 1, 1)
    settings.DEBUG = True

    out = StringIO()
    call_command("reset_data", stdout=out)

    assert (
        Payment.objects.count(),
        PaymentNotification.objects.count(),
        MockTransaction.objects.count(),
    ) == (0, 0, 0)
    assert Order.objects.count() == 0
    product.refresh_from_db()
    assert product.stock == 10
    output = out.getvalue()
    assert "Removed 1 payments." in output
    assert "Removed 1 payment notifications." in output
    assert "Removed 1 mock transactions." in output
