"""Benchmark data in the scratch database: shoppers with access tokens, filled carts, stock.

Runs in the harness process (Django set up against the scratch database). Rows are made in
bulk: a run prepares thousands of shoppers and carts, and doing that one service call at a
time would take longer than the measurement. What is written is exactly what the services
would write (a shopper with an unusable password, one cart per shopper, lines of products
for sale with a quantity within CART_MAX_QUANTITY); stock changes go through
`catalog.stock`, the one owner of the column, so the ledger stays right.
"""

import math
from dataclasses import dataclass

from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from cart.models import Cart, CartItem
from catalog.models import Product
from catalog.selectors import product_list
from catalog.services import GENERATED_SKU_PREFIX
from catalog.stock import stock_adjust

EMAIL_DOMAIN = "bench.example.com"


@dataclass(frozen=True)
class Shopper:
    user_id: int
    email: str
    token: str


@dataclass(frozen=True)
class Menu:
    """What the scenarios pick from, read once after seeding."""

    visible_slugs: list[str]  # everything a shopper can open, demo menu and generated
    single_ids: list[int]  # generated single products, priced and in stock
    single_slugs: dict[int, str]
    bundle_ids: list[int]  # demo bundles that can be sold now
    page_count: int  # pages of the default product list


def menu_read(*, page_size: int) -> Menu:
    visible = product_list()
    visible_slugs = list(visible.order_by("id").values_list("slug", flat=True))
    singles = dict(
        visible.filter(kind=Product.Kind.SINGLE, stock__gt=0, sku__startswith=GENERATED_SKU_PREFIX)
        .order_by("id")
        .values_list("id", "slug")
    )
    if not singles:  # `--products 0`: the demo menu's singles will do
        singles = dict(
            visible.filter(kind=Product.Kind.SINGLE, stock__gt=0).order_by("id").values_list("id", "slug")
        )
    bundles = [
        product.pk
        for product in visible.filter(kind=Product.Kind.BUNDLE).order_by("id")
        if all(
            item.component.is_active and item.component.stock >= item.quantity
            for item in product.bundle_items.all()
        )
    ]
    return Menu(
        visible_slugs=visible_slugs,
        single_ids=list(singles),
        single_slugs=singles,
        bundle_ids=bundles,
        page_count=math.ceil(len(visible_slugs) / page_size),
    )


def shoppers_create(*, label: str, count: int) -> list[Shopper]:
    """`count` new shoppers named `<label>-<n>@bench.example.com`, each with an access token
    (valid for JWT_ACCESS_MINUTES) and an empty cart."""
    with transaction.atomic():
        users = [
            User(email=f"{label}-{n:06d}@{EMAIL_DOMAIN}", name=f"Bench {label} {n}") for n in range(count)
        ]
        for user in users:
            user.set_unusable_password()
        User.objects.bulk_create(users, batch_size=1000)
        # bulk_create returns primary keys on PostgreSQL and SQLite >= 3.35; read them back to
        # be independent of either.
        ids = dict(User.objects.filter(email__in=[u.email for u in users]).values_list("email", "id"))
        Cart.objects.bulk_create([Cart(user_id=ids[user.email]) for user in users], batch_size=1000)
    shoppers = []
    for user in users:
        user.pk = ids[user.email]
        shoppers.append(Shopper(user_id=user.pk, email=user.email, token=str(AccessToken.for_user(user))))
    return shoppers


def carts_fill(*, lines: dict[int, list[tuple[int, int]]]) -> int:
    """Replace the carts of the given users: {user id: [(product id, quantity), ...]}.
    Returns the number of lines written."""
    with transaction.atomic():
        carts = dict(Cart.objects.filter(user_id__in=lines).values_list("user_id", "id"))
        CartItem.objects.filter(cart_id__in=carts.values()).delete()
        items = [
            CartItem(cart_id=carts[user_id], product_id=product_id, quantity=quantity)
            for user_id, wanted in lines.items()
            for product_id, quantity in wanted
        ]
        CartItem.objects.bulk_create(items, batch_size=1000)
    return len(items)


def carts_clear(*, user_ids: list[int]) -> None:
    CartItem.objects.filter(cart__user_id__in=user_ids).delete()


def stock_ensure(*, product_ids: list[int], at_least: int) -> None:
    """Raise each product's stock to at least `at_least` units (a recorded adjustment), so
    a checkout scenario measures checkout, not running out."""
    for product in Product.objects.filter(pk__in=product_ids, kind=Product.Kind.SINGLE):
        if product.stock < at_least:
            stock_adjust(product=product, delta=at_least - product.stock, user=None, note="benchmark stock")
