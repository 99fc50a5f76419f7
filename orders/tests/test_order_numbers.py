"""An order number drawn twice (about one in 10^12 a day) places the order under a new
draw: the whole placing transaction runs again (orders.placing.placing_transaction), and
nothing of the attempt that clashed is kept."""

import itertools

import pytest
from django.db import IntegrityError

from catalog.models import Product, StockMovement
from catalog.tests.factories import ProductFactory
from orders import placing
from orders.models import Order
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def nasi():
    return ProductFactory(slug="nasi", price=10_000, stock=10)


def draws(monkeypatch, numbers: list[str]) -> list[str]:
    """`order_number_new` answers `numbers` in turn, then fresh ones; returns what it drew."""
    drawn = []
    fresh = (f"FD-300101-FRESH{n:03d}" for n in itertools.count())

    def draw(*, now):
        drawn.append(numbers.pop(0) if numbers else next(fresh))
        return drawn[-1]

    monkeypatch.setattr(placing, "order_number_new", draw)
    return drawn


def test_a_number_taken_already_places_the_order_under_a_new_draw(monkeypatch, user, nasi):
    first = place_order(user=user, items=[(nasi, 1)])
    drawn = draws(monkeypatch, [first.number, first.number])
    order = place_order(user=user, items=[(nasi, 2)])
    assert drawn == [first.number, first.number, "FD-300101-FRESH000"]
    assert order.number == "FD-300101-FRESH000"
    assert Product.objects.get(pk=nasi.pk).stock == 7  # taken once for each order
    assert list(StockMovement.objects.filter(order=order).values_list("quantity", flat=True)) == [-2]
    assert Order.objects.count() == 2


def test_the_fifth_clash_in_a_row_is_let_through(monkeypatch, user, nasi):
    first = place_order(user=user, items=[(nasi, 1)])
    draws(monkeypatch, [first.number] * placing.NUMBER_DRAWS)
    with pytest.raises(IntegrityError):
        place_order(user=user, items=[(nasi, 2)])
    assert Product.objects.get(pk=nasi.pk).stock == 9
    assert Order.objects.count() == 1


def test_another_integrity_error_is_not_retried(monkeypatch, user, nasi):
    calls = []

    def broken():
        calls.append(1)
        raise IntegrityError('duplicate key value violates unique constraint "some_other_key"')

    with pytest.raises(IntegrityError):
        placing.placing_transaction(broken)
    assert calls == [1]
