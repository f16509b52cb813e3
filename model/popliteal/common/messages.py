"""One-line error messages: inputs shown in them are cut to a readable length."""

from __future__ import annotations

from typing import Any

#: Longest input shown in an error message (characters).
MAX_SHOWN = 80


def shorten(text: Any, limit: int = MAX_SHOWN) -> str:
    """``text`` as a string cut to ``limit`` characters (with the full length), for messages.

    Characters that are not printable (a newline, a carriage return, ...) are
    escaped, so that the message stays one line.
    """
    text = text if isinstance(text, str) else str(text)
    full = len(text)
    text = text[: limit + 1]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if full <= limit and len(text) <= 4 * limit:
        return text
    return f"{text[:limit]}… ({full} characters)"
