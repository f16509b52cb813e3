"""One-line error messages: inputs shown in them are cut to a readable length."""

from __future__ import annotations

from typing import Any

#: Longest input shown in an error message (characters).
MAX_SHOWN = 80


def shorten(text: Any, limit: int = MAX_SHOWN) -> str:
    """``text`` as a string cut to ``limit`` characters (with the full length), for messages."""
    text = text if isinstance(text, str) else str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"
