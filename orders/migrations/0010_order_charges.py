"""The totals an order was priced with (orders/totals.py), with the charges also as columns
for the reports, and an index on paid_at for them."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0009_shop_settings'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='charges',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='order',
            name='discount',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='order',
            name='pricing',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='order',
            name='tax',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='order',
            name='service_charge',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='order',
            name='packaging',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='order',
            name='rounding',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('paid_at__isnull', False)), fields=['paid_at'], name='order_paid_at'),
        ),
    ]
