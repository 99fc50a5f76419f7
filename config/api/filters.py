"""Query input read by django-filter, as clients send it."""

from django import forms
from django_filters.widgets import BaseCSVWidget


class RepeatableCSVWidget(BaseCSVWidget, forms.TextInput):
    """A list parameter given either comma-separated (`?ordering=-price,name`) or repeated
    (`?ordering=-price&ordering=name`, as generated clients send arrays), in the order given.
    django-filter's CSV widget reads only the last of repeated values, which silently
    dropped the others; its QueryArrayWidget reads both forms but loses the order."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else []
        if len(values) > 1:
            return ",".join(values).split(",")
        return super().value_from_datadict(data, files, name)
