import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from accounts.permissions import staff_has_perm
from catalog.i18n import columns
from catalog.models import Category, Product
from catalog.selectors import available_q
from config.api.fields import QueryIntegerField
from config.api.filters import RepeatableCSVWidget

MAX_FILTER_PRICE = 10**12


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_FILTER_PRICE})
class PriceFilter(django_filters.NumberFilter):
    """Whole rupiah in ASCII digits: "12.5", "abc" or "١٢" are a 400, as are values past any
    real price."""

    field_class = QueryIntegerField


def visible_categories(request):
    # As CategoryViewSet shows them: hidden ones too for staff who may view categories.
    if staff_has_perm(getattr(request, "user", None), "catalog.view_category"):
        return Category.objects.all()
    return Category.objects.filter(is_active=True)


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(
        field_name="category", to_field_name="slug", queryset=visible_categories
    )
    kind = django_filters.ChoiceFilter(
        choices=Product.Kind.choices, error_messages={"invalid_choice": _("Choose single or bundle.")}
    )
    available = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_available",
        error_messages={"invalid_choice": _("Choose true or false.")},
    )
    min_price = PriceFilter(
        field_name="current_price", lookup_expr="gte", min_value=0, max_value=MAX_FILTER_PRICE
    )
    max_price = PriceFilter(
        field_name="current_price", lookup_expr="lte", min_value=0, max_value=MAX_FILTER_PRICE
    )
    search = extend_schema_field({"type": "string", "maxLength": 100})(
        django_filters.CharFilter(method="filter_search", max_length=100)
    )
    ordering = django_filters.OrderingFilter(
        fields=(("name_ind", "name"), ("current_price", "price"), ("created_at", "created")),
        help_text="name, price or created; prefix - for descending. Several keys: repeat the "
        "parameter (`?ordering=-price&ordering=name`) or separate them with commas.",
        widget=RepeatableCSVWidget,
        error_messages={
            "invalid_choice": _("Order by name, price or created, each optionally prefixed with -.")
        },
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_available(self, queryset, name, value):
        return queryset.filter(available_q()) if value == "true" else queryset.exclude(available_q())

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Either language's text: an English reader finds a dish by its Indonesian name, and
        # the count (cached per filters, not per language) is the same for every reader.
        texts = [*columns("name"), *columns("description")]
        query = Q(sku__icontains=value)
        for name in texts:
            query |= Q(**{f"{name}__icontains": value})
        return queryset.filter(query)

    @property
    def qs(self):
        qs = super().qs
        # A stable order for pagination: ties (same price, same name) broken by id.
        if qs.query.order_by:
            qs = qs.order_by(*qs.query.order_by, "id")
        return qs
