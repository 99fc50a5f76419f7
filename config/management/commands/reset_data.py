"""Remove shopping data (carts, orders, payments, invoices), give held stock back and free
the pickup slots, and keep users, the menu, the opening hours and the slots' capacities.

Invoices go too, with their credit notes, PDFs and number series: they document orders that
no longer exist. Numbering restarts at INV-<year>-000001, which is acceptable only because
this wipes every order as well, and why the command refuses without --force when DEBUG is
off (a production book of invoices must never be reset)."""

from collections import Counter

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from config.management.guards import refuse_unless_debug
from invoices.services import invoices_delete_all
from orders.models import HoursException, HoursExceptionRange, PickupSlot, ShopSettings, Voucher, WeeklyHours
from orders.pickup.services import pickup_slots_free_all
from orders.services import orders_stock_release_all
from orders.vouchers.services import voucher_uses_reset_all

# Deleted in this order: later apps' rows point at earlier ones.
SHOPPING_APPS = ["payments", "invoices", "orders", "cart"]
# The shop's setup, kept: the slots are freed instead (their capacities stay), the vouchers'
# uses are forgotten (their counts back to 0).
KEPT_MODELS = {WeeklyHours, HoursException, HoursExceptionRange, PickupSlot, ShopSettings, Voucher}

# Apps whose rows go through their own service (files, protected references).
DELETERS = {"invoices": invoices_delete_all}


class Command(BaseCommand):
    help = (
        "Delete carts, orders, payments and invoices (with their PDFs and number series), give "
        "the stock their orders hold back to the products and free the pickup slots. Users, the "
        "menu and the opening hours stay. Refuses when DEBUG is off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args, force: bool = False, **options):
        refuse_unless_debug(command="reset_data", force=force)
        removed: Counter[str] = Counter()
        with transaction.atomic(durable=True):
            returned = orders_stock_release_all()
            voucher_uses_reset_all()
            for label in SHOPPING_APPS:
                if label in DELETERS:
                    removed.update(DELETERS[label]())
                    continue
                for model in apps.get_app_config(label).get_models():
                    if model not in KEPT_MODELS:
                        removed.update(model.objects.all().delete()[1])
            freed = pickup_slots_free_all()
        self.stdout.write(f"Returned {returned} unit(s) of stock to the menu.")
        self.stdout.write(f"Freed the bookings of {freed} pickup slot(s).")
        for model_label in sorted(removed):
            self.stdout.write(
                f"Removed {removed[model_label]} {apps.get_model(model_label)._meta.verbose_name_plural}."
            )
        if not removed:
            self.stdout.write("There was nothing else to remove.")
