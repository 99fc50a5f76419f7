"""The Midtrans webhook against a fake Midtrans (status API on 127.0.0.1): every row of
DESIGN.md §4's table with bodies shaped like Midtrans's published notifications, and the
ways a notification can be repeated, late, forged, malformed or unconfirmable."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product
from invoices.models import Invoice
from orders import services as order_services
from orders.models import Order, OrderEvent
from payments.models import Payment, PaymentNotification
from payments.services.opening import payment_open
from payments.tests.conftest import (
    WEBHOOK,
    database_state,
    deliver,
    notification,
    page_ended,
    post_notification,
    signed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(midtrans, order) -> Payment:
    return payment_open(order=order)


def expire(order) -> None:
    """The order's window passes and `expire_orders` runs."""
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert order_services.order_expire(order_id=order.pk)


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def event_types(order) -> list[str]:
    return list(
        OrderEvent.objects.filter(order=order).order_by("created_at", "id").values_list("type", flat=True)
    )


def notifications() -> list[tuple]:
    return list(
        PaymentNotification.objects.order_by("id").values_list("outcome", "http_status", "signature_valid")
    )


def settle(client, midtrans, payment, sample="doc_bca_va_settlement", **overrides):
    response = deliver(client, midtrans, notification(sample, payment=payment, **overrides))
    assert response.status_code == 200, response.content
    return response


# --- the table: paying rows -------------------------------------------------------------

PAYING = {
    "card capture accept": ("doc_card_capture_accept", {}, "credit_card"),
    "card capture, no fraud_status": ("doc_card_capture_accept", {"fraud_status": None}, "credit_card"),
    "bank VA settlement": ("doc_bca_va_settlement", {}, "bank_transfer"),
    "permata VA settlement": ("doc_permata_va_settlement", {}, "bank_transfer"),
    "e-wallet settlement": ("doc_gopay_settlement", {}, "gopay"),
    "shopeepay settlement": ("doc_shopeepay_settlement", {}, "shopeepay"),
    "QRIS settlement": ("doc_qris_settlement", {}, "qris"),
    "convenience store, no fraud_status": ("doc_cstore_indomaret_settlement_no_fraud_status", {}, "cstore"),
    "klikbca, no fraud_status": ("doc_klikbca_settlement_no_fraud_status", {}, "bca_klikbca"),
}


@pytest.mark.parametrize("verify", [True, False], ids=["status-api", "body-only"])
@pytest.mark.parametrize(("sample", "overrides", "payment_type"), PAYING.values(), ids=PAYING.keys())
def test_a_settlement_pays_the_order(
    settings, api_client, midtrans, order, product, payment, sample, overrides, payment_type, verify
):
    settings.MIDTRANS_VERIFY_STATUS = verify
    body = notification(sample, payment=payment, **overrides)
    assert body["gross_amount"] == "30000.00"

    response = deliver(api_client, midtrans, body)

    assert (response.status_code, response.json()) == (200, {"status": "ok", "outcome": "applied"})
    payment.refresh_from_db()
    assert (payment.status, payment.payment_type, payment.needs_refund, payment.flag_reason) == (
        "settled",
        payment_type,
        False,
        "",
    )
    assert (
        payment.transaction_id == (midtrans.status_of(body["order_id"]) if verify else body)["transaction_id"]
    )
    assert payment.raw_status == (midtrans.status_of(body["order_id"]) if verify else body)
    assert payment.settled_at is not None
    order.refresh_from_db()
    assert (order.status, order.paid_at) == ("paid", payment.settled_at)
    assert stock_of(product) == 7  # taken at checkout, not again
    assert event_types(order) == [
        "placed",
        "payment_opened",
        "payment_updated",
        "status_changed",
        "invoice_issued",
    ]
    status_requests = midtrans.requests_to("/status")
    assert len(status_requests) == (1 if verify else 0)
    [row] = PaymentNotification.objects.all()
    assert (row.outcome, row.http_status, row.signature_valid, row.payment, row.order) == (
        "applied",
        200,
        True,
        payment,
        order,
    )
    assert (row.gateway_order_id, row.payload) == (payment.gateway_order_id, body)


# --- the table: rows that leave the order as it is --------------------------------------

NOT_PAYING = {
    "capture challenge": ("doc_card_capture_accept", {"fraud_status": "challenge"}, "challenge", "applied"),
    "pending (e-wallet)": ("doc_shopeepay_pending", {}, "pending", "duplicate"),
    "pending (bank transfer)": (
        "official_python_client_mock_bank_transfer_pending",
        {},
        "pending",
        "duplicate",
    ),
    "deny": ("official_go_example_card_deny_challenge_no_order_id", {}, "failed", "applied"),
    "cancel": ("doc_card_cancel", {}, "cancelled", "applied"),
    "expire": ("doc_shopeepay_expire", {}, "expired", "applied"),
    "failure": ("doc_card_cancel", {"transaction_status": "failure"}, "failed", "applied"),
}


@pytest.mark.parametrize(
    ("sample", "overrides", "status", "outcome"), NOT_PAYING.values(), ids=NOT_PAYING.keys()
)
def test_rows_that_leave_the_order_unchanged(
    api_client, midtrans, order, product, payment, sample, overrides, status, outcome
):
    response = deliver(api_client, midtrans, notification(sample, payment=payment, **overrides))

    assert (response.status_code, response.json()) == (200, {"status": "ok", "outcome": outcome})
    payment.refresh_from_db()
    assert (payment.status, payment.needs_refund, payment.settled_at) == (status, False, None)
    order.refresh_from_db()
    assert (order.status, order.paid_at, stock_of(product)) == ("pending_payment", None, 7)
    expected_events = {
        "applied": ["placed", "payment_opened", "payment_updated"],
        "duplicate": ["placed", "payment_opened"],
    }[outcome]
    if status == "challenge":
        expected_events.append("payment_flagged")
        assert "Fraud detection challenged" in payment.flag_reason
    assert event_types(order) == expected_events


def test_a_challenged_capture_accepted_later_pays_the_order(api_client, midtrans, order, payment):
    deliver(
        api_client,
        midtrans,
        notification("doc_card_capture_accept", payment=payment, fraud_status="challenge"),
    )
    payment.refresh_from_db()
    assert payment.flag_reason.startswith("Fraud detection challenged")
    settle(api_client, midtrans, payment, "doc_card_capture_accept")  # staff accepted it in the dashboard
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.flag_reason, order.status) == ("settled", "", "paid")


def test_a_denied_card_then_paid_in_the_same_snap_session_pays(api_client, midtrans, order, payment):
    deliver(
        api_client,
        midtrans,
        notification("official_go_example_card_deny_challenge_no_order_id", payment=payment),
    )
    settle(api_client, midtrans, payment, "doc_card_capture_accept")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("settled", "paid")


# --- the table: after settlement --------------------------------------------------------


def test_refund_refunds_the_order(api_client, midtrans, order, product, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")

    response = deliver(api_client, midtrans, notification("doc_card_refund_direct", payment=payment))

    assert response.json() == {"status": "ok", "outcome": "applied"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount, payment.needs_refund) == ("refunded", 30_000, False)
    assert order.status == "refunded"
    assert stock_of(product) == 7  # the food was sold; a refund does not restock
    assert event_types(order)[-3:] == ["payment_updated", "status_changed", "credit_note_issued"]
    invoice = Invoice.objects.get(order=order)
    assert (invoice.status, list(invoice.credit_notes.values_list("amount", flat=True))) == (
        "credited",
        [30_000],
    )


def test_partial_refund_records_the_amount_and_keeps_the_order(api_client, midtrans, order, payment):
    settle(api_client, midtrans, payment, "doc_card_capture_accept")

    partial = notification("doc_card_partial_refund", payment=payment)
    assert partial["refund_amount"] == "12000.00"
    response = deliver(api_client, midtrans, partial)

    assert response.json() == {"status": "ok", "outcome": "applied"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount, order.status) == ("partially_refunded", 12_000, "paid")
    event = OrderEvent.objects.filter(order=order, type="payment_updated").last()
    assert (event.type, event.data["to"], event.data["refunded_amount"]) == (
        "payment_updated",
        "partially_refunded",
        12_000,
    )
    invoice = Invoice.objects.get(order=order)
    assert list(invoice.credit_notes.values_list("amount", flat=True)) == [12_000]
    # The same partial refund again is a duplicate; a larger one moves; the rest refunds.
    assert deliver(api_client, midtrans, partial).json()["outcome"] == "duplicate"
    more = notification("doc_card_partial_refund", payment=payment, refund_amount="20000.00")
    assert deliver(api_client, midtrans, more).json()["outcome"] == "applied"
    payment.refresh_from_db()
    assert payment.refunded_amount == 20_000
    deliver(api_client, midtrans, notification("doc_card_refund_direct", payment=payment))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount, order.status) == ("refunded", 30_000, "refunded")
    # One credit note per refund step, together exactly what went back.
    assert list(invoice.credit_notes.order_by("id").values_list("amount", flat=True)) == [
        12_000,
        8_000,
        10_000,
    ]
    invoice.refresh_from_db()
    assert invoice.status == "credited"


def test_settlement_then_deny_fails_the_payment_flags_it_and_holds_the_order(
    api_client, midtrans, order, payment
):
    """A reversal (Midtrans's status cycle: settlement -> deny, "not paid, do not deliver")
    puts the paid order on hold (test_post_settlement.py has the whole cycle)."""
    settle(api_client, midtrans, payment, "doc_card_capture_accept")

    reversal = notification("official_go_example_card_deny_challenge_no_order_id", payment=payment)
    response = deliver(api_client, midtrans, reversal)

    assert response.json() == {"status": "ok", "outcome": "applied"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.needs_refund) == ("failed", False)
    assert payment.flag_reason.startswith("Reversed after it had settled")
    assert order.status == "payment_reversed"
    flagged = OrderEvent.objects.filter(order=order, type="payment_flagged").last()
    assert (flagged.actor, flagged.data["gateway_order_id"]) == ("gateway", payment.gateway_order_id)
    held = OrderEvent.objects.filter(order=order).last()
    assert (held.type, held.from_status, held.to_status) == ("status_changed", "paid", "payment_reversed")
    # A reversal is final unless Midtrans says `settlement` again: an old capture changes nothing.
    again = deliver(api_client, midtrans, notification("doc_card_capture_accept", payment=payment))
    assert again.json() == {"status": "ok", "outcome": "ignored"}
    payment.refresh_from_db()
    assert payment.status == "failed"


# --- repeats, order, amounts ------------------------------------------------------------


def test_five_deliveries_one_transition(api_client, midtrans, order, payment):
    body = notification("doc_gopay_settlement", payment=payment)
    answers = [deliver(api_client, midtrans, body) for _ in range(5)]

    assert [(a.status_code, a.json()["outcome"]) for a in answers] == [(200, "applied")] + [
        (200, "duplicate")
    ] * 4
    assert event_types(order) == [
        "placed",
        "payment_opened",
        "payment_updated",
        "status_changed",
        "invoice_issued",
    ]
    assert [o for o, _, _ in notifications()] == ["applied"] + ["duplicate"] * 4


@pytest.mark.parametrize(("verify", "outcome"), [(True, "duplicate"), (False, "ignored")])
def test_a_pending_after_the_settlement_changes_nothing(
    settings, api_client, midtrans, order, payment, verify, outcome
):
    settings.MIDTRANS_VERIFY_STATUS = verify
    settle(api_client, midtrans, payment, "doc_shopeepay_settlement")
    late_pending = notification("doc_shopeepay_pending", payment=payment)
    # Midtrans itself knows the payment settled: the stale body is all that says pending.
    response = post_notification(api_client, late_pending)

    assert (response.status_code, response.json()) == (200, {"status": "ok", "outcome": outcome})
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == ("settled", "paid")
    assert event_types(order) == [
        "placed",
        "payment_opened",
        "payment_updated",
        "status_changed",
        "invoice_issued",
    ]


def test_the_status_api_answer_wins_over_the_body(api_client, midtrans, order, payment):
    """A correctly signed body claiming settlement while Midtrans says pending (a replayed
    or crafted notification) does not pay the order."""
    midtrans.set_status(payment.gateway_order_id, "pending", gross_amount="30000.00")
    response = post_notification(api_client, notification("doc_bca_va_settlement", payment=payment))
    assert response.json() == {"status": "ok", "outcome": "duplicate"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("pending_payment", "pending")


def test_amount_mismatch_is_never_paid(api_client, midtrans, order, product, payment):
    body = notification("doc_bca_va_settlement", payment=payment, gross_amount="25000.00")
    response = deliver(api_client, midtrans, body)

    assert (response.status_code, response.json()) == (200, {"status": "ok", "outcome": "rejected"})
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, order.paid_at, stock_of(product)) == ("pending_payment", None, 7)
    assert (payment.status, payment.needs_refund) == ("settled", True)
    assert payment.flag_reason.startswith(
        "Amount mismatch: the gateway reports 25000.00, this attempt is for 30000"
    )
    assert event_types(order) == ["placed", "payment_opened", "payment_updated", "payment_flagged"]
    assert notifications() == [("rejected", 200, True)]
    # Delivered again: nothing more happens.
    assert deliver(api_client, midtrans, body).json()["outcome"] == "duplicate"
    assert len(event_types(order)) == 4


def test_a_pending_with_the_wrong_amount_is_flagged_once(api_client, midtrans, order, payment):
    body = notification("doc_shopeepay_pending", payment=payment, gross_amount="1000.00")
    assert deliver(api_client, midtrans, body).json()["outcome"] == "rejected"
    assert deliver(api_client, midtrans, body).json()["outcome"] == "duplicate"
    payment.refresh_from_db()
    assert (payment.status, payment.needs_refund, payment.flag_reason[:15]) == (
        "pending",
        False,
        "Amount mismatch",
    )
    assert event_types(order) == ["placed", "payment_opened", "payment_flagged"]


# --- refused before anything changes ----------------------------------------------------


def test_unknown_order_id(api_client, midtrans, payment):
    body = signed({**notification("doc_bca_va_settlement", payment=payment), "order_id": "FD-000000-NOPE-1"})
    before = database_state(exclude=("payments.PaymentNotification",))

    response = post_notification(api_client, body)

    assert (response.status_code, response.json()) == (
        404,
        {"status": "ignored", "detail": "Unknown order_id."},
    )
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    assert notifications() == [("ignored", 404, True)]
    assert midtrans.requests_to("/status") == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: {**b, "signature_key": "0" * 128},
        lambda b: {**b, "gross_amount": "300000.00"},
        lambda b: {**b, "status_code": "201"},
        lambda b: signed(b, key="SB-Mid-server-someone-else"),
    ],
    ids=["forged", "amount changed", "status code changed", "other key"],
)
def test_a_bad_signature_changes_nothing(api_client, midtrans, order, payment, tamper):
    body = tamper(notification("doc_bca_va_settlement", payment=payment))
    midtrans.set_status(payment.gateway_order_id, "settlement", gross_amount="30000.00")
    before = database_state(exclude=("payments.PaymentNotification",))
    requests_before = len(midtrans.seen)

    response = post_notification(api_client, body)

    assert (response.status_code, response.json()) == (
        403,
        {"status": "rejected", "detail": "Invalid signature."},
    )
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    assert len(midtrans.seen) == requests_before  # not even a status lookup
    [row] = PaymentNotification.objects.all()
    assert (row.outcome, row.http_status, row.signature_valid, row.payment, row.order) == (
        "rejected",
        403,
        False,
        None,
        None,
    )
    # Unsigned: only a bounded digest is kept (issue 24, item 3).
    raw = json.dumps(body).encode()
    assert (row.payload, row.raw_body, row.body_size, row.body_sha256) == (
        None,
        raw.decode(),
        len(raw),
        hashlib.sha256(raw).hexdigest(),
    )


def test_a_body_with_raw_nul_bytes_is_kept_and_refused(api_client, midtrans, payment):
    """A NUL byte in the raw body (not a JSON escape) cannot go in a text column: it is kept
    as U+FFFD and the body is refused as not JSON (was a 500, found by the fuzzer)."""
    before = database_state(exclude=("payments.PaymentNotification",))
    response = api_client.post(WEBHOOK, data=b'{"order_id": "A\x00"}', content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {"status": "rejected", "detail": "The body is not JSON."},
    )
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    [row] = PaymentNotification.objects.all()
    assert (row.outcome, row.http_status, row.raw_body) == ("rejected", 400, '{"order_id": "A\ufffd"}')


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"not json", "The body is not JSON."),
        (b"\xff\xfe{}", "The body is not JSON."),
        (b"[1, 2]", "The body is not a JSON object."),
        (
            b"{}",
            "Missing or not a string: order_id, status_code, gross_amount, signature_key, transaction_status.",
        ),
        (
            b'{"order_id": "A-1", "status_code": 200, "gross_amount": "1.00", "signature_key": "x", '
            b'"transaction_status": "settlement"}',
            "Missing or not a string: status_code.",
        ),
        (
            b'{"order_id": "A-1", "status_code": "200", "gross_amount": "ten", "signature_key": "x", '
            b'"transaction_status": "settlement"}',
            "gross_amount is not an amount.",
        ),
        (b"", "The body is not JSON."),
        (  # found by the fuzzer: a 500, PostgreSQL cannot store NUL
            b'{"order_id": "A-1", "status_code": "200", "gross_amount": "1.00", "signature_key": "x", '
            b'"transaction_status": "settle\\u0000ment"}',
            "The body contains the NUL character (U+0000).",
        ),
        (
            b'{"order_id": "A-1", "status_code": "200", "gross_amount": "1.00", "signature_key": "x", '
            b'"transaction_status": "settlement", "va_numbers": [{"\\u0000": 1}]}',
            "The body contains the NUL character (U+0000).",
        ),
    ],
)
def test_malformed_bodies_are_400(api_client, midtrans, payment, raw, detail):
    before = database_state(exclude=("payments.PaymentNotification",))
    response = api_client.post(WEBHOOK, data=raw, content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"status": "rejected", "detail": detail})
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    [row] = PaymentNotification.objects.all()
    assert (row.outcome, row.http_status, row.raw_body) == (
        "rejected",
        400,
        raw.decode("utf-8", errors="replace"),
    )


@pytest.mark.parametrize(
    "failure", ["drop", "timeout", "html", (404, "status_404_current"), (401, "status_401_core_api")]
)
def test_status_api_down_is_503_and_changes_nothing(api_client, midtrans, order, payment, failure):
    body = notification("doc_bca_va_settlement", payment=payment)
    midtrans.failures["status"] = failure
    before = database_state(exclude=("payments.PaymentNotification",))

    response = deliver(api_client, midtrans, body)

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert database_state(exclude=("payments.PaymentNotification",)) == before
    [row] = PaymentNotification.objects.all()
    assert (row.outcome, row.http_status, row.signature_valid) == ("error", 503, True)
    assert row.detail.startswith("Status check failed")

    # Midtrans retries once the status API is back: the order is paid.
    del midtrans.failures["status"]
    assert deliver(api_client, midtrans, body).json() == {"status": "ok", "outcome": "applied"}
    order.refresh_from_db()
    assert order.status == "paid"


# --- late and double payments -----------------------------------------------------------


@pytest.mark.parametrize("how", ["expired", "cancelled"])
def test_late_settlement_takes_the_stock_again(api_client, midtrans, order, product, payment, how):
    if how == "expired":
        expire(order)
    else:
        order_services.order_cancel(order=order, actor=order_services.Actor.of(order.user))
    assert stock_of(product) == 10

    settle(api_client, midtrans, payment)

    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, stock_of(product)) == ("paid", 7)
    assert (payment.status, payment.needs_refund) == ("settled", False)
    paid = OrderEvent.objects.get(order=order, to_status="paid")
    assert (paid.type, paid.from_status, paid.actor) == ("status_changed", how, "gateway")


def test_late_settlement_without_stock_is_flagged_for_refund(api_client, midtrans, order, product, payment):
    expire(order)
    Product.objects.filter(pk=product.pk).update(stock=2)  # sold to someone else meanwhile

    response = settle(api_client, midtrans, payment)

    assert response.json() == {"status": "ok", "outcome": "applied"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, order.paid_at, stock_of(product)) == ("expired", None, 2)
    assert (payment.status, payment.needs_refund) == ("settled", True)
    assert payment.flag_reason.startswith("Settled after the order was expired, and the stock is gone")
    assert event_types(order)[-2:] == ["payment_updated", "payment_flagged"]
    assert OrderEvent.objects.filter(order=order).last().data["needs_refund"] is True


def test_a_second_settled_attempt_is_a_double_payment(api_client, midtrans, order, product):
    first = payment_open(order=order)
    deliver(
        api_client,
        midtrans,
        notification("official_go_example_card_deny_challenge_no_order_id", payment=first),
    )
    page_ended(first)
    second = payment_open(order=order)  # the shopper tries again with a bank transfer
    assert (first.attempt, second.attempt) == (1, 2)
    settle(api_client, midtrans, second, "doc_bca_va_settlement")

    # ... and the card on the first attempt's page went through after all.
    response = settle(api_client, midtrans, first, "doc_card_capture_accept")

    assert response.json() == {"status": "ok", "outcome": "applied"}
    first.refresh_from_db()
    second.refresh_from_db()
    order.refresh_from_db()
    assert (second.status, second.needs_refund) == ("settled", False)
    assert (first.status, first.needs_refund) == ("settled", True)
    assert first.flag_reason == "Double payment: the order was already paid when this attempt settled."
    assert (order.status, stock_of(product)) == ("paid", 7)
    assert OrderEvent.objects.filter(order=order, type="status_changed", to_status="paid").count() == 1
    assert event_types(order)[-1] == "payment_flagged"


def test_the_database_allows_one_paying_attempt_per_order(midtrans, order):
    first = payment_open(order=order)
    second = Payment.objects.create(
        order=order,
        attempt=2,
        gateway="midtrans",
        gateway_order_id=f"{order.number}-2",
        amount=30_000,
        expires_at=order.expires_at,
    )
    Payment.objects.filter(pk=first.pk).update(status="settled")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=second.pk).update(status="settled")
    Payment.objects.filter(pk=second.pk).update(status="settled", needs_refund=True, flag_reason="double")


# --- the HTTP surface -------------------------------------------------------------------


def test_with_or_without_the_slash_and_never_a_redirect(api_client, midtrans, order, payment):
    body = notification("doc_gopay_settlement", payment=payment)
    without = deliver(api_client, midtrans, body, path=WEBHOOK.rstrip("/"))
    with_slash = deliver(api_client, midtrans, body)
    assert [(r.status_code, r.json()["outcome"]) for r in (without, with_slash)] == [
        (200, "applied"),
        (200, "duplicate"),
    ]


def test_only_post(api_client, midtrans):
    response = api_client.get(WEBHOOK)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert PaymentNotification.objects.count() == 0


def test_no_csrf_no_login_needed(client, midtrans, order, payment):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = deliver(strict, midtrans, notification("doc_gopay_settlement", payment=payment))
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_a_crash_is_a_503_midtrans_retries(api_client, midtrans, order, payment, monkeypatch):
    """DESIGN.md §7: an unexpected error is a 503 (Midtrans retries a 503 four times, a 500
    once); issue 24, item 8."""
    from payments.services import webhook

    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(webhook, "payment_apply", boom)
    response = deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=payment))
    assert (response.status_code, response.json()["status"]) == (503, "error")
    assert notifications() == [("error", 503, True)]
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_an_attempt_of_another_gateway_is_unknown(api_client, midtrans, order):
    mock_attempt = Payment.objects.create(
        order=order,
        attempt=1,
        gateway="mock",
        gateway_order_id=f"{order.number}-1",
        amount=30_000,
        token="t",
        expires_at=order.expires_at,
    )
    response = deliver(api_client, midtrans, notification("doc_gopay_settlement", payment=mock_attempt))
    assert response.status_code == 404
    mock_attempt.refresh_from_db()
    assert mock_attempt.status == "pending"
