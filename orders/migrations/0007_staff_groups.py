"""The staff roles "Kitchen" and "Manager" as Django groups (accounts/roles.py says what each
holds; README "Staff roles"). Idempotent; backwards it leaves the groups, which users may
have been put in since. A later migration adding a model to one of the shop's apps must run
`staff_groups_ensure` again so Manager gets its permissions (orders/tests/test_staff_roles.py
fails until it does)."""

from django.db import migrations

from accounts.roles import staff_groups_ensure


def create_groups(apps, schema_editor):
    staff_groups_ensure(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_order_permissions"),
        ("accounts", "0002_refresh_token_rotation"),
        ("catalog", "0005_product_listed"),
        ("cart", "0002_dish_options"),
        ("invoices", "0001_initial"),
        ("payments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
