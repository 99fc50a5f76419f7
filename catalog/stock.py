"""Every change of `Product.stock`, and its ledger. No other module writes stock.

Each change is one conditional UPDATE that returns the new value (`stock = stock - n WHERE
stock >= n`, or `stock = value WHERE stock = expected`), so stock can never go below zero
or be overwritten by a stale value, whatever the number of processes; rows are touched in
product id order, so two multi-product changes cannot deadlock. Every change that happens
writes a `StockMovement` in the same transaction: for every product, stock is the sum of
its movements, and `stock_audit` checks it.

A bundle has no stock of its own: its demand is its components' (`demand_of`). A dish made
to order (`track_stock` off) keeps no count: orders take and give back nothing of it and
write no ledger row (`counted`). Every product change reads the low-stock threshold back
with the new stock (`catalog.low_stock`), so a crossing costs a query only when it happens.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from catalog import low_stock
from catalog.exceptions import InsufficientStock, StockChanged, StockWouldGoNegative
from catalog.locks import products_lock
from catalog.models import Option, Product, StockMovement, StockReason
from catalog.stock_audit import Drift, stock_audit  # noqa: F401 (callers import it from here)
from catalog.version import catalog_changed

MAX_STOCK = 2_000_000_000  # fits the column with room; far beyond any kitchen

# {product id: units}. Only single products hold stock, so a demand never names a bundle.
Demand = dict[int, int]


@dataclass(frozen=True)
class Why:
    """What a stock change is recorded against in the ledger."""

    reason: str
    order_id: int | None = None
    order_number: str = ""
    user: User | None = None
    note: str = ""

    @classmethod
    def for_order(cls, reason: str, order) -> "Why":
        return cls(reason, order_id=order.pk, order_number=order.number)


def demand_of(*, product: Product, quantity: int) -> Demand:
    """The stock rows one line of `quantity` x `product` needs: a bundle takes its
    components (use `product.bundle_items` prefetched with their component)."""
    if product.is_bundle:
        return {item.component_id: item.quantity * quantity for item in product.bundle_items.all()}
    return {product.pk: quantity}


def demand_total(demands: Iterable[Mapping[int, int]]) -> Demand:
    total: Counter[int] = Counter()
    for demand in demands:
        total.update(demand)
    return dict(total)


# --- the one place that writes the column -----------------------------------------------------


def _update_returning(
    model, sql_set: str, where: str, params: list, returning: str = "stock"
) -> tuple | None:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # bandit B608 (SQL built from strings): the table name is the model's, quoted; SET and
        # WHERE are this module's constants; every value goes as a parameter.
        cursor.execute(f"UPDATE {table} SET {sql_set} WHERE {where} RETURNING {returning}", params)  # nosec B608
        return cursor.fetchone()


# The sum is checked in 64 bits: `stock + delta` in the column's own 32-bit type overflows
# (a 500) before any comparison could refuse it.
WITHIN_BOUNDS = "CAST(stock AS BIGINT) + %s BETWEEN 0 AND %s"


def _add(product_id: int, delta: int) -> int | None:
    """stock += delta unless that goes below zero or above MAX_STOCK; the new stock, or None
    if refused (or the product is gone)."""
    row = _update_returning(
        Product,
        "stock = stock + %s",
        f"id = %s AND {WITHIN_BOUNDS}",
        [delta, product_id, delta, MAX_STOCK],
        returning=low_stock.RETURNING,
    )
    return None if row is None else low_stock.low_stock_watch(product_id, *row)


def _set(product_id: int, value: int, expected: int) -> int | None:
    row = _update_returning(
        Product,
        "stock = %s",
        "id = %s AND stock = %s",
        [value, product_id, expected],
        returning=low_stock.RETURNING,
    )
    return None if row is None else low_stock.low_stock_watch(product_id, *row)


UNLIMITED = object()  # what `_option_add` answers for an option that keeps no stock


def _option_add(option_id: int, delta: int):
    """The option's new stock, UNLIMITED for an option that keeps none, or None if refused
    (or the option is gone)."""
    row = _update_returning(
        Option,
        "stock = stock + %s",
        f"id = %s AND (stock IS NULL OR {WITHIN_BOUNDS})",
        [delta, option_id, delta, MAX_STOCK],
    )
    if row is None:
        return None
    return UNLIMITED if row[0] is None else row[0]


def _record(moves: list[tuple[int, int, int]], why: Why, *, subject: str = "product") -> None:
    if not moves:
        return
    catalog_changed()
    now = timezone.now()
    StockMovement.objects.bulk_create(
        StockMovement(
            **{f"{subject}_id": subject_id},
            quantity=delta,
            stock_after=after,
            reason=why.reason,
            order_id=why.order_id,
            order_number=why.order_number,
            user=why.user,
            note=why.note[:200],
            created_at=now,
        )
        for subject_id, delta, after in moves
    )


# --- orders -------------------------------------------------------------------------------------


def counted(demand: Demand) -> Demand:
    """`demand` without the dishes made to order (one query; none for an empty demand)."""
    if not demand:
        return demand
    untracked = set(Product.objects.filter(pk__in=demand, track_stock=False).values_list("pk", flat=True))
    return {product_id: units for product_id, units in demand.items() if product_id not in untracked}


def stock_take(
    *,
    demand: Demand,
    why: Why,
    options: Demand | None = None,
    untracked: Collection[int] | None = None,
    savepoint: bool = True,
) -> None:
    """Take every unit of `demand` (products) and `options` (limited options) or none: on
    any shortfall raises InsufficientStock naming each short product and option, and this
    savepoint undoes what was already taken. Products first, then options, each in id order.
    Dishes made to order are left out (`counted`; a caller that has just read the products
    passes their ids as `untracked` and spares the query). `savepoint=False` for a caller
    whose whole transaction rolls back on the refusal (checkout): two statements fewer."""
    with transaction.atomic(savepoint=savepoint):
        _take(demand=demand, why=why, options=options, untracked=untracked)


def _take(*, demand: Demand, why: Why, options: Demand | None, untracked: Collection[int] | None) -> None:
    if untracked is None:
        demand = counted(demand)
    else:
        demand = {product_id: units for product_id, units in demand.items() if product_id not in untracked}
    moves, short = [], {}
    for product_id in sorted(demand):
        quantity = demand[product_id]
        after = _add(product_id, -quantity)
        if after is None:
            short[product_id] = quantity
        else:
            moves.append((product_id, -quantity, after))
    option_moves, options_short = [], {}
    for option_id in sorted(options or {}):
        quantity = options[option_id]
        after = _option_add(option_id, -quantity)
        if after is None:
            options_short[option_id] = quantity
        elif after is not UNLIMITED:
            option_moves.append((option_id, -quantity, after))
    if short or options_short:
        raise insufficient_stock(short=short, options=options_short)
    _record(moves, why)
    _record(option_moves, why, subject="option")


def stock_release(*, demand: Demand, why: Why, options: Demand | None = None) -> int:
    """Give units back (cancel, expiry, reset). Products and options deleted since, and
    dishes made to order, are skipped. Returns the product units given back."""
    demand = counted(demand)
    moves = []
    for product_id in sorted(demand):
        after = _add(product_id, demand[product_id])
        if after is not None:
            moves.append((product_id, demand[product_id], after))
    option_moves = []
    for option_id in sorted(options or {}):
        after = _option_add(option_id, options[option_id])
        if after is not None and after is not UNLIMITED:
            option_moves.append((option_id, options[option_id], after))
    _record(moves, why)
    _record(option_moves, why, subject="option")
    return sum(delta for _, delta, _ in moves)


def insufficient_stock(*, short: Demand, options: Demand | None = None) -> InsufficientStock:
    details = [
        {"slug": p.slug, "name": p.name, "requested": short[p.pk], "available": p.stock}
        for p in Product.objects.filter(pk__in=short).order_by("id")
    ]
    if options:
        details += [
            {"option": o.slug, "name": o.name, "requested": options[o.pk], "available": o.stock}
            for o in Option.objects.filter(pk__in=options).order_by("id")
        ]
    names = ", ".join(d["name"] for d in details)
    return InsufficientStock(f"Not enough stock for: {names}.", products=details)


# --- staff --------------------------------------------------------------------------------------


def _check_holds_stock(product: Product) -> None:
    if product.is_bundle:
        raise ValidationError(
            {"stock": [_("A bundle has no stock of its own; change its components' stock.")]}
        )


@transaction.atomic
def stock_adjust(*, product: Product, delta: int, user: User | None, note: str = "") -> int:
    """Add (or, negative, remove) units: a delivery, waste, a recount. A result below zero
    raises StockWouldGoNegative and changes nothing. Returns the new stock."""
    _check_holds_stock(product)
    if delta == 0 or abs(delta) > MAX_STOCK:
        raise ValidationError(
            {"delta": [_("Give a non-zero number of units up to %(max_stock)s.") % {"max_stock": MAX_STOCK}]}
        )
    after = _add(product.pk, delta)
    if after is None:
        current = Product.objects.values_list("stock", flat=True).get(pk=product.pk)
        if current + delta > MAX_STOCK:
            raise ValidationError(
                {"delta": [_("That would take the stock above %(most)d.") % {"most": MAX_STOCK}]}
            )
        raise StockWouldGoNegative(
            _("There are %(stock)d in stock; removing %(removing)d would go below zero.")
            % {"stock": current, "removing": -delta},
            stock=current,
        )
    _record([(product.pk, delta, after)], Why(StockReason.ADJUSTMENT, user=user, note=note))
    product.stock = after
    return after


@transaction.atomic
def stock_set(*, product: Product, value: int, expected: int, user: User | None, note: str = "") -> int:
    """Set the stock to `value` only while it is still `expected` (what the staff member
    saw), so a sale in between is never undone: otherwise raises StockChanged with the
    current stock. Returns the new stock."""
    _check_holds_stock(product)
    if not 0 <= value <= MAX_STOCK:
        raise ValidationError(
            {"stock": [_("Stock is a whole number from 0 to %(max_stock)s.") % {"max_stock": MAX_STOCK}]}
        )
    if value == expected:
        current = Product.objects.values_list("stock", flat=True).get(pk=product.pk)
        if current != expected:
            raise StockChanged(stock=current)
        return current
    after = _set(product.pk, value, expected)
    if after is None:
        current = Product.objects.values_list("stock", flat=True).get(pk=product.pk)
        raise StockChanged(
            _("The stock is now %(stock)d, not %(expected)d; nothing was changed.")
            % {"stock": current, "expected": expected},
            stock=current,
        )
    _record([(product.pk, value - expected, after)], Why(StockReason.ADJUSTMENT, user=user, note=note))
    product.stock = after
    return after


@transaction.atomic
def stock_sell_out(*, products: QuerySet[Product], user: User | None) -> int:
    """Stock to zero for the single products among `products` (bundles follow their
    components). Rows are locked in id order first. Returns how many changed."""
    ids = products_lock(products=products.filter(kind=Product.Kind.SINGLE, stock__gt=0))
    moves = []
    for product_id, stock in Product.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "stock"):
        if stock:
            moves.append((product_id, -stock, _add(product_id, -stock)))
    _record(moves, Why(StockReason.ADJUSTMENT, user=user, note="Marked sold out"))
    return len(moves)


def stock_initial(*, product: Product, quantity: int, user: User | None = None) -> None:
    """The starting stock of a product just created (with none)."""
    if not 0 <= quantity <= MAX_STOCK:
        raise ValidationError(
            {"stock": [_("Stock is a whole number from 0 to %(max_stock)s.") % {"max_stock": MAX_STOCK}]}
        )
    if quantity:
        _check_holds_stock(product)
        after = _add(product.pk, quantity)
        _record([(product.pk, quantity, after)], Why(StockReason.INITIAL, user=user))
        product.stock = after


def stock_initial_many(*, quantities: Mapping[Product, int]) -> None:
    """Starting stock for many products just created with none (bulk seeding): one UPDATE
    and one INSERT per batch instead of two queries per product."""
    products = [product for product, quantity in quantities.items() if quantity]
    for product in products:
        product.stock = quantities[product]
    Product.objects.bulk_update(products, ["stock"], batch_size=1000)
    catalog_changed()
    now = timezone.now()
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                product=p, quantity=p.stock, stock_after=p.stock, reason=StockReason.INITIAL, created_at=now
            )
            for p in products
        ],
        batch_size=1000,
    )


def option_stock_initial(*, option: Option, quantity: int | None, user: User | None = None) -> None:
    """The starting stock of a limited option just created (with none); None: unlimited."""
    if quantity is None:
        return
    if not 0 <= quantity <= MAX_STOCK:
        raise ValidationError(
            {"stock": [_("Stock is a whole number from 0 to %(max_stock)s.") % {"max_stock": MAX_STOCK}]}
        )
    row = _update_returning(Option, "stock = %s", "id = %s AND stock IS NULL", [quantity, option.pk])
    if row is not None and quantity:
        _record([(option.pk, quantity, row[0])], Why(StockReason.INITIAL, user=user), subject="option")
    option.stock = quantity


@transaction.atomic
def option_stock_adjust(*, option: Option, delta: int, user: User | None, note: str = "") -> int:
    """Add or remove units of a limited option; below zero raises StockWouldGoNegative."""
    if option.stock is None:
        raise ValidationError({"stock": [_("This option keeps no stock (unlimited).")]})
    after = _option_add(option.pk, delta)
    if after is None:
        current = Option.objects.values_list("stock", flat=True).get(pk=option.pk)
        if current is not None and current + delta > MAX_STOCK:
            raise ValidationError(
                {"delta": [_("That would take the stock above %(most)d.") % {"most": MAX_STOCK}]}
            )
        raise StockWouldGoNegative(
            _("There are %(stock)d in stock; removing %(removing)d would go below zero.")
            % {"stock": current, "removing": -delta},
            stock=current,
        )
    _record([(option.pk, delta, after)], Why(StockReason.ADJUSTMENT, user=user, note=note), subject="option")
    option.stock = after
    return after
