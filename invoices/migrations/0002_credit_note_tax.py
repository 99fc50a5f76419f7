"""The tax a credit note gives back, for the tax report (orders.totals.refund_split)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='creditnote',
            name='tax',
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
