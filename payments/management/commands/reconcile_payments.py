from django.core.management.base import BaseCommand, CommandError

from payments.services.reconcile import payments_recheck_settled, payments_reconcile_pending


class Command(BaseCommand):
    help = (
        "Ask the payment gateway about attempts still pending after --min-age seconds and apply "
        "its answers as the webhook would (heals lost notifications), then re-check attempts whose "
        "money may still move (captures, settled in the last 24 h, reversed). Safe to run from cron "
        "and to run twice at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age", type=int, default=60, help="Only attempts opened at least this many seconds ago."
        )
        parser.add_argument("--limit", type=int, default=None, help="Ask about at most this many attempts.")

    def handle(self, *args, min_age: int = 60, limit: int | None = None, **options):
        if min_age < 0:
            raise CommandError("--min-age must be 0 or more seconds.")
        changed = payments_reconcile_pending(min_age_seconds=min_age, limit=limit)
        changed += payments_recheck_settled(limit=limit)
        self.stdout.write(f"Reconciled {changed} payment attempt(s).")
