from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import User
from accounts.tests.factories import UserFactory
from cart.models import Cart, CartItem
from cart.services import cart_add_item
from catalog.models import Product
from catalog.tests.factories import BundleFactory, ProductFactory
from orders import services
from orders.models import IdempotencyKey, Order, OrderEvent, OrderLine
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def shop(user):
    rice = ProductFactory(slug="rice", stock=20)
    tea = ProductFactory(slug="tea", stock=20)
    combo = BundleFactory(components=[(rice, 2), (tea, 1)])
    pending = place_order(user=user, items=[(rice, 1), (combo, 2)])  # rice 5, tea 2
    paid = place_order(user=user, items=[(tea, 3)])
    with transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=paid.pk), to_status="paid", actor=services.GATEWAY
        )
    cancelled = place_order(user=user, items=[(rice, 4)])
    services.order_cancel(order=cancelled, actor=services.Actor.of(user))
    cart_add_item(user=user, product=rice, quantity=1)
    IdempotencyKey.objects.create(user=user, key="k", request_hash="h", order=pending)
    assert [Product.objects.get(pk=p.pk).stock for p in (rice, tea)] == [15, 15]
    return rice, tea


@pytest.mark.parametrize("command", ["reset_data", "reset_db"])
def test_resets_refuse_when_debug_is_off(settings, shop, command):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command(command, stdout=StringIO())
    assert (Order.objects.count(), CartItem.objects.count()) == (3, 1)


def test_reset_data_removes_shopping_data_and_returns_held_stock(settings, shop, user):
    settings.DEBUG = True
    rice, tea = shop
    products_before = Product.objects.count()

    output = run("reset_data")

    assert [Product.objects.get(pk=p.pk).stock for p in (rice, tea)] == [20, 20]
    assert Order.objects.count() == OrderLine.objects.count() == OrderEvent.objects.count() == 0
    assert Cart.objects.count() == CartItem.objects.count() == IdempotencyKey.objects.count() == 0
    assert User.objects.filter(pk=user.pk).exists()
    assert Product.objects.count() == products_before
    assert "Returned 10 unit(s) of stock to the menu." in output
    assert "Removed 3 orders." in output
    assert "Removed 1 carts." in output

    assert "Returned 0 unit(s)" in run("reset_data")


def test_reset_data_with_force_outside_debug(settings, shop):
    settings.DEBUG = False
    run("reset_data", "--force")
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)  # flush truncates: PostgreSQL refuses inside a transaction
def test_reset_db_flushes_migrates_and_seeds(settings, shop):
    settings.DEBUG = True
    UserFactory(email="someone@example.com")
    output = run("reset_db")
    assert not User.objects.filter(email="someone@example.com").exists()
    assert Order.objects.count() == 0
    assert set(User.objects.values_list("email", flat=True)) == {
        "budi@example.com",
        "siti@example.com",
        "staff@example.com",
        "kitchen@example.com",
    }
    assert Product.objects.filter(sku="RIC-001").exists()
    assert "Menu:" in output
