"""Every published notification sample in ../shared/midtrans/notifications/, end to end over
HTTP with the project's Midtrans test server behind the real `midtransclient`, each with its
own `gross_amount` (format included: "2700", "5539.00") and fields. The order is made to
cost what the sample says; the sample's body is posted as published, but for `order_id`
(our attempt's, except where the sample's own id is the point) and `signature_key`
(re-signed with the test key: the doc samples carry placeholders; the one real Midtrans
signature is checked with Midtrans's public demo sandbox key). Sources: each file's name
(Midtrans documentation, Midtrans's client libraries, midtrans-php issues #118 and #121)."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.tests.factories import ProductFactory
from invoices.models import Invoice
from orders.tests.factories import place_order
from payments.models import Payment
from payments.services.opening import payment_open
from payments.tests.conftest import deliver, post_notification, signed
from payments.tests.midtrans_server import SHARED, notification_sample

pytestmark = pytest.mark.django_db

SAMPLES = sorted(path.stem for path in (SHARED / "notifications").glob("*.json"))
DEMO_SANDBOX_KEY = "SB-Mid-server-GwUP_WGbJPXsDzsNEBRs8IYA"  # Midtrans's public demo key (README)

PAID = ("settled", "paid")
# What each sample does to a fresh attempt (and its order). "after capture": delivered after
# a capture of the same transaction, as Midtrans's status cycle requires.
EXPECTED = {
    "doc_akulaku_settlement": PAID,
    "doc_bca_klikpay_settlement": PAID,
    "doc_bca_va_settlement": PAID,
    "doc_bni_va_settlement": PAID,
    "doc_bri_epay_settlement": PAID,
    "doc_bri_va_settlement": PAID,
    "doc_card_cancel": ("cancelled", "refunded"),  # after capture: a void
    "doc_card_capture_accept": PAID,
    "doc_card_partial_refund": ("partially_refunded", "paid"),  # after capture
    "doc_card_partial_refund_bank_confirmed": ("partially_refunded", "paid"),  # after capture
    "doc_card_partial_refund_direct_minimal": ("partially_refunded", "paid"),  # after capture, no amount
    "doc_card_refund_direct": ("refunded", "refunded"),  # after capture
    "doc_card_refund_direct_bank_confirmed": ("refunded", "refunded"),  # after capture
    "doc_cimb_clicks_settlement_no_fraud_status": PAID,
    "doc_cstore_alfamart_settlement": PAID,
    "doc_cstore_indomaret_settlement_no_fraud_status": PAID,
    "doc_danamon_online_settlement": PAID,
    "doc_echannel_mandiri_bill_settlement": PAID,
    "doc_gopay_settlement": PAID,
    "doc_invoice_bca_va_settlement_metadata": PAID,
    "doc_klikbca_settlement_no_fraud_status": PAID,
    "doc_permata_va_settlement": PAID,
    "doc_qris_settlement": PAID,
    "doc_qris_settlement_current": PAID,
    "doc_shopeepay_expire": ("expired", "pending_payment"),
    "doc_shopeepay_pending": ("pending", "pending_payment"),
    "doc_shopeepay_settlement": PAID,
    "doc_shopeepay_settlement_with_reference": PAID,
    "issue_midtrans_php_118_fee_imposition_qris_settlement": PAID,  # the fee on top
    "issue_midtrans_php_121_bsi_va_settlement_order_id_is_transaction_id": PAID,  # BI-SNAP
    "official_go_example_card_deny_challenge_no_order_id": None,  # no order_id: 400
    "official_nodejs_example_card_capture_SIGNED": PAID,  # Midtrans's own signature
    "official_php_test_capture_integer_amount": PAID,
    "official_python_client_mock_bank_transfer_pending": ("pending", "pending_payment"),
}
AFTER_CAPTURE = {"doc_card_cancel"} | {name for name in EXPECTED if "refund" in name}


def test_every_published_sample_has_a_row():
    assert sorted(EXPECTED) == SAMPLES


def order_costing(user, amount: int):
    product = ProductFactory(price=amount, stock=5)
    order = place_order(user=user, items=[(product, 1)])
    assert order.total == amount
    return order


def order_amount(sample: dict) -> int:
    info = (sample.get("metadata") or {}).get("extra_info", {}).get("gross_amount_info")
    return int(Decimal(info["original_amount"] if info else sample["gross_amount"]))


def capture_of(sample: dict, order_id: str) -> dict:
    """The capture that came before a refund or void of the same card transaction."""
    body = {k: v for k, v in sample.items() if k not in ("refund_amount", "refunds", "signature_key")}
    return signed(
        {
            **body,
            "order_id": order_id,
            "transaction_status": "capture",
            "fraud_status": "accept",
            "status_code": "200",
        }
    )


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_end_to_end(api_client, midtrans, settings, user, name):
    sample = notification_sample(name)
    expected = EXPECTED[name]
    if expected is None:
        # As published, it has no order_id: refused as malformed before anything else.
        assert "order_id" not in sample
        response = post_notification(api_client, sample)
        assert response.status_code == 400
        assert "order_id" in response.json()["detail"]
        return

    order = order_costing(user, order_amount(sample))
    if name.endswith("_SIGNED"):
        # Midtrans's own signature, over Midtrans's own order_id, with its public demo key.
        settings.MIDTRANS_SERVER_KEY = midtrans.server_key = DEMO_SANDBOX_KEY
        payment = Payment.objects.create(
            order=order,
            attempt=1,
            gateway="midtrans",
            gateway_order_id=sample["order_id"],
            amount=order.total,
            token="snap-token",
            expires_at=order.expires_at,
        )
        body = sample
        deliver_as_is(midtrans, body)
        response = post_notification(api_client, body)
    else:
        payment = payment_open(order=order)
        if name in AFTER_CAPTURE:
            assert (
                deliver(api_client, midtrans, capture_of(sample, payment.gateway_order_id)).status_code == 200
            )
        if name.startswith("issue_midtrans_php_121"):
            # BI-SNAP (BSI VA): the pending notification names the attempt and the transaction id;
            # the settlement then arrives with the transaction id as its order_id.
            pending = {k: v for k, v in sample.items() if k not in ("settlement_time", "signature_key")}
            pending.update(order_id=payment.gateway_order_id, transaction_status="pending", status_code="201")
            assert deliver(api_client, midtrans, signed(pending)).json()["outcome"] == "duplicate"
            payment.refresh_from_db()
            assert payment.transaction_id == sample["transaction_id"]
            midtrans.set_status(
                payment.gateway_order_id,
                "settlement",
                gross_amount=sample["gross_amount"],
                payment_type="bank_transfer",
                va_numbers=sample["va_numbers"],
            )
            body = signed(sample)  # as published: order_id is the transaction id
            response = post_notification(api_client, body)
        else:
            body = signed({**sample, "order_id": payment.gateway_order_id})
            known = midtrans.status_of(payment.gateway_order_id)
            if known is not None:  # after the capture: Midtrans's transaction keeps its id
                body = signed({**body, "transaction_id": known["transaction_id"]})
            response = deliver_fee_aware(api_client, midtrans, body, sample)

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] in ("applied", "duplicate")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == expected
    if order.status == "paid":
        invoice = Invoice.objects.get(order=order)
        assert (invoice.total, payment.payment_type) == (order.total, sample["payment_type"])
    if name.startswith("issue_midtrans_php_118"):
        assert (payment.amount, payment.fee_amount) == (10_000, 71)
    if name == "doc_card_partial_refund":
        assert payment.refunded_amount == 12_000
    if name.endswith("direct_minimal"):
        assert payment.flag_reason.startswith("A partial refund or chargeback without an amount")
    if order.status == "refunded":
        assert (
            sum(Invoice.objects.get(order=order).credit_notes.values_list("amount", flat=True)) == order.total
        )


def deliver_as_is(midtrans, body: dict) -> None:
    midtrans.set_status(
        body["order_id"],
        body["transaction_status"],
        gross_amount=body["gross_amount"],
        fraud_status=body.get("fraud_status"),
        payment_type=body["payment_type"],
        transaction_id=body["transaction_id"],
    )


def deliver_fee_aware(client, midtrans, body: dict, sample: dict):
    """`deliver`, but Midtrans's side of a fee-imposed payment is set up as the test server
    documents it: its status answer has the gross amount with the fee and no metadata block."""
    info = (sample.get("metadata") or {}).get("extra_info", {}).get("gross_amount_info")
    if info is None:
        return deliver(client, midtrans, body)
    midtrans.set_status(
        body["order_id"],
        body["transaction_status"],
        gross_amount=info["original_amount"],
        fee=int(info["customer_imposed_payment_fee"]),
        payment_type=body["payment_type"],
        transaction_id=body["transaction_id"],
    )
    assert midtrans.status_of(body["order_id"])["gross_amount"] == body["gross_amount"]
    return post_notification(client, body)


def test_the_signed_sample_really_is_signed_with_the_demo_key():
    from payments.gateways.base import signature_matches

    sample = json.loads(
        Path(SHARED / "notifications" / "official_nodejs_example_card_capture_SIGNED.json").read_text()
    )
    assert signature_matches(sample, server_key=DEMO_SANDBOX_KEY)
