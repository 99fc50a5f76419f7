"""config.rows reads the cart's lines and the request's user with SQL compiled once: they
must be the instances the ORM builds, field for field, related objects included."""

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from cart.selectors import cart_items, cart_lines, with_cart_bundle_components
from cart.tests.factories import CartFactory, CartItemFactory
from catalog.models import Product
from catalog.selectors import with_bundle_components
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


def test_the_bundle_components_are_the_orm_s(django_assert_num_queries):
    """On PostgreSQL one prepared query; elsewhere it is the ORM's prefetch itself."""
    a, b, c = ProductFactory(stock=5), ProductFactory(stock=0), ProductFactory(is_active=False)
    combo = BundleFactory(components=[(b, 2), (a, 1)])
    other = BundleFactory(components=[(c, 1)])
    empty = BundleFactory(components=[])
    single = ProductFactory()

    def read(fetch) -> list:
        products = list(
            Product.objects.filter(pk__in=[combo.pk, other.pk, empty.pk, single.pk]).order_by("id")
        )
        fetch(products)
        with django_assert_num_queries(0):
            return [
                [
                    (fields(i), fields(i.component), i.bundle is product)
                    for i in (product.bundle_items.all() if product.is_bundle else [])
                ]
                for product in products
            ]

    with django_assert_num_queries(1):
        list(with_cart_bundle_components([combo, other]))
    ours, orm = read(with_cart_bundle_components), read(with_bundle_components)
    assert ours == orm
    assert [len(components) for components in ours] == [2, 1, 0, 0]
