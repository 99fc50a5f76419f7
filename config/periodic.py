"""CELERY_BEAT_SCHEDULE from the table of periodic jobs in `config/settings.py`."""

from django.core.exceptions import ImproperlyConfigured


def beat_schedule(periodic: dict[str, tuple[str, int]]) -> dict:
    """Each job every `seconds` (at least 1); each run expires after one interval, so a
    worker that was down does not work through a backlog of stale runs."""
    for _name, (_task, _seconds) in periodic.items():
        if _seconds < 1:
            raise ImproperlyConfigured(f"The interval of {_name} must be at least 1 second, not {_seconds}.")
    return {
        name: {"task": task, "schedule": float(seconds), "options": {"expires": float(seconds)}}
        for name, (task, seconds) in periodic.items()
    }
