"""Posterior marginals of any variable: findings, risk factors, causes, every state.

``model.query`` reports ``P(cause = yes)`` for the causes and complications;
``model.marginals(evidence, targets)`` answers for any variable, with every
state of a multi-state one (``age_group``), in one call of the exact engine::

    >>> import popliteal
    >>> m = popliteal.load().marginals({"calf_swelling": "yes"}, ["knee_effusion", "age_group"])
    >>> round(sum(m.marginals["age_group"].values()), 12)
    1.0

An observed variable shows its evidence (a sure state has probability 1; a
soft finding its posterior). ``popliteal query --target NAME`` prints the same.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..network import structure
from ..present.result import Result
from .evidence import Evidence, EvidenceError, _suggest



def check_targets(names: Iterable[str]) -> tuple[str, ...]:
    """Validate variable names, keeping their order and dropping repeats.

    Raises
    ------
    EvidenceError
        For an unknown name, with the nearest valid ones.
    """
    out: list[str] = []
    for name in names:
        name = str(name).strip()
        if name not in structure.BY_NAME:
            raise EvidenceError(f"--target: unknown variable {name!r}{_suggest(name, structure.NAMES)}")
        if name not in out:
            out.append(name)
    return tuple(out)


@dataclass(frozen=True)
class Marginals(Result):
    """``P(variable = state | evidence)`` for every state of some variables.

    Attributes
    ----------
    evidence : dict
        The evidence as given (``{variable: state}``; soft as ``"yes:0.7"``).
    marginals : dict
        ``{variable: {state: probability}}``, in the order asked for; each sums to 1.
    digest : str
        Digest of the priors the numbers come from.
    """

    evidence: dict[str, str]
    marginals: dict[str, dict[str, float]]
    digest: str

    def probability(self, variable: str, state: str = "yes") -> float:
        """``P(variable = state | evidence)``."""
        return self.marginals[variable][state]

    @functools.cached_property
    def frame(self):
        """A tidy pandas frame: ``variable, kind, state, probability, observed``."""
        import pandas as pd

        rows = [{"variable": name, "kind": structure.BY_NAME[name].kind, "state": state, "probability": p,
                 "observed": name in self.evidence}
                for name, states in self.marginals.items() for state, p in states.items()]
        return pd.DataFrame(rows, columns=["variable", "kind", "state", "probability", "observed"])

    def to_dict(self) -> dict:
        """``{variable: {state: probability}}``: the ``targets`` of ``popliteal query --json``."""
        return {name: dict(states) for name, states in self.marginals.items()}

    figure = "plot_marginals"

    def to_json(self, indent: int | None = 2) -> str:
        """The evidence, every target's marginals and the priors digest, as JSON text."""
        return json.dumps({"evidence": dict(self.evidence), "targets": self.to_dict(),
                           "priors_digest": self.digest}, indent=indent)

    def table(self) -> str:
        """Lines ``variable  state p  state p …``; observed variables are marked."""
        width = max(len(n) for n in self.marginals)
        lines = []
        for name, states in self.marginals.items():
            cells = "  ".join(f"{s} {p:6.1%}" for s, p in states.items())
            mark = "  (observed)" if name in self.evidence else ""
            lines.append(f"{name:<{width}}  {cells}{mark}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(f"<tr><td>{escape(n)}</td><td>{escape(s)}</td><td style='text-align:right'>{p:.1%}</td></tr>"
                       for n, states in self.marginals.items() for s, p in states.items())
        return (f"<table><tr><th>variable</th><th>state</th><th>probability</th></tr>{rows}</table>"
                f"<small>priors digest {escape(self.digest)}</small>")


def marginals(model, evidence: Evidence | Mapping[str, Any] | None = None,
              targets: Iterable[str] | None = None) -> Marginals:
    """Exact marginals of ``targets`` (default: every variable) given ``evidence``.

    Raises
    ------
    EvidenceError
        For an unknown target, or :class:`~popliteal.engine.inference.ImpossibleEvidence`
        when the model holds the evidence impossible.
    """
    import numpy as np

    names = check_targets(structure.NAMES if targets is None else
                          ([targets] if isinstance(targets, str) else targets))
    evidence = model.evidence(evidence)
    model.posterior(evidence)  # impossible evidence: the one-line error naming the clash
    if not names:
        return Marginals(evidence.as_dict(), {}, model.digest)
    marg, _ = model.engine.marginals(evidence.likelihoods(), names)
    out = {}
    for name in names:
        row = np.clip(marg[name][0], 0.0, 1.0)
        out[name] = {s: float(p) for s, p in zip(structure.BY_NAME[name].states, row)}
    return Marginals(evidence.as_dict(), out, model.digest)
