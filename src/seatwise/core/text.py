"""Free text a guest or a host types: what may be stored.

PostgreSQL `text` cannot hold NUL, and a lone surrogate cannot be encoded; other
control characters are refused too (they break logs, CSV exports and screens).
Newline and tab are allowed where text is multi-line (notes). A required text must
not be blank. Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from seatwise.core.errors import ValidationFailed

_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})  # control characters, surrogates
_MULTILINE_ALLOWED = frozenset("\n\t")
_LINE_SEPARATORS = frozenset("\u2028\u2029")


def text_problem(value: str, *, multiline: bool = False, required: bool = False) -> str | None:
    """Why `value` cannot be stored as typed text, or None when it can."""
    if required and not value.strip():
        return "must not be blank"
    for ch in value:
        if multiline and ch in _MULTILINE_ALLOWED:
            continue
        if unicodedata.category(ch) in _REFUSED_CATEGORIES or (not multiline and ch in _LINE_SEPARATORS):
            what = "NUL bytes" if ch == "\0" else "control characters"
            allowed = " other than newline and tab" if multiline else ""
            return f"must not contain {what}{allowed} (found U+{ord(ch):04X})"
    return None


def check_texts(fields: Iterable[tuple[str, str | None, bool, bool]]) -> None:
    """Raise `ValidationFailed` listing every (path, value, multiline, required) that
    `text_problem` refuses; None values (absent optional fields) pass."""
    errors = []
    for path, value, multiline, required in fields:
        if value is None:
            continue
        problem = text_problem(value, multiline=multiline, required=required)
        if problem is not None:
            errors.append({"path": path, "message": problem})
    if errors:
        first = errors[0]
        raise ValidationFailed(f"{first['path']}: {first['message']}", errors=errors)
