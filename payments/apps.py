from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        checks.register(check_gateway_settings)


def check_gateway_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.PAYMENT_GATEWAY == "mock" and settings.MIDTRANS_IS_PRODUCTION:
        return [
            checks.Error(
                "The mock payment gateway cannot run with MIDTRANS_IS_PRODUCTION on.",
                hint="Set MIDTRANS_SERVER_KEY (and PAYMENT_GATEWAY=midtrans), or turn MIDTRANS_IS_PRODUCTION off.",
                id="payments.E001",
            )
        ]
    return []
