from django.apps import AppConfig
from django.core import checks


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from payments.checks import TAG, check_payment_settings

        checks.register(check_payment_settings, TAG)
