"""Low stock (issue 20): a per-product `low_stock_threshold`; each fall of the stock to it or
below, through catalog.stock, e-mails staff once, after the commit, and only again after
the stock has been back above. Django's test mail outbox stands in for the mail server
(https://docs.djangoproject.com/en/5.2/topics/testing/tools/#email-services)."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection, transaction

from accounts.roles import MANAGER, staff_groups_ensure
from accounts.tests.factories import UserFactory
from catalog.exceptions import InsufficientStock
from catalog.low_stock import low_stock_notify
from catalog.models import Product, StockReason
from catalog.stock import Why, stock_adjust, stock_set, stock_take
from catalog.tests.factories import ProductFactory
from conftest import run_at_once
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

API = "/api/v1/products/"


@pytest.fixture(autouse=True)
def _notify(settings):
    settings.STAFF_NOTIFY_EMAILS = ["kitchen@example.com"]
    settings.SHOP_NAME = "Foodies"


@pytest.fixture
def rice(db):
    product = ProductFactory(name="Nasi goreng", sku="NG-1", stock=10)
    Product.objects.filter(pk=product.pk).update(low_stock_threshold=3)
    product.refresh_from_db()
    return product


def alerted(product: Product) -> bool:
    return Product.objects.values_list("low_stock_alerted", flat=True).get(pk=product.pk)


def test_each_fall_to_the_threshold_tells_staff_once(rice, django_capture_on_commit_callbacks):
    def adjust(delta: int) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return stock_adjust(product=rice, delta=delta, user=None)

    assert adjust(-5) == 5
    assert mail.outbox == []
    assert adjust(-2) == 3  # at the threshold: crossed
    [first] = mail.outbox
    assert first.to == ["kitchen@example.com"]
    assert first.subject == "Foodies: low stock of Nasi goreng (3 left)"
    assert first.body.startswith(
        "Nasi goreng (SKU NG-1) is down to 3 in stock, at or below its low-stock threshold of 3."
    )
    assert adjust(-1) == 2  # still low: no news
    assert (len(mail.outbox), alerted(rice)) == (1, True)
    assert adjust(+1) == 3  # not above yet: still armed off
    assert (len(mail.outbox), alerted(rice)) == (1, True)
    assert adjust(+3) == 6  # above again: re-armed, nothing sent
    assert (len(mail.outbox), alerted(rice)) == (1, False)
    assert adjust(-4) == 2  # the second crossing
    assert [m.subject for m in mail.outbox][1:] == ["Foodies: low stock of Nasi goreng (2 left)"]


def test_an_order_that_takes_the_stock_down_tells_staff(rice, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        place_order(user=user, items=[(rice, 8)])
    assert [m.subject for m in mail.outbox if "low stock" in m.subject] == [
        "Foodies: low stock of Nasi goreng (2 left)"
    ]


def test_a_stock_set_crosses_too(rice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stock_set(product=rice, value=1, expected=10, user=None)
    assert [m.subject for m in mail.outbox] == ["Foodies: low stock of Nasi goreng (1 left)"]


def test_a_take_that_is_rolled_back_tells_no_one(rice, django_capture_on_commit_callbacks):
    short = ProductFactory(stock=1)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(InsufficientStock),
        transaction.atomic(),
    ):
        stock_take(demand={rice.pk: 9, short.pk: 2}, why=Why(StockReason.ADJUSTMENT))
    assert (callbacks, mail.outbox) == ([], [])
    assert Product.objects.get(pk=rice.pk).stock == 10
    assert alerted(rice) is False


def test_a_new_threshold_is_no_crossing(rice, staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"{API}{rice.slug}/", {"low_stock_threshold": 12}, format="json")
    assert response.status_code == 200, response.content
    assert mail.outbox == []
    assert (Product.objects.get(pk=rice.pk).low_stock_threshold, alerted(rice)) == (12, True)
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(product=rice, delta=-1, user=None)  # already low when it was set
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"{API}{rice.slug}/", {"low_stock_threshold": None}, format="json")
        stock_adjust(product=rice, delta=-8, user=None)
    assert response.status_code == 200
    assert (Product.objects.get(pk=rice.pk).low_stock_threshold, alerted(rice), mail.outbox) == (
        None,
        False,
        [],
    )


@pytest.mark.parametrize("value", [-1, "3", 2_000_000_001, True])
def test_a_bad_threshold_is_400_and_changes_nothing(rice, staff_client, value):
    response = staff_client.patch(f"{API}{rice.slug}/", {"low_stock_threshold": value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["low_stock_threshold"]
    assert Product.objects.get(pk=rice.pk).low_stock_threshold == 3


def test_a_product_created_below_its_threshold_is_no_crossing(
    staff_client, django_capture_on_commit_callbacks
):
    category = ProductFactory().category
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            API,
            {
                "name": "Es teh",
                "sku": "TEH-1",
                "category": category.slug,
                "stock": 2,
                "low_stock_threshold": 5,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    product = Product.objects.get(sku="TEH-1")
    assert (product.stock, product.low_stock_threshold, product.low_stock_alerted, mail.outbox) == (
        2,
        5,
        True,
        [],
    )


def test_without_staff_notify_emails_the_managers_are_told(rice, settings):
    settings.STAFF_NOTIFY_EMAILS = []
    staff_groups_ensure()
    managers = Group.objects.get(name=MANAGER)
    for email, active in (("b@example.com", True), ("a@example.com", True), ("gone@example.com", False)):
        UserFactory(email=email, is_active=active, is_staff=True).groups.add(managers)
    UserFactory(email="cook@example.com", is_staff=True)

    assert low_stock_notify(product_id=rice.pk, stock=3, threshold=3) is True
    assert mail.outbox[0].to == ["a@example.com", "b@example.com"]


def test_with_no_one_to_tell_nothing_is_sent(rice, settings):
    settings.STAFF_NOTIFY_EMAILS = []
    assert low_stock_notify(product_id=rice.pk, stock=3, threshold=3) is False
    assert mail.outbox == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_takes_cross_once(settings):
    """Real threads on the database (PostgreSQL in CI): eight takes of one unit each from
    10 with a threshold of 5; whatever their order, one of them crosses and one e-mail goes."""
    settings.STAFF_NOTIFY_EMAILS = ["kitchen@example.com"]
    product = ProductFactory(name="Es teh", stock=10)
    Product.objects.filter(pk=product.pk).update(low_stock_threshold=5)

    def take():
        try:
            stock_take(demand={product.pk: 1}, why=Why(StockReason.ADJUSTMENT))
        finally:
            connection.close()

    results = run_at_once([take] * 8)

    assert results == [None] * 8
    assert Product.objects.get(pk=product.pk).stock == 2
    assert [m.subject for m in mail.outbox] == ["Foodies: low stock of Es teh (5 left)"]
    assert alerted(product) is True


def test_the_admin_sets_the_threshold_through_the_service(admin_client_staff, rice):
    from catalog.tests.test_admin import form_values, product_url

    values = form_values(admin_client_staff, product_url(rice), "product_form")
    assert values["low_stock_threshold"] == "3"
    values.update(low_stock_threshold="10")

    response = admin_client_staff.post(product_url(rice), values)

    assert response.status_code == 302
    product = Product.objects.get(pk=rice.pk)
    assert (product.low_stock_threshold, product.low_stock_alerted, product.stock, mail.outbox) == (
        10,
        True,
        10,
        [],
    )
