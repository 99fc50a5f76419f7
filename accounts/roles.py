"""The staff roles: two Django groups bundling the model permissions each job needs
(README "Staff roles"). Created by orders/migrations/0007_staff_groups.py and again by
`manage.py seed` (a `reset_db` flush empties the groups table).

- Kitchen: see every order and move it through the kitchen flow (paid -> preparing ->
  ready -> completed), run busy mode (pause new orders, add a delay) and mark a dish sold
  out for a while. Nothing else: no cancelling, refunds, menu, stock or invoices.
- Manager: every permission of the shop's own apps (menu, stock, prices, carts, orders,
  cancelling, refunds, pickup hours and slots, invoices, payments) and viewing user
  accounts. Not editing users, groups or permissions: whoever may change a user may make
  anyone a superuser, so that stays with superusers.

Only adds: what an operator granted a group on top is never taken away."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

KITCHEN = "Kitchen"
MANAGER = "Manager"
SHOP_APPS = ("catalog", "cart", "orders", "invoices", "payments")
KITCHEN_PERMISSIONS = (
    "orders.view_order",
    "orders.change_order",
    # Busy mode: pause new orders, add a delay (the kitchen knows when it is swamped).
    "orders.view_kitchenstate",
    "orders.change_kitchenstate",
    # A dish the kitchen has run out of, for a while (catalog/sold_out.py).
    "catalog.set_sold_out",
)
MANAGER_EXTRA_PERMISSIONS = ("accounts.view_user",)


def staff_groups_ensure(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create both groups with their permissions, creating the permissions first (Django
    makes them only after `migrate`, too late for a migration on a new database).
    Idempotent. `apps`: a migration's historical registry, or the project's."""
    for label in (*SHOP_APPS, "accounts"):
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission").objects.using(using)

    def named(perms: tuple[str, ...]) -> list:
        # A permission of a model a later migration creates is not there yet in an earlier
        # migration's registry: that migration runs this again (test_staff_roles checks the end).
        pairs = [perm.split(".") for perm in perms]
        return [
            permission
            for app, codename in pairs
            for permission in Permission.filter(content_type__app_label=app, codename=codename)
        ]

    kitchen, _ = Group.objects.using(using).get_or_create(name=KITCHEN)
    kitchen.permissions.add(*named(KITCHEN_PERMISSIONS))
    manager, _ = Group.objects.using(using).get_or_create(name=MANAGER)
    manager.permissions.add(
        *Permission.filter(content_type__app_label__in=SHOP_APPS), *named(MANAGER_EXTRA_PERMISSIONS)
    )
