import sys

from django.core.management.base import BaseCommand

from catalog.audit import COLUMNS, catalog_audit
from catalog.models import Product


class Command(BaseCommand):
    help = (
        "Recompute every product's maintained columns (" + ", ".join(COLUMNS) + ") from their "
        "sources and report each that drifted; exits with status 1 if any did. Scheduled prices "
        "that have come due are switched first, as any menu read does."
    )

    def handle(self, *args, **options) -> None:
        drift = catalog_audit()
        if not drift:
            count = Product.objects.count()
            self.stdout.write(f"The maintained catalog columns match their sources for all {count} products.")
            return
        for row in drift:
            self.stdout.write(
                f"{row.slug} (id {row.product_id}): {row.column} is {row.stored}, should be {row.expected}"
            )
        products = len({row.product_id for row in drift})
        self.stdout.write(f"{len(drift)} column(s) of {products} product(s) do not match their sources.")
        sys.exit(1)
