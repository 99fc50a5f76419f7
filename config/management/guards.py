from django.conf import settings
from django.core.management.base import CommandError


def refuse_unless_debug(*, command: str, force: bool) -> None:
    """Destructive commands run freely in development; in production only with --force."""
    if not settings.DEBUG and not force:
        raise CommandError(
            f"DEBUG is off, so this may be production: run `{command} --force` if you mean it."
        )
