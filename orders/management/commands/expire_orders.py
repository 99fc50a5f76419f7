from django.core.management.base import BaseCommand

from payments.services.reconcile import orders_expire_due_reconciled


class Command(BaseCommand):
    help = (
        "Expire pending orders whose payment window has passed and give their stock back, "
        "after asking the payment gateway about each one's open attempts (so a payment whose "
        "notification was lost pays the order instead). Safe to run every minute from cron, "
        "and to run twice at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="Expire at most this many orders.")

    def handle(self, *args, limit: int | None = None, **options):
        reconciled, expired = orders_expire_due_reconciled(limit=limit)
        if reconciled:
            self.stdout.write(f"Reconciled {reconciled} payment attempt(s) with the gateway.")
        self.stdout.write(f"Expired {expired} order(s).")
