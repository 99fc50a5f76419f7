"""The menu as a CSV file, keyed by SKU: exported for a spreadsheet, imported back.

An import never writes a column itself; every change goes through the service that owns it:
details through `product_update`, a price through `price_add` (a new version, never an edit),
stock through `stock_adjust` (an `adjustment` in the ledger of the difference from the stock
*now*, never an overwrite). The `exported_stock` column carries the stock at export: a row
whose `stock` still equals it was not edited there, so sales since the export are left alone;
an edited one is moved to the new figure from the current stock, and a stock that moved since
the export is reported.

All or nothing: every row is checked first, and any bad row (reported with its line number)
means nothing is applied; the changes are then made in one transaction with the products'
rows locked in id order (`catalog.locks`), as checkout takes them. A dry run reports the same
plan and writes nothing. An unknown SKU is reported and skipped unless `create` is on.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.locks import products_lock
from catalog.models import Category, Product
from catalog.services import check_price_amount, price_add, product_create, product_update
from catalog.stock import MAX_STOCK, stock_adjust
from config.errors import DomainError

COLUMNS = [
    "sku",
    "name",
    "name_en",
    "category",
    "price",
    "stock",
    "exported_stock",
    "active",
    "track_stock",
    "kind",
    "listed",
]
READ_ONLY = {"kind", "listed"}  # exported for reading; ignored on import
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
MAX_ROWS = 5000


def _yes_no(value: bool) -> str:
    return "true" if value else "false"


def menu_rows(products=None) -> list[dict[str, object]]:
    """One dict per product (all, or `products`), by SKU: the export's rows."""
    qs = Product.objects.all() if products is None else products
    rows = []
    for product in qs.select_related("category").order_by("sku"):
        rows.append(
            {
                "sku": product.sku,
                # The Indonesian name (of record) and the English one (empty: none), as
                # written, whatever the language of the one exporting (catalog/i18n.py).
                "name": product.name_ind,
                "name_en": product.name_en or "",
                "category": product.category.slug,
                "price": "" if product.current_price is None else product.current_price,
                "stock": product.stock,
                "exported_stock": product.stock,
                "active": _yes_no(product.is_active),
                "track_stock": _yes_no(product.track_stock),
                "kind": product.kind,
                "listed": _yes_no(product.listed),
            }
        )
    return rows


def menu_export(out: TextIO, products=None) -> int:
    """Write the menu as CSV to `out`; returns the number of products."""
    rows = menu_rows(products)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


# --- import ---------------------------------------------------------------------------------


@dataclass
class RowPlan:
    """What one line of the file changes (empty `changes`: nothing)."""

    line: int
    sku: str
    product: Product | None = None  # None: created
    fields: dict[str, object] = field(default_factory=dict)
    price: int | None = None
    stock_delta: int = 0
    stock: int | None = None  # a created product's starting stock
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    dry_run: bool
    plans: list[RowPlan] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # unknown SKUs without create
    applied: bool = False

    @property
    def changed(self) -> list[RowPlan]:
        return [plan for plan in self.plans if plan.changes]

    def report(self) -> list[str]:
        """The result as lines of text (the command prints them, the admin lists them)."""
        if self.errors:
            return [
                _("line %(line)d: %(message)s") % {"line": line, "message": message}
                for line, message in self.errors
            ] + [_("%(count)d error(s): nothing was changed.") % {"count": len(self.errors)}]
        out = []
        for plan in self.plans:
            for text in plan.changes:
                out.append(
                    _("line %(line)d: %(sku)s: %(text)s") % {"line": plan.line, "sku": plan.sku, "text": text}
                )
            for text in plan.notes:
                out.append(
                    _("line %(line)d: %(sku)s: note: %(text)s")
                    % {"line": plan.line, "sku": plan.sku, "text": text}
                )
        for line, sku in self.skipped:
            out.append(
                _("line %(line)d: %(sku)s: unknown SKU, skipped (create it with --create)")
                % {"line": line, "sku": sku}
            )
        counts = {"changed": len(self.changed), "skipped": len(self.skipped)}
        if self.dry_run:
            out.append(_("%(changed)d product(s) would change, %(skipped)d skipped.") % counts)
        else:
            out.append(_("%(changed)d product(s) changed, %(skipped)d skipped.") % counts)
        return out


class _Row:
    def __init__(self, line: int, raw: dict[str, str]):
        self.line, self.raw, self.errors = line, raw, []
        self.sku = (raw.get("sku") or "").strip()

    def text(self, name: str) -> str | None:
        """The cell, stripped; None when the column is absent or the cell empty (no change)."""
        value = self.raw.get(name)
        value = value.strip() if isinstance(value, str) else None
        return value or None

    def number(self, name: str, *, low: int, high: int) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            self.errors.append(
                _("%(column)s must be a whole number from %(low)d to %(high)d, not %(value)s")
                % {"column": name, "low": low, "high": high, "value": repr(value)}
            )
            return None
        return int(value)

    def flag(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        self.errors.append(
            _("%(column)s must be true or false, not %(value)s") % {"column": name, "value": repr(value)}
        )
        return None


def _read(text: str, result: ImportResult) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text), strict=True)
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    if "sku" not in header:
        result.errors.append((1, _("the header needs a sku column")))
        return []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        result.errors.append(
            (
                1,
                _("unknown column(s): %(unknown)s; known: %(known)s")
                % {"unknown": ", ".join(unknown), "known": ", ".join(COLUMNS)},
            )
        )
    rows, start = [], 2
    try:
        for raw in reader:
            rows.append(_Row(start, raw))
            start = reader.line_num + 1
            if None in raw:
                rows[-1].errors.append(_("more cells than the header has columns"))
            if len(rows) > MAX_ROWS:
                result.errors.append(
                    (start, _("more than %(limit)d rows; split the file") % {"limit": MAX_ROWS})
                )
                return []
    except csv.Error as exc:
        result.errors.append((start, _("not valid CSV: %(error)s") % {"error": exc}))
    return rows


def _plan_existing(row: _Row, product: Product, may_price: bool) -> RowPlan:
    plan = RowPlan(row.line, row.sku, product)
    name = row.text("name")
    if name is not None and name != product.name_ind:
        plan.fields["name"] = name
        plan.changes.append(f"name {product.name_ind!r} -> {name!r}")
    name_en = row.text("name_en")  # an empty cell leaves the English name as it is
    if name_en is not None and name_en != (product.name_en or ""):
        plan.fields["name_en"] = name_en
        plan.changes.append(f"name_en {product.name_en or ''!r} -> {name_en!r}")
    category = row.category
    if category is not None and category.pk != product.category_id:
        plan.fields["category"] = category
        plan.changes.append(f"category {product.category.slug} -> {category.slug}")
    for column, attribute in (("active", "is_active"), ("track_stock", "track_stock")):
        value = row.flags[column]
        if value is not None and value != getattr(product, attribute):
            plan.fields[attribute] = value
            plan.changes.append(f"{column} {_yes_no(not value)} -> {_yes_no(value)}")
    price = row.price
    if price is not None and price != product.current_price:
        if not may_price:
            row.errors.append(_("you may not change prices (catalog.add_productprice)"))
        plan.price = price
        plan.changes.append(
            _("price %(old)s -> %(new)s (new version)") % {"old": product.current_price, "new": price}
        )
    target, exported = row.stock_wanted, row.exported_stock
    counts = plan.fields.get("track_stock", product.track_stock) and not product.is_bundle
    if exported is not None and exported != product.stock:
        plan.notes.append(
            _("stock moved since the export: %(then)d then, %(now)d now")
            % {"then": exported, "now": product.stock}
        )
    if target is None or target == product.stock or (exported is not None and target == exported):
        return plan  # not edited in the file: sales since the export stay
    if not counts:
        row.errors.append(_("stock: this product keeps no stock of its own (a bundle, or made to order)"))
        return plan
    plan.stock_delta = target - product.stock
    plan.changes.append(
        _("stock %(old)d -> %(new)d (adjustment %(delta)s from the current stock)")
        % {"old": product.stock, "new": target, "delta": f"{plan.stock_delta:+d}"}
    )
    return plan


def _plan_new(row: _Row) -> RowPlan:
    plan = RowPlan(row.line, row.sku)
    name, category = row.text("name"), row.category
    if name is None or category is None:
        row.errors.append(_("a new product needs a name and a category"))
        return plan
    active, track = row.flags["active"], row.flags["track_stock"]
    plan.fields = {"name": name, "category": category, "is_active": active is not False}
    if row.text("name_en"):
        plan.fields["name_en"] = row.text("name_en")
    plan.fields["track_stock"] = track is not False
    plan.price, plan.stock = row.price, row.stock_wanted or 0
    if plan.stock and not plan.fields["track_stock"]:
        row.errors.append(_("stock: a product made to order keeps no stock"))
    plan.changes.append(
        _("new product %(name)s in %(category)s, price %(price)s, stock %(stock)d")
        % {"name": repr(name), "category": category.slug, "price": plan.price, "stock": plan.stock}
    )
    return plan


def _plan(rows: list[_Row], result: ImportResult, *, create: bool, may_price: bool) -> None:
    by_sku = {
        p.sku: p for p in Product.objects.select_related("category").filter(sku__in=[r.sku for r in rows])
    }
    slugs = {r.text("category") for r in rows} - {None}
    categories = {c.slug: c for c in Category.objects.filter(slug__in=slugs)}
    seen: dict[str, int] = {}
    for row in rows:
        if not row.sku:
            row.errors.append(_("sku is empty"))
        elif row.sku in seen:
            row.errors.append(
                _("sku %(sku)s is also on line %(line)d") % {"sku": row.sku, "line": seen[row.sku]}
            )
        seen.setdefault(row.sku, row.line)
        row.price = row.number("price", low=1, high=10**12)
        if row.price is not None:
            try:
                check_price_amount(row.price)
            except ValidationError as exc:
                row.errors.extend(exc.messages)
        row.stock_wanted = row.number("stock", low=0, high=MAX_STOCK)
        row.flags = {column: row.flag(column) for column in ("active", "track_stock")}
        row.exported_stock = row.number("exported_stock", low=0, high=MAX_STOCK)
        slug = row.text("category")
        row.category = categories.get(slug) if slug else None
        if slug and row.category is None:
            row.errors.append(_("no category with the slug %(slug)s") % {"slug": repr(slug)})
        for column in ("name", "name_en"):
            text = row.text(column)
            if text is not None and len(text) > Product._meta.get_field("name").max_length:
                row.errors.append(_("%(column)s is longer than 200 characters") % {"column": column})
        product = by_sku.get(row.sku)
        if row.errors:
            pass
        elif product is not None:
            result.plans.append(_plan_existing(row, product, may_price))
        elif create:
            result.plans.append(_plan_new(row))
        else:
            result.skipped.append((row.line, row.sku))
        result.errors.extend((row.line, message) for message in row.errors)


class _Refused(Exception):
    pass


def _apply(plan: RowPlan, user: User | None) -> None:
    note = f"Menu CSV import, line {plan.line}"
    if plan.product is None:
        product_create(sku=plan.sku, stock=plan.stock, price=plan.price, user=user, **plan.fields)
        return
    if plan.fields:
        product_update(product=plan.product, **plan.fields)
    if plan.stock_delta:
        stock_adjust(product=plan.product, delta=plan.stock_delta, user=user, note=note)
    if plan.price is not None:
        price_add(product=plan.product, amount=plan.price)


def menu_import(
    text: str,
    *,
    create: bool = False,
    dry_run: bool = False,
    user: User | None = None,
    may_price: bool = True,
) -> ImportResult:
    """Check the whole file, then (unless `dry_run` or any error) apply it in one transaction.
    `may_price` False turns a price change into a row error (staff without the price
    permission)."""
    result = ImportResult(dry_run=dry_run)
    rows = _read(text, result)
    if result.errors:
        return result
    if dry_run:
        _plan(rows, result, create=create, may_price=may_price)
        return result
    try:
        with transaction.atomic():
            products_lock(products=Product.objects.filter(sku__in=[row.sku for row in rows]))
            _plan(rows, result, create=create, may_price=may_price)  # on the locked, current rows
            if result.errors:
                raise _Refused
            for plan in result.changed:
                try:
                    _apply(plan, user)
                except (ValidationError, DomainError) as exc:
                    messages = exc.messages if isinstance(exc, ValidationError) else [exc.detail]
                    result.errors.extend((plan.line, message) for message in messages)
                    raise _Refused from exc
    except _Refused:
        return result
    result.applied = True
    return result
