"""Exact inference: the compiled, vectorised engine and the query result object.

The network's tables are compiled into numpy arrays once. A query is one
tensor contraction of those tables with one likelihood vector per variable
with evidence (one-hot for a sure state, ``[L, 1-L]`` for soft evidence),
planned once per pattern of observed variables and reused, followed by its
backward pass, which gives every target's marginal at once
(:mod:`popliteal.engine.contraction`). Nodes that are neither observed, nor
targets, nor ancestors of either are barren (they sum to one) and are left
out. A batch axis carries many cases at once, or many parameter draws for
the uncertainty analysis; its sub-batches run side by side on several
threads. The complaint (by default), and with ``factorise=True`` the noisy-OR findings with
the most parents, enter the contraction as a sum of two products over their
parents (checked against their tables when a contraction first reaches them),
so that observing one does not join all its parents in one factor.

Every query knows the complaint (``knee_pain=yes``, see
:mod:`popliteal.engine.complaint`): posteriors and ``P(evidence)`` are given the pain.

The result is exact: the tests check it against pgmpy's VariableElimination
(the reference engine, :func:`popliteal.network.bayesnet.reference_query`) and
against brute-force enumeration of the joint.

This module never imports pgmpy or matplotlib.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

from ..network import structure
from ..present.result import Result
from .evidence import Evidence, EvidenceError, from_mapping

#: ``P(evidence)`` at or below this is impossible. Only an exact zero is: a positive
#: probability too small for a double is reported as the smallest positive double
#: (:data:`TINY`), with its logarithm exact (:meth:`Engine.marginals_log`).
IMPOSSIBLE = 0.0
#: Cases with ``P(evidence)`` below this are computed again with every intermediate
#: factor rescaled (no underflow, see :meth:`popliteal.engine.contraction.Plan.joint`).
RESCALE_BELOW = 1e-200
#: The smallest positive double (subnormal).
TINY = float(np.nextafter(0.0, 1.0))
#: From this many cases on, a pattern's contraction order is searched harder
#: (several greedy orders, the cheapest kept): planning then pays for itself.
PLAN_MIN_BATCH = 16
#: Cases per greedy order tried: a pattern planned for fewer cases than its full number of
#: trials times this tries fewer orders (at least :data:`MIN_PLAN_TRIALS`), unless the whole
#: search is asked for (batch scoring, whose answers must not depend on the chunk size). A trial costs about
#: 13 ms and a case about 0.1 ms, so 300 draws of one case no longer spend twice their
#: contraction time on the search (2026-12-02, 2-core Intel Xeon: 0.32 s of planning, 0.15 s of work).
CASES_PER_TRIAL = 200
MIN_PLAN_TRIALS = 3
#: Tables with at least this many parents are contracted as a sum of products over their parents
#: when they are noisy-ORs (:func:`popliteal.engine.contraction.factorise_noisy_or`); smaller ones stay whole.
FACTORISE_MIN_PARENTS = 7
#: The product of the factorised tables' error amplification bounds may not exceed this: rounding
#: errors of a factorised contraction stay below about this many times those of the joined one.
MAX_AMPLIFICATION = 1e3


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
    factorise : bool
        Contract the noisy-OR findings with many parents as sums of products over
        their parents (see :meth:`factorised`); exact either way. Off by default:
        on this network it brings no consistent gain (2026-11-30, 2-core EPYC, three
        measurements against the whole tables: -23%, -11%, +3%), the cost lying in
        the many findings that tie the causes together rather than in one large
        table; ``scripts/benchmark.py`` measures both.
    complaint : bool
        Whether every query knows the complaint (``knee_pain=yes``, the pain every user
        has), so that the causes compete for it; on by default. Off, the engine is the
        plain network (the brute-force checks and :mod:`popliteal.engine.complaint` use it).
    factorise_complaint : bool, optional
        Contract the complaint as a sum of two products over the causes (see
        :meth:`factorised`); off, it is one table over all of them (the tests' oracle). By
        default on for one set of tables and off for parameter draws, where it was slower
        (2026-12-03, 2-core EPYC, 1,000 draws of one case: 275-283 against 161-194 ms).
    """

    def __init__(self, tables: Mapping[str, np.ndarray], batched_tables: bool = False, factorise: bool = False,
                 complaint: bool = True, factorise_complaint: bool | None = None):
        missing = [n for n in structure.NAMES if n not in tables]
        if missing:
            raise ValueError(f"no table for {missing[0]}")
        self.tables = {n: np.asarray(tables[n], dtype=float) for n in structure.NAMES}
        self.batched_tables = batched_tables
        self._plans: dict[tuple, object] = {}
        self._unbound: dict[tuple, object] = {}  # plans of another engine's tables (see replaced)
        self.factorise = factorise
        self.complaint = complaint
        self.factorise_complaint = not batched_tables if factorise_complaint is None else factorise_complaint
        self._log_c = None
        # the tables and, once factorised (on first use, see factorised), their factors
        self._arrays: dict = dict(self.tables)
        self._factors: dict = {}  # node -> Factorised or None
        # log of the smallest positive product of one entry per table: with the likelihoods' own
        # floor it bounds every nonzero term of P(e) from below (see _marginals)
        self._log_min = {n: _log_min(t) for n, t in self.tables.items()}
        self._log_floor = float(sum(self._log_min.values()))

    def _plan(self, observed: tuple[str, ...], targets: tuple[str, ...], batch: int, full_search: bool = False):
        """The contraction of one pattern of evidence and targets, cached.

        Planning a pattern costs a few milliseconds of pure Python, which a
        batch earns back but a single case does not. Fewer than
        :data:`PLAN_MIN_BATCH` cases therefore run the one plan in which
        *every* variable carries a likelihood (all ones where it has no
        evidence): planned once per engine, it serves any pattern of evidence
        at about a millisecond per query, and the same question always takes
        the same arithmetic, so its answer is the same to the last bit.
        Larger batches get a plan of their own pattern, pruned to the nodes
        that matter, with several elimination orders tried (more for patterns
        that observe most variables, as a file of cases does), in proportion to
        the cases it serves (see :data:`CASES_PER_TRIAL`): a later, larger batch
        of the same pattern has it searched again. ``full_search`` asks for the
        whole search whatever the batch size, so that a case's answer does not
        depend on the batch (or chunk) it came in, to the last bit (batch
        scoring, :func:`batch_marginals`); it costs about a second per pattern.
        """
        from .contraction import LARGE_PATTERN, LARGE_PLAN_TRIALS, PLAN_TRIALS, Plan

        large = batch >= PLAN_MIN_BATCH
        key = (observed if large else structure.NAMES, targets, large)
        trials = 1
        if large:
            trials = LARGE_PLAN_TRIALS if len(key[0]) >= LARGE_PATTERN else PLAN_TRIALS
            if not full_search:  # the search in proportion to the cases it serves
                trials = min(trials, max(MIN_PLAN_TRIALS, batch // CASES_PER_TRIAL))
        found = self._plans.get(key)
        if found is not None and found[0].trials >= trials:
            return found
        factorised = self.factorised((*key[0], *targets))  # also puts their factors in self._arrays
        floor = self._log_floor + sum(min(0.0, self._factors[n].log_min - self._log_min[n]) for n in factorised)
        if found is None and key in self._unbound:  # planned by the engine this one replaces
            found = self._plans[key] = (self._unbound.pop(key).rebound(self._arrays), floor)
        if found is None or found[0].trials < trials:  # a larger batch than the plan was searched for
            if len(self._plans) > 256:
                self._plans.clear()
            plan = Plan(self._arrays, key[0], targets, batched_tables=self.batched_tables, trials=trials,
                        factorised=factorised)
            found = self._plans[key] = (plan, floor)
        return found

    def replaced(self, name: str, table: np.ndarray) -> "Engine":
        """This engine with one table replaced, keeping the contraction orders it has planned.

        The orders depend on the structure only; each plan's folded constants are computed
        again from the new tables. For the many small steps of a fit
        (:func:`popliteal.engine.complaint.fit`), where planning would cost most of the time.
        """
        if self.factorise or self.batched_tables:
            raise ValueError("replaced() is for plain engines (no factorised or batched tables)")
        new = Engine({**self.tables, name: table}, complaint=self.complaint,
                     factorise_complaint=self.factorise_complaint)
        # rebound on first use (see _plan): a fit asks each engine one or two patterns only
        new._unbound = {**self._unbound, **{key: plan for key, (plan, _) in self._plans.items()}}
        return new

    def factorised(self, names: Sequence[str] = structure.NAMES) -> dict[str, tuple[str, ...]]:
        """The tables a contraction of ``names`` (and their ancestors) takes as sums of products.

        The complaint unless ``factorise_complaint`` is off (a noisy-OR of every cause with a
        leak of 0.1, amplification 20): kept whole, it would join all the causes in one factor of
        2^14 entries per case; factorised, a batch of cases runs about half as fast again
        (2026-12-03, 2-core EPYC, 20,000 random cases, four alternations in one process:
        4,757-5,734 against 2,426-3,837 rows/s; one query the same, 4.0 against 3.9 ms). With ``factorise``,
        also the noisy-OR findings with at least :data:`FACTORISE_MIN_PARENTS` parents, most
        parents first; each while the product of the error amplification bounds stays within
        :data:`MAX_AMPLIFICATION` (so the choice depends only on the nodes). Returns
        ``{node: parents kept on its core}``; the factors are computed on first use and
        checked against the table (:func:`popliteal.engine.contraction.factorise_noisy_or`).
        """
        from .contraction import _ancestral, factorise_noisy_or

        chosen: dict[str, tuple[str, ...]] = {}
        budget = MAX_AMPLIFICATION
        nodes = [structure.BY_NAME[n] for n in _ancestral(set(names))]
        complaint = [v for v in nodes if v.name == structure.COMPLAINT and self.factorise_complaint]
        findings = [v for v in nodes if self.factorise and v.name != structure.COMPLAINT
                    and len(v.parents) >= FACTORISE_MIN_PARENTS]
        candidates = complaint + sorted(findings, key=lambda v: -len(v.parents))
        for var in candidates:
            if var.name not in self._factors:
                found = self._factors[var.name] = factorise_noisy_or(self.tables[var.name],
                                                                     lead=1 if self.batched_tables else 0)
                if found is not None:
                    self._arrays[(var.name, "core")] = found.core
                    for k, g in found.per_parent.items():
                        self._arrays[(var.name, var.parents[k])] = g
            found = self._factors[var.name]
            if found is None or found.amplification > budget:
                continue
            budget /= found.amplification
            chosen[var.name] = tuple(var.parents[k] for k in found.kept)
        return chosen

    def joint_with_evidence(
        self,
        likelihoods: Mapping[str, np.ndarray],
        targets: Sequence[str] = structure.TARGETS,
        batch: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Return ``P(target = state, evidence)`` for each target (given the complaint, when on).

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
        plan, likelihoods, batch, _ = self._prepare(likelihoods, targets, batch)
        joint = plan.joint(self._arrays, likelihoods, batch)
        if self.complaint:
            scale = np.exp(-np.asarray(self._log_complaint()))
            joint = {t: j * (scale[:, None] if np.ndim(scale) else scale) for t, j in joint.items()}
        return joint

    def _prepare(self, likelihoods, targets, batch, full_search: bool = False):
        """The plan, the likelihoods it reads and the number of cases of one call."""
        if self.complaint and structure.COMPLAINT not in likelihoods:
            likelihoods = {**likelihoods, structure.COMPLAINT: _COMPLAINT_PRESENT}
        observed = tuple(n for n in structure.NAMES if n in likelihoods)
        if batch is None:
            sizes = {np.shape(likelihoods[n])[0] for n in observed if np.ndim(likelihoods[n]) == 2}
            if self.batched_tables:
                sizes.add(next(iter(self.tables.values())).shape[0])
            if len(sizes) > 1:
                raise ValueError(f"inconsistent batch sizes {sorted(sizes)}")
            batch = sizes.pop() if sizes else 1
        plan, floor = self._plan(observed, tuple(targets), batch, full_search)
        if len(plan.observed) > len(observed):  # the all-variables plan: no evidence means all ones
            likelihoods = {n: likelihoods[n] if n in likelihoods else np.ones(len(structure.BY_NAME[n].states))
                           for n in plan.observed}
        return plan, likelihoods, batch, floor

    def _rescaled(self, plan, likelihoods, cases: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The joint of ``cases`` only, with every intermediate rescaled (no underflow)."""
        lik = {n: (np.asarray(v)[cases] if np.ndim(v) == 2 else v) for n, v in likelihoods.items()}
        tables = ({n: t[cases] for n, t in self._arrays.items()} if self.batched_tables else self._arrays)
        return plan.joint(tables, lik, len(cases), scaled=True)

    def marginals(
        self,
        likelihoods: Mapping[str, np.ndarray],
        targets: Sequence[str] = structure.TARGETS,
        batch: int | None = None,
        given_complaint: bool = True,
        full_search: bool = False,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Return posterior marginals ``{target: (batch, card)}`` and ``P(evidence)`` per case.

        With the complaint on (the default), everything is given the complaint: the
        marginals are ``P(target | evidence, pain)`` and ``P(evidence)`` is ``P(evidence | pain)``;
        ``given_complaint=False`` returns ``P(evidence, pain)`` instead, which spares a second
        contraction when only whether the evidence is possible matters (the uncertainty draws).

        Cases whose evidence has probability zero get NaN rows; :func:`query`
        turns that into :class:`ImpossibleEvidence`. A positive ``P(evidence)``
        below the smallest double is returned as :data:`TINY` (see
        :meth:`marginals_log` for its logarithm); its marginals are exact.
        ``full_search`` plans a new pattern with the whole search whatever the batch size
        (see :meth:`_plan`), so that the answers do not depend on the batch size.
        """
        out, p_e, _ = self._marginals(likelihoods, targets, batch, given_complaint, full_search)
        return out, p_e

    def marginals_log(
        self,
        likelihoods: Mapping[str, np.ndarray],
        targets: Sequence[str] = structure.TARGETS,
        batch: int | None = None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """As :meth:`marginals`, with ``log P(evidence)`` per case (``-inf`` when impossible)."""
        out, _, log_p = self._marginals(likelihoods, targets, batch)
        return out, log_p

    def marginals_full(
        self,
        likelihoods: Mapping[str, np.ndarray],
        targets: Sequence[str] = structure.TARGETS,
        batch: int | None = None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """As :meth:`marginals`, returning ``(marginals, P(evidence), log P(evidence))``.

        Cases whose ``P(evidence)`` could underflow (below ``RESCALE_BELOW``, with a
        lower bound on its terms, from the smallest table and likelihood entries, under
        about 1e-280) are contracted again with every intermediate factor rescaled.
        """
        return self._marginals(likelihoods, targets, batch)

    def _marginals(self, likelihoods, targets, batch, given_complaint: bool = True, full_search: bool = False):
        targets = tuple(targets) or ("age_group",)
        plan, likelihoods, batch, floor = self._prepare(likelihoods, targets, batch, full_search)
        joint = plan.joint(self._arrays, likelihoods, batch)
        p_e = next(iter(joint.values())).sum(axis=1)
        low = np.flatnonzero(~(p_e >= RESCALE_BELOW))
        if low.size:  # keep only cases where a term of P(e) can underflow: every term >= floor * likelihood floors
            low = low[floor + _log_likelihood_floor(likelihoods, low) < _LOG_SAFE]
        ok = p_e > IMPOSSIBLE
        out = {}
        for t, j in joint.items():  # each row by its own sum (P(e) to rounding): it sums to 1, evidence is exact
            sums = j.sum(axis=1, keepdims=True)
            m = j / np.where(ok[:, None] & (sums > 0), sums, 1.0)
            m[~ok] = np.nan
            out[t] = m
        with np.errstate(divide="ignore"):
            log_p = np.log(p_e)
        if low.size:  # tiny or zero P(e): again without underflow, normalising each target's row
            scaled, log_low = self._rescaled(plan, likelihoods, low)
            possible = np.isfinite(log_low)
            for t, j in scaled.items():
                sums = j.sum(axis=1, keepdims=True)
                m = j / np.where(sums > 0, sums, 1.0)
                m[~possible] = np.nan
                out[t][low] = m
            log_p[low] = log_low
            p_e[low] = np.where(possible, np.maximum(np.exp(log_low), TINY), 0.0)
        if self.complaint and given_complaint:  # P(evidence | complaint): every user has it
            log_c = self._log_complaint()
            with np.errstate(invalid="ignore"):
                log_p = log_p - log_c
            p_e = np.where(p_e > IMPOSSIBLE, np.maximum(p_e / np.exp(log_c), TINY), 0.0)
        return out, p_e, log_p

    def _log_complaint(self):
        """``log P(complaint)``: a number, or one per draw when the tables carry draws."""
        if self._log_c is None:
            plan, likelihoods, batch, _ = self._prepare({}, ("age_group",), None)
            joint = plan.joint(self._arrays, likelihoods, batch)
            self._log_c = np.log(next(iter(joint.values())).sum(axis=1))
            if not self.batched_tables:
                self._log_c = float(self._log_c[0])
        return self._log_c


#: The likelihood of the complaint every case has (see :class:`Engine`, ``complaint``).
_COMPLAINT_PRESENT = np.array([1.0, 0.0])
_COMPLAINT_PRESENT.flags.writeable = False

#: Every nonzero term of P(e) above exp(this) is an ordinary double, and so is every partial sum.
_LOG_SAFE = float(np.log(1e-280))


def _log_min(table: np.ndarray) -> float:
    """The log of the smallest positive entry of ``table`` (0 when there is none)."""
    return float(np.log(table[table > 0].min())) if np.any(table > 0) else 0.0


def _log_likelihood_floor(likelihoods: Mapping[str, np.ndarray], cases: np.ndarray) -> np.ndarray:
    """Per case, the log of the product of each likelihood vector's smallest positive entry."""
    total = np.zeros(len(cases))
    for lik in likelihoods.values():
        lik = np.asarray(lik, dtype=float)
        rows = lik[cases] if lik.ndim == 2 else np.broadcast_to(lik, (len(cases), lik.shape[-1]))
        smallest = np.where(rows > 0, rows, np.inf).min(axis=1)
        total += np.log(np.where(np.isfinite(smallest), smallest, 1.0))
    return total


def ratio(p_num: np.ndarray, log_num: np.ndarray, p_den: float, log_den: float) -> np.ndarray:
    """``P(a) / P(b)`` from both forms: the plain division where both are ordinary doubles
    (bit for bit as before), the difference of logarithms where one is tiny."""
    p_num = np.asarray(p_num, dtype=float)
    plain = (p_num >= RESCALE_BELOW) & (p_den >= RESCALE_BELOW)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(plain, p_num / (p_den if p_den > 0 else 1.0), np.exp(np.asarray(log_num) - log_den))


def batch_marginals(engine: Engine, likelihoods: Mapping[str, np.ndarray], n: int):
    """``engine.marginals`` of every target for ``n`` cases, padded to :data:`PLAN_MIN_BATCH`.

    The padding (unobserved cases) makes every batch run the compiled plan of its
    pattern, planned with the whole search (``full_search``), so that an answer does not
    depend on the batch size, to the last bit.
    """
    if n == 0:
        return {t: np.empty((0, len(structure.BY_NAME[t].states))) for t in structure.TARGETS}, np.empty(0)
    size = max(n, PLAN_MIN_BATCH)
    if size > n:
        likelihoods = {k: np.concatenate([v, np.ones((size - n, v.shape[1]))]) for k, v in likelihoods.items()}
    marg, p_e = engine.marginals(likelihoods, structure.TARGETS, batch=size, full_search=True)
    return {t: m[:n] for t, m in marg.items()}, p_e[:n]


class ImpossibleSearch:
    """Names the smallest part of impossible evidence, for one case or many, in one engine call.

    The first item, else the first pair (items in structure order), that the model holds
    impossible; else every item. Only items whose likelihood has a zero can be impossible
    (a likelihood in (0, 1) never is), and each item and pair is checked once per engine,
    for all cases at once (for each case, only those before the first one already known
    to be impossible).
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.zero: dict[tuple, bool] = {}
        self._likelihood: dict[tuple[str, str], np.ndarray | None] = {}

    def _vector(self, name: str, value: str) -> np.ndarray | None:
        """The likelihood of one item (``value`` as the contract writes it), None when it has no zero."""
        if ":" in value and float(value.rpartition(":")[2]) < 1.0:
            return None  # soft: positive on every state
        key = (name, value)
        if key not in self._likelihood:
            lik = from_mapping({name: value}).likelihoods()[name]
            self._likelihood[key] = lik if np.any(lik == 0.0) else None
        return self._likelihood[key]

    def _check(self, combos, names: tuple[str, ...]) -> None:
        combos = [c for c in dict.fromkeys(combos) if c not in self.zero]
        if not combos:
            return
        n = len(combos)
        lik = {name: np.ones((n, len(structure.BY_NAME[name].states))) for name in names}
        for i, combo in enumerate(combos):
            for name, value in combo:
                lik[name][i] = self._vector(name, value)
        _, p_e = batch_marginals(self.engine, lik, n)
        for combo, p in zip(combos, p_e):
            self.zero[combo] = not p > IMPOSSIBLE

    def explain(self, rows: Sequence[Sequence[tuple[str, str]]], names: Sequence[str] | None = None) -> list[str]:
        """For each case's items (``(variable, value)``, structure order), the clash in one line.

        ``names`` are the variables the cases may observe (the plan of that pattern is
        run; by default the variables of the items that can clash).
        """
        clashing = [[(k, v) for k, v in items if self._vector(k, v) is not None] for items in rows]
        if names is None:
            used = {k for items in clashing for k, _ in items}
            names = tuple(n for n in structure.NAMES if n in used)
        unknown = []  # the combos not checked yet, up to each case's first one known to be impossible
        for items in clashing:
            for combo in _combos(items):
                zero = self.zero.get(combo)
                if zero is None:
                    unknown.append(combo)
                elif zero:
                    break
        self._check(unknown, tuple(names))
        out = []
        for items, hard in zip(rows, clashing):
            found = next((c for c in _combos(hard) if self.zero[c]), None)
            shown = found if found is not None else items
            out.append((" with " if found is not None else ", ").join(f"{k}={v}" for k, v in shown))
        return out


def _combos(items: Sequence[tuple[str, str]]):
    """Each item alone, then each pair: the order in which impossible evidence is searched."""
    yield from ((x,) for x in items)
    yield from itertools.combinations(items, 2)


@functools.lru_cache(maxsize=8)
def impossible_search(engine: Engine) -> ImpossibleSearch:
    """The :class:`ImpossibleSearch` of ``engine`` (its checks are kept)."""
    return ImpossibleSearch(engine)


def explain_impossible(engine: Engine, evidence: Evidence) -> str:
    """Name the smallest part of the evidence that the model holds impossible (one engine call)."""
    return impossible_search(engine).explain([list(evidence.as_dict().items())])[0]


_TARGET_ORDER = {n: i for i, n in enumerate(structure.TARGETS)}
#: Decimals to which :func:`rank` compares probabilities (rounding noise of about 1e-16 is not an order).
RANK_DECIMALS = 12


def rank(probabilities: Mapping[str, float] | Sequence[float]) -> list[str]:
    """Targets most probable first, ties in structure order: the one ranking of every result.

    Probabilities are compared to :data:`RANK_DECIMALS` decimals, so that two causes with the same
    tables (hamstring and popliteus tendinopathy in a child) rank the same way whichever path, one
    case or a batch, computed them to the last bit.

    Parameters
    ----------
    probabilities : mapping of str to float, or sequence of float
        ``{target: probability}``, or one probability per target in ``structure.TARGETS`` order.
    """
    if not isinstance(probabilities, Mapping):
        values = list(probabilities)
        if len(values) != len(structure.TARGETS):
            raise ValueError(f"rank: {len(values)} probabilities for {len(structure.TARGETS)} targets")
        probabilities = dict(zip(structure.TARGETS, values))
    return sorted(probabilities, key=lambda n: (-round(probabilities[n], RANK_DECIMALS), _TARGET_ORDER[n]))


#: The fields of :class:`Posterior` held as read-only mappings.
_MAPPINGS = ("evidence", "probabilities", "intervals", "incidental")

#: The likelihood that sets a cause to "no" (causes are ``("yes", "no")``).
_ABSENT = np.array([0.0, 1.0])
_ABSENT.flags.writeable = False


@dataclass(frozen=True)
class Posterior(Result):
    """The answer to one query: ``P(cause = yes | evidence)`` for every cause.

    A plain, self-describing object that tables, plots and JSON all read. Its mappings are
    read-only copies (``types.MappingProxyType``); :meth:`to_dict` gives plain dicts.

    Attributes
    ----------
    evidence : mapping
        The evidence as given (``{variable: state}``; soft evidence as ``"yes:0.7"``).
    probabilities : mapping
        ``{cause: P(cause = yes | evidence)}`` for every cause and complication.
    digest : str
        Digest of the priors folder the numbers come from.
    p_evidence : float
        The prior probability of the evidence (small values mean surprising evidence);
        at least :data:`TINY` when the evidence is possible.
    log_p_evidence : float or None
        Its natural logarithm, exact even below :data:`TINY` (None: ``log(p_evidence)``).
    incidental : mapping
        ``{condition: P(present but not causing this pain | evidence)}`` for the conditions of
        :data:`popliteal.network.structure.INCIDENTAL` (a degenerative tear, an asymptomatic cyst): what an
        MRI or ultrasound would probably show without it being the cause. Never ranked or triaged.
    outside_model : float or None
        ``P(none of the modelled causes is causing this pain | evidence)``: the share of the pain
        left to a cause outside the model (the leak of ``knee_pain``, such as an infected joint or
        a tumour). None when not computed (``query(..., outside=False)``, the default of
        :meth:`popliteal.api.Model.posterior`; batch scoring).
    age_years : float or None
        The age in years when it was given (``age=57``; :attr:`Evidence.years`): the network reads
        only ``age_group``, the triage policy also the years. None when not given.
    """

    evidence: dict[str, str]
    probabilities: dict[str, float]
    digest: str
    p_evidence: float = 1.0
    intervals: dict[str, tuple[float, float]] | None = field(default=None)
    incidental: dict[str, float] = field(default_factory=dict)
    log_p_evidence: float | None = field(default=None, compare=False)
    outside_model: float | None = None
    age_years: float | None = None

    def __post_init__(self):
        # read-only copies: a frozen result whose numbers can change would disagree with its cached frame
        for name in _MAPPINGS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    def __reduce__(self):
        """Pickle and copy through plain dicts (a ``mappingproxy`` pickles not)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields.update({name: dict(fields[name]) for name in _MAPPINGS if fields[name] is not None})
        return functools.partial(type(self), **fields), ()

    @property
    def log_evidence(self) -> float:
        """``log P(evidence)``, exact even when ``P(evidence)`` is below the smallest double."""
        if self.log_p_evidence is not None:
            return self.log_p_evidence
        return float(np.log(self.p_evidence)) if self.p_evidence > 0 else -np.inf

    @property
    def ranking(self) -> list[str]:
        """Causes and complications, most probable first (ties in structure order, see :func:`rank`)."""
        return rank(self.probabilities)

    @functools.cached_property
    def frame(self):
        """A tidy pandas frame: one row per cause, most probable first."""
        import pandas as pd

        rows = []
        for place, name in enumerate(self.ranking, start=1):
            var = structure.BY_NAME[name]
            row = {"cause": name, "kind": var.kind, "probability": self.probabilities[name], "rank": place,
                   "meaning": var.meaning}
            if self.intervals is not None:
                row["low"], row["high"] = self.intervals[name]
            rows.append(row)
        return pd.DataFrame(rows)

    figure = "plot_posteriors"

    def to_dict(self) -> dict:
        """``{"evidence", "probabilities", "incidental", "p_evidence", "priors_digest"}`` (and ``outside_model``, ``age_years``)."""
        out = {"evidence": dict(self.evidence), "probabilities": dict(self.probabilities),
               "incidental": dict(self.incidental), "p_evidence": self.p_evidence, "priors_digest": self.digest}
        if self.age_years is not None:
            out["age_years"] = self.age_years
        if self.outside_model is not None:
            out["outside_model"] = self.outside_model
        if self.intervals is not None:
            out["intervals"] = {k: list(v) for k, v in self.intervals.items()}
        return out


def query(engine: Engine, evidence: Evidence, digest: str, outside: bool = False) -> Posterior:
    """Exact posteriors of every cause given ``evidence``.

    ``outside=True`` also computes :attr:`Posterior.outside_model` (one more contraction, so only
    the answers that show it ask for it).

    Raises
    ------
    ImpossibleEvidence
        When the model holds the evidence impossible.
    """
    likelihoods = evidence.likelihoods()
    marg, p_e, log_p = engine.marginals_full(likelihoods, structure.TARGETS + tuple(structure.INCIDENTAL))
    if not p_e[0] > IMPOSSIBLE:
        raise ImpossibleEvidence(
            f"the model holds this evidence impossible: {explain_impossible(engine, evidence)}")
    probs = {t: float(np.clip(marg[t][0, 0], 0.0, 1.0)) for t in structure.TARGETS}
    return Posterior(evidence=evidence.as_dict(), probabilities=probs, digest=digest, p_evidence=float(p_e[0]),
                     log_p_evidence=float(log_p[0]), incidental=incidental(marg),
                     outside_model=outside_model(engine, likelihoods, float(log_p[0])) if outside else None,
                     age_years=evidence.years)


def outside_model(engine: Engine, likelihoods: Mapping[str, np.ndarray], log_p_evidence: float) -> float | None:
    """``P(none of the modelled causes is causing this pain | evidence)``.

    The complaint's causes all set to "no" is one more piece of evidence, so the probability is
    the ratio of two evidence probabilities, ``P(evidence, no modelled cause) / P(evidence)``, in
    logarithms so that it stays exact when both are tiny. Needs the complaint node (without it
    the pain is not known to be there and the question has no meaning): None otherwise.
    """
    if not engine.complaint:
        return None
    none = dict(likelihoods)
    for cause in structure.BY_NAME[structure.COMPLAINT].parents:
        none[cause] = np.asarray(none[cause]) * _ABSENT if cause in none else _ABSENT
    _, _, log_none = engine.marginals_full(none, ("age_group",))
    return float(np.clip(np.exp(log_none[0] - log_p_evidence), 0.0, 1.0))


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
