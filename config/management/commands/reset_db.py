from django.core.management import call_command
from django.core.management.base import BaseCommand

from config.management.guards import refuse_unless_debug


class Command(BaseCommand):
    help = "Empty every table, migrate and seed: a fresh demo shop. Refuses when DEBUG is off unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args, force: bool = False, **options):
        refuse_unless_debug(command="reset_db", force=force)
        call_command("flush", interactive=False, verbosity=0)
        self.stdout.write("Removed all rows from every table (users, menu, orders, everything).")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database schema is up to date.")
        call_command("seed", stdout=self.stdout)
