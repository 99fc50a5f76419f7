"""Invoice PDFs and product images in an S3-compatible store (STORAGE_BACKEND=s3), run
against a real S3-protocol server on 127.0.0.1 (moto in server mode, config/tests/s3server.py).

What a second machine needs: a PDF rendered by one instance downloads from another that
has never had it on its disk; nothing is deleted that is still recorded; an outage of the
store while an invoice is issued leaves the invoice issued and its PDF rendered later, and
no shopper gets a 500 for it."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command

from catalog.tests.factories import ProductFactory
from config.tests.s3server import PRIVATE_BUCKET, PUBLIC_BUCKET
from conftest import bearer_client, run_at_once
from invoices import services
from invoices.models import Invoice
from invoices.tasks import render_invoice_pdf
from invoices.tests.factories import invoiced_order
from orders.models import Order, OrderStatus
from payments.models import Payment

API = "/api/v1"


def product():
    return ProductFactory(name="Nasi Goreng", sku="RIC-001", price=25_000, stock=20)


def download_on_another_instance(*, s3_env: dict, private_root, user, number: str) -> dict:
    """GET the invoice's PDF from a separate app process (its own PRIVATE_ROOT, the same
    database and object store), as a second machine behind the load balancer would."""
    from django.db import connection

    token = bearer_client(user)._credentials["HTTP_AUTHORIZATION"]
    script = textwrap.dedent(
        f"""
        import hashlib, json, django
        django.setup()
        from rest_framework.test import APIClient
        response = APIClient().get("{API}/invoices/{number}/pdf/", HTTP_AUTHORIZATION={token!r})
        body = b"".join(response.streaming_content) if response.streaming else response.content
        print(json.dumps({{"status": response.status_code, "type": response["Content-Type"],
                          "cache": response.get("Cache-Control"), "sha256": hashlib.sha256(body).hexdigest()}}))
        """
    )
    db = connection.settings_dict
    env = {
        **os.environ,
        **s3_env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-only-secret-key-not-for-production-use",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PRIVATE_ROOT": str(private_root),
        "ALLOWED_HOSTS": "testserver",
        "CELERY_BROKER_URL": "",
        "SECURE_SSL_REDIRECT": "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_storage_init_blocks_public_access_to_the_private_bucket_and_is_repeatable(s3):
    client = s3.client()
    block = client.get_public_access_block(Bucket=PRIVATE_BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(client.get_bucket_policy(Bucket=PUBLIC_BUCKET)["Policy"])
    assert [(s["Effect"], s["Principal"], s["Action"]) for s in policy["Statement"]] == [
        ("Allow", "*", ["s3:GetObject"])
    ]
    kept = storages["private"].save("keep/me.txt", ContentFile(b"kept"))
    call_command("storage_init", verbosity=0)  # again: nothing is made twice or emptied
    assert s3.keys() == [kept]


def test_storage_init_refuses_a_store_it_cannot_reach(s3):
    from django.core.management.base import CommandError

    s3.stop()
    with pytest.raises(CommandError, match="foodies-test-private"):
        call_command("storage_init", verbosity=0)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_invoice_rendered_on_one_instance_downloads_from_another(s3, user, settings, tmp_path):
    invoice = invoiced_order(user=user, items=[(product(), 2)])
    render_invoice_pdf(invoice.pk)  # the task the payment flow enqueues, on this instance
    invoice.refresh_from_db()
    assert invoice.pdf.name.startswith(f"invoices/{invoice.year}/{invoice.number}_")
    assert s3.keys() == [invoice.pdf.name]
    assert list(settings.PRIVATE_ROOT.rglob("*")) == []  # nothing on this instance's disk
    # Private: only the owner's grant on the object, no URL to hand out.
    grants = s3.client().get_object_acl(Bucket=PRIVATE_BUCKET, Key=invoice.pdf.name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all("URI" not in g["Grantee"] for g in grants)
    with pytest.raises(NotImplementedError):
        invoice.pdf.url  # noqa: B018

    other_disk = tmp_path / "instance-b"
    got = download_on_another_instance(
        s3_env=s3.env(), private_root=other_disk, user=user, number=invoice.number
    )
    assert got == {
        "status": 200,
        "type": "application/pdf",
        "cache": "private, no-store",
        "sha256": invoice.pdf_sha256,
    }
    assert not other_disk.exists() or list(other_disk.rglob("*")) == []
    assert s3.keys() == [invoice.pdf.name]  # served as stored: not rendered again, nothing deleted
    assert Invoice.objects.get().pdf.name == invoice.pdf.name


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_racing_re_renders_keep_exactly_the_recorded_object(s3, user):
    invoice = invoiced_order(user=user, items=[(product(), 1)])
    render_invoice_pdf(invoice.pk)
    first = Invoice.objects.get().pdf.name

    def render():
        return services.invoice_render_pdf(invoice=Invoice.objects.get(pk=invoice.pk), force=True)

    results = run_at_once([render, render, render])
    assert not [r for r in results if isinstance(r, Exception)]
    recorded = Invoice.objects.get().pdf.name
    assert recorded != first
    assert s3.keys() == [recorded]  # the losers removed their own uploads only


@pytest.mark.django_db(transaction=True)
def test_a_storage_outage_while_paying_leaves_the_invoice_issued_and_renders_it_later(
    s3, settings, api_client, user
):
    settings.PAYMENT_GATEWAY = "mock"
    settings.PUBLIC_BASE_URL = "http://testserver"
    shopper = bearer_client(user)
    assert shopper.post(f"{API}/cart/items/", {"product": product().slug, "quantity": 2}).status_code == 201
    placed = shopper.post(f"{API}/orders/", {})
    assert placed.status_code == 201, placed.content
    token = placed.json()["payment"]["token"]

    s3.stop()
    paid = api_client.post(f"{API}/payments/mock/{token}/", {"transaction_status": "settlement"})
    assert paid.status_code == 200, paid.content
    order = Order.objects.get()
    invoice = Invoice.objects.get()
    assert (order.status, Payment.objects.get().status) == (OrderStatus.PAID, "settled")
    assert (invoice.pdf.name, invoice.pdf_sha256) == ("", "")  # issued; its render failed

    down = shopper.get(f"{API}/invoices/{invoice.number}/pdf/")
    assert down.status_code == 503
    assert down["Content-Type"] == "application/json"
    assert down.json() == {
        "detail": "The document store cannot be reached just now. Try again in a minute.",
        "code": "storage_unavailable",
    }
    assert Invoice.objects.get().pdf.name == ""

    s3.start()
    up = shopper.get(f"{API}/invoices/{invoice.number}/pdf/")
    assert up.status_code == 200
    body = b"".join(up.streaming_content)
    invoice.refresh_from_db()
    assert hashlib.sha256(body).hexdigest() == invoice.pdf_sha256
    assert s3.keys() == [invoice.pdf.name]


def test_a_product_image_gets_a_public_url_from_the_store(s3):
    name = storages["default"].save("products/nasi.jpg", ContentFile(b"\xff\xd8jpeg"))
    url = storages["default"].url(name)
    assert url == f"{s3.endpoint}/{PUBLIC_BUCKET}/{name}"
    assert "X-Amz" not in url  # not presigned
    fetched = requests.get(url, timeout=5)
    assert (fetched.status_code, fetched.content) == (200, b"\xff\xd8jpeg")
    # Saving the same name again never overwrites the first image.
    assert storages["default"].save("products/nasi.jpg", ContentFile(b"other")) != name
