"""The API's one request parser (DEFAULT_PARSER_CLASSES; SimpleJWT's views use it too)."""

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what no client of this API sends and the database or the
    interpreter cannot take: nesting deeper than `max_depth` (Python's decoder recurses, so
    a thousand `[` were a RecursionError and a 500) and the NUL character in any string or
    key (PostgreSQL text cannot hold it). Both are a 400 `parse_error`; nothing reaches a
    serializer. The deepest body the API accepts (a bundle's components) is 3 levels."""

    max_depth = 20

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(self._too_deep()) from exc
        self.check(data)
        return data

    def check(self, data) -> None:
        """Walk the parsed value without recursion: depth first, a level per container."""
        pending = [(data, 1)]
        while pending:
            value, depth = pending.pop()
            if isinstance(value, str):
                if "\x00" in value:
                    raise ParseError(
                        _("JSON parse error - strings may not contain the NUL character (U+0000).")
                    )
                continue
            if isinstance(value, dict):
                items = list(value.values())
                pending.extend((key, depth) for key in value)
            elif isinstance(value, list):
                items = value
            else:
                continue
            if depth > self.max_depth:
                raise ParseError(self._too_deep())
            pending.extend((item, depth + 1) for item in items)

    def _too_deep(self) -> str:
        return f"JSON parse error - nested more than {self.max_depth} levels deep."
