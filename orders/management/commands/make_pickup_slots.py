from django.core.management.base import BaseCommand
from django.utils import timezone

from orders.pickup.services import pickup_slots_materialise


class Command(BaseCommand):
    help = (
        "Make the missing pickup slot rows of the booking window and the day after it (the "
        "slot listing only reads rows). Idempotent; run it from cron at least daily without beat."
    )

    def handle(self, *args, **options):
        created = pickup_slots_materialise(now=timezone.now())
        self.stdout.write(f"Made {created} pickup slot(s).")
