"""A retried staff refund never gives money back twice (issue 17, item 6): over HTTP,
through the real midtransclient against the project's Midtrans test server. Midtrans's
Refund reference (https://docs.midtrans.com/reference/refund-transaction): `refund_key`
identifies one refund request, so a retry that reaches Midtrans must carry the same key.
The Idempotency-Key header works as on checkout: same key and body replay the first
answer, another body is 422, a request still running is 409."""

import pytest
from django.utils import timezone

from invoices.models import CreditNote
from orders.idempotency import request_fingerprint
from orders.models import IdempotencyKey
from payments.models import Payment
from payments.services.refunds import refund_key_for
from payments.tests.conftest import credit_notes, settle

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def refund(client, order, key=None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"{ORDERS}{order.number}/refund/", {"reason": "Burnt rice", **body}, format="json", headers=headers
    )


def test_a_retried_partial_gateway_refund_refunds_once(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")

    first = refund(staff_client, order, key="refund-1", amount=12_000)
    retry = refund(staff_client, order, key="refund-1", amount=12_000)  # the answer was lost

    assert (first.status_code, retry.status_code) == (200, 200), retry.content
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.json() == first.json()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 12_000)
    [request] = midtrans.requests_to("/refund")
    assert request.body["refund_key"] == refund_key_for(payment, user=staff_client.user, key="refund-1")
    assert credit_notes(order) == [(12_000, f"{payment.gateway_order_id}:12000")]


def test_a_retried_partial_offline_refund_credits_once(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_bca_va_settlement")
    body = {"amount": 10_000, "method": "offline", "reference": "BCA transfer 77"}

    first = refund(staff_client, order, key="off-1", **body)
    retry = refund(staff_client, order, key="off-1", **body)

    assert (first.status_code, retry.status_code) == (200, 200), retry.content
    assert retry.headers.get("Idempotent-Replayed") == "true"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 10_000)
    assert midtrans.requests_to("/refund") == []
    assert credit_notes(order) == [(10_000, f"{payment.gateway_order_id}:10000")]


def test_the_same_key_with_another_body_is_422_and_nothing_changes(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")
    assert refund(staff_client, order, key="k", amount=12_000).status_code == 200

    response = refund(staff_client, order, key="k", amount=5_000)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "idempotency_key_reused"
    payment.refresh_from_db()
    assert payment.refunded_amount == 12_000
    assert len(midtrans.requests_to("/refund")) == 1
    assert CreditNote.objects.filter(invoice__order=order).count() == 1


def test_a_key_still_in_flight_is_409_and_nothing_changes(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")
    first = refund(staff_client, order, key="k", amount=12_000)
    assert first.status_code == 200
    IdempotencyKey.objects.filter(key="k").update(state=IdempotencyKey.State.IN_PROGRESS)

    response = refund(staff_client, order, key="k", amount=12_000)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "idempotency_key_in_flight"
    payment.refresh_from_db()
    assert payment.refunded_amount == 12_000
    assert len(midtrans.requests_to("/refund")) == 1


def test_a_refused_refund_frees_its_key_for_a_retry(api_client, staff_client, midtrans, order):
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")

    refused = refund(staff_client, order, key="k", amount=40_000)  # more than was paid
    assert refused.status_code == 400, refused.content
    assert not IdempotencyKey.objects.filter(key="k").exists()
    assert refund(staff_client, order, key="k", amount=40_000).status_code == 400
    payment.refresh_from_db()
    assert payment.refunded_amount == 0


def test_without_a_key_two_partial_refunds_are_two_refunds(api_client, staff_client, midtrans, order):
    """Today's behaviour, kept: with no Idempotency-Key each request is a new refund."""
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")

    assert refund(staff_client, order, amount=5_000).status_code == 200
    assert refund(staff_client, order, amount=5_000).status_code == 200

    payment = Payment.objects.get(pk=payment.pk)
    assert payment.refunded_amount == 10_000
    assert [r.body["refund_key"] for r in midtrans.requests_to("/refund")] == [
        f"{payment.gateway_order_id}-refund-0",
        f"{payment.gateway_order_id}-refund-5000",
    ]


def test_a_retry_after_the_first_request_died_at_midtrans_is_not_a_second_refund(
    api_client, staff_client, midtrans, order, settings
):
    """The first request's refund was made at Midtrans, then our process died before
    recording it: its key is left in progress past IDEMPOTENCY_LOCK_SECONDS and the retry
    takes it over. It sends the same refund_key, which Midtrans answers with 406 "Duplicate
    refund ID" (published sample refund_406_duplicate_refund_key); the payment is brought up
    to date from Midtrans's status, and the retry is told so: no second refund."""
    payment = settle(api_client, midtrans, order, "doc_qris_settlement")
    refund_key = refund_key_for(payment, user=staff_client.user, key="k")
    # What Midtrans did for the request that died.
    midtrans.refund_keys.add(refund_key)
    midtrans._move(midtrans.status_of(payment.gateway_order_id), "partial_refund", refund_amount="12000.00")
    settings.IDEMPOTENCY_LOCK_SECONDS = 0
    IdempotencyKey.objects.create(
        user=staff_client.user, key="k", request_hash="", created_at=timezone.now(), locked_at=timezone.now()
    )
    IdempotencyKey.objects.filter(key="k").update(
        request_hash=request_fingerprint(
            method="POST",
            path=f"{ORDERS}{order.number}/refund/",
            body={"reason": "Burnt rice", "amount": 12_000},
        )
    )

    response = refund(staff_client, order, key="k", amount=12_000)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "refund_not_allowed"
    [request] = midtrans.requests_to("/refund")
    assert request.body["refund_key"] == refund_key
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 12_000)
    assert CreditNote.objects.filter(invoice__order=order).values_list("amount", flat=True).get() == 12_000


def test_an_offline_refund_whose_answer_died_after_commit_is_not_recorded_again(
    api_client, staff_client, midtrans, order
):
    """The first request recorded the offline refund and committed, then died before its key
    was completed (the key stays in progress; after IDEMPOTENCY_LOCK_SECONDS a retry takes
    it over). There is no gateway refund_key to refuse the repeat, so the refund carries one
    derived from the Idempotency-Key like the gateway path's, and the retry finds it."""
    payment = settle(api_client, midtrans, order, "doc_bca_va_settlement")
    body = {"amount": 10_000, "method": "offline", "reference": "BCA transfer 77"}
    assert refund(staff_client, order, key="off-1", **body).status_code == 200
    long_ago = timezone.now() - timezone.timedelta(minutes=5)
    IdempotencyKey.objects.filter(key="off-1").update(
        state=IdempotencyKey.State.IN_PROGRESS, response_status=None, response_body=None, locked_at=long_ago
    )

    retry = refund(staff_client, order, key="off-1", **body)

    assert retry.status_code == 200, retry.content
    assert "Idempotent-Replayed" not in retry.headers  # taken over, run again: found done
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 10_000)
    assert credit_notes(order) == [(10_000, f"{payment.gateway_order_id}:10000")]
    assert IdempotencyKey.objects.get(key="off-1").state == IdempotencyKey.State.COMPLETED
    # Another key is another refund.
    assert refund(staff_client, order, key="off-2", **body).status_code == 200
    payment.refresh_from_db()
    assert payment.refunded_amount == 20_000
