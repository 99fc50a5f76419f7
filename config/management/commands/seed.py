"""Demo data, safe to run any number of times: what exists is left as it is."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import User
from accounts.roles import KITCHEN, MANAGER, staff_groups_ensure
from catalog import demo_menu, demo_options
from catalog.options import options_seed
from catalog.seeding import MenuSeedResult, menu_seed, products_generate
from catalog.selectors import category_list
from orders.pickup.services import hours_seed_demo, pickup_slots_materialise
from orders.shop_settings import shop_settings_seed_demo
from orders.vouchers.services import vouchers_seed_demo

DEMO_SHOPPERS = [
    ("budi@example.com", "Budi Santoso", "+6281211112222"),
    ("siti@example.com", "Siti Rahmawati", "+6281333334444"),
]
# Demo staff, each in a role's group (accounts/roles.py): the manager runs the shop (the
# README's walkthrough), the cook only the kitchen board.
DEMO_STAFF = [
    ("staff@example.com", "Foodies Staff", MANAGER, "manager: menu, stock, orders, refunds, invoices"),
    ("kitchen@example.com", "Foodies Kitchen", KITCHEN, "kitchen: orders and the kitchen board"),
]


def counted(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


class Command(BaseCommand):
    help = (
        "Create the demo menu, the weekly opening hours (when there are none), the pickup "
        "slots of the booking window and the day after, and the staff groups; while DEBUG is "
        "on (or with --demo-accounts) the demo shopper accounts, and while DEBUG is on the demo "
        "staff (a manager and a cook), all with the password the README prints. Idempotent. "
        "--products N adds N generated products for load tests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")
        parser.add_argument(
            "--demo-accounts",
            action="store_true",
            help="Create the demo shoppers although DEBUG is off (a demo or staging site): their "
            "password is public.",
        )
        parser.add_argument(
            "--products",
            type=int,
            default=0,
            metavar="N",
            help="Also generate N priced, in-stock products (numbered on from earlier runs).",
        )

    def handle(self, *args, logins: bool = False, products: int = 0, demo_accounts: bool = False, **options):
        if logins:
            self.print_logins()
            return
        if products < 0:
            raise CommandError("--products takes a number of 0 or more.")
        # One transaction: a failure anywhere leaves the database as it was.
        with transaction.atomic(durable=True):
            users = self.seed_users(demo_accounts=demo_accounts or settings.DEBUG)
            menu = menu_seed(categories=demo_menu.CATEGORIES, products=demo_menu.PRODUCTS)
            option_groups = options_seed(groups=demo_options.OPTION_GROUPS)
            hours = hours_seed_demo()
            slots = pickup_slots_materialise(now=timezone.now())
            charges = shop_settings_seed_demo()
            vouchers = vouchers_seed_demo()
            started = time.monotonic()
            if products:
                self.generate(count=products)
            elapsed = time.monotonic() - started
        # Reported only once committed, so the summary never claims what was rolled back.
        if users is None:
            self.stdout.write("Users: no demo accounts (DEBUG is off; --demo-accounts creates them).")
        else:
            self.stdout.write(self.style.SUCCESS(f"Users: {users} created."))
        self.stdout.write(self.style.SUCCESS(self.menu_summary(menu)))
        self.stdout.write(self.style.SUCCESS(f"Option groups: {option_groups} created."))
        self.stdout.write(self.style.SUCCESS(self.hours_summary(hours=hours, slots=slots)))
        self.stdout.write(self.style.SUCCESS(self.charges_summary(charges=charges, vouchers=vouchers)))
        if products:
            self.stdout.write(self.style.SUCCESS(f"Products: {products} generated in {elapsed:.1f}s."))

    def seed_users(self, *, demo_accounts: bool) -> int | None:
        """The staff groups (a reset_db flush leaves their table empty), then the demo
        accounts (their password is in the README): never on a production site unless asked
        for; the staff ones only while DEBUG is on. None: no accounts asked for."""
        staff_groups_ensure()
        if not demo_accounts:
            return None
        accounts = [(email, name, phone, None) for email, name, phone in DEMO_SHOPPERS]
        if settings.DEBUG:
            accounts += [(email, name, "", group) for email, name, group, _ in DEMO_STAFF]
        created = 0
        for email, name, phone, group in accounts:
            if User.objects.filter(email=email).exists():
                continue
            user = User.objects.create_user(
                email=email,
                password=settings.DEMO_PASSWORD,
                name=name,
                phone=phone,
                is_staff=group is not None,
            )
            if group is not None:
                user.groups.add(Group.objects.get(name=group))
            created += 1
        return created

    def generate(self, *, count: int) -> None:
        try:
            products_generate(
                count=count,
                categories=list(category_list().exclude(slug=demo_menu.BUNDLES_CATEGORY)),
                on_batch=self.progress(total=count),
            )
        except ValidationError as error:
            raise CommandError(f"Cannot generate products: {' '.join(error.messages)}") from error

    @staticmethod
    def menu_summary(menu: MenuSeedResult) -> str:
        if not (menu.categories or menu.products or menu.prices):
            return "Menu: nothing new."
        return (
            f"Menu: {counted(menu.categories, 'category', 'categories')}, "
            f"{counted(menu.products, 'product', 'products')}, "
            f"{counted(menu.prices, 'price', 'prices')} created."
        )

    @staticmethod
    def hours_summary(*, hours: int, slots: int) -> str:
        if not (hours or slots):
            return "Opening hours and pickup slots: nothing new."
        return (
            f"Opening hours: {counted(hours, 'weekly range', 'weekly ranges')}, "
            f"{counted(slots, 'pickup slot', 'pickup slots')} created."
        )

    @staticmethod
    def charges_summary(*, charges: bool, vouchers: int) -> str:
        kept = "PB1 10% on subtotal and 5% service, rounded to Rp 100" if charges else "as staff set them"
        return f"Charges: {kept}; vouchers: {vouchers} created."

    def progress(self, *, total: int) -> Callable[[int], None]:
        """A progress bar (tqdm) redrawn in place on a terminal; elsewhere (logs, CI, pipes) a
        plain line per tenth done, so a million products do not write a thousand lines."""
        if self.stdout.isatty():
            bar = tqdm(total=total, desc="Generating products", unit="product", file=self.stdout._out)

            def redraw(done: int) -> None:
                bar.update(done - bar.n)
                if done == total:
                    bar.close()

            return redraw

        last_tenth = 0

        def log(done: int) -> None:
            nonlocal last_tenth
            tenth = 10 * done // total
            if tenth > last_tenth:
                last_tenth = tenth
                self.stdout.write(f"Generating products: {done}/{total} ({100 * done // total}%)")

        return log

    def print_logins(self) -> None:
        self.stdout.write(f"  Demo logins (password for all: {settings.DEMO_PASSWORD}):")
        for email, name, _phone in DEMO_SHOPPERS:
            self.stdout.write(f"    shopper  {email}  ({name})")
        if settings.DEBUG:
            for email, _name, _group, does in DEMO_STAFF:
                self.stdout.write(f"    staff    {email}  ({does})")
