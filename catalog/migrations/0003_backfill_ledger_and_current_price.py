"""Existing databases: open the ledger with each product's stock as its `initial`
movement, and fill the current-price columns from the price history."""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.utils import timezone


def forwards(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    ProductPrice = apps.get_model("catalog", "ProductPrice")
    StockMovement = apps.get_model("catalog", "StockMovement")
    now = timezone.now()
    StockMovement.objects.bulk_create(
        [
            StockMovement(product_id=pk, quantity=stock, stock_after=stock, reason="initial", created_at=now)
            for pk, stock in Product.objects.filter(stock__gt=0).values_list("pk", "stock").iterator()
        ],
        batch_size=1000,
    )
    in_force = ProductPrice.objects.filter(product=OuterRef("pk"), valid_from__lte=now).order_by(
        "-valid_from", "-version"
    )
    upcoming = ProductPrice.objects.filter(product=OuterRef("pk"), valid_from__gt=now).order_by("valid_from")
    Product.objects.update(
        current_price=Subquery(in_force.values("amount")[:1]),
        current_price_version=Subquery(in_force.values("version")[:1]),
        price_changes_at=Subquery(upcoming.values("valid_from")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_stock_ledger_and_current_price")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
