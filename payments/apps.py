from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from payments.checks import TAG, check_payment_settings

        checks.register(check_payment_settings, TAG)

        from orders.signals import order_closed
        from payments.tasks import enqueue_gateway_cancel

        order_closed.connect(enqueue_gateway_cancel, dispatch_uid="payments.cancel_at_gateway")
