"""Helpers for JSON built without DRF serializers (the hot answers: cart, order), value for
value what DRF's fields give."""

from datetime import datetime, tzinfo

from django.utils import timezone


def iso_datetime(value: datetime | None, tz: tzinfo | None = None) -> str | None:
    """`serializers.DateTimeField().to_representation(value)` with the default settings
    (ISO 8601, USE_TZ): null when empty, else in the current time zone (`tz`, when the
    caller already has it), UTC written as `Z`."""
    if not value:
        return None
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
