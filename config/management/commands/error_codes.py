"""`manage.py error_codes [--markdown]`: every error `code` the domain rules answer with,
its status, meaning, the fields its body carries and the API operations that document it.
Read from the domain error classes (config.api.error_schema) and the generated schema, the
same source as the schema's error components; `--markdown` prints the README's table (a
test keeps them equal)."""

from django.core.management.base import BaseCommand
from drf_spectacular.generators import SchemaGenerator

from config.api.error_schema import ErrorCode, error_catalogue

METHODS = ("get", "post", "put", "patch", "delete")
MANY = 6  # more operations than this: counted, not listed


def _fields(entry: ErrorCode) -> str:
    names = [
        f"`{name}`" + (" (optional)" if name in entry.base.body_optional else "")
        for name in entry.base.body_fields
    ]
    return ", ".join(names) or "—"


def operations_by_component(schema: dict) -> dict[str, list[str]]:
    """Component name -> the operations (`POST orders/`) whose documented answers use it."""
    prefix = schema.get("servers", [{}])[0].get("url", "") if schema.get("servers") else ""
    found: dict[str, list[str]] = {}
    shared = {name: repr(response) for name, response in schema["components"].get("responses", {}).items()}
    for path, item in schema["paths"].items():
        short = path.removeprefix(prefix).removeprefix("/api/v1/")
        for method in METHODS:
            if method not in item:
                continue
            text = repr(item[method]["responses"])
            text += "".join(shared[name] for name in shared if f"/responses/{name}'" in text)
            for entry in error_catalogue():
                if f"/schemas/{entry.component}'" in text:
                    found.setdefault(entry.component, []).append(f"{method.upper()} {short}")
    return found


def markdown_table(schema: dict) -> str:
    where = operations_by_component(schema)
    rows = [
        "| code | status | meaning | more in the body | component: answered by |",
        "|---|---|---|---|---|",
    ]
    for entry in error_catalogue():
        statuses = ", ".join(str(status) for status in entry.statuses)
        operations = where.get(entry.component, [])
        if len(operations) > MANY:
            used = f"`{entry.component}`: {len(operations)} operations (every {statuses})"
        elif operations:
            used = f"`{entry.component}`: " + ", ".join(f"`{o}`" for o in operations)
        else:
            used = "not in the API (admin, background work)"
        rows.append(f"| `{entry.code}` | {statuses} | {entry.meaning} | {_fields(entry)} | {used} |")
    return "\n".join(rows) + "\n"


class Command(BaseCommand):
    help = "List the API's error codes (from the domain error classes); --markdown for the README's table."

    def add_arguments(self, parser):
        parser.add_argument("--markdown", action="store_true", help="a Markdown table, as in the README")

    def handle(self, *args, markdown: bool = False, **options):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        if markdown:
            self.stdout.write(markdown_table(schema), ending="")
            return
        where = operations_by_component(schema)
        for entry in error_catalogue():
            statuses = ",".join(str(status) for status in entry.statuses)
            self.stdout.write(
                f"{entry.code}\t{statuses}\t{entry.component}\t{len(where.get(entry.component, []))}"
            )
