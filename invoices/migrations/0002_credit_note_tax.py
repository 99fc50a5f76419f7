"""The tax a credit note gives back (orders.totals.refund_split) and an index on issued_at, for the tax report."""

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
        migrations.AddIndex(
            model_name='creditnote',
            index=models.Index(fields=['issued_at'], name='credit_note_issued_at'),
        ),
        migrations.AddConstraint(
            model_name='creditnote',
            constraint=models.CheckConstraint(condition=models.Q(('tax__lte', models.F('amount'))), name='credit_note_tax_within_amount'),
        ),
    ]
