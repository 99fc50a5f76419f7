"""The same partial refund with the same Idempotency-Key sent twice at once (a client that
retried while its first request was still running), with real threads on their own
PostgreSQL connections, over HTTP through the real midtransclient against the project's
Midtrans test server (issue 17, item 6). The key's row is claimed before anything else:
one request refunds, the other is 409 idempotency_key_in_flight or, once the first has
finished, its replay. Never two refunds, never two credit notes."""

import pytest
from django.test import Client

from conftest import bearer_client, run_at_once
from invoices.models import CreditNote
from orders.models import IdempotencyKey
from payments.models import Payment
from payments.services.opening import payment_open
from payments.tests.conftest import deliver, notification

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def settled(midtrans, order, sample: str) -> Payment:
    payment = payment_open(order=order)
    assert deliver(Client(), midtrans, notification(sample, payment=payment)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "settled"
    return payment


def twice_at_once(staff_user, order, body: dict) -> list[tuple[int, str | None]]:
    staff = bearer_client(staff_user)

    def send():
        response = staff.post(
            f"/api/v1/orders/{order.number}/refund/",
            {"reason": "Cold", **body},
            format="json",
            headers={"Idempotency-Key": "staff-retry-1"},
        )
        outcome = response.headers.get("Idempotent-Replayed") or response.json().get("code")
        return response.status_code, outcome

    return sorted(run_at_once([send, send]), key=lambda result: (result[0], result[1] is not None))


def one_refunded(results) -> None:
    assert results[0] == (200, None), results  # the one that refunded
    assert results[1] in [(200, "true"), (409, "idempotency_key_in_flight")], results
    assert IdempotencyKey.objects.get(key="staff-retry-1").state == IdempotencyKey.State.COMPLETED


@pytest.mark.parametrize("round_", range(3))
def test_the_same_gateway_refund_twice_at_once_refunds_once(staff_user, midtrans, order, round_):
    payment = settled(midtrans, order, "doc_qris_settlement")

    results = twice_at_once(staff_user, order, {"amount": 12_000})

    one_refunded(results)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 12_000)
    assert len(midtrans.requests_to("/refund")) == 1
    notes = CreditNote.objects.filter(invoice__order=order).values_list("amount", "refund_reference")
    assert list(notes) == [(12_000, f"{payment.gateway_order_id}:12000")]


@pytest.mark.parametrize("round_", range(3))
def test_the_same_offline_refund_twice_at_once_credits_once(staff_user, midtrans, order, round_):
    payment = settled(midtrans, order, "doc_bca_va_settlement")

    results = twice_at_once(staff_user, order, {"amount": 10_000, "method": "offline", "reference": "TRF-9"})

    one_refunded(results)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 10_000)
    assert midtrans.requests_to("/refund") == []
    notes = CreditNote.objects.filter(invoice__order=order).values_list("amount", "refund_reference")
    assert list(notes) == [(10_000, f"{payment.gateway_order_id}:10000")]
