from django.core.management.base import BaseCommand

from orders.services import orders_expire_due


class Command(BaseCommand):
    help = (
        "Expire pending orders whose payment window has passed and give their stock back. "
        "Safe to run every minute from cron, and to run twice at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="Expire at most this many orders.")

    def handle(self, *args, limit: int | None = None, **options):
        expired = orders_expire_due(limit=limit)
        self.stdout.write(f"Expired {expired} order(s).")
