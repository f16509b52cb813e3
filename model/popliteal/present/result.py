"""The one protocol of popliteal's result objects: a tidy frame, a dict, JSON, HTML and a figure.

Every object a :class:`popliteal.Model` method returns (a query's assessment, the
marginals, an explanation, the next questions, a comparison, a sweep, …) mixes in
:class:`Result`, so notebooks, the command line and JSON exports read each the same
way: ``result.frame`` (a pandas DataFrame, one row per fact), ``result.to_dict()``
(what ``--json`` prints), ``result.to_json()``, ``result._repr_html_()`` (Jupyter) and
``result.plot(ax=None)`` (a matplotlib Axes, drawn by :mod:`popliteal.present.figures`).
"""

from __future__ import annotations

import json
from html import escape
from typing import ClassVar


class Result:
    """Mixin of every result object; a subclass gives ``frame`` and ``to_dict`` and names its figure."""

    #: The function of :mod:`popliteal.present.figures` that draws this result; each is called
    #: as ``function(result, ax=ax, **kwargs)``. ``plot_frame`` draws the frame's first numeric
    #: column as bars.
    figure: ClassVar[str] = "plot_frame"

    @property
    def frame(self):
        """The result as a tidy pandas DataFrame (one row per fact)."""
        raise NotImplementedError(f"{type(self).__name__} has no frame")

    def to_dict(self) -> dict:
        """The result as plain JSON-ready Python objects (what ``--json`` prints)."""
        raise NotImplementedError(f"{type(self).__name__} has no to_dict")

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def plot(self, ax=None, **kwargs):
        """Draw the result on ``ax`` (a new figure when None) and return the Axes."""
        from . import figures

        return getattr(figures, self.figure)(self, ax=ax, **kwargs)

    def _repr_html_(self) -> str:
        """Jupyter's view: the frame as a table, with the priors digest when the result has one."""
        digest = getattr(self, "digest", None)
        foot = f"<small>priors digest {escape(digest)}</small>" if digest else ""
        return f"<div>{self.frame.to_html(index=False, float_format=lambda p: f'{p:.4g}')}{foot}</div>"
