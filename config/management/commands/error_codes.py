"""`manage.py error_codes [--markdown]`: every error `code` the API answers with from a
domain rule, with its status, meaning and the fields its body carries. Read from the
domain error classes (config.api.error_schema), the same source as the OpenAPI schema's
error components; `--markdown` prints the README's table (a test keeps them equal)."""

from django.core.management.base import BaseCommand

from config.api.error_schema import ErrorCode, error_catalogue


def _fields(entry: ErrorCode) -> str:
    names = [
        f"`{name}`" + (" (optional)" if name in entry.base.body_optional else "")
        for name in entry.base.body_fields
    ]
    return ", ".join(names) or "—"


def markdown_table() -> str:
    rows = [
        "| code | status | meaning | more in the body | schema component |",
        "|---|---|---|---|---|",
    ]
    for entry in error_catalogue():
        statuses = ", ".join(str(status) for status in entry.statuses)
        rows.append(
            f"| `{entry.code}` | {statuses} | {entry.meaning} | {_fields(entry)} | `{entry.component}` |"
        )
    return "\n".join(rows) + "\n"


class Command(BaseCommand):
    help = "List the API's error codes (from the domain error classes); --markdown for the README's table."

    def add_arguments(self, parser):
        parser.add_argument("--markdown", action="store_true", help="a Markdown table, as in the README")

    def handle(self, *args, markdown: bool = False, **options):
        if markdown:
            self.stdout.write(markdown_table(), ending="")
            return
        for entry in error_catalogue():
            statuses = ",".join(str(status) for status in entry.statuses)
            self.stdout.write(f"{entry.code}\t{statuses}\t{entry.component}")
