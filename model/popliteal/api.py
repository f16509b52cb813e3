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

from .network import structure
from .engine.evidence import AGE, Evidence, EvidenceError, evidence_name, from_mapping, pairs_of
from .engine.complaint import fitted_tables
from .engine.inference import Engine, Posterior, query as _query
from .network.priors import Priors, load_priors
from .clinic.policy import Assessment, assess


class Model:
    """The network with its priors and a compiled exact engine.

    Parameters
    ----------
    priors : Priors
        Validated priors (see :func:`popliteal.network.priors.load_priors`).
    """

    def __init__(self, priors: Priors):
        self.priors = priors
        self.engine = Engine(fitted_tables(priors.tables, priors.digest))

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
        return from_mapping(_check_type(evidence))

    def posterior(self, evidence: Evidence | Mapping[str, Any] | None = None, *, outside: bool = False) -> Posterior:
        """Exact ``P(cause = yes | evidence)`` for every cause and complication.

        ``outside=True`` adds ``outside_model``, the probability that none of the causes causes
        the pain (one more contraction; :meth:`query` always adds it).
        """
        return _query(self.engine, self.evidence(evidence), self.digest, outside=outside)

    def query(self, evidence: Evidence | Mapping[str, Any] | None = None, *, uncertainty: int | None = None,
              seed: int = 0, **kwargs: Any) -> Assessment:
        """Posteriors, triage and advice for one patient.

        Evidence may be a mapping or keyword arguments:
        ``model.query(age=67, calf_swelling="yes")``.

        ``uncertainty=N`` adds a 90% interval to each posterior and the share
        of each triage level over ``N`` draws of the priors within their
        ranges, drawn with ``seed`` (see :mod:`popliteal.clinic.uncertainty`); the
        point estimate stays the answer.
        """
        items = _merge_keywords(evidence, kwargs)
        if uncertainty is None:
            return self._assess(self.evidence(items))
        from .clinic.uncertainty import assess_uncertainty, check_draws, check_seed

        draws, seed = check_draws(uncertainty), check_seed(seed)
        validated = self.evidence(items)
        return assess_uncertainty(self._assess(validated), self.priors, validated, draws, seed)

    def _assess(self, evidence: Evidence) -> Assessment:
        """Triage and advice, with a warning when the evidence conflicts (see :meth:`conflict`)."""
        from .clinic.explain import conflict_warnings

        posterior = self.posterior(evidence, outside=True)
        return assess(posterior, self.priors.triage, warnings=conflict_warnings(self.engine, evidence))

    # --- many cases at once (popliteal.batch; one engine call per chunk) -------------------------

    def score(self, frame):
        """Score a table of cases, one per row: the columns of ``popliteal score``.

        Parameters
        ----------
        frame : pandas.DataFrame or mapping of column name to values
            Columns named after variables (or ``age`` in years); cells hold a
            state, soft evidence (``"yes:0.7"``) or nothing (unobserved). Other
            columns are passed through.

        Returns
        -------
        pandas.DataFrame
            ``frame`` (same rows and order) plus ``p_<cause>`` for every cause
            and complication, ``triage`` and ``error`` (empty where the row is
            fine; the row's posteriors are then NaN). No row is dropped.

        Raises
        ------
        popliteal.clinic.scoring.BatchError
            For a frame with columns of which none is an evidence column (every row would
            score as the prior, as ``popliteal score`` refuses such a file), and for the
            column problems ``popliteal score`` names (a near miss, a repeated column).
        """
        import pandas as pd

        from .clinic.scoring import layout, no_evidence_column, score_frame
        from .common.messages import shorten

        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame)
        if len(frame.columns) and not layout(frame.columns, "frame").evidence:
            raise no_evidence_column("frame", "columns: " + shorten(", ".join(map(str, frame.columns))))
        return score_frame(self, frame)

    def query_many(self, cases):
        """Posteriors and triage for a list of cases, each a mapping like :meth:`query` takes.

        ``model.query_many([{"age": 67, "calf_swelling": "yes"}, {"sex": "male"}])``
        returns one row per case, in order, as :meth:`score` does: the evidence
        columns, ``p_<cause>``, ``triage`` and ``error`` (a case the model holds
        impossible, or with a bad state, keeps its row and names the problem).

        Raises
        ------
        EvidenceError
            For a key that :meth:`query` refuses (not a variable, ``age`` nor
            an alias), or a key given twice in a case with different values.
        """
        import pandas as pd

        from .clinic.scoring import score_frame

        rows = [_case_row(c) for c in cases]
        rank = {n: i for i, n in enumerate((AGE, *structure.NAMES, *structure.ALIASES))}
        order = sorted({n for row in rows for n in row}, key=rank.__getitem__)
        frame = pd.DataFrame({n: pd.Series([row.get(n) for row in rows], dtype=object) for n in order},
                             index=pd.RangeIndex(len(rows)))
        return score_frame(self, frame)  # cases without evidence are the prior, as query() answers them

    def marginals(self, evidence: Evidence | Mapping[str, Any] | None = None, targets=None, **kwargs: Any):
        """Exact ``P(variable = state | evidence)`` of any variables, every state (a ``Marginals``).

        ``targets`` names the variables (findings, risk factors, causes; default
        all of them). Evidence may be a mapping or keyword arguments:
        ``model.marginals(age=67, targets=["knee_effusion", "age_group"])``; a
        variable given in both with different values is refused, as in :meth:`query`.
        """
        from .engine.marginals import marginals

        return marginals(self, _merge_keywords(evidence, kwargs), targets)

    # --- clinical reasoning (popliteal.clinic.explain, popliteal.clinic.interview; exact) ----------------------

    def explain(self, evidence: Evidence | Mapping[str, Any] | None = None, top: int = 3,
                min_probability: float = 0.05):
        """The evidence for and against each leading cause, with weights (an :class:`~popliteal.clinic.explain.Explanation`).

        A weight is the change in the cause's log-odds when that piece of evidence
        is left out: the log likelihood ratio of the piece given the rest.
        """
        from .clinic.explain import explain

        return explain(self.engine, self.evidence(evidence), self.digest, top=top, min_probability=min_probability)

    def next_questions(self, evidence: Evidence | Mapping[str, Any] | None = None, exclude=()):
        """Unobserved findings and risk factors ranked by expected information about the causes.

        Returns a :class:`~popliteal.clinic.explain.NextQuestions`; red flags come first
        while a dangerous cause is plausible.
        """
        from .clinic.explain import next_questions

        return next_questions(self.engine, self.evidence(evidence), self.priors.triage, self.digest, exclude)

    def mpe(self, evidence: Evidence | Mapping[str, Any] | None = None):
        """The most probable joint combination of causes and complications (a :class:`~popliteal.clinic.explain.MostProbable`)."""
        from .clinic.explain import mpe

        return mpe(self.engine, self.evidence(evidence))

    def conflict(self, evidence: Evidence | Mapping[str, Any] | None = None):
        """Jensen's conflict measure of the evidence (a :class:`~popliteal.clinic.explain.Conflict`)."""
        from .clinic.explain import conflict

        return conflict(self.engine, self.evidence(evidence))

    def interview(self, evidence: Evidence | Mapping[str, Any] | None = None, max_questions: int | None = None):
        """An :class:`~popliteal.clinic.interview.Interview` to drive from code (``status()``, ``answer()``)."""
        from .clinic.interview import Interview

        return Interview(self, evidence, max_questions)

    # --- exploring scenarios (results in popliteal.explore.scenarios; one engine call each) -------------

    def compare(self, scenarios: Mapping[str, Evidence | Mapping[str, Any] | None]):
        """Named scenarios side by side: ``model.compare({"flight": {...}, "cancer": {...}})``.

        Returns a :class:`~popliteal.explore.scenarios.Comparison` (``.frame``, ``.plot()``, ``.to_json()``).
        """
        from .explore.scenarios import compare

        return compare(self, scenarios)

    def sweep(self, variable: str, states=None, base: Evidence | Mapping[str, Any] | None = None):
        """Posteriors as ``variable`` takes each state (or ``"age"`` each age in years).

        Returns a :class:`~popliteal.explore.scenarios.Sweep`.
        """
        from .explore.scenarios import sweep

        return sweep(self, variable, states, base)

    def grid(self, var_a: str, var_b: str, cause: str = "dvt",
             base: Evidence | Mapping[str, Any] | None = None, states_a=None, states_b=None):
        """``P(cause = yes)`` over the states of two variables (a :class:`~popliteal.explore.scenarios.Grid`)."""
        from .explore.scenarios import grid

        return grid(self, var_a, var_b, cause, base, states_a, states_b)

    def pairs(self, factors, cause: str = "dvt", base: Evidence | Mapping[str, Any] | None = None):
        """``P(cause = yes)`` with each pair of factors present, each alone on the diagonal (a Grid)."""
        from .explore.scenarios import pairs

        return pairs(self, factors, cause, base)

    def trajectory(self, findings, base: Evidence | Mapping[str, Any] | None = None):
        """Posteriors as findings are added one by one (a :class:`~popliteal.explore.scenarios.Trajectory`)."""
        from .explore.scenarios import trajectory

        return trajectory(self, findings, base)

    def parameters(self, node: str | None = None):
        """The sourced numbers behind the model (or one node) as a pandas frame.

        One row per parameter: ``node, parameter, value, low, high, scale, evidence,
        source, citation, locator``; ``popliteal cite`` prints the same references.
        """
        import pandas as pd

        if node is not None and node not in structure.BY_NAME:
            from .engine.evidence import _suggest

            raise EvidenceError(f"unknown variable {node!r}{_suggest(node, structure.NAMES)}")
        names = [node] if node is not None else list(structure.NAMES)
        rows = [{"node": n, "parameter": p.name, "value": p.value, "low": p.low, "high": p.high, "scale": p.scale,
                 "evidence": p.evidence, "source": p.source,
                 "citation": self.priors.references.get(p.source, {}).get("citation", ""), "locator": p.locator}
                for n in names for p in self.priors.nodes[n].parameters]
        return pd.DataFrame(rows, columns=["node", "parameter", "value", "low", "high", "scale", "evidence",
                                           "source", "citation", "locator"])

    def network(self):
        """The pgmpy ``DiscreteBayesianNetwork`` (the reference model; imports pgmpy)."""
        from .network.bayesnet import build_network

        return build_network(self.priors, self.engine.tables)


def _check_type(evidence: Any) -> Any:
    """``evidence`` itself when it is an :class:`Evidence`, a mapping or a list of pairs."""
    if not isinstance(evidence, (Evidence, Mapping, list, tuple)):
        raise EvidenceError(f"evidence must be a mapping such as {{'calf_swelling': 'yes'}}, "
                            f"got {type(evidence).__name__}")
    return evidence


def _case_row(case: Evidence | Mapping[str, Any] | Any) -> dict[str, Any]:
    """One case of :meth:`Model.query_many` as ``{name: cell}``, its names checked as :meth:`Model.query` does.

    Raises
    ------
    EvidenceError
        For a name evidence cannot use, or a name given twice with different values.
    """
    items = case.as_items() if isinstance(_check_type(case), Evidence) else case
    row: dict[str, Any] = {}
    for raw_name, value in pairs_of(items):
        name = evidence_name(raw_name)
        if name in row:
            from_mapping([(name, row[name]), (name, value)])  # refuses different values, as query does
            continue
        row[name] = value
    return row


def _merge_keywords(evidence: Evidence | Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> Evidence:
    """The evidence of a mapping (or :class:`Evidence`) plus keyword arguments; a clash is an error.

    Raises
    ------
    EvidenceError
        When a variable is given in both with different values (neither silently wins).
    """
    if evidence is not None:
        _check_type(evidence)
    if not kwargs:
        return evidence if isinstance(evidence, Evidence) else from_mapping(evidence or {})
    base = evidence.as_items() if isinstance(evidence, Evidence) else evidence or {}
    pairs = list(base.items()) if isinstance(base, Mapping) else list(base)
    return from_mapping(pairs + list(kwargs.items()))  # refuses a name given twice differently


def load(priors_dir: str | os.PathLike[str] | None = None, cache: bool = True) -> Model:
    """Load and validate the priors and compile the model.

    Parameters
    ----------
    priors_dir : path, optional
        Another priors folder; defaults to ``$POPLITEAL_PRIORS`` or the bundled one.
    cache : bool
        Load the compiled model from the per-user cache when the priors files
        have not changed since it was written (see :mod:`popliteal.network.cache`);
        ``False`` always reads and validates the YAML.
    """
    if cache:
        from .network.cache import load_priors_cached

        return Model(load_priors_cached(priors_dir))
    return Model(load_priors(priors_dir))
