"""The language an order was placed in. Orders placed before it were all English (receipts,
invoices), so they get `en`; new orders default to `id` (checkout sets the request's)."""

from django.db import migrations, models

CHOICES = [("id", "Bahasa Indonesia"), ("en", "English")]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_status_emails"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="language",
            field=models.CharField(choices=CHOICES, default="en", editable=False, max_length=8),
        ),
        migrations.AlterField(
            model_name="order",
            name="language",
            field=models.CharField(choices=CHOICES, default="id", editable=False, max_length=8),
        ),
    ]
