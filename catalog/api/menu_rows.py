"""The menu as rows: products read with `values()` (no model instances) into small row
objects with the attributes `catalog.api.serializers.product_data` and the sellability rule
read of a product, its category, bundle items and option groups. Used by the anonymous fast
path (`catalog.api.menu_fast`)."""

import threading
from typing import NamedTuple

from django.db import connection
from django.db.models import F, TextField, Value
from django.db.models.functions import Coalesce, NullIf

from catalog import i18n
from catalog.models import BundleItem, Product
from catalog.version import STATE_ID, CatalogState, state_of, version_table

# --- translatable text ------------------------------------------------------------------------

# Every translatable text the menu shows, by row alias and model path. `translated` is the one
# place a language column is chosen, with catalog.i18n's rule: the reader's language, else the
# default language's text (an empty or NULL column counts as none).
PRODUCT_TEXTS = {"name": "name", "description": "description", "category_name": "category__name"}
COMPONENT_TEXTS = {"component_name": "component__name"}
OPTION_TEXTS = {"group_name": "optiongroup__name", "option_name": "optiongroup__options__name"}
ORDER_BY_NAME = i18n.column("name", i18n.DEFAULT)  # the menu's order (catalog.selectors): name of record, id


def translated(texts: dict[str, str], language: str) -> dict[str, Coalesce]:
    """`values()` expressions reading each text in `language` (row key: `t_<alias>`)."""
    expressions = {}
    for alias, path in texts.items():
        own, default = i18n.column(path, language), i18n.column(path, i18n.DEFAULT)
        if own == default:
            expressions[f"t_{alias}"] = Coalesce(F(default), Value(""), output_field=TextField())
        else:
            expressions[f"t_{alias}"] = Coalesce(
                NullIf(F(own), Value("")), F(default), Value(""), output_field=TextField()
            )
    return expressions


# --- row objects: what `product_data` and the sellability rule read of a product -------------


class _Many(list):
    def all(self):  # the related manager's `.all()`, on prefetched rows
        return self


class _Category:
    __slots__ = ("is_active", "name", "serving_windows", "slug")


class _Component:
    __slots__ = ("is_active", "kind", "name", "slug", "sold_out_until", "stock", "track_stock")

    is_bundle = False


class _Item:
    __slots__ = ("component", "quantity")


class _Option:
    __slots__ = ("is_active", "name", "pk", "price_delta", "slug", "stock")


class _Group:
    __slots__ = ("max_choices", "min_choices", "name", "options", "pk")


class _Product:
    __slots__ = (
        "bundle_items",
        "category",
        "created_at",
        "current_price",
        "current_price_version",
        "description",
        "has_options",
        "image",
        "is_active",
        "kind",
        "name",
        "option_groups",
        "pk",
        "serving_windows",
        "sku",
        "slug",
        "sold_out_until",
        "stock",
        "track_stock",
    )

    @property
    def is_bundle(self) -> bool:
        return self.kind == Product.Kind.BUNDLE


PRODUCT_FIELDS = (
    "id",
    "slug",
    "sku",
    "kind",
    "is_active",
    "stock",
    "track_stock",
    "current_price",
    "current_price_version",
    "sold_out_until",
    "serving_windows",
    "image",
    "has_options",
    "created_at",
    "category__slug",
    "category__is_active",
    "category__serving_windows",
)


def _product(row: dict) -> _Product:
    p = _Product()
    p.pk, p.slug, p.sku, p.kind = row["id"], row["slug"], row["sku"], row["kind"]
    p.is_active, p.stock, p.track_stock = row["is_active"], row["stock"], row["track_stock"]
    p.current_price, p.current_price_version = row["current_price"], row["current_price_version"]
    p.sold_out_until, p.serving_windows = row["sold_out_until"], row["serving_windows"]
    p.image, p.has_options, p.created_at = row["image"], row["has_options"], row["created_at"]
    p.name, p.description = row["t_name"], row["t_description"]
    c = p.category = _Category()
    c.slug, c.name = row["category__slug"], row["t_category_name"]
    c.is_active, c.serving_windows = row["category__is_active"], row["category__serving_windows"]
    p.bundle_items, p.option_groups = _Many(), _Many()
    return p


def products_rows(queryset, language: str) -> list[_Product]:
    """Products with their bundle items (one query, only when a bundle is among them) and
    option groups (one query, only when one has options)."""
    rows = queryset.values(*PRODUCT_FIELDS, **translated(PRODUCT_TEXTS, language))
    return products_complete([_product(row) for row in rows], language)


def products_complete(products: list[_Product], language: str) -> list[_Product]:
    """Add the bundle items and option groups of `products` (a query each, when needed)."""
    bundles = {p.pk: p for p in products if p.is_bundle}
    if bundles:
        rows = (
            BundleItem.objects.filter(bundle_id__in=bundles)
            .order_by("id")
            .values(
                "bundle_id",
                "quantity",
                "component__slug",
                "component__kind",
                "component__is_active",
                "component__stock",
                "component__track_stock",
                "component__sold_out_until",
                **translated(COMPONENT_TEXTS, language),
            )
        )
        for row in rows:
            item, component = _Item(), _Component()
            component.slug, component.name = row["component__slug"], row["t_component_name"]
            component.kind, component.is_active = row["component__kind"], row["component__is_active"]
            component.stock, component.track_stock = row["component__stock"], row["component__track_stock"]
            component.sold_out_until = row["component__sold_out_until"]
            item.component, item.quantity = component, row["quantity"]
            bundles[row["bundle_id"]].bundle_items.append(item)
    with_options = {p.pk: p for p in products if p.has_options}
    if with_options:
        _add_option_groups(with_options, language)
    return products


def _add_option_groups(products: dict[int, _Product], language: str) -> None:
    """Groups and their options in one query: the product-group links, LEFT JOINed to the
    group and its options (every option, inactive ones dropped here, so a group whose
    options are all off still shows), in `catalog.options.groups_prefetch`'s order."""
    links = Product.option_groups.through.objects.filter(product_id__in=products)
    rows = links.order_by(
        "product_id",
        "optiongroup__position",
        "optiongroup__name_ind",
        "optiongroup_id",
        "optiongroup__options__position",
        "optiongroup__options__id",
    ).values(
        "product_id",
        "optiongroup_id",
        "optiongroup__min_choices",
        "optiongroup__max_choices",
        "optiongroup__options__id",
        "optiongroup__options__slug",
        "optiongroup__options__price_delta",
        "optiongroup__options__is_active",
        "optiongroup__options__stock",
        **translated(OPTION_TEXTS, language),
    )
    last: tuple[int, int] | None = None
    group = None
    for row in rows:
        if (row["product_id"], row["optiongroup_id"]) != last:
            last = (row["product_id"], row["optiongroup_id"])
            group = _Group()
            group.pk, group.name = row["optiongroup_id"], row["t_group_name"]
            group.min_choices, group.max_choices = (
                row["optiongroup__min_choices"],
                row["optiongroup__max_choices"],
            )
            group.options = _Many()
            products[row["product_id"]].option_groups.append(group)
        if row["optiongroup__options__id"] is not None:
            option = _Option()
            option.pk, option.slug = row["optiongroup__options__id"], row["optiongroup__options__slug"]
            option.name, option.price_delta = row["t_option_name"], row["optiongroup__options__price_delta"]
            option.is_active, option.stock = (
                row["optiongroup__options__is_active"],
                row["optiongroup__options__stock"],
            )
            group.options.append(option)


# --- the detail: the catalog version and the product in one statement -------------------------

_SLUG = "__menu_rows_slug__"  # stands for the slug while the statement is compiled
_COMPILED = threading.local()  # per thread: a compiler belongs to its thread's connection


class _Detail(NamedTuple):
    sql: str
    params: list
    slot: int  # where the slug goes in params
    names: list[str]  # the product's columns, in the statement's order (not PRODUCT_FIELDS')
    id_at: int  # where the product's id is among them
    converters: dict
    expressions: list


def _detail_compiled(language: str) -> _Detail:
    cache = getattr(_COMPILED, "detail", None)
    if cache is None:
        cache = _COMPILED.detail = {}
    compiled = cache.get(language)
    if compiled is None:
        queryset = Product.objects.filter(listed=True, slug=_SLUG).values(
            *PRODUCT_FIELDS, **translated(PRODUCT_TEXTS, language)
        )
        compiler = queryset.query.get_compiler(connection=connection)
        product_sql, params = compiler.as_sql()
        query = queryset.query  # the row's keys as ValuesIterable names them
        names = list(query.selected) if query.selected else [*query.values_select, *query.annotation_select]
        converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
        # One statement (PostgreSQL plan: the version row by primary key, nested-loop LEFT JOIN
        # to an index scan on product_slug_key joined to its category by primary key).
        # bandit B608: the table name is the model's, quoted; values go as parameters.
        sql = (
            f"SELECT v.version, v.next_change_at, p.* FROM {version_table()} v "  # nosec B608
            f"LEFT JOIN ({product_sql}) p ON 1 = 1 WHERE v.id = %s"
        )
        compiled = cache[language] = _Detail(
            sql,
            [*params, STATE_ID],
            list(params).index(_SLUG),
            names,
            names.index("id"),
            converters,
            [expression for expression, _, _ in compiler.select],
        )
    return compiled


def detail_with_state(slug: str, language: str) -> tuple[CatalogState | None, _Product | None]:
    """The catalog state and the listed product `slug` (without its bundle items and option
    groups: `products_complete`), in one query; (None, None) when the version row is missing
    (a flushed test database: `catalog_state` makes it)."""
    compiled = _detail_compiled(language)
    params = list(compiled.params)
    params[compiled.slot] = slug
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    state = state_of(row[0], row[1])
    values = list(row[2:])
    if values[compiled.id_at] is None:  # no such listed product
        return state, None
    for index, (functions, expression) in compiled.converters.items():
        value = values[index]
        for function in functions:
            value = function(value, expression, connection)
        values[index] = value
    return state, _product(dict(zip(compiled.names, values, strict=True)))
