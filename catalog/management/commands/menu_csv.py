import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.menu_csv import menu_export, menu_import


class Command(BaseCommand):
    help = (
        "Export the menu as CSV keyed by SKU, or import one back (catalog/menu_csv.py): a new "
        "price is a new version, a new stock an adjustment in the ledger; any bad row and nothing "
        "is applied (exit status 1). FILE '-' is standard output or input."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("file")
        parser.add_argument(
            "--dry-run", action="store_true", help="Import: show what would change, change nothing."
        )
        parser.add_argument("--create", action="store_true", help="Import: create products for unknown SKUs.")

    def handle(self, *args, action: str, file: str, dry_run: bool, create: bool, **options) -> None:
        if action == "export":
            if file == "-":
                count = menu_export(self.stdout)
            else:
                with open(file, "w", encoding="utf-8", newline="") as out:
                    count = menu_export(out)
                self.stdout.write(f"Exported {count} product(s) to {file}.")
            return
        try:
            if file == "-":
                text = sys.stdin.read()
            else:
                with open(file, encoding="utf-8-sig", newline="") as source:
                    text = source.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        result = menu_import(text, create=create, dry_run=dry_run)
        for line in result.report():
            self.stdout.write(line)
        if result.errors:
            sys.exit(1)
