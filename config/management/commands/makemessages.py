"""`manage.py makemessages -l id`: Django's, with the folders that hold no message of the
product left out (the virtualenv, tests, the bench, CI scripts, collected and uploaded files),
so the catalog in config/locale lists what shoppers and staff can see and nothing else."""

from django.core.management.commands import makemessages

IGNORED = [
    ".venv/*",
    "*/tests/*",
    "bench/*",
    ".ci/*",
    "staticfiles/*",
    "media/*",
    "private/*",
    "node_modules/*",
]


class Command(makemessages.Command):
    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *IGNORED]
        options["no_obsolete"] = True
        return super().handle(*args, **options)
