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
from datetime import time

from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from cart.models import Cart, CartItem
from catalog.models import BundleItem, Product
from catalog.seeding import GENERATED_SKU_PREFIX
from catalog.selectors import menu_products
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
    visible = menu_products()
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


def bundle_components(*, bundle_ids: list[int]) -> dict[int, dict[int, int]]:
    """{bundle id: {component id: units per bundle}}."""
    components: dict[int, dict[int, int]] = {bundle_id: {} for bundle_id in bundle_ids}
    for bundle_id, component_id, quantity in BundleItem.objects.filter(bundle_id__in=bundle_ids).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        components[bundle_id][component_id] = quantity
    return components


def stock_ensure_for(*, lines: dict[int, list[tuple[int, int]]], margin: int = 100) -> None:
    """Enough stock for every cart in `lines` ({user id: [(product id, quantity)]}) to be
    checked out, bundles counted by their components, plus `margin` units a product."""
    products = {product_id for wanted in lines.values() for product_id, _ in wanted}
    bundles = bundle_components(bundle_ids=list(products))
    demand: dict[int, int] = {}
    for wanted in lines.values():
        for product_id, quantity in wanted:
            for unit_id, per_unit in (bundles.get(product_id) or {product_id: 1}).items():
                demand[unit_id] = demand.get(unit_id, 0) + quantity * per_unit
    for product in Product.objects.filter(pk__in=demand, kind=Product.Kind.SINGLE):
        wanted = demand[product.pk] + margin
        if product.stock < wanted:
            stock_adjust(product=product, delta=wanted - product.stock, user=None, note="benchmark stock")


def shop_open_always() -> None:
    """Opening hours of 00:00-00:00 (the whole day) every day, through the services staff
    use, so checkouts "as soon as possible" are taken whatever the time of the run (the
    demo hours close at 21:00 in Jakarta). The schedule is still read on every checkout,
    as in a shop with hours."""
    from orders.models import HoursException, WeeklyHours
    from orders.pickup.services import hours_exception_delete, weekly_hours_add, weekly_hours_delete

    with transaction.atomic():
        for exception in HoursException.objects.all():
            hours_exception_delete(exception=exception)
        for hours in WeeklyHours.objects.all():
            weekly_hours_delete(hours=hours)
        for weekday in range(7):
            weekly_hours_add(weekday=weekday, opens_at=time(0), closes_at=time(0))


def tokens_for(*, user_ids: list[int]) -> dict[int, str]:
    """An access token for each of these users, made in-process."""
    return {user.pk: str(AccessToken.for_user(user)) for user in User.objects.filter(pk__in=user_ids)}


def orders_place(*, user_ids: list[int], threads: int = 1) -> list[int]:
    """Check out each user's whole cart through the same services as `POST orders/` (place
    the order, then open its payment at the configured gateway), over `threads` threads with
    a database connection each. Returns the order ids; raises if a payment could not be
    opened."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from orders.placing import order_place
    from payments.services.opening import payment_open

    users = User.objects.in_bulk(user_ids)

    def place(share: list[int]) -> list[int]:
        try:
            placed = []
            for user_id in share:
                order = order_place(user=users[user_id])
                payment_open(order=order)
                placed.append(order.pk)
            return placed
        finally:
            connections.close_all()  # this thread's connection

    shares = [user_ids[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [order_id for placed in pool.map(place, shares) for order_id in placed]
