"""Short text that people type and that is printed elsewhere: one line of plain text.

The one owner of that rule. A shopper's name and phone end up in e-mails, invoices and the
kitchen's screens, and a cart line's note on the order: a newline there writes a paragraph
of the sender's choosing into the receipt, a BEL or an escape sequence reaches a terminal,
and U+202E (right-to-left override) turns the text that follows around. Kernel: imports no app.
"""

import unicodedata

from django.core.exceptions import ValidationError

# Control (Cc), format (Cf: bidi overrides, zero-width characters), surrogate (Cs: a lone
# half of a UTF-16 pair, which no database encoding takes) and private-use (Co) characters.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
# Whitespace controls are not refused: like every other whitespace run they become one space.
WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")
CONTROL_CHARACTERS_MESSAGE = "Use plain text without control characters."


def check_single_line(text: str, *, field: str, max_length: int | None = None) -> str:
    """`text` as one line of plain text: every run of whitespace (newlines, tabs, Unicode
    spaces and line separators) becomes one space and the ends are trimmed; control and
    formatting characters are refused; at most `max_length` characters after that.
    Raises ValidationError({field: [...]})."""
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES and ch not in WHITESPACE_CONTROLS for ch in text):
        raise ValidationError({field: [CONTROL_CHARACTERS_MESSAGE]}, code="invalid")
    text = " ".join(text.split())
    if max_length is not None and len(text) > max_length:
        raise ValidationError({field: [f"Keep it to {max_length} characters."]}, code="max_length")
    return text
