"""Vouchers, their uses and the voucher on a cart (orders/vouchers/), and Manager gets their
permissions (accounts.roles.staff_groups_ensure, as 0007 asks of a new model)."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from accounts.roles import staff_groups_ensure


def manager_permissions(apps, schema_editor):
    staff_groups_ensure(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_product_listed'),
        ('orders', '0010_order_charges'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Voucher',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=32, unique=True)),
                ('kind', models.CharField(choices=[('percent', 'Percent off'), ('fixed', 'Rupiah off')], max_length=10)),
                ('value', models.PositiveIntegerField(help_text='Whole percent (1-100) or rupiah.')),
                ('max_discount', models.PositiveBigIntegerField(blank=True, help_text='Cap on a percent voucher.', null=True)),
                ('min_subtotal', models.PositiveBigIntegerField(default=0)),
                ('starts_at', models.DateTimeField(blank=True, null=True)),
                ('ends_at', models.DateTimeField(blank=True, null=True)),
                ('usage_limit', models.PositiveIntegerField(blank=True, help_text='Uses in all; empty: no limit.', null=True)),
                ('used', models.PositiveIntegerField(default=0, editable=False)),
                ('per_customer_limit', models.PositiveIntegerField(blank=True, null=True)),
                ('first_order_only', models.BooleanField(default=False)),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('categories', models.ManyToManyField(blank=True, help_text="Only these categories' lines; none: all.", related_name='+', to='catalog.category')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='AppliedVoucher',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('applied_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('voucher', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orders.voucher')),
            ],
        ),
        migrations.CreateModel(
            name='VoucherUse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.PositiveBigIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('released_at', models.DateTimeField(blank=True, null=True)),
                ('order', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='voucher_use', to='orders.order')),
                ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('voucher', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='uses', to='orders.voucher')),
            ],
        ),
        migrations.AddConstraint(
            model_name='voucher',
            constraint=models.CheckConstraint(condition=models.Q(('code', django.db.models.functions.text.Upper('code'))), name='voucher_code_upper'),
        ),
        migrations.AddConstraint(
            model_name='voucher',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['percent', 'fixed'])), name='voucher_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='voucher',
            constraint=models.CheckConstraint(condition=models.Q(('value__gte', 1), models.Q(('kind', 'fixed'), ('value__lte', 100), _connector='OR')), name='voucher_value_valid'),
        ),
        migrations.AddConstraint(
            model_name='voucher',
            constraint=models.CheckConstraint(condition=models.Q(('usage_limit__isnull', True), ('used__lte', models.F('usage_limit')), _connector='OR'), name='voucher_used_within_limit'),
        ),
        migrations.AddIndex(
            model_name='voucheruse',
            index=models.Index(fields=['voucher', 'user'], name='voucher_use_per_customer'),
        ),
        migrations.RunPython(manager_permissions, migrations.RunPython.noop),
    ]
