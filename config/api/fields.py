"""Input fields shared by every API serializer and filter: integers taken strictly, and
error messages that never echo input back as a Python repr or in full.

DRF's and Django's own fields are lenient in ways a shop API should not be: `int()` takes
" 1", "1_0", "+1" and any Unicode digit (Arabic-Indic, full-width), DRF's IntegerField also "1.0" and 1.0,
and their error messages quote whatever was sent (`No product with slug {'slug': 'x'}.`,
a 5,000-character choice back in full)."""

import re

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils.translation import gettext as _
from rest_framework import serializers

# Longest piece of client input an error message quotes back.
ECHO_MAX = 40
# Bounds every integer input gets unless it states tighter ones: what a BIGINT column holds,
# so no value that passed validation can overflow the database.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# ASCII digits only, optionally negative; at most 19 digits (the 64-bit range).
_QUERY_INT = re.compile(r"-?[0-9]{1,19}")

JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def echo(value: str) -> str:
    """Client text quoted in an error message: at most ECHO_MAX characters, then an ellipsis."""
    return value if len(value) <= ECHO_MAX else value[:ECHO_MAX] + "\u2026"


def json_type_name(value: object) -> str:
    return JSON_TYPE_NAMES.get(type(value), "a value")


def parse_query_int(raw: str | None) -> int | None:
    """A query-string integer: ASCII digits with an optional minus, nothing else (no spaces,
    signs, underscores, decimals or non-ASCII digits). None when `raw` is not one."""
    if raw is None or not _QUERY_INT.fullmatch(raw):
        return None
    return int(raw)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: `3`, never `"3"`, `3.0`, `true` or an Arabic-Indic 3. Bounded to
    the 64-bit range unless `min_value`/`max_value` say tighter."""

    default_error_messages = {"invalid": "Must be a whole number (a JSON integer, not text or a decimal)."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictTextMixin:
    """Text as a JSON string and nothing else: DRF's text fields take `0` and `1.5` as "0" and
    "1.5", which the schema (type string) does not promise and no client of this API sends
    (the fuzzer found it)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(
                _("Expected text (a JSON string), got %(type)s.") % {"type": json_type_name(data)},
                code="invalid",
            )
        return super().to_internal_value(data)


class StrictCharField(StrictTextMixin, serializers.CharField):
    pass


class StrictRegexField(StrictTextMixin, serializers.RegexField):
    pass


class StrictEmailField(StrictTextMixin, serializers.EmailField):
    pass


class StrictSlugField(StrictTextMixin, serializers.SlugField):
    pass


# For ModelSerializers that take input: model text fields become the strict ones.
STRICT_TEXT_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
    models.EmailField: StrictEmailField,
    models.SlugField: StrictSlugField,
}


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean and nothing else: `true`/`false`, never `0`, `1`, `"true"` or `"yes"`."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class QueryIntegerField(forms.IntegerField):
    """Django forms (and so django-filter) counterpart of StrictIntegerField for query
    strings, where every value is text: ASCII digits only (see `parse_query_int`)."""

    default_error_messages = {"invalid": "Enter a whole number in ASCII digits."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_query_int(value if isinstance(value, str) else str(value))
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, given as the exact string: no `str()` of a number or object, and
    an unknown value quoted back at most ECHO_MAX characters long."""

    default_error_messages = {
        "invalid_choice": 'Unknown value "{input}"; choose one of: {choices}.',
        "incorrect_type": "Expected text, got {input_type}.",
    }

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        if not isinstance(data, str):
            self.fail("incorrect_type", input_type=json_type_name(data))
        if data not in self.choice_strings_to_values:
            self.fail("invalid_choice", input=echo(data), choices=", ".join(self.choice_strings_to_values))
        return self.choice_strings_to_values[data]


class SlugRefField(serializers.SlugRelatedField):
    """An object named by its slug: text only, and an unknown slug quoted back at most
    ECHO_MAX characters long. `does_not_exist` may use `{value}`, e.g. "No product with
    slug {value}."; the value comes quoted."""

    default_error_messages = {
        "does_not_exist": "No object with {slug_name} {value}.",
        "incorrect_type": "Expected a slug (text), got {data_type}.",
        "invalid": "Invalid value.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=json_type_name(data))
        try:
            return self.get_queryset().get(**{self.slug_field: data})
        except ObjectDoesNotExist:
            self.fail("does_not_exist", slug_name=self.slug_field, value=f'"{echo(data)}"')
        except (TypeError, ValueError):
            self.fail("invalid")
