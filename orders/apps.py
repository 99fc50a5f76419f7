from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Connects the publishing of committed order events (live order status).
        from orders import streams  # noqa: F401
