"""Every write to the menu. Rule violations raise Django's ValidationError keyed by field,
which the API answers as 400 and the admin shows on the form.

These run inside the admin's own transaction too, so they are `atomic` but not durable.
`product_save` is the one write of a product form or request (the admin's and the API's).
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.i18n import of_record, texts_allowed
from catalog.locks import products_lock
from catalog.low_stock import low_stock_rearm
from catalog.models import BundleItem, Category, OptionGroup, Product, ProductPrice
from catalog.options import product_set_option_groups
from catalog.stock import stock_adjust, stock_initial, stock_set
from catalog.version import CatalogState, catalog_changed, catalog_changed_now, catalog_state

MAX_PRICE = 10**12  # one trillion rupiah: far above any menu item, far below BIGINT
# A new price may start "now" as seen by a client whose clock is slightly behind ours.
PRICE_BACKDATE_TOLERANCE = timedelta(minutes=5)


def unique_slug(*, model, text: str, exclude_pk: int | None = None) -> str:
    base = slugify(text)[:180] or "item"
    taken = set(
        model.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


# --- what shoppers see ---------------------------------------------------------------------


def listed_condition(*, priced) -> Q:
    """When a product is shown to shoppers: active, in an active category, and `priced` (the
    stored price column here, the price history in `catalog.audit`)."""
    category_active = Category.objects.filter(pk=OuterRef("category_id"), is_active=True)
    return Q(is_active=True) & priced & Exists(category_active)


def products_relist(*, products: QuerySet[Product] | None = None) -> None:
    """Recompute `Product.listed` for `products` (all when None): one UPDATE. Every write
    that changes what it depends on calls it."""
    qs = Product.objects.all() if products is None else products
    qs.update(listed=listed_condition(priced=Q(current_price__isnull=False)))


# --- categories -------------------------------------------------------------------------


def category_create(
    *, name: str, slug: str = "", position: int = 0, is_active: bool = True, name_en: str = ""
) -> Category:
    slug = slug or unique_slug(model=Category, text=name)  # `name`: Indonesian (catalog/i18n.py)
    category = Category(name_ind=name, name_en=name_en, slug=slug, position=position, is_active=is_active)
    category.full_clean()
    category.save()
    catalog_changed()
    return category  # a new category has no products to list yet


def _save_changed(instance, *, fields: dict, allowed: tuple[str, ...]) -> None:
    """Set and save only the given fields. A full-row save would write back every column as
    it was read, undoing a concurrent change (a checkout's stock decrement, say)."""
    fields = of_record(fields)
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Not changed here: {', '.join(sorted(unknown))}.")
    changed = [key for key in allowed if key in fields]
    for key in changed:
        setattr(instance, key, fields[key])
    instance.full_clean()
    if changed:
        instance.save(update_fields=[*changed, "updated_at"])
        catalog_changed()


def _deactivate(instance):
    if instance.is_active:
        instance.is_active = False
        instance.save(update_fields=["is_active", "updated_at"])
        catalog_changed()
    return instance


@transaction.atomic
def category_update(*, category: Category, **fields) -> Category:
    allowed = (*texts_allowed("name"), "slug", "position", "is_active", "serving_windows")
    _save_changed(category, fields=fields, allowed=allowed)
    if "is_active" in fields:
        products_relist(products=Product.objects.filter(category=category))
    return category


@transaction.atomic
def category_deactivate(*, category: Category) -> Category:
    """Hide a category and, through it, its products from shoppers. Idempotent."""
    _deactivate(category)
    products_relist(products=Product.objects.filter(category=category))
    return category


# --- products ---------------------------------------------------------------------------


def check_components(*, bundle: Product, components: list[tuple[Product, int]]) -> None:
    """A bundle holds one or more distinct single products, each with quantity >= 1."""
    if not components:
        raise ValidationError({"components": [_("A bundle needs at least one component.")]})
    seen: set[int] = set()
    for component, quantity in components:
        if component.pk is not None and component.pk == bundle.pk:
            raise ValidationError({"components": [_("A bundle cannot contain itself.")]})
        if component.kind != Product.Kind.SINGLE:
            message = _("%(slug)s is a bundle; a bundle can only contain single products.") % {
                "slug": component.slug
            }
            raise ValidationError({"components": [message]})
        if component.pk in seen:
            raise ValidationError({"components": [_("%(slug)s is listed twice.") % {"slug": component.slug}]})
        if quantity < 1:
            raise ValidationError({"components": [_("Each component's quantity must be at least 1.")]})
        seen.add(component.pk)


def _replace_components(*, bundle: Product, components: list[tuple[Product, int]]) -> None:
    catalog_changed()
    bundle.bundle_items.all().delete()
    BundleItem.objects.bulk_create(
        [
            BundleItem(bundle=bundle, component=component, quantity=quantity)
            for component, quantity in components
        ]
    )


@transaction.atomic
def product_create(
    *,
    name: str,
    sku: str,
    category: Category,
    kind: str = Product.Kind.SINGLE,
    slug: str = "",
    description: str = "",
    name_en: str = "",
    description_en: str = "",
    is_active: bool = True,
    track_stock: bool = True,
    stock: int = 0,
    low_stock_threshold: int | None = None,
    image=None,
    components: list[tuple[Product, int]] | None = None,
    price: int | None = None,
    valid_from: datetime | None = None,
    user: User | None = None,
) -> Product:
    """Create a product; a bundle needs components; `price` opens price version 1; a
    starting `stock` is written to the ledger as its `initial` movement. `name` and
    `description` are the Indonesian text (catalog/i18n.py), `*_en` the English."""
    product = Product(
        name_ind=name,
        name_en=name_en,
        description_ind=description,
        description_en=description_en,
        sku=sku,
        category=category,
        kind=kind,
        slug=slug or unique_slug(model=Product, text=name),
        is_active=is_active,
        track_stock=track_stock,
    )
    if image:
        product.image = image
    product.full_clean()
    if product.is_bundle and stock:
        raise ValidationError({"stock": [_("A bundle has no stock of its own; set its components' stock.")]})
    if kind == Product.Kind.BUNDLE:
        check_components(bundle=product, components=components or [])
    elif components:
        raise ValidationError({"components": [_("Only a bundle has components.")]})
    product.save()
    catalog_changed()
    stock_initial(product=product, quantity=stock, user=user)
    if low_stock_threshold is not None:  # set after the starting stock: that is no fall
        low_stock_rearm(product=product, threshold=low_stock_threshold)
    if kind == Product.Kind.BUNDLE:
        _replace_components(bundle=product, components=components or [])
    if price is not None:
        price_add(product=product, amount=price, valid_from=valid_from, allow_past=True)
    return product


# What `product_update` changes: every language's name and description (catalog/i18n.py)...
PRODUCT_DETAILS = (*texts_allowed("name", "description"), "slug", "sku", "category", "is_active", "image")
PRODUCT_DETAILS += ("track_stock", "serving_windows", "low_stock_threshold")  # ...and these


@transaction.atomic
def product_update(
    *, product: Product, components: list[tuple[Product, int]] | None = None, **fields
) -> Product:
    """Change a product's details; the kind is fixed once created, prices change only
    through `price_add`, and stock only through `catalog.stock` (adjust, or set with the
    expected value)."""
    if fields.pop("kind", product.kind) != product.kind:
        raise ValidationError({"kind": [_("A product's kind cannot change; create a new product instead.")]})
    if components is not None:
        if not product.is_bundle:
            raise ValidationError({"components": [_("Only a bundle has components.")]})
        check_components(bundle=product, components=components)
    _save_changed(
        product,
        fields=fields,
        allowed=PRODUCT_DETAILS,
    )
    if "low_stock_threshold" in fields:
        low_stock_rearm(product=product, threshold=product.low_stock_threshold)
    if components is not None:
        _replace_components(bundle=product, components=components)
    if "is_active" in fields or "category" in fields:
        products_relist(products=Product.objects.filter(pk=product.pk))
    return product


@transaction.atomic
def product_deactivate(*, product: Product) -> Product:
    """Take a product off the menu (kept for order history and reactivation). Idempotent."""
    _deactivate(product)
    products_relist(products=Product.objects.filter(pk=product.pk))
    return product


@transaction.atomic
def products_set_active(*, products: QuerySet[Product], active: bool) -> int:
    ids = products_lock(products=products.exclude(is_active=active))
    catalog_changed()
    changed = Product.objects.filter(pk__in=ids).update(is_active=active, updated_at=timezone.now())
    products_relist(products=Product.objects.filter(pk__in=ids))
    return changed


@transaction.atomic
def product_save(
    *,
    product: Product | None = None,
    fields: Mapping[str, object] | None = None,
    components: list[tuple[Product, int]] | None = None,
    stock: int | None = None,
    expected_stock: int | None = None,
    stock_delta: int | None = None,
    stock_note: str = "",
    new_prices: Sequence[tuple[int, datetime | None]] = (),
    option_groups: Iterable[OptionGroup] | None = None,
    user: User | None = None,
) -> Product:
    """Create (`product` None) or change a product with everything one staff form or request
    carries, all or nothing: details, a bundle's components, the stock (a new product's
    starting `stock`; an existing one's set to `stock` while it is still `expected_stock`, or
    moved by `stock_delta`), new price versions, option groups.

    Any refusal raises (ValidationError, StockChanged, StockWouldGoNegative) and leaves
    nothing changed: the API and the admin both call this, so neither can save a rename
    without the stock change that came with it. New prices' start times are the caller's to
    check (`check_price_valid_from`), so a time checked on a form is not refused a moment later."""
    fields = dict(fields or {})
    if stock_delta and stock is not None:
        raise ValidationError(_("Either set a new stock or adjust it by a number of units, not both."))
    if product is None:
        product = product_create(components=components, stock=stock or 0, user=user, **fields)
    else:
        product = product_update(product=product, components=components, **fields)
        if stock is not None:
            if expected_stock is None:
                raise ValidationError({"expected_stock": [_("Give the stock you saw with the new stock.")]})
            stock_set(product=product, value=stock, expected=expected_stock, user=user, note=stock_note)
        elif stock_delta:
            stock_adjust(product=product, delta=stock_delta, user=user, note=stock_note)
    for amount, valid_from in new_prices:
        price_add(product=product, amount=amount, valid_from=valid_from, allow_past=True)
    if option_groups is not None:
        product_set_option_groups(product=product, groups=option_groups)
    return product


# --- prices -----------------------------------------------------------------------------


def check_price_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= MAX_PRICE:
        message = _("A price is a whole number of rupiah from 1 to %(max_price)s.") % {"max_price": MAX_PRICE}
        raise ValidationError({"amount": [message]})


def check_price_valid_from(*, valid_from: datetime, now: datetime) -> None:
    if valid_from < now - PRICE_BACKDATE_TOLERANCE:
        raise ValidationError({"valid_from": [_("A new price cannot start in the past.")]})


def prices_in_force(*, now: datetime) -> QuerySet[ProductPrice]:
    """The product's (OuterRef "pk") versions in force at `now`, the current one first:
    the latest `valid_from` not in the future (ties: the higher version)."""
    return ProductPrice.objects.filter(product=OuterRef("pk"), valid_from__lte=now).order_by(
        "-valid_from", "-version"
    )


def price_columns(*, now: datetime) -> dict[str, Subquery]:
    """What the product's maintained price columns hold at `now`, as expressions."""
    in_force = prices_in_force(now=now)
    upcoming = ProductPrice.objects.filter(product=OuterRef("pk"), valid_from__gt=now).order_by("valid_from")
    return {
        "current_price": Subquery(in_force.values("amount")[:1]),
        "current_price_version": Subquery(in_force.values("version")[:1]),
        "price_changes_at": Subquery(upcoming.values("valid_from")[:1]),
    }


def prices_refresh(*, product_ids: Iterable[int], now: datetime | None = None) -> None:
    """Copy the price in force at `now` into the products' current-price columns, with the
    time the next scheduled version takes over. Current = the latest `valid_from` not in the
    future (ties: the higher version). One UPDATE for all the products."""
    now = now or timezone.now()
    ids = list(product_ids)
    Product.objects.filter(pk__in=ids).update(**price_columns(now=now))
    products_relist(products=Product.objects.filter(pk__in=ids))
    catalog_changed()


@transaction.atomic
def price_add(
    *, product: Product, amount: int, valid_from: datetime | None = None, allow_past: bool = False
) -> ProductPrice:
    """Append the next price version and update the product's current price in the same
    transaction. Versions are numbered under a lock on the product row, so concurrent
    changes get 1, 2, 3 … without gaps or clashes. A past `valid_from` would rewrite history
    and is refused unless `allow_past` (seeding)."""
    check_price_amount(amount)
    now = timezone.now()
    valid_from = valid_from or now
    if not allow_past:
        check_price_valid_from(valid_from=valid_from, now=now)
    Product.objects.select_for_update().filter(pk=product.pk).first()
    last = product.prices.aggregate(last=Max("version"))["last"] or 0
    price = ProductPrice.objects.create(
        product=product, version=last + 1, amount=amount, valid_from=valid_from
    )
    prices_refresh(product_ids=[product.pk], now=now)
    return price


def prices_switch_due(*, now: datetime | None = None) -> int:
    """Bring every product whose scheduled price has come into force up to date (the
    periodic job; also run on read when due). Safe to run twice at once. Returns how many
    products changed price."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = products_lock(products=Product.objects.filter(price_changes_at__lte=now))
        if ids:
            prices_refresh(product_ids=ids, now=now)
    return len(ids)


def menu_ensure_current(*, now: datetime | None = None, state: CatalogState | None = None) -> int:
    """Before a read that shows or charges prices: once the menu's next time-driven change
    is due (a scheduled price coming into force, a sold-out mark ending), bring it up to
    date, so no price is served after its successor took over and no cached answer outlives
    a mark. Returns the catalog version to key what is read next by. One query (the
    version row, which also says when the next change is due) while nothing is due; none
    when the caller read that row already (`state`)."""
    now = now or timezone.now()
    state = state or catalog_state()
    if state.next_change_at is None or state.next_change_at > now:
        return state.version
    prices_switch_due(now=now)
    catalog_changed_now()  # a sold-out end writes nothing; this also finds the next change
    return catalog_state().version
