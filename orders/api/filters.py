import django_filters

from orders.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=OrderStatus.choices,
        error_messages={
            "invalid_choice": "Unknown status; choose one of: " + ", ".join(OrderStatus.values) + "."
        },
    )

    class Meta:
        model = Order
        fields: list[str] = []
