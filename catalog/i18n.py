"""Menu text per language: the column names and the fallback rule (catalog/translation.py).

`name` and `description` written without a language are the text of record, the default
language's (`name_ind`: modeltranslation spells `id` as `ind`); `name_en` is the English
text, empty (or NULL) when there is none. A read in English shows `name_en`, else
`name_ind`. Model attributes do this by themselves (`product.name`); a read of raw rows
(`values()` over `*_ind`/`*_en`) uses `text()`.
"""

from collections.abc import Mapping

from django.utils.translation import get_language
from modeltranslation.utils import build_localized_fieldname

DEFAULT = "id"
TRANSLATED = ("name", "description")


def column(field: str, language: str) -> str:
    """`name`, `en` -> `name_en`; `name`, `id` -> `name_ind`."""
    return build_localized_fieldname(field, language)


def columns(field: str) -> tuple[str, ...]:
    """Every language column of `field`, the default language's first."""
    return (column(field, DEFAULT), column(field, "en"))


def text(row: Mapping, field: str, language: str | None = None) -> str:
    """`field` of a raw row (with every language column of it) in `language` (default: the
    active one), falling back to the default language's text when that is empty."""
    value = row.get(column(field, language or get_language() or DEFAULT))
    return value or row.get(column(field, DEFAULT)) or ""


def of_record(fields: Mapping[str, object]) -> dict[str, object]:
    """A write's fields with `name`/`description` (no language) renamed to the default
    language's column: the request's language never decides which text a write replaces."""
    return {(column(k, DEFAULT) if k in TRANSLATED else k): v for k, v in fields.items()}


def texts_allowed(*fields: str) -> tuple[str, ...]:
    """Every language column of the translated `fields` (what a service may write)."""
    return tuple(name for field in fields for name in columns(field))
