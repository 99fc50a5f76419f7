from django.core.management.base import BaseCommand

from catalog.services import prices_switch_due


class Command(BaseCommand):
    help = (
        "Bring scheduled prices whose time has come into force on their products. Run every "
        "minute from cron where no Celery beat runs; reads switch due prices themselves too, "
        "so this only keeps filters and sorting by price exact between reads. Safe to run twice at once."
    )

    def handle(self, *args, **options) -> None:
        changed = prices_switch_due()
        self.stdout.write(f"Switched the price of {changed} product(s).")
