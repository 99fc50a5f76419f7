import django_filters
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from orders.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=OrderStatus.choices,
        error_messages={
            "invalid_choice": format_lazy(
                _("Unknown status; choose one of: {statuses}."), statuses=", ".join(OrderStatus.values)
            )
        },
    )

    class Meta:
        model = Order
        fields: list[str] = []
