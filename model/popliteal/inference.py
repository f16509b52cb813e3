"""Exact inference: the compiled, vectorised engine and the query result object.

The network's tables are compiled into numpy arrays once. A query is one
tensor contraction of those tables with one likelihood vector per variable
with evidence (one-hot for a sure state, ``[L, 1-L]`` for soft evidence),
planned once per pattern of observed variables and reused, followed by its
backward pass, which gives every target's marginal at once
(:mod:`popliteal.contraction`). Nodes that are neither observed, nor
targets, nor ancestors of either are barren (they sum to one) and are left
out. A batch axis carries many cases at once, or many parameter draws for
the uncertainty analysis.

The result is exact: the tests check it against pgmpy's VariableElimination
(the reference engine, :func:`popliteal.network.reference_query`) and
against brute-force enumeration of the joint.

This module never imports pgmpy or matplotlib.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from . import structure
from .evidence import Evidence, EvidenceError

#: Below this probability of the evidence, the evidence is treated as impossible.
IMPOSSIBLE = 1e-300
#: From this many cases on, a pattern's contraction order is searched harder
#: (several greedy orders, the cheapest kept): planning then pays for itself.
PLAN_MIN_BATCH = 16


class ImpossibleEvidence(EvidenceError):
    """The model gives the evidence probability zero."""


class Engine:
    """Exact marginals by a planned tensor contraction and its backward pass.

    Parameters
    ----------
    tables : mapping of str to numpy.ndarray
        ``P(node | parents)`` of shape ``(card, *parent_cards)`` for every node,
        or ``(draws, card, *parent_cards)`` when ``batched_tables`` is true.
    batched_tables : bool
        Whether the tables carry a leading axis of parameter draws, which
        then is the batch axis of every query.
    """

    def __init__(self, tables: Mapping[str, np.ndarray], batched_tables: bool = False):
        missing = [n for n in structure.NAMES if n not in tables]
        if missing:
            raise ValueError(f"no table for {missing[0]}")
        self.tables = {n: np.asarray(tables[n], dtype=float) for n in structure.NAMES}
        self.batched_tables = batched_tables
        self._plans: dict[tuple, object] = {}

    def _plan(self, observed: tuple[str, ...], targets: tuple[str, ...], batch: int):
        """The contraction of one pattern of evidence and targets, cached.

        Planning a pattern costs a few milliseconds of pure Python, which a
        batch earns back but a single case does not. Fewer than
        :data:`PLAN_MIN_BATCH` cases therefore run the one plan in which
        *every* variable carries a likelihood (all ones where it has no
        evidence): planned once per engine, it serves any pattern of evidence
        at about a millisecond per query, and the same question always takes
        the same arithmetic, so its answer is the same to the last bit.
        Larger batches get a plan of their own pattern, pruned to the nodes
        that matter, with several elimination orders tried.
        """
        from .contraction import PLAN_TRIALS, Plan

        large = batch >= PLAN_MIN_BATCH
        key = (observed if large else structure.NAMES, targets, large)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 256:
                self._plans.clear()
            plan = self._plans[key] = Plan(self.tables, key[0], targets, batched_tables=self.batched_tables,
                                           trials=PLAN_TRIALS if large else 1)
        return plan

    def joint_with_evidence(
        self,
        likelihoods: Mapping[str, np.ndarray],
        targets: Sequence[str] = structure.TARGETS,
        batch: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Return ``P(target = state, evidence)`` for each target.

        Parameters
        ----------
        likelihoods : mapping of str to array
            One likelihood vector per variable with evidence, of shape
            ``(card,)`` (the same for every case) or ``(batch, card)``.
        targets : sequence of str
        batch : int, optional
            Number of cases; inferred from the likelihoods or the tables.

        Returns
        -------
        dict of str to array of shape ``(batch, card)``
        """
        observed = tuple(n for n in structure.NAMES if n in likelihoods)
        if batch is None:
            sizes = {np.shape(likelihoods[n])[0] for n in observed if np.ndim(likelihoods[n]) == 2}
            if self.batched_tables:
                sizes.add(next(iter(self.tables.values())).shape[0])
            if len(sizes) > 1:
                raise ValueError(f"inconsistent batch sizes {sorted(sizes)}")
            batch = sizes.pop() if sizes else 1
        plan = self._plan(observed, tuple(targets), batch)
        if len(plan.observed) > len(observed):  # the all-variables plan: no evidence means all ones
            likelihoods = {n: likelihoods[n] if n in likelihoods else np.ones(len(structure.BY_NAME[n].states))
                           for n in plan.observed}
        return plan.joint(self.tables, likelihoods, batch)

    def marginals(
        self,
        likelihoods: Mapping[str, np.ndarray],
        targets: Sequence[str] = structure.TARGETS,
        batch: int | None = None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Return posterior marginals ``{target: (batch, card)}`` and ``P(evidence)`` per case.

        Cases whose evidence has probability zero get NaN rows; :func:`query`
        turns that into :class:`ImpossibleEvidence`.
        """
        targets = tuple(targets) or ("age_group",)
        joint = self.joint_with_evidence(likelihoods, targets, batch)
        p_e = next(iter(joint.values())).sum(axis=1)
        ok = p_e > IMPOSSIBLE
        safe = np.where(ok, p_e, 1.0)[:, None]
        out = {}
        for t, j in joint.items():
            m = j / safe
            m[~ok] = np.nan
            out[t] = m
        return out, p_e


def explain_impossible(engine: Engine, evidence: Evidence) -> str:
    """Name the smallest part of the evidence that the model holds impossible."""
    items = list(evidence.as_dict().items())
    for size in (1, 2):
        import itertools

        for combo in itertools.combinations(items, size):
            sub = Evidence({k: v for k, v in combo if ":" not in v},
                           {k: evidence.soft[k] for k, v in combo if ":" in v})
            _, p_e = engine.marginals(sub.likelihoods(), ("age_group",))
            if p_e[0] <= IMPOSSIBLE:
                return " with ".join(f"{k}={v}" for k, v in combo)
    return ", ".join(f"{k}={v}" for k, v in items)


@dataclass(frozen=True)
class Posterior:
    """The answer to one query: ``P(cause = yes | evidence)`` for every cause.

    A plain, self-describing object that tables, plots and JSON all read.

    Attributes
    ----------
    evidence : dict
        The evidence as given (``{variable: state}``; soft evidence as ``"yes:0.7"``).
    probabilities : dict
        ``{cause: P(cause = yes | evidence)}`` for every cause and complication.
    digest : str
        Digest of the priors folder the numbers come from.
    p_evidence : float
        The prior probability of the evidence (small values mean surprising evidence).
    incidental : dict
        ``{condition: P(present but not causing this pain | evidence)}`` for the conditions of
        :data:`popliteal.structure.INCIDENTAL` (a degenerative tear, an asymptomatic cyst): what an
        MRI or ultrasound would probably show without it being the cause. Never ranked or triaged.
    """

    evidence: dict[str, str]
    probabilities: dict[str, float]
    digest: str
    p_evidence: float = 1.0
    intervals: dict[str, tuple[float, float]] | None = field(default=None)
    incidental: dict[str, float] = field(default_factory=dict)

    @property
    def ranking(self) -> list[str]:
        """Causes and complications, most probable first (ties in structure order)."""
        order = {n: i for i, n in enumerate(structure.TARGETS)}
        return sorted(self.probabilities, key=lambda n: (-self.probabilities[n], order[n]))

    @functools.cached_property
    def frame(self):
        """A tidy pandas frame: one row per cause, most probable first."""
        import pandas as pd

        rows = []
        for rank, name in enumerate(self.ranking, start=1):
            var = structure.BY_NAME[name]
            row = {"cause": name, "kind": var.kind, "probability": self.probabilities[name], "rank": rank,
                   "meaning": var.meaning}
            if self.intervals is not None:
                row["low"], row["high"] = self.intervals[name]
            rows.append(row)
        return pd.DataFrame(rows)


def query(engine: Engine, evidence: Evidence, digest: str) -> Posterior:
    """Exact posteriors of every cause given ``evidence``.

    Raises
    ------
    ImpossibleEvidence
        When the model holds the evidence impossible.
    """
    marg, p_e = engine.marginals(evidence.likelihoods(), structure.TARGETS + tuple(structure.INCIDENTAL))
    if not p_e[0] > IMPOSSIBLE:
        raise ImpossibleEvidence(
            f"the model holds this evidence impossible: {explain_impossible(engine, evidence)}")
    probs = {t: float(np.clip(marg[t][0, 0], 0.0, 1.0)) for t in structure.TARGETS}
    return Posterior(evidence=evidence.as_dict(), probabilities=probs, digest=digest, p_evidence=float(p_e[0]),
                     incidental=incidental(marg))


def incidental(marg: Mapping[str, np.ndarray], row: int = 0) -> dict[str, float]:
    """P(present but not causing this pain) of each condition of ``structure.INCIDENTAL``.

    The causes of a presence node imply it (a painful tear is a tear), so the difference of the
    marginals is the probability of the condition being there without being the cause.
    """
    out = {}
    for present, causes in structure.INCIDENTAL.items():
        value = marg[present][row, 0] - sum(marg[c][row, 0] for c in causes)
        out[present.removesuffix("_present")] = float(np.clip(value, 0.0, 1.0))
    return out
