"""Twenty shoppers race for a voucher with five uses (real threads, each on its own
PostgreSQL connection): exactly five discounted orders, the rest 409 voucher_unavailable
with nothing ordered; a cancelled order frees its use for the next shopper. The defect this
guards against is the read-then-write limit check (Saleor #544, django-oscar PR #4612)."""

from collections import Counter

import pytest

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog.models import Product
from catalog.stock import stock_audit
from catalog.tests.factories import ProductFactory
from conftest import bearer_client, run_at_once
from orders import services
from orders.models import AppliedVoucher, Order, Voucher, VoucherUse

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ORDERS = "/api/v1/orders/"


def test_twenty_shoppers_five_uses():
    # Each shopper buys a dish of their own, so no product row lock lines them up: only
    # the voucher's conditional UPDATE stands between them and a sixth use.
    products = ProductFactory.create_batch(20, stock=3, price=20_000)
    hemat = Voucher.objects.create(code="HEMAT", kind="fixed", value=5_000, usage_limit=5)
    clients, users = [], []
    for product in products:
        user = UserFactory()
        cart_add_item(user=user, product=product, quantity=1)
        AppliedVoucher.objects.create(user=user, voucher=hemat)
        users.append(user)
        clients.append(bearer_client(user))

    def checkout(client):
        def task():
            response = client.post(ORDERS, {}, format="json")
            return response.status_code, response.json().get("code")

        return task

    results = run_at_once([checkout(c) for c in clients])

    assert Counter(results) == {(201, None): 5, (409, "voucher_unavailable"): 15}
    assert Voucher.objects.get().used == 5
    assert VoucherUse.objects.count() == 5
    assert sorted(Order.objects.values_list("discount", "total")) == [(5_000, 15_000)] * 5
    assert (
        sorted(Product.objects.filter(pk__in=[p.pk for p in products]).values_list("stock", flat=True))
        == [2] * 5 + [3] * 15
    )  # the refused took nothing
    assert stock_audit() == []

    # A cancelled order gives its use back: one more shopper gets it, then none.
    first = Order.objects.order_by("id").first()
    services.order_cancel(order=first, actor=services.Actor.of(first.user))
    waiting = [u for u in users if not Order.objects.filter(user=u).exists()]
    assert bearer_client(waiting[0]).post(ORDERS, {}, format="json").status_code == 201
    assert bearer_client(waiting[1]).post(ORDERS, {}, format="json").json()["code"] == "voucher_unavailable"
    assert Voucher.objects.get().used == 5
