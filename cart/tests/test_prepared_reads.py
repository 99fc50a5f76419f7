"""config.rows reads the cart's lines and the request's user with SQL compiled once: they
must be the instances the ORM builds, field for field, related objects included."""

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from cart.selectors import cart_items, cart_lines
from cart.tests.factories import CartFactory, CartItemFactory
from catalog.tests.factories import BundleFactory, ProductFactory
from config.rows import PkReader, PreparedQuery

pytestmark = pytest.mark.django_db


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_cart_lines_are_the_orm_s_with_product_and_category():
    cart = CartFactory()
    CartItemFactory(cart=cart, product=ProductFactory(price=12_000, stock=3), quantity=2, note="pedas")
    CartItemFactory(cart=cart, product=BundleFactory(components=[(ProductFactory(stock=5), 1)]))
    CartItemFactory(cart=CartFactory(), product=ProductFactory())  # another shopper's
    orm = list(cart_items(user=cart.user))
    prepared = cart_lines(user=cart.user)
    assert [fields(i) for i in prepared] == [fields(i) for i in orm]
    assert [fields(i.product) for i in prepared] == [fields(i.product) for i in orm]
    assert [fields(i.product.category) for i in prepared] == [fields(i.product.category) for i in orm]
    assert [i._state.adding for i in prepared] == [False, False]
    assert cart_lines(user=UserFactory()) == []


def test_the_user_is_the_orm_s():
    user = UserFactory(is_staff=True)
    read = PkReader(User).get(user.pk)
    assert fields(read) == fields(User.objects.get(pk=user.pk))
    assert (read.is_staff, read.is_active) == (True, True)
    assert PkReader(User).get(user.pk + 1000) is None


def test_the_value_must_be_one_parameter():
    with pytest.raises(ValueError, match="one parameter of the SQL, found 2"):
        PreparedQuery(User, lambda value: User.objects.filter(pk=value) | User.objects.filter(pk=value)).list(
            1
        )
