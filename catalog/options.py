"""Dish options: choice groups ("Spice level: choose 1", "Extras: choose up to 3") and their
options, the rules a shopper's choice must meet, and every write to them.

A choice is valid for a product when every option belongs to one of the product's groups,
is on the menu, and each group gets between its `min_choices` and `max_choices` options.
The sellability rule (`catalog.sellability`) applies the same check at cart view and
checkout, so an option taken off the menu after it was put in a cart is caught there.
Option stock moves only through `catalog.stock`.
"""

from collections import Counter
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.i18n import of_record, texts_allowed
from catalog.models import Option, OptionGroup, Product
from catalog.stock import option_stock_initial
from catalog.version import catalog_changed

MAX_OPTIONS_PER_LINE = 20


def options_key(options: Iterable[Option]) -> str:
    """The canonical form of a choice ("3,7"): a cart line is one dish, one choice, one note."""
    return ",".join(str(pk) for pk in sorted({option.pk for option in options}))


def groups_prefetch() -> Prefetch:
    return Prefetch(
        "option_groups",
        queryset=OptionGroup.objects.prefetch_related(
            Prefetch("options", queryset=Option.objects.order_by("position", "id"))
        ).order_by("position", "name_ind", "id"),
    )


def with_option_groups(products: Sequence[Product]) -> Sequence[Product]:
    """Fetch groups and options for the products that have any (two queries, none when no
    product has options)."""
    prefetch_related_objects([p for p in products if p.has_options], groups_prefetch())
    return products


def choice_errors(product: Product, options: Sequence[Option]) -> list[str]:
    """What is wrong with choosing `options` for `product` (groups prefetched with
    `with_option_groups`); empty when the choice is valid."""
    groups = {group.pk: group for group in product.option_groups.all()} if product.has_options else {}
    errors = []
    per_group: Counter[int] = Counter()
    for option in options:
        if option.group_id not in groups:
            errors.append(
                _("%(option)s is not a choice for %(product)s.")
                % {"option": option.name, "product": product.name}
            )
        elif not option.is_active:
            errors.append(_("%(option)s is not available.") % {"option": option.name})
        per_group[option.group_id] += 1
    for group in groups.values():
        chosen = per_group[group.pk]
        if not group.min_choices <= chosen <= group.max_choices:
            errors.append(_("%(group)s: %(rule)s.") % {"group": group.name, "rule": group.rule_text()})
    return errors


def options_resolve(*, product: Product, refs: Sequence[int | str]) -> list[Option]:
    """The options a client named by id or slug, checked against the product's groups and
    rules: raises ValidationError({"options": [...]}) naming the group at fault."""
    if not refs and not product.has_options:
        return []
    if len(refs) > MAX_OPTIONS_PER_LINE:
        raise ValidationError(
            {"options": [_("Choose at most %(most)d options.") % {"most": MAX_OPTIONS_PER_LINE}]}
        )
    ids = {ref for ref in refs if isinstance(ref, int)}
    slugs = {ref for ref in refs if isinstance(ref, str)}
    found = list(Option.objects.filter(pk__in=ids).select_related("group")) + list(
        Option.objects.filter(slug__in=slugs).select_related("group")
    )
    known = {o.pk for o in found} | {o.slug for o in found}
    unknown = [str(ref) for ref in refs if ref not in known]
    if unknown:
        raise ValidationError(
            {
                "options": [
                    _("No such option: %(options)s.") % {"options": ", ".join(u[:40] for u in unknown[:5])}
                ]
            }
        )
    options = list({o.pk: o for o in found}.values())
    if len(options) != len(refs):
        raise ValidationError({"options": [_("An option is listed twice.")]})
    with_option_groups([product])
    errors = choice_errors(product, options)
    if errors:
        raise ValidationError({"options": errors})
    return sorted(options, key=lambda o: (o.group.position, o.group_id, o.position, o.pk))


def options_snapshot(options: Iterable[Option]) -> list[dict]:
    """What an order line keeps of each chosen option, as it was at checkout."""
    return [
        {"option_id": o.pk, "group": o.group.name, "name": o.name, "price_delta": o.price_delta}
        for o in sorted(options, key=lambda o: (o.group.position, o.group_id, o.position, o.pk))
    ]


# --- writes (staff) --------------------------------------------------------------------------


def check_group_rules(*, min_choices: int, max_choices: int) -> None:
    if max_choices < 1 or min_choices > max_choices:
        raise ValidationError({"max_choices": ["Allow at least one choice, and no fewer than the minimum."]})


@transaction.atomic
def option_group_create(
    *, name: str, min_choices: int = 0, max_choices: int = 1, position: int = 0, name_en: str = ""
) -> OptionGroup:
    """`name` is the Indonesian name (of record, catalog/i18n.py), `name_en` the English."""
    check_group_rules(min_choices=min_choices, max_choices=max_choices)
    group = OptionGroup.objects.create(
        name_ind=name, name_en=name_en, min_choices=min_choices, max_choices=max_choices, position=position
    )
    catalog_changed()
    return group


@transaction.atomic
def option_create(
    *,
    group: OptionGroup,
    name: str,
    slug: str,
    price_delta: int = 0,
    is_active: bool = True,
    stock: int | None = None,
    position: int = 0,
    user: User | None = None,
    name_en: str = "",
) -> Option:
    """A new option; a limited one's starting `stock` opens its ledger. `name` is the
    Indonesian name, `name_en` the English."""
    option = Option(
        group=group,
        name_ind=name,
        name_en=name_en,
        slug=slug,
        price_delta=price_delta,
        is_active=is_active,
        position=position,
    )
    option.full_clean()
    option.save()
    option_stock_initial(option=option, quantity=stock, user=user)
    catalog_changed()
    return option


OPTION_FIELDS = (*texts_allowed("name"), "slug", "price_delta", "is_active", "position")


@transaction.atomic
def option_update(*, option: Option, **fields) -> Option:
    """Change an option's details (its stock moves only through `catalog.stock`). Orders
    keep the name and delta they were placed with. `name` is the Indonesian name."""
    fields = of_record(fields)
    unknown = set(fields) - set(OPTION_FIELDS)
    if unknown:
        raise TypeError(f"Not changed here: {', '.join(sorted(unknown))}.")
    for key, value in fields.items():
        setattr(option, key, value)
    option.full_clean()
    if fields:
        option.save(update_fields=list(fields))
        catalog_changed()
    return option


@transaction.atomic
def option_group_update(*, group: OptionGroup, **fields) -> OptionGroup:
    fields = of_record(fields)  # `name`: the Indonesian name
    for key in (*texts_allowed("name"), "min_choices", "max_choices", "position"):
        if key in fields:
            setattr(group, key, fields[key])
    check_group_rules(min_choices=group.min_choices, max_choices=group.max_choices)
    group.save()
    catalog_changed()
    return group


@transaction.atomic
def product_set_option_groups(*, product: Product, groups: Iterable[OptionGroup]) -> Product:
    """Attach exactly `groups` to the product (replacing what it had)."""
    groups = list(groups)
    product.option_groups.set(groups)
    Product.objects.filter(pk=product.pk).update(has_options=bool(groups))
    product.has_options = bool(groups)
    catalog_changed()
    return product


@transaction.atomic
def options_seed(*, groups: Sequence[dict]) -> int:
    """Create the option groups described as in `catalog.demo_options.OPTION_GROUPS` that do
    not exist yet (by name), with their options, attached to the listed dishes (by SKU).
    Idempotent: an existing group is left as staff made it. Returns the groups created."""
    created = 0
    for spec in groups:
        if OptionGroup.objects.filter(name_ind=spec["name"]).exists():
            continue
        group = option_group_create(
            name=spec["name"],
            name_en=spec.get("name_en", ""),
            min_choices=spec["min_choices"],
            max_choices=spec["max_choices"],
            position=spec["position"],
        )
        for position, (slug, name, delta, stock, *english) in enumerate(spec["options"]):
            option_create(
                group=group,
                name=name,
                name_en=english[0] if english else "",
                slug=slug,
                price_delta=delta,
                stock=stock,
                position=position,
            )
        for product in Product.objects.filter(sku__in=spec["products"]):
            product_set_option_groups(product=product, groups=[*product.option_groups.all(), group])
        created += 1
    return created
