"""Exact inference: a compiled, vectorised engine and the query result object.

The network's tables are compiled once into numpy arrays. A query contracts
them with one likelihood vector per variable with evidence (one-hot for a
sure state, ``[L, 1-L]`` for soft evidence), using einsum contraction
paths that opt_einsum plans once per pattern of observed variables and then
reuses. Variables that are not targets are summed out once, shared by all
targets (variable elimination), before each target's final contraction.
Nodes that are neither observed, nor targets, nor ancestors of either are
barren (they sum to one) and are left out. A leading batch axis
carries many cases at once, or many parameter draws for the uncertainty
analysis. A batch of :data:`PLAN_MIN_BATCH` cases or more (with fixed
tables) runs instead as one contraction with a backward pass that gives all
targets at once (:mod:`popliteal.contraction`), which is what batch scoring
uses.

The result is exact: the tests check it against pgmpy's VariableElimination
(the reference engine, :func:`popliteal.network.reference_query`) and
against brute-force enumeration of the joint.

This module never imports pgmpy or matplotlib.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from . import structure
from .evidence import Evidence, EvidenceError

#: Below this probability of the evidence, the evidence is treated as impossible.
IMPOSSIBLE = 1e-300
#: Shared elimination stops before a factor exceeds this many entries per case
#: (the size of the largest table, P(dvt | its ten parents)).
MAX_SHARED_FACTOR = 4096
#: From this many cases on (with fixed tables), a query runs as one contraction with a
#: backward pass for all targets (:mod:`popliteal.contraction`), planned once per pattern.
PLAN_MIN_BATCH = 16


class ImpossibleEvidence(EvidenceError):
    """The model gives the evidence probability zero."""


def _symbol(i: int) -> str:
    import opt_einsum

    return opt_einsum.get_symbol(i)


class Engine:
    """Exact marginals by a planned tensor contraction.

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
        self._index = {n: i + 1 for i, n in enumerate(structure.NAMES)}  # symbol 0 is the batch axis
        self._expressions: dict[tuple, tuple] = {}
        self._plans: dict[tuple, object] = {}  # batch plans, see _batch_plan

    @functools.cached_property
    def _ancestors(self) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}
        for var in structure.VARIABLES:
            acc = set(var.parents)
            for p in var.parents:
                acc |= out[p]
            out[var.name] = frozenset(acc)
        return out

    def _relevant(self, keep: frozenset[str]) -> list[str]:
        needed = set(keep)
        for name in keep:
            needed |= self._ancestors[name]
        return [n for n in structure.NAMES if n in needed]

    def _expression(self, observed: tuple[str, ...], targets: tuple[str, ...], batch: int):
        """Plan a query pattern: shared elimination steps, then one contraction per target.

        Every variable that is not a target is summed out of every target's
        marginal, so it is eliminated once for all targets first (greedy
        variable elimination, smallest resulting factor first, as long as the
        result is no larger than the largest factor it replaces and holds at
        most :data:`MAX_SHARED_FACTOR` entries per case). Each target's
        marginal is then one planned contraction of the factors that remain.
        A plan holds for any batch size; it is made per power of two of the
        batch size, because sizes decide which eliminations pay.
        """
        key = (observed, targets, batch if self.batched_tables else batch.bit_length())
        cached = self._expressions.get(key)
        if cached is not None:
            return cached
        import opt_einsum

        b = _symbol(0)
        nodes = self._relevant(frozenset(observed) | frozenset(targets))
        factors: list[tuple[str, tuple[int, ...]]] = []  # (indices, shape) of every operand and step result
        for name in nodes:
            var = structure.BY_NAME[name]
            idx = "".join(_symbol(self._index[v]) for v in (name, *var.parents))
            if self.batched_tables:
                idx = b + idx
            factors.append((idx, self.tables[name].shape))
        for name in observed:
            factors.append((b + _symbol(self._index[name]), (batch, len(structure.BY_NAME[name].states))))
        factors.append((b, (batch,)))
        dims = {c: n for idx, shape in factors for c, n in zip(idx, shape)}
        kept = {_symbol(self._index[t]) for t in targets}
        nuisance = [_symbol(self._index[n]) for n in nodes if _symbol(self._index[n]) not in kept]
        live = list(range(len(factors)))
        steps = []
        while nuisance:
            best = None
            for x in nuisance:
                inputs = [i for i in live if x in factors[i][0]]
                out = "".join(dict.fromkeys(c for i in inputs for c in factors[i][0] if c != x))
                per_case = math.prod(dims[c] for c in out if c != b)
                size = per_case * (batch if b in out else 1)
                # spreading a table that is the same for every case over the batch pays only if it shrinks
                spreads = b in out and any(b not in factors[i][0] for i in inputs)
                largest = max(math.prod(factors[i][1]) for i in inputs)
                if per_case <= MAX_SHARED_FACTOR and (not spreads or size <= largest) and (
                        best is None or size < best[0]):
                    best = (size, x, inputs, out)
            if best is None:
                break
            size, x, inputs, out = best
            spec = ",".join(factors[i][0] for i in inputs) + "->" + out
            steps.append((tuple(inputs), opt_einsum.contract_expression(
                spec, *(factors[i][1] for i in inputs), optimize="auto")))
            factors.append((out, tuple(dims[c] for c in out)))
            live = [i for i in live if i not in inputs] + [len(factors) - 1]
            nuisance.remove(x)
        terms = ",".join(factors[i][0] for i in live)
        shapes = [factors[i][1] for i in live]
        exprs = [opt_einsum.contract_expression(f"{terms}->{b}{_symbol(self._index[t])}", *shapes, optimize="auto")
                 for t in targets]
        cached = (nodes, tuple(steps), tuple(live), exprs)
        if len(self._expressions) > 256:
            self._expressions.clear()
        self._expressions[key] = cached
        return cached

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
        if not self.batched_tables and batch >= PLAN_MIN_BATCH:
            return self._batch_plan(observed, tuple(targets)).joint(self.tables, likelihoods, batch)
        operands_ev = []
        for name in observed:
            lik = np.asarray(likelihoods[name], dtype=float)
            if lik.ndim == 1:
                lik = np.broadcast_to(lik, (batch, lik.shape[0]))
            operands_ev.append(lik)
        nodes, steps, live, exprs = self._expression(observed, tuple(targets), batch)
        operands = [self.tables[n] for n in nodes] + operands_ev + [np.ones(batch)]
        for inputs, step in steps:
            operands.append(step(*(operands[i] for i in inputs)))
        remaining = [operands[i] for i in live]
        return {t: expr(*remaining) for t, expr in zip(targets, exprs)}

    def _batch_plan(self, observed: tuple[str, ...], targets: tuple[str, ...]):
        """The all-targets contraction for many cases (forward and backward pass), cached per pattern."""
        from .contraction import Plan

        key = (observed, targets)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 64:
                self._plans.clear()
            plan = self._plans[key] = Plan(self.tables, observed, targets)
        return plan

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
    """

    evidence: dict[str, str]
    probabilities: dict[str, float]
    digest: str
    p_evidence: float = 1.0
    intervals: dict[str, tuple[float, float]] | None = field(default=None)

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
    marg, p_e = engine.marginals(evidence.likelihoods(), structure.TARGETS)
    if not p_e[0] > IMPOSSIBLE:
        raise ImpossibleEvidence(
            f"the model holds this evidence impossible: {explain_impossible(engine, evidence)}")
    probs = {t: float(np.clip(marg[t][0, 0], 0.0, 1.0)) for t in structure.TARGETS}
    return Posterior(evidence=evidence.as_dict(), probabilities=probs, digest=digest, p_evidence=float(p_e[0]))
