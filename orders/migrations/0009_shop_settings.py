"""The shop settings singleton (orders/shop_settings.py), and Manager gets its permissions
(accounts.roles.staff_groups_ensure, as 0007 says a new model of a shop app must)."""

import django.core.validators
import django.utils.timezone
from django.db import migrations, models

from accounts.roles import staff_groups_ensure


def manager_permissions(apps, schema_editor):
    staff_groups_ensure(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0008_payment_reversed'),
    ]

    operations = [
        migrations.CreateModel(
            name='ShopSettings',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('service_charge_bp', models.PositiveIntegerField(default=0, help_text='500 = 5%. 0: no service charge.', validators=[django.core.validators.MaxValueValidator(10000)], verbose_name='service charge (basis points)')),
                ('tax_name', models.CharField(choices=[('PB1', 'PB1 (Pajak Restoran)'), ('PBJT', 'PBJT (Pajak Barang dan Jasa Tertentu)'), ('PPN', 'PPN (Pajak Pertambahan Nilai)')], default='PB1', max_length=8)),
                ('tax_rate_bp', models.PositiveIntegerField(default=0, help_text='1000 = 10% (PB1/PBJT); PPN 12% on a base of 11/12 is 1100. 0: no tax.', validators=[django.core.validators.MaxValueValidator(10000)], verbose_name='tax rate (basis points)')),
                ('tax_base', models.CharField(choices=[('subtotal', 'Subtotal'), ('subtotal_and_service', 'Subtotal and service charge')], default='subtotal_and_service', max_length=24)),
                ('prices_include_tax', models.BooleanField(default=False, help_text='Menu prices already hold the tax: it is extracted, not added.')),
                ('packaging_fee', models.PositiveBigIntegerField(default=0, help_text='Rupiah per order; 0: none.')),
                ('rounding_unit', models.PositiveIntegerField(choices=[(1, 'Rp 1 (no rounding)'), (100, 'Rp 100'), (500, 'Rp 500')], default=1, help_text='The total is rounded half up to this; the difference is a rounding line.')),
                ('tax_registration_number', models.CharField(blank=True, help_text='NPWPD for PB1/PBJT, NPWP for PPN; printed on invoices when set.', max_length=32)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name': 'shop settings',
                'verbose_name_plural': 'shop settings',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='shop_settings_singleton'), models.CheckConstraint(condition=models.Q(('service_charge_bp__lte', 10000), ('tax_rate_bp__lte', 10000)), name='shop_settings_rates_at_most_100_percent'), models.CheckConstraint(condition=models.Q(('rounding_unit__in', (1, 100, 500))), name='shop_settings_rounding_unit_valid'), models.CheckConstraint(condition=models.Q(('tax_base__in', ['subtotal', 'subtotal_and_service'])), name='shop_settings_tax_base_valid')],
            },
        ),
        migrations.RunPython(manager_permissions, migrations.RunPython.noop),
    ]
