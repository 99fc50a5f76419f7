"""Every write to carts. A cart holds what the shopper wants; stock is only taken at
checkout, so adding more than is in stock is allowed and flagged on the line."""

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cart.exceptions import CartLineLimit, CartProductLimit
from cart.models import Cart, CartItem
from catalog.exceptions import ProductUnavailable
from catalog.models import Product
from catalog.options import options_key, options_resolve
from catalog.selectors import product_queryset, with_bundle_components
from catalog.sellability import REASON_TEXT, Unsellable, sellability
from catalog.services import menu_ensure_current
from config.errors import NotFound
from config.text import check_single_line


def check_quantity(quantity: int) -> None:
    limit = settings.CART_MAX_QUANTITY
    if not 1 <= quantity <= limit:
        raise ValidationError({"quantity": [_("Choose a quantity from 1 to %(limit)d.") % {"limit": limit}]})


def cart_lock(*, user: User) -> Cart:
    """The user's cart, created on first use and row-locked: one writer per cart at a time."""
    cart = Cart.objects.select_for_update().filter(user=user).first()
    if cart is None:
        Cart.objects.get_or_create(user=user)  # a concurrent first add may have made it
        cart = Cart.objects.select_for_update().get(user=user)
    return cart


def cart_lock_id(*, user: User) -> int:
    """`cart_lock` for a writer that needs only the cart's id: one query once the cart exists
    (written out: the ORM took longer to compile it than the database to run it)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite: one writer
    with connection.cursor() as cursor:
        # bandit B608: the only text put in is " FOR UPDATE" or nothing; the id goes as a parameter.
        cursor.execute(f"SELECT id FROM cart_cart WHERE user_id = %s{lock}", [user.pk])  # nosec B608
        row = cursor.fetchone()
    return row[0] if row is not None else cart_lock(user=user).pk


def check_for_sale(product: Product) -> None:
    """Cart add takes what the sellability rule calls for sale; only stock may be short
    (the line is then flagged, and checkout has the last word). `product` comes with its
    category; a bundle's components are fetched here."""
    if product.price_changes_at and product.price_changes_at <= timezone.now():
        # Its next price is due: switch the due prices (the version row tells) and read it again.
        menu_ensure_current()
        product = product_queryset().get(pk=product.pk)
        if not product.listed:  # taken by the lookup for its due price, which did not list it
            raise ValidationError(
                {"product": [_('No product with slug "%(slug)s".') % {"slug": product.slug}]}
            )
    with_bundle_components([product])
    verdict = sellability(product, price=product.current_price)
    if verdict.reason is Unsellable.INACTIVE:  # went off the menu since the lookup: as unknown
        raise ValidationError({"product": [_('No product with slug "%(slug)s".') % {"slug": product.slug}]})
    if not verdict.for_sale:
        # The same verdict, code and status as checkout's (orders.services): 409.
        raise ProductUnavailable(
            _("%(product)s %(reason)s.") % {"product": product.name, "reason": REASON_TEXT[verdict.reason]},
            products=[{"slug": product.slug, "name": product.name, "reason": verdict.reason.value}],
        )


def check_cart_limits(
    *, cart: Cart, product: Product, adding: int, new_line: bool, replacing: int = 0
) -> None:
    """The limits against hoarding, on a locked cart: at most CART_MAX_UNITS_PER_PRODUCT
    units of `product` over all its lines (another note or option is another line, not
    another allowance), and at most CART_MAX_LINES lines. `adding` units are to be added,
    in place of `replacing` ones already counted (a quantity change)."""
    if new_line:
        limit = settings.CART_MAX_LINES
        if CartItem.objects.filter(cart=cart).count() >= limit:
            raise CartLineLimit(_("A cart holds at most %(limit)d lines.") % {"limit": limit}, limit=limit)
    limit = settings.CART_MAX_UNITS_PER_PRODUCT
    in_cart = CartItem.objects.filter(cart=cart, product=product).aggregate(n=Sum("quantity"))["n"] or 0
    if in_cart - replacing + adding > limit:
        raise CartProductLimit(
            _(
                "At most %(limit)d of %(product)s in one cart, whatever the options and notes; it holds %(in_cart)d."
            )
            % {"limit": limit, "product": product.name, "in_cart": in_cart},
            product=product.slug,
            limit=limit,
            in_cart=in_cart,
        )


NOTE_MAX_LENGTH = 140


def clean_note(note: str) -> str:
    """A line's note is one line of plain text (config.text: whitespace runs become one
    space, control characters are refused) of at most NOTE_MAX_LENGTH characters."""
    return check_single_line(note, field="note", max_length=NOTE_MAX_LENGTH)


# One statement adds to the cart on its locked row: it inserts the line, or on the line's
# unique key (cart, product, options_key, note) grows it, only while the limits hold, and
# answers the line's id, quantity and cart; no row when a limit refused it (then `_refusal`
# works out which, off the hot path). Its sub-selects run on this statement's snapshot,
# taken after the lock was granted (READ COMMITTED; SQLite has one writer), so they see
# every line a concurrent add committed before it let the lock go.
#   - the unit cap (CART_MAX_UNITS_PER_PRODUCT) over all the product's lines, both ways;
#   - a new line needs fewer than CART_MAX_LINES lines (the SELECT still yields a row when
#     the line exists, so that a full cart can grow its lines);
#   - a grown line stays within CART_MAX_QUANTITY (ON CONFLICT ... WHERE).
# A merged line has more than `quantity` units: the answer's quantity tells the two apart.
# {cart} is the cart's id, {source} where it comes from (see _LINE_ADD_SQL, _ONE_TRIP_SQL).
_UPSERT = """
INSERT INTO cart_cartitem (cart_id, product_id, quantity, options_key, note, added_at, updated_at)
SELECT {cart}, %(product)s, %(quantity)s, %(key)s, %(note)s, %(now)s, %(now)s
{source} (
    SELECT COALESCE(SUM(quantity), 0) FROM cart_cartitem WHERE cart_id = {cart} AND product_id = %(product)s
) + %(quantity)s <= %(max_units)s
AND (
    (SELECT COUNT(*) FROM cart_cartitem WHERE cart_id = {cart}) < %(max_lines)s
    OR EXISTS (
        SELECT 1 FROM cart_cartitem
        WHERE cart_id = {cart} AND product_id = %(product)s AND options_key = %(key)s AND note = %(note)s
    )
)
ON CONFLICT (cart_id, product_id, options_key, note) DO UPDATE
SET quantity = cart_cartitem.quantity + excluded.quantity, updated_at = excluded.updated_at
WHERE cart_cartitem.quantity + excluded.quantity <= %(max_quantity)s
RETURNING id, quantity, cart_id
"""

# On the cart locked by `cart_lock_id`, in the caller's transaction.
_LINE_ADD_SQL = _UPSERT.format(cart="%(cart)s", source="WHERE")

# PostgreSQL: the lock and the upsert in one round trip, no BEGIN and no COMMIT. Two
# statements in one query of the simple protocol (psycopg's client-side cursor, Django's
# default) run as one implicit transaction ("Multiple Statements in a Simple Query" in
# PostgreSQL's protocol docs): the row lock is held until the upsert is done, and the upsert
# takes its own snapshot after the lock was granted, as above. Inside a caller's
# transaction both simply join it. No row: no cart yet, or a limit refused the add.
# bandit B608: fixed text only (the two fragments above); values go as parameters.
_ONE_TRIP_SQL = "SELECT id FROM cart_cart WHERE user_id = %(user)s FOR UPDATE;" + _UPSERT.format(  # nosec B608
    cart="c.id", source="FROM cart_cart c WHERE c.user_id = %(user)s AND"
)


def _line_params(*, product: Product, quantity: int, key: str, note: str, **more) -> dict:
    now = CartItem._meta.get_field("added_at").get_db_prep_value(timezone.now(), connection)
    return {
        "product": product.pk,
        "quantity": quantity,
        "key": key,
        "note": note,
        "now": now,
        "max_units": settings.CART_MAX_UNITS_PER_PRODUCT,
        "max_lines": settings.CART_MAX_LINES,
        "max_quantity": settings.CART_MAX_QUANTITY,
        **more,
    }


def _line_add(
    *, cart_id: int, product: Product, quantity: int, key: str, note: str
) -> tuple[int, int, int] | None:
    """The line's (id, quantity, cart id) after adding, or None when a limit refused the add."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LINE_ADD_SQL, _line_params(product=product, quantity=quantity, key=key, note=note, cart=cart_id)
        )
        return cursor.fetchone()


def _line_add_one_trip(
    *, user: User, product: Product, quantity: int, note: str
) -> tuple[int, int, int] | None:
    """`_ONE_TRIP_SQL` for a line without options (new options would need more writes in
    the same transaction): the line's (id, quantity, cart id), or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            _ONE_TRIP_SQL, _line_params(product=product, quantity=quantity, key="", note=note, user=user.pk)
        )
        cursor.nextset()  # past the lock's row
        return cursor.fetchone()


def _refusal(*, cart: Cart, product: Product, quantity: int, key: str, note: str) -> Exception:
    """Which limit refused an add (`_line_add` gave no row), in the order the rules are told:
    a new line's line cap, a grown line's CART_MAX_QUANTITY, then the product's unit cap."""
    item = CartItem.objects.filter(cart=cart, product=product, options_key=key, note=note).first()
    if item is not None and item.quantity + quantity > settings.CART_MAX_QUANTITY:
        return ValidationError(
            {
                "quantity": [
                    f"The cart already holds {item.quantity}; at most {settings.CART_MAX_QUANTITY} in all."
                ]
            }
        )
    try:
        check_cart_limits(cart=cart, product=product, adding=quantity, new_line=item is None)
    except (CartLineLimit, CartProductLimit) as exc:
        return exc
    raise AssertionError("cart add refused with every limit met")  # the SQL and the rules disagree


def cart_add_item(
    *, user: User, product: Product, quantity: int, options: Sequence[int | str] = (), note: str = ""
) -> CartItem:
    """Add a product for sale with the shopper's choice of options and a note. The same
    dish with the same choice and note grows its line (up to CART_MAX_QUANTITY); another
    choice or note is another line. The choice must meet the dish's option groups, and the
    cart's limits hold (`check_cart_limits`).

    On PostgreSQL a dish without options goes to an existing cart in one round trip
    (`_ONE_TRIP_SQL`); the rest (options, the first add, a refusal, SQLite) takes the lock,
    then the same upsert, in a transaction."""
    check_quantity(quantity)
    check_for_sale(product)
    chosen = options_resolve(product=product, refs=list(options))
    note = clean_note(note)
    key = options_key(chosen)
    if not chosen and connection.vendor == "postgresql":
        added = _line_add_one_trip(user=user, product=product, quantity=quantity, note=note)
        if added is not None:
            return _added_item(added, product=product, key=key, note=note)
    return _cart_add_locked(user=user, product=product, quantity=quantity, chosen=chosen, key=key, note=note)


@transaction.atomic
def _cart_add_locked(
    *, user: User, product: Product, quantity: int, chosen: list, key: str, note: str
) -> CartItem:
    cart_id = cart_lock_id(user=user)
    added = _line_add(cart_id=cart_id, product=product, quantity=quantity, key=key, note=note)
    if added is None:
        raise _refusal(
            cart=Cart(pk=cart_id, user=user), product=product, quantity=quantity, key=key, note=note
        )
    item = _added_item(added, product=product, key=key, note=note)
    if item.quantity == quantity and chosen:  # a new line: its options
        item.options.set(chosen)
    return item


def _added_item(added: tuple[int, int, int], *, product: Product, key: str, note: str) -> CartItem:
    item_id, total, cart_id = added
    item = CartItem(pk=item_id, cart_id=cart_id, product=product, quantity=total, options_key=key, note=note)
    item._state.adding = False
    return item


@transaction.atomic
def cart_set_quantity(*, user: User, item_id: int, quantity: int) -> CartItem:
    """Set a line's quantity, within CART_MAX_QUANTITY and the cart's per-product limit."""
    check_quantity(quantity)
    cart = Cart.objects.select_for_update().filter(user=user).first()
    item = cart and CartItem.objects.select_related("product").filter(pk=item_id, cart=cart).first()
    if item is None:
        raise NotFound
    if quantity > item.quantity:
        check_cart_limits(
            cart=cart, product=item.product, adding=quantity, new_line=False, replacing=item.quantity
        )
    item.quantity = quantity
    item.save(update_fields=["quantity", "updated_at"])
    return item


def cart_remove_item(*, user: User, item_id: int) -> None:
    deleted, _ = CartItem.objects.filter(pk=item_id, cart__user=user).delete()
    if not deleted:
        raise NotFound


def cart_clear(*, user: User) -> int:
    deleted, _ = CartItem.objects.filter(cart__user=user).delete()
    return deleted
