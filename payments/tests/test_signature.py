"""Midtrans's notification signature: the published vectors, and a real signed sample."""

import json

import pytest

from payments.gateways.base import midtrans_signature, signature_matches
from payments.models import PaymentNotification
from payments.tests.conftest import post_notification
from payments.tests.midtrans_server import SHARED, notification_sample

DEMO_SERVER_KEY = "SB-Mid-server-GwUP_WGbJPXsDzsNEBRs8IYA"  # Midtrans's public sandbox demo key
VECTORS = json.loads((SHARED / "signature_vectors.json").read_text())["vectors"]


def vector(name: str) -> dict:
    return next(v for v in VECTORS if v["name"] == name)


@pytest.mark.parametrize("name", ["docs_php_sample_inputs", "real_midtrans_sandbox_notification"])
def test_published_vectors(name):
    v = vector(name)
    fields = {k: v[k] for k in ("order_id", "status_code", "gross_amount", "server_key")}
    assert midtrans_signature(**fields) == v["expected_signature_key"]
    payload = {k: v[k] for k in ("order_id", "status_code", "gross_amount")}
    assert signature_matches(
        {**payload, "signature_key": v["expected_signature_key"]}, server_key=v["server_key"]
    )


def test_the_amount_is_signed_exactly_as_received():
    negative = vector("docs_inputs_without_decimals_NEGATIVE")
    # Signed over "100000", delivered with Midtrans's "100000.00": must not verify.
    payload = {
        "order_id": negative["order_id"],
        "status_code": negative["status_code"],
        "gross_amount": "100000.00",
        "signature_key": negative["expected_signature_key"],
    }
    assert not signature_matches(payload, server_key=negative["server_key"])
    assert signature_matches({**payload, "gross_amount": "100000"}, server_key=negative["server_key"])


def test_the_real_signed_sample_verifies_with_the_demo_key():
    sample = notification_sample("official_nodejs_example_card_capture_SIGNED")
    assert signature_matches(sample, server_key=DEMO_SERVER_KEY)
    assert not signature_matches(sample, server_key=DEMO_SERVER_KEY + "x")
    assert not signature_matches(sample, server_key="")


@pytest.mark.parametrize("field", ["order_id", "status_code", "gross_amount", "signature_key"])
def test_one_changed_character_fails(field):
    sample = notification_sample("official_nodejs_example_card_capture_SIGNED")
    value = sample[field]
    last = value[-1]
    sample[field] = value[:-1] + ("1" if last != "1" else "2")
    assert not signature_matches(sample, server_key=DEMO_SERVER_KEY)


@pytest.mark.parametrize("bad", [None, 200, ["x"], ""])
def test_missing_or_non_string_fields_never_verify(bad):
    sample = notification_sample("official_nodejs_example_card_capture_SIGNED")
    sample["signature_key"] = bad
    assert not signature_matches(sample, server_key=DEMO_SERVER_KEY)


@pytest.mark.django_db
def test_the_webhook_takes_the_real_sample_and_refuses_it_altered(settings, api_client):
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = DEMO_SERVER_KEY
    sample = notification_sample("official_nodejs_example_card_capture_SIGNED")

    genuine = post_notification(api_client, sample)
    altered = post_notification(api_client, {**sample, "gross_amount": "200001.00"})

    # Genuine: the signature passes, and the order id is simply not one of ours.
    assert (genuine.status_code, genuine.json()) == (
        404,
        {"status": "ignored", "detail": "Unknown order_id."},
    )
    assert (altered.status_code, altered.json()) == (
        403,
        {"status": "rejected", "detail": "Invalid signature."},
    )
    rows = list(
        PaymentNotification.objects.order_by("id").values_list("signature_valid", "outcome", "http_status")
    )
    assert rows == [(True, "ignored", 404), (False, "rejected", 403)]
