"""Phone numbers: one owner of what a phone number is (the profile, the admin, checkout).

Stored in E.164 (`+6281234567890`), parsed by `phonenumbers` (Google's libphonenumber
metadata, kept up to date upstream) rather than by a pattern of our own: it knows which
Indonesian prefixes and lengths exist. What shoppers type is read as a number of the
shop's region (ID) unless it starts with `+`: `0812-3456-789`, `62812 3456 789` and
`+62 812 3456 789` are all `+628123456789`; a foreign number needs its `+` and country code."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The shop's country: numbers without a country code are read as Indonesian.
PHONE_REGION = "ID"
# The shape admitted before parsing (ASCII digits, spaces, dashes, an optional leading +);
# the API's phone fields publish it in the schema. It keeps out what the parser would
# otherwise read kindly: letters (`0800-FLOWERS`), extensions (`ext. 5`), other digits
# (Arabic-Indic). Parsing then decides whether it is a number.
PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{5,18}$"
PHONE_MESSAGE = _("Enter a valid phone number, e.g. 0812-3456-789 or +62 812 3456 789.")


def phone_normalize(raw: str) -> str:
    """`raw` as E.164, or ValidationError `{"phone": [PHONE_MESSAGE]}` when it is not in
    PHONE_PATTERN or not a valid number (unknown prefix, wrong length). Empty stays empty."""
    if not raw:
        return ""
    if not re.fullmatch(PHONE_PATTERN, raw):
        raise ValidationError({"phone": [PHONE_MESSAGE]}, code="invalid")
    try:
        number = phonenumbers.parse(raw, PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError({"phone": [PHONE_MESSAGE]}, code="invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": [PHONE_MESSAGE]}, code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
