"""popliteal: an open, probabilistic diagnostic model of pain in the back of the knee.

Not medical advice. ``popliteal.load()`` returns a :class:`~popliteal.api.Model`;
``model.query({...})`` answers with posteriors, a triage level and advice.

Imports are lazy so that ``popliteal --help`` stays fast.
"""

from __future__ import annotations

from .common import moved as _moved
from .common.version import __version__

_moved.install()

__all__ = ["load", "Model", "__version__"]


def __getattr__(name):
    if name in ("load", "Model"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'popliteal' has no attribute {name!r}")
