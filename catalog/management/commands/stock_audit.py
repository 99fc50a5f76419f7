import sys

from django.core.management.base import BaseCommand

from catalog.models import Product
from catalog.stock import stock_audit
from config import metrics


class Command(BaseCommand):
    help = (
        "Check that every product's stock equals the sum of its stock ledger. Reports each "
        "product that drifted and exits with status 1 if any did."
    )

    def handle(self, *args, **options) -> None:
        drift = stock_audit()
        metrics.audit_drift("stock", len(drift))
        if not drift:
            count = Product.objects.count()
            self.stdout.write(f"Stock matches the ledger for all {count} products.")
            return
        for row in drift:
            self.stdout.write(
                f"{row.slug} (id {row.product_id}): stock {row.stock}, ledger {row.ledger}, "
                f"drift {row.stock - row.ledger:+d}"
            )
        self.stdout.write(f"{len(drift)} product(s) do not match their stock ledger.")
        sys.exit(1)
