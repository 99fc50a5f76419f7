from django.conf import settings
from django.core.management.base import BaseCommand

from orders.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Forget checkout Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS (default 24)."

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(f"Removed {deleted} key(s) older than {settings.IDEMPOTENCY_KEY_TTL_HOURS} hours.")
