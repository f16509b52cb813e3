"""Hypothesis example counts that follow the loaded profile (``fast`` or ``thorough``, see conftest.py).

A test that fixes ``@settings(max_examples=n)`` overrides the profile; ``examples(n)`` keeps ``n``
under ``fast`` and scales it as ``thorough`` asks for more.
"""

from __future__ import annotations

from hypothesis import settings


def examples(n: int, current: settings | None = None) -> int:
    """``n`` under the fast profile, ``n`` times the profile's ratio to it otherwise (never fewer)."""
    current = current if current is not None else settings.default
    return max(n, n * current.max_examples // settings.get_profile("fast").max_examples)
