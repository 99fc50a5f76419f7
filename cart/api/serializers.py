import re

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cart.services import NOTE_MAX_LENGTH
from catalog.models import Product
from catalog.options import MAX_OPTIONS_PER_LINE
from catalog.selectors import shopper_visible
from catalog.sellability import REASONS
from config.api.fields import SlugRefField, StrictCharField, StrictIntegerField, echo, json_type_name
from config.rows import PreparedQuery
from orders.api.money import TotalsSerializer, charge_data
from orders.vouchers.services import REASONS as VOUCHER_REASONS


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 120}]})
class OptionRefField(serializers.Field):
    """An option by id (a JSON integer) or by slug (a string)."""

    default_error_messages = {"invalid": "Name an option by its id (a number) or its slug."}

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and 1 <= data < 2**63:
            return data
        if isinstance(data, str) and 1 <= len(data) <= 120:
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class CartProductSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class ChosenOptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    group = serializers.CharField(source="group.name")
    price_delta = serializers.IntegerField()


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.id")
    product = CartProductSerializer(source="item.product")
    quantity = serializers.IntegerField(source="item.quantity")
    options = ChosenOptionSerializer(many=True, help_text="The shopper's choices for this dish.")
    note = serializers.CharField(source="item.note")
    unit_price = serializers.IntegerField(allow_null=True, help_text="Current price; null when not for sale.")
    line_total = serializers.IntegerField(allow_null=True)
    problem = serializers.ChoiceField(
        choices=REASONS,
        allow_null=True,
        help_text="Why this line cannot be checked out as it is; null when it can.",
    )


class CartVoucherSerializer(serializers.Serializer):
    code = serializers.CharField()
    problem = serializers.ChoiceField(
        choices=VOUCHER_REASONS,
        allow_null=True,
        help_text="Why it would not apply now (no discount then; checkout would be 409 voucher_unavailable).",
    )


class CartSerializer(TotalsSerializer):
    """The lines, then what checking out the lines that are for sale would cost now: the
    same totals as the order (orders/totals.py, the shop's current charges)."""

    items = CartLineSerializer(source="lines", many=True)
    item_count = serializers.IntegerField(help_text="Units in the cart.")
    voucher = CartVoucherSerializer(allow_null=True, help_text="The voucher applied with POST cart/voucher/.")
    currency = serializers.SerializerMethodField()

    def get_currency(self, obj) -> str:
        return settings.CURRENCY


def cart_representation(*, lines: list, totals: dict, voucher: dict | None) -> dict:
    """`CartSerializer(...).data` built directly, key for key and value for value (for a
    cart of three lines the serializer took 0.31 ms of CPU, this 0.004 ms;
    cart/tests/test_representation.py compares the two over a grid of carts). `lines` are `cart.selectors.CartLine`s, `totals`
    `Totals.as_dict()`, `voucher` `{code, problem}` or None. A field added to the
    serializers above must be added here too (that test fails until it is)."""
    items = []
    item_count = 0
    for line in lines:
        item, product = line.item, line.item.product
        item_count += item.quantity
        items.append(
            {
                "id": item.id,
                "product": {"slug": product.slug, "name": product.name, "kind": str(product.kind)},
                "quantity": item.quantity,
                "options": [
                    {
                        "id": option.id,
                        "slug": option.slug,
                        "name": option.name,
                        "group": option.group.name,
                        "price_delta": option.price_delta,
                    }
                    for option in line.options
                ],
                "note": item.note,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
                "problem": line.problem,
            }
        )
    return {
        "subtotal": totals["subtotal"],
        "discount": totals["discount"],
        "charges": [charge_data(charge) for charge in totals["charges"]],
        "tax": totals["tax"],
        "total": totals["total"],
        "items": items,
        "item_count": item_count,
        "voucher": None if voucher is None else {"code": voucher["code"], "problem": voucher["problem"]},
        "currency": settings.CURRENCY,
    }


def addable_products():
    """A product shoppers cannot see is answered like one that does not exist. One whose next
    price is due (perhaps its first: it lists then) is taken too, and judged by
    `cart.services.check_for_sale` once the due prices are switched."""
    return Product.objects.filter(shopper_visible() | Q(price_changes_at__lte=Now())).select_related(
        "category"
    )


# The product of a cart add by its slug, compiled once (config.rows): the ORM took longer to
# compile the lookup than the database to answer it.
_ADDABLE_BY_SLUG = PreparedQuery(
    Product, lambda slug: addable_products().filter(slug=slug), sentinel="\x00the slug\x00"
)


class AddableProductField(SlugRefField):
    """`SlugRefField` over `addable_products()`, reading it with `_ADDABLE_BY_SLUG`."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=json_type_name(data))
        try:
            found = _ADDABLE_BY_SLUG.list(data)
        except (TypeError, ValueError):  # as SlugRefField (e.g. a NUL PostgreSQL refuses)
            self.fail("invalid")
        if not found:
            self.fail("does_not_exist", slug_name=self.slug_field, value=f'"{echo(data)}"')
        return found[0]


class CartItemAddSerializer(serializers.Serializer):
    product = AddableProductField(
        slug_field="slug",
        queryset=addable_products(),
        error_messages={"does_not_exist": _("No product with slug {value}.")},
    )
    quantity = StrictIntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY, default=1)
    options = serializers.ListField(
        child=OptionRefField(),
        required=False,
        default=list,
        max_length=MAX_OPTIONS_PER_LINE,
        help_text="Chosen options, by id or slug; each of the dish's groups must get between its "
        "min_choices and max_choices.",
    )
    note = StrictCharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH, help_text="For the kitchen."
    )


_PLAIN_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,200}")
_QUANTITY_MAX = CartItemAddSerializer._declared_fields["quantity"].max_value


def add_arguments_plain(data) -> dict | None:
    """What `CartItemAddSerializer` validates a plain add to (`{"product": "<slug>"}` with an
    optional `quantity`, no options, no note: nearly every add), without building the
    serializer (its fields are deep-copied per instance); None for anything else, an unknown
    product included, which the serializer then answers, errors and all.
    cart/tests/test_add_fast.py holds the two side by side."""
    if type(data) is not dict or not data.keys() <= {"product", "quantity"}:
        return None
    slug, quantity = data.get("product"), data.get("quantity", 1)
    if type(slug) is not str or not _PLAIN_SLUG.fullmatch(slug):
        return None
    if type(quantity) is not int or not 1 <= quantity <= _QUANTITY_MAX:
        return None
    found = _ADDABLE_BY_SLUG.list(slug)
    if not found:
        return None
    return {"product": found[0], "quantity": quantity, "options": [], "note": ""}


class CartItemUpdateSerializer(serializers.Serializer):
    patch_in_full = True  # PATCH cart/items/{id}/ needs the quantity (config.api.schema documents it so)

    quantity = StrictIntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY)
