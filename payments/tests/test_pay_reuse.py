"""`POST orders/{number}/pay/` keeps the current attempt while its page is valid and Midtrans
may still take money on it (issue 17, item 8). Snap lets a denied card try again on the
same page, so a second attempt then would let the shopper pay twice; only `expire` and
`cancel` are states Midtrans does not reopen (Midtrans's "Transaction Status Cycle" page).
Over HTTP through the real midtransclient against the project's Midtrans test server."""

from datetime import timedelta

import pytest

from payments.models import Payment
from payments.tests.conftest import deliver, notification

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def pay(client, order):
    response = client.post(f"{ORDERS}{order.number}/pay/")
    return response


def snap_orders(midtrans) -> list[str]:
    return [s.body["transaction_details"]["order_id"] for s in midtrans.requests_to("/snap/")]


def test_a_denied_card_keeps_its_attempt(auth_client, api_client, midtrans, order):
    first = pay(auth_client, order).json()["payment"]
    payment = Payment.objects.get()
    deliver(api_client, midtrans, notification("doc_card_cancel", payment=payment, transaction_status="deny"))
    payment.refresh_from_db()
    assert payment.status == "failed"

    again = pay(auth_client, order)

    assert again.status_code == 200, again.content
    assert again.json()["payment"]["gateway_order_id"] == first["gateway_order_id"] == f"{order.number}-1"
    assert again.json()["payment"]["token"] == first["token"]
    assert snap_orders(midtrans) == [f"{order.number}-1"]
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("sample", ["doc_card_cancel", "doc_shopeepay_expire"])
def test_after_cancel_or_expire_at_the_gateway_a_new_attempt_opens(
    auth_client, api_client, midtrans, order, sample
):
    pay(auth_client, order)
    payment = Payment.objects.get()
    deliver(api_client, midtrans, notification(sample, payment=payment))
    payment.refresh_from_db()
    assert payment.status in ("cancelled", "expired")

    again = pay(auth_client, order)

    assert again.json()["payment"]["gateway_order_id"] == f"{order.number}-2"
    assert snap_orders(midtrans) == [f"{order.number}-1", f"{order.number}-2"]
    assert midtrans.requests_to("/cancel") == []


def test_a_page_that_ended_while_payable_is_cancelled_at_the_gateway_first(auth_client, midtrans, order):
    pay(auth_client, order)
    payment = Payment.objects.get()
    midtrans.set_status(payment.gateway_order_id, "pending", gross_amount="30000.00", fraud_status=None)
    Payment.objects.filter(pk=payment.pk).update(expires_at=payment.created_at - timedelta(seconds=1))

    again = pay(auth_client, order)

    assert again.status_code == 200, again.content
    assert again.json()["payment"]["gateway_order_id"] == f"{order.number}-2"
    paths = [s.path for s in midtrans.seen]
    assert paths.index(f"/v2/{payment.gateway_order_id}/cancel") < len(paths) - 1  # before Snap
    assert paths[-1] == "/snap/v1/transactions"
    payment.refresh_from_db()
    assert payment.status == "cancelled"


def test_no_new_attempt_while_the_old_one_cannot_be_cancelled(auth_client, midtrans, order):
    pay(auth_client, order)
    payment = Payment.objects.get()
    midtrans.set_status(payment.gateway_order_id, "pending", gross_amount="30000.00", fraud_status=None)
    Payment.objects.filter(pk=payment.pk).update(expires_at=payment.created_at - timedelta(seconds=1))
    midtrans.failures["cancel"] = "drop"

    again = pay(auth_client, order)

    assert again.status_code == 503
    assert again.json()["code"] == "payment_gateway_error"
    assert Payment.objects.count() == 1
    assert snap_orders(midtrans) == [f"{order.number}-1"]


def test_an_old_attempt_that_settled_meanwhile_pays_the_order_instead(auth_client, midtrans, order):
    pay(auth_client, order)
    payment = Payment.objects.get()
    Payment.objects.filter(pk=payment.pk).update(expires_at=payment.created_at - timedelta(seconds=1))
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")  # 412 on cancel

    again = pay(auth_client, order)

    assert again.status_code == 409
    assert again.json()["code"] == "payment_not_allowed"
    order.refresh_from_db()
    assert order.status == "paid"
    assert Payment.objects.count() == 1
