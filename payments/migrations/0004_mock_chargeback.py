from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_post_settlement"),
    ]

    operations = [
        migrations.AddField(
            model_name="mocktransaction",
            name="chargeback_amount",
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
