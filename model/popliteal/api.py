"""The Python API: load the model once, then ask it questions.

>>> import popliteal
>>> model = popliteal.load()
>>> result = model.query({"age_group": "over_60", "calf_swelling": "yes"})
>>> result.triage.level in ("emergency", "urgent", "doctor", "self_care")
True
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from . import structure
from .evidence import Evidence, from_mapping
from .inference import Engine, Posterior, query as _query
from .priors import Priors, load_priors
from .reasoning import Assessment, assess


class Model:
    """The network with its priors and a compiled exact engine.

    Parameters
    ----------
    priors : Priors
        Validated priors (see :func:`popliteal.priors.load_priors`).
    """

    def __init__(self, priors: Priors):
        self.priors = priors
        self.engine = Engine({n: priors.nodes[n].table for n in structure.NAMES})

    @property
    def digest(self) -> str:
        """Digest of the priors folder: it changes whenever a number does."""
        return self.priors.digest

    def evidence(self, evidence: Evidence | Mapping[str, Any] | None = None) -> Evidence:
        """Validate evidence given as a mapping (or pass an :class:`Evidence` through)."""
        if evidence is None:
            return Evidence()
        if isinstance(evidence, Evidence):
            return evidence
        return from_mapping(evidence)

    def posterior(self, evidence: Evidence | Mapping[str, Any] | None = None) -> Posterior:
        """Exact ``P(cause = yes | evidence)`` for every cause and complication."""
        return _query(self.engine, self.evidence(evidence), self.digest)

    def query(self, evidence: Evidence | Mapping[str, Any] | None = None, **kwargs: Any) -> Assessment:
        """Posteriors, triage and advice for one patient.

        Evidence may be a mapping or keyword arguments:
        ``model.query(age=67, calf_swelling="yes")``.
        """
        items = dict(evidence.as_dict() if isinstance(evidence, Evidence) else (evidence or {}))
        items.update(kwargs)
        return assess(self.posterior(items), self.priors.triage)

    def network(self):
        """The pgmpy ``DiscreteBayesianNetwork`` (the reference model; imports pgmpy)."""
        from .network import build_network

        return build_network(self.priors)


def load(priors_dir: str | os.PathLike[str] | None = None) -> Model:
    """Load and validate the priors and compile the model.

    Parameters
    ----------
    priors_dir : path, optional
        Another priors folder; defaults to ``$POPLITEAL_PRIORS`` or the bundled one.
    """
    return Model(load_priors(priors_dir))
