"""All posterior marginals of many cases at once: one contraction and its backward pass.

The probability of the evidence of case ``b`` is one sum of products,

    P(e_b) = sum over all states of  prod_nodes P(node | parents) * prod_observed lik_b(node),

a tensor contraction with the case index ``b`` shared by every likelihood.
Add an all-ones vector ``1_t`` over each target ``t`` to the product: the
contraction is linear in it, so its derivative is the joint,
``P(t = s, e_b) = d P(e_b) / d 1_t(s)`` (Darwiche's differential approach to
inference). One forward contraction that keeps its intermediate factors and
one backward pass (reverse-mode differentiation of each pairwise step) thus
give every target's marginal for every case, at about three times the cost of
``P(e)`` alone, instead of one contraction per target.

Five choices make it fast for large batches:

- the contraction order comes from greedy variable elimination (the variable
  whose factors multiply into the smallest table goes first; factors that
  carry the case axis weigh more than the tables that do not), the cheapest
  of several randomised orders (more of them for patterns that observe most
  variables, as files of cases do);
- steps whose inputs are only the network's tables (no evidence, no target)
  are evaluated once, when the plan is built;
- the case axis is the *last* (contiguous) axis of every factor, and the other
  axes are stored in elimination order (the axis summed soonest first), so that
  no step transposes: a step is a broadcast product of reshaped views (the axes
  it sums lead both inputs), a matmul over all cases at once (a table times a
  case factor), or, in some steps of the backward pass, an einsum; numpy then
  runs long loops over the cases and the axes that stay longest, rather than
  ``numpy.einsum``'s one short loop per combination of a dozen axes of size two
  (:class:`_Kernel`);
- each thread writes a call's intermediates into buffers it reuses from
  sub-batch to sub-batch (fresh memory in every sub-batch costs the kernel's
  page faults), and the values of both passes share buffers by liveness
  (:class:`_Buffers`: a third of the memory, which stays in the cache);
- the cases are cut into sub-batches (bounded memory) that run side by side
  on up to :data:`THREADS` threads; each case's arithmetic is the same
  whichever thread runs it and however the batch is cut.

A table with many parents would join all of them in one factor as soon as
its node is observed. A noisy-OR table (:func:`factorise_noisy_or`) is
instead contracted as a sum of a few products over its parents, through an
auxiliary index of size two, so that no factor holds all its parents.

The plan depends only on which variables carry evidence, not on the values
or the number of cases. This module never imports pgmpy or matplotlib.
"""

from __future__ import annotations

import copy
import math
import os
import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..network import structure

#: Planning weight of a factor that carries the case axis against one that does not.
CASE_WEIGHT = 256
#: Elimination orders tried per plan (the cheapest is kept).
PLAN_TRIALS = 24
#: Patterns with at least this many observed variables (a file with a column for most of them)
#: are contracted for many cases: they get :data:`LARGE_PLAN_TRIALS` orders, about 0.5 s of planning
#: once per engine for a plan about a quarter faster on this network (2026-11-30, 2-core EPYC).
LARGE_PATTERN = 32
LARGE_PLAN_TRIALS = 96
#: A factorisation must reproduce its table to this (absolute) tolerance, or the table is kept whole.
FACTORISE_TOLERANCE = 1e-12
#: Memory for the intermediates of one sub-batch of cases (bytes).
SUB_BATCH_BYTES = 64 * 2**20
#: Threads that contract the sub-batches of one call side by side (1: one after the other).
THREADS = max(1, min(4, os.cpu_count() or 1))
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CASE = -1  # the id of the case axis; real variables have ids 0, 1, ...


@dataclass(frozen=True)
class _Step:
    inputs: tuple[int, ...]  # factor numbers
    output: int
    equation: str  # numpy einsum equation, case axis last


@dataclass(frozen=True)
class Factorised:
    """A table as a sum of products: ``T[s, x] = sum_h core[s, h, x_kept] * prod_k per_parent[k][h, x_k]``.

    With a leading axis of parameter draws on every array when the table had one.

    Attributes
    ----------
    kept : tuple of int
        Parent positions (0-based, in the table's parent order) that stay on the core.
    core : numpy.ndarray
        ``(*draws, card, rank, *kept_cards)``; its entries may be negative.
    per_parent : dict of int to numpy.ndarray
        For every other parent position, ``(*draws, rank, parent_card)``.
    amplification : float
        A bound on ``sum_h |term_h| / T`` after any likelihood vector is applied:
        how much the cancellation between terms can magnify rounding errors.
    """

    kept: tuple[int, ...]
    core: np.ndarray
    per_parent: dict[int, np.ndarray]
    amplification: float

    @property
    def log_min(self) -> float:
        """The log of the smallest absolute nonzero product of one entry per factor (a term's floor)."""
        parts = [self.core, *self.per_parent.values()]
        return float(sum(np.log(np.abs(a)[a != 0].min()) if np.any(a != 0) else 0.0 for a in parts))

    def table(self) -> np.ndarray:
        """The table rebuilt from the factors (to check the factorisation).

        One broadcast product per parent over ``(*draws, rank, *parents)``, then the
        sum over the rank: linear in the table's size, also for many draws.
        """
        lead = self.core.ndim - 2 - len(self.kept)
        n = len(self.kept) + len(self.per_parent)
        draws = self.core.shape[:lead]
        rank = self.core.shape[lead + 1]
        terms = np.ones(draws + (rank,) + (1,) * n)
        for k, g in self.per_parent.items():
            terms = terms * g.reshape(draws + (rank,) + tuple(g.shape[-1] if j == k else 1 for j in range(n)))
        core = np.moveaxis(self.core, lead, -1)  # (*draws, rank, *kept, card)
        cards = core.shape[lead + 1:lead + 1 + len(self.kept)]
        core = core.reshape(draws + (rank,) + tuple(cards[self.kept.index(j)] if j in self.kept else 1
                                                    for j in range(n)) + (core.shape[-1],))
        return np.moveaxis((terms[..., None] * core).sum(axis=lead), -1, lead)


def factorise_noisy_or(table: np.ndarray, lead: int = 0) -> Factorised | None:
    """Factorise a yes/no table over yes/no parents that is a noisy-OR with a leak, else None.

    A ``scaled_by`` parent may act in its state ``no`` (``rapid_swelling`` is scaled down
    without an injury): when the table is not a noisy-OR as it stands, each parent's axis
    is tried reflected, and a reflected parent must come out as a scaling parent, whose
    core axis is then reflected back. See :func:`_factorise` for the form.
    """
    found = _factorise(table, lead)
    if found is not None:
        return found
    table = np.asarray(table, dtype=float)
    for k in range(table.ndim - lead - 1):
        flipped = _factorise(np.flip(table, axis=lead + 1 + k), lead)
        if flipped is None or k not in flipped.kept:
            continue
        core = np.flip(flipped.core, axis=lead + 2 + flipped.kept.index(k))
        out = Factorised(flipped.kept, core, flipped.per_parent, flipped.amplification)
        if np.all(np.abs(out.table() - table) <= FACTORISE_TOLERANCE):
            return out
    return None


def _factorise(table: np.ndarray, lead: int = 0) -> Factorised | None:
    """Factorise a noisy-OR table whose scaling parents act in their state ``yes``, else None.

    The form is that of :mod:`popliteal.network.priors`' ``noisy_or`` kind, found from
    the table itself: ``P(yes | x) = S(x) (1 - c Q(x))`` with ``c = 1 - leak``,
    ``Q(x)`` the product of ``q_k = 1 - p_k`` over the active causes and
    ``S(x)`` the product of the factors of the active ``scaled_by`` parents
    (state index 0 is ``yes``). Each cause then enters through a factor
    ``(1, 1)`` / ``(q_k, 1)`` over an auxiliary index ``h`` of size two, and
    the scaling parents stay on the core, ``core[yes] = (S, -c S)``,
    ``core[no] = (1 - S, c S)``. A parent is a cause when switching it on alone
    raises ``P(yes)``, a scaling parent when it lowers it. The rebuilt table must
    match to :data:`FACTORISE_TOLERANCE` in every draw (``lead`` leading axes),
    and the leak must be positive; otherwise None (keep the table whole).

    With a likelihood ``(a, b)`` on the node the terms sum to
    ``M_0 + (b - a) c S Q`` with ``M_0 = b (1 - S) + a S >= 0``; the sum of their
    absolute values is at most ``2 / leak`` times the value, the bound returned
    as ``amplification``.
    """
    table = np.asarray(table, dtype=float)
    n = table.ndim - lead - 1
    if n < 1 or table.shape[lead:] != (2,) * (n + 1):
        return None
    draws = table.shape[:lead]
    off = (1,) * n  # every parent "no"
    leak = table[(Ellipsis, 0) + off]
    c = table[(Ellipsis, 1) + off]
    if not (np.all(leak > 0) and np.all(c > 0)):
        return None
    kept, per_parent, scale = [], {}, []
    for k in range(n):
        one = tuple(0 if j == k else 1 for j in range(n))
        yes, no = table[(Ellipsis, 0) + one], table[(Ellipsis, 1) + one]
        lower = yes < leak
        if np.all(lower):
            kept.append(k)
            scale.append(yes / leak)
        elif np.any(lower):  # a cause in some draws, a scaling parent in others
            return None
        else:
            q = no / c
            g = np.ones(draws + (2, 2))
            g[..., 1, 0] = q
            per_parent[k] = g
    # S over the kept parents: the product of f_j where parent j is "yes" (state 0)
    s = np.ones(draws + (2,) * len(kept))
    for j, f in enumerate(scale):
        col = np.stack([f, np.ones_like(f)], axis=-1)
        s = s * col.reshape(draws + tuple(2 if i == j else 1 for i in range(len(kept))))
    cb = c.reshape(draws + (1,) * len(kept))
    core = np.empty(draws + (2, 2) + (2,) * len(kept))
    rest = (slice(None),) * len(kept)
    core[(Ellipsis, 0, 0) + rest] = s
    core[(Ellipsis, 1, 0) + rest] = 1.0 - s
    core[(Ellipsis, 0, 1) + rest] = -cb * s
    core[(Ellipsis, 1, 1) + rest] = cb * s
    out = Factorised(tuple(kept), core, per_parent, float(2.0 / leak.min()))
    if not np.all(np.abs(out.table() - table) <= FACTORISE_TOLERANCE):
        return None
    return out


class Plan:
    """A compiled contraction for one pattern of evidence and targets.

    Parameters
    ----------
    tables : mapping of str to numpy.ndarray
        ``P(node | parents)`` of shape ``(card, *parent_cards)``, or with a
        leading axis of parameter draws when ``batched_tables`` is true (then
        the draws are the cases).
    observed : sequence of str
        Variables with a likelihood vector (evidence), in any order.
    targets : sequence of str
        Variables whose joint with the evidence is wanted.
    batched_tables : bool
    factorised : mapping of str to tuple of str, optional
        Nodes whose table enters as a sum of products (see :class:`Factorised`),
        each with its parents that stay on the core. ``tables`` then holds, for
        such a node, ``(node, "core")`` of shape ``(card, rank, *kept_cards)`` and
        ``(node, parent)`` of shape ``(rank, parent_card)`` for every other parent
        (each with the leading axis of draws when ``batched_tables`` is true),
        instead of (or beside) the table under ``node``.
    """

    def __init__(self, tables: Mapping, observed: Sequence[str], targets: Sequence[str],
                 batched_tables: bool = False, trials: int = PLAN_TRIALS,
                 factorised: Mapping[str, tuple[str, ...]] | None = None):
        self.observed = tuple(observed)
        self.targets = tuple(targets)
        self.batched_tables = batched_tables
        self.trials = trials
        factorised = factorised or {}
        ids = {n: i for i, n in enumerate(structure.NAMES)}
        cards = [len(v.states) for v in structure.VARIABLES]
        nodes = _ancestral(set(self.observed) | set(self.targets))
        case = (_CASE,) if batched_tables else ()
        # Factors: (variable ids ..., [_CASE]). Leaves first: tables, evidence, target indicators.
        self._factors: list[tuple[int, ...]] = []
        self._leaf_tables: list = []  # the key in ``tables`` of each table factor
        for name in nodes:
            var = structure.BY_NAME[name]
            if name in factorised:  # core (node, h, kept parents) and one (h, parent) factor per other parent
                kept = factorised[name]
                aux = len(cards)
                cards.append(np.shape(tables[(name, "core")])[2 if batched_tables else 1])
                self._factors.append((ids[name], aux, *(ids[p] for p in kept)) + case)
                self._leaf_tables.append((name, "core"))
                for p in var.parents:
                    if p not in kept:
                        self._factors.append((aux, ids[p]) + case)
                        self._leaf_tables.append((name, p))
                continue
            axes = tuple(ids[v] for v in (name, *var.parents))
            self._factors.append(axes + case)
            self._leaf_tables.append(name)
        self._evidence_leaf = {}
        for name in self.observed:
            self._evidence_leaf[name] = len(self._factors)
            self._factors.append((ids[name], _CASE))
        self._target_leaf = {}
        for name in self.targets:
            if name not in self._evidence_leaf:
                self._target_leaf[name] = len(self._factors)
                self._factors.append((ids[name],))
        self._ones_leaf = len(self._factors)  # all ones over the cases: the root always carries them
        self._factors.append((_CASE,))
        n_leaves = len(self._factors)
        # Which factors hold a target indicator below them (the backward pass follows those),
        # and which are constant (only tables below them: folded when the plan is built).
        wanted = set(self._target_leaf.values()) | {self._evidence_leaf[t] for t in self.targets
                                                     if t in self._evidence_leaf}
        wants = [i in wanted for i in range(n_leaves)]
        const = [i < len(self._leaf_tables) and not batched_tables for i in range(n_leaves)]
        self._steps = _plan(self._factors, cards, const, wants, trials)
        for step in self._steps:
            wants.append(any(wants[i] for i in step.inputs))
            const.append(all(const[i] for i in step.inputs))
        self._wants = wants
        self._const = const
        self._constants: dict[int, np.ndarray] = {}
        if not batched_tables:
            for i, name in enumerate(self._leaf_tables):
                self._constants[i] = np.asarray(tables[name], dtype=float)
            for step in self._steps:
                if const[step.output]:
                    self._constants[step.output] = np.einsum(step.equation, *(self._constants[i] for i in step.inputs))
            # keep only constants that a remaining step reads
            read = {i for s in self._steps if not const[s.output] for i in s.inputs}
            self._constants = {i: a for i, a in self._constants.items() if i in read}
        self._run = [s for s in self._steps if not const[s.output]]
        # every factor of a run stores its axes in elimination order (see _Kernel), the case axis last
        rank = {}
        for n_step, step in enumerate(self._steps):
            for i in step.inputs:
                for a in self._factors[i]:
                    if a != _CASE and a not in self._factors[step.output]:
                        rank.setdefault(a, (n_step, a))  # ties (axes summed by one step) by id
        self._rank = rank
        layout = {i: _sorted(f, rank) for i, f in enumerate(self._factors)}
        self._perm = {i: tuple(self._factors[i].index(a) for a in layout[i]) for i in range(len(self._factors))}
        self._kernels = {}
        for step in self._run:
            kernel = self._kernels[step.output] = _Kernel([layout[i] for i in step.inputs],
                                                          set(self._factors[step.output]) - {_CASE}, cards, rank)
            assert kernel.layout == layout[step.output]
        self._constants = {i: _permuted(a, self._perm[i]) for i, a in self._constants.items()}
        # the backward pass: per step, the gradient of each wanted input from the output's and the other inputs
        self._backward = []
        g_layout = {self._steps[-1].output: (_CASE,)}
        for step in reversed(self._run):
            if not wants[step.output]:
                continue
            parts = []
            for k, i in enumerate(step.inputs):
                if not wants[i]:
                    continue
                others = tuple(j for n, j in enumerate(step.inputs) if n != k)
                kernel = _Kernel([g_layout[step.output], *(layout[j] for j in others)],
                                 set(self._factors[i]) - {_CASE}, cards, rank)
                g_layout[i] = _sorted(self._factors[i] + (_CASE,), rank)
                if kernel.layout == g_layout[i]:
                    parts.append((i, others, kernel, None))
                else:  # broadcast along the axes the step summed out of i alone
                    full = tuple(cards[a] for a in g_layout[i][:-1])
                    view = tuple(cards[a] if a in kernel.layout else 1 for a in g_layout[i][:-1])
                    parts.append((i, others, kernel, (view, full)))
            self._backward.append((step.output, parts))
        self._layout = layout
        self._buffers, self._backward = _share_buffers(self._run, self._kernels, self._backward)
        per_case = sum(math.prod(cards[a] for a in self._factors[s.output] if a != _CASE) for s in self._run)
        self.sub_batch = int(min(65536, max(64, SUB_BATCH_BYTES // (16 * max(per_case, 1)))))

    def rebound(self, tables: Mapping) -> "Plan":
        """This plan over other tables of the same shapes: the constants folded again, no new search."""
        new = copy.copy(self)
        if not self.batched_tables:
            folded = {i: np.asarray(tables[name], dtype=float) for i, name in enumerate(self._leaf_tables)}
            for step in self._steps:
                if self._const[step.output]:
                    folded[step.output] = np.einsum(step.equation, *(folded[i] for i in step.inputs))
            new._constants = {i: _permuted(folded[i], self._perm[i]) for i in self._constants}
        return new

    def joint(self, tables: Mapping[str, np.ndarray], likelihoods: Mapping[str, np.ndarray],
              batch: int, scaled: bool = False):
        """Return ``P(target = state, evidence)`` of shape ``(batch, card)`` for each target.

        Parameters
        ----------
        tables : mapping of str to numpy.ndarray
            The same tables the plan was built from (read only when they are batched).
        likelihoods : mapping of str to numpy.ndarray
            For every observed variable, ``(batch, card)`` or ``(card,)``.
        batch : int
        scaled : bool
            Rescale every intermediate factor of every case to a maximum of one
            (keeping the logarithm of the scale), so that nothing underflows
            however small ``P(evidence)`` is. Each target's row is then
            ``P(target = state, evidence)`` times an unknown positive number per
            case and target (normalise it), and ``log P(evidence)`` per case is
            returned too: ``(joint, log_p)``, ``-inf`` where it is zero.
        """
        out = {t: np.empty((batch, len(structure.BY_NAME[t].states))) for t in self.targets}
        log_p = np.empty(batch)
        if not self.targets:
            return (out, np.zeros(batch)) if scaled else out
        lik_t = {}
        for name in self.observed:
            lik = np.asarray(likelihoods[name], dtype=float)
            lik_t[name] = lik.T if lik.ndim == 2 else lik[:, None]
        tables_t = {}
        if self.batched_tables:
            for name in self._leaf_tables:
                tables_t[name] = np.moveaxis(np.asarray(tables[name], dtype=float), 0, -1)
            # views (a copy of every table of every draw would cost more than the steps that read them)
            tables_t = {name: tables_t[name].transpose(self._perm[i]) for i, name in enumerate(self._leaf_tables)}

        local = threading.local()  # per thread, the intermediates' memory, reused from sub-batch to sub-batch

        def run(start: int) -> None:
            stop = min(batch, start + self.sub_batch)
            lo, hi = start, stop
            if hi - lo == 1 and batch > 1:  # a lone case runs with a neighbour: numpy takes the same loops
                lo, hi = (lo - 1, hi) if lo > 0 else (lo, hi + 1)
            space = getattr(local, "space", None)
            if space is None and batch > self.sub_batch:  # (one sub-batch: nothing to reuse)
                space = local.space = {}
            part, part_log = self._joint_part(tables_t, lik_t, lo, hi, scaled, space)
            for t in self.targets:
                out[t][start:stop] = part[t][start - lo:stop - lo]
            if scaled:
                log_p[start:stop] = part_log[start - lo:stop - lo]

        _map(run, range(0, batch, self.sub_batch))
        return (out, log_p) if scaled else out

    def _joint_part(self, tables_t, lik_t, start, stop, scaled=False, space=None):
        n = stop - start
        if scaled:  # long doubles: no buffers
            space = None
        vals: dict[int, np.ndarray] = dict(self._constants)
        if self.batched_tables:
            for i, name in enumerate(self._leaf_tables):
                vals[i] = tables_t[name][..., start:stop]
        for name, i in self._evidence_leaf.items():
            lik = lik_t[name]
            vals[i] = np.ascontiguousarray(lik[:, start:stop] if lik.shape[1] > 1 else np.broadcast_to(lik, (lik.shape[0], n)))
        for name, i in self._target_leaf.items():
            vals[i] = np.ones(len(structure.BY_NAME[name].states))
        vals[self._ones_leaf] = np.ones(n)
        log_p = np.zeros(n, dtype=_WIDE) if scaled else None
        if scaled:  # wider exponents where the platform has them (x86-64: 80-bit long double)
            vals = {k: np.asarray(v, dtype=_WIDE) for k, v in vals.items()}
            # lift tiny likelihoods out of the subnormal range, where products lose their digits
            for i in self._evidence_leaf.values():
                smallest = np.where(vals[i] > 0, vals[i], np.inf).min(axis=0)
                lift = np.where(smallest < _LIFT_TO, _LIFT_TO / np.where(smallest > 0, smallest, 1.0), 1.0)
                vals[i] = vals[i] * lift
                log_p -= np.log(lift)
        for step in self._run:  # forward
            kernel = self._kernels[step.output]
            vals[step.output] = kernel(*(vals[i] for i in step.inputs),
                                       out=kernel.buffer(space, *self._buffers.get(step.output, (None, 0)), n,
                                                         self.sub_batch))
            if scaled and _CASE in self._factors[step.output]:
                vals[step.output], log_scale = _rescale(vals[step.output])
                log_p += log_scale
        root = self._steps[-1].output
        if scaled:
            with np.errstate(divide="ignore"):
                log_p += np.log(vals[root])  # the root is 1 (or 0 when impossible) after rescaling
        grads: dict[int, np.ndarray] = {root: np.ones(n)}
        for output, parts in self._backward:  # backward: d P(e) / d factor, per case
            g = grads.pop(output)
            for i, others, kernel, missing, (slot, capacity) in parts:
                grad = kernel(g, *(vals[j] for j in others), out=kernel.buffer(space, slot, capacity, n, self.sub_batch))
                if missing is not None:
                    grad = np.broadcast_to(grad.reshape(missing[0] + (n,)), missing[1] + (n,))
                grads[i] = _rescale(grad)[0] if scaled else grad  # a positive number per case: same marginals
        result = {}
        for name in self.targets:
            if name in self._target_leaf:
                result[name] = grads[self._target_leaf[name]].T
            else:
                i = self._evidence_leaf[name]
                result[name] = (grads[i] * vals[i]).T
            if scaled:
                result[name] = _rescale(result[name].T)[0].T.astype(float)
        return result, (None if log_p is None else log_p.astype(float))


#: In rescaled runs, each case's smallest positive likelihood is lifted to at least this.
_LIFT_TO = 1e-280
#: The float type of rescaled runs: long double where it has a wider exponent than double.
_WIDE = np.longdouble if np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp else np.float64


def _map(fn, items) -> None:
    """Call ``fn`` on every item: on :data:`THREADS` threads when there are several items.

    Each sub-batch is contracted by the same arithmetic whichever thread runs it (numpy
    releases the GIL in its loops), so the result is the same to the last bit.
    """
    items = list(items)
    if THREADS < 2 or len(items) < 2:
        for item in items:
            fn(item)
        return
    errors = np.geterr()  # the caller's floating-point error handling, which threads do not inherit

    def call(item):
        with np.errstate(**errors):
            fn(item)

    pool = _pool()
    pending = [pool.submit(call, item) for item in items]
    try:
        for future in pending:
            future.result()
    finally:  # on an error or an interrupt, drop what has not started
        for future in pending:
            future.cancel()


_POOL: tuple[int, object] | None = None
_POOL_LOCK = threading.Lock()


def _pool():
    """The worker threads of this process (a forked child makes its own)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            _POOL = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="popliteal-contraction"))
        return _POOL[1]


def _after_fork() -> None:
    """In a forked child: a fresh lock (the parent's may have been held by a thread that is gone)."""
    global _POOL_LOCK
    _POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _rescale(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``factor`` divided, per case (last axis), by its largest absolute entry; and the log of that.

    A case whose entries are all zero keeps them (its log scale is 0: the zero
    carries through to ``P(evidence)``).
    """
    size = np.abs(factor)  # a factorised table brings negative entries: the scale is positive
    peak = size.reshape(-1, factor.shape[-1]).max(axis=0) if factor.ndim > 1 else size
    safe = np.where(peak > 0, peak, 1.0)
    return factor / safe, np.log(safe)


def _ancestral(keep: set[str]) -> list[str]:
    needed = set(keep)
    for var in reversed(structure.VARIABLES):  # children before parents
        if var.name in needed:
            needed.update(var.parents)
    return [n for n in structure.NAMES if n in needed]


def _plan(factors: list[tuple[int, ...]], cards: list[int], const: list[bool], wanted: list[bool],
          trials: int) -> list[_Step]:
    """The cheapest of several greedy elimination orders (appends the step results to ``factors``).

    Trial 0 is plain greedy; the others add a seeded random tie-break and vary
    the weight of case-carrying factors, so the plan is the same on every run.
    """
    rng = np.random.default_rng(0)
    best = None
    for trial in range(trials):
        case_weight = (CASE_WEIGHT, 16, 4096)[trial % 3]
        noise = 0.0 if trial == 0 else 0.5 + trial / trials
        trial_factors = list(factors)
        steps = _eliminate(trial_factors, cards, const, case_weight, rng, noise)
        cost = _cost(trial_factors, steps, cards, const, wanted)
        if best is None or cost < best[0]:
            best = (cost, trial_factors, steps)
    factors[:] = best[1]
    return best[2]


def _cost(factors, steps, cards, const, wanted) -> int:
    """Multiply-adds per case of the forward and backward passes of a plan."""
    const = list(const)
    wanted = list(wanted)
    total = 0
    for step in steps:
        const.append(all(const[i] for i in step.inputs))
        wanted.append(any(wanted[i] for i in step.inputs))
        if const[-1]:
            continue
        union = {a for i in step.inputs for a in factors[i] if a != _CASE}
        size = math.prod(cards[a] for a in union)
        forward = size if any(_CASE in factors[i] for i in step.inputs) else 0
        total += forward + size * sum(wanted[i] for i in step.inputs)
    return total


def _eliminate(factors, cards, const, case_weight, rng, noise) -> list[_Step]:
    """Greedy variable elimination into einsum steps of one or two inputs.

    Each round sums out the variable whose factors multiply into the lightest
    table (times a random factor in ``[1, 1 + noise)``), multiplying the two
    lightest of them at a time. The holders of each variable and its weight are
    kept up to date from round to round, so a trial costs about a millisecond.
    """
    heavy = [not c for c in const]  # factors evaluated per query (evidence, targets, or batched tables)
    live: dict[int, None] = dict.fromkeys(range(len(factors)))  # ordered set
    holders: dict[int, set[int]] = {}
    for i in live:
        for a in factors[i]:
            if a != _CASE:
                holders.setdefault(a, set()).add(i)
    own = [_weight(f, cards) * (case_weight if h else 1) for f, h in zip(factors, heavy)]
    steps: list[_Step] = []
    score: dict[int, float] = {}

    def rescore(v: int) -> None:
        held = holders[v]
        axes = set().union(*(factors[i] for i in held))
        score[v] = _weight(axes, cards) * (case_weight if any(heavy[i] for i in held) else 1)

    def combine(inputs: tuple[int, ...]) -> None:
        union = set().union(*(factors[i] for i in inputs))
        axes = tuple(sorted(a for a in union if a != _CASE and holders[a].difference(inputs)))
        if _CASE in union:
            axes += (_CASE,)
        out = len(factors)
        steps.append(_Step(inputs, out, _equation([factors[i] for i in inputs], axes)))
        factors.append(axes)
        heavy.append(any(heavy[i] for i in inputs))
        own.append(_weight(axes, cards) * (case_weight if heavy[-1] else 1))
        for i in inputs:
            del live[i]
        live[out] = None
        for a in union:
            if a == _CASE:
                continue
            held = holders[a]
            held.difference_update(inputs)
            if a in axes:
                held.add(out)
            if held:
                rescore(a)
            else:
                del holders[a]
                score.pop(a, None)

    for v in holders:
        rescore(v)
    while holders:
        order = sorted(score)
        base = np.array([score[v] for v in order])
        if noise:
            base = base * (1.0 + noise * rng.random(len(order)))
        v = order[int(np.argmin(base))]  # the first of equal scores: the smallest variable id
        while v in holders and len(holders[v]) > 1:  # multiply the two lightest, until one factor holds v
            a, b = sorted(holders[v], key=lambda i: (own[i], i))[:2]
            combine((a, b))
        if v in holders:  # v is only in this factor: sum it out
            combine((next(iter(holders[v])),))
    while len(live) > 1:  # what is left carries only the case axis (or nothing)
        a, b = sorted(live, key=lambda i: (own[i], i))[:2]
        combine((a, b))
    return steps


def _weight(axes, cards) -> int:
    """The number of entries per case of a factor over ``axes``."""
    return math.prod(cards[a] for a in axes if a != _CASE)


def _letters(axes_lists) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for axes in axes_lists:
        for a in axes:
            if a not in mapping:
                mapping[a] = _LETTERS[len(mapping)]
    return mapping


def _equation(inputs: list[tuple[int, ...]], output: tuple[int, ...]) -> str:
    m = _letters([*inputs, output])
    return ",".join("".join(m[a] for a in axes) for axes in inputs) + "->" + "".join(m[a] for a in output)


class _Kernel:
    """One compiled step on arrays whose axes are in elimination order, the case axis last.

    Every factor stores its axes sorted by the step that sums them out (the soonest first),
    so a step never transposes: its inputs are reshaped (free views) to the output's
    axes with size one where they lack one, and numpy runs each product as a broadcast
    over a few long, coalesced loops (the axes that stay longest, and the cases, are
    innermost). The axes a forward step sums out are the soonest of both inputs, so they
    lead both arrays and merge into one: the step is a broadcast product, summed over that
    leading axis in the same pass (``numpy.einsum("a...,a...->...")``) when there is one
    (``kind`` ``"mul"``); a table times a case factor whose axes fall in blocks is one
    matmul over all the cases (``"gemm"``). Any other shape (some steps of the backward
    pass) is an einsum of the full arrays (``"einsum"``). ``layout`` is the axis order of
    the result.
    """

    def __init__(self, axes: Sequence[tuple[int, ...]], out: set[int], cards: Sequence[int], rank: Mapping[int, tuple]):
        self.case = case = any(_CASE in a for a in axes)  # the result carries the case axis
        self.pre = []  # per input: the positions of the axes summed out of it alone, first
        kept_axes = []
        for k, mine in enumerate(axes):
            others = {a for j, other in enumerate(axes) if j != k for a in other}
            drop = tuple(p for p, a in enumerate(mine) if a != _CASE and a not in out and a not in others)
            self.pre.append(drop)
            kept_axes.append(tuple(a for p, a in enumerate(mine) if p not in drop))
        union = {a for a in set().union(*kept_axes) if a != _CASE}
        self.layout = tuple(sorted(union & out, key=rank.__getitem__)) + ((_CASE,) if case else ())
        self.shape = tuple(cards[a] for a in self.layout if a != _CASE)
        self.size = math.prod(self.shape)
        self.summing = any(self.pre)
        if len(axes) == 1:
            self.kind = "sum"
            return
        summed = sorted(union - out, key=rank.__getitem__)
        x, y = kept_axes
        lead = self.lead = len(summed)
        if all(a[:lead] == tuple(summed) for a in kept_axes):  # the summed axes lead both: broadcast products
            self.kind = "mul"
            self.k = math.prod(cards[a] for a in summed)
            self.views = tuple(tuple(cards[a] if a in a_ax else 1 for a in self.layout if a != _CASE)
                               + ((-1 if _CASE in a_ax else 1,) if case else ()) for a_ax in (x, y))
            self.views = tuple(((self.k,) if lead else ()) + v for v in self.views)
            gemm = self._gemm(x, y, summed, cards)
            if gemm is not None:
                self.kind, self.views = "gemm", gemm
            return
        self.kind = "einsum"
        letters = _letters([x, y, self.layout])
        self.equation = ",".join("".join(letters[a] for a in ax) for ax in (x, y)) + "->" + "".join(
            letters[a] for a in self.layout)

    def _gemm(self, x, y, summed, cards):
        """For a table times a case factor whose output is (table's axes, factor's axes, cases): the matmul shapes."""
        if (_CASE in x) == (_CASE in y) or not summed:
            return None
        plain, cased = (x, y) if _CASE in y else (y, x)
        own = [a for a in self.layout if a != _CASE and a in plain]
        if self.layout[:len(own)] != tuple(own) or set(plain) & set(cased) != set(summed):
            return None  # the two share kept axes, or the output is not (the table's own axes, the rest, cases)
        k = math.prod(cards[a] for a in summed)
        m = math.prod(cards[a] for a in own)
        if m < 8:
            return None
        return ((k, m), (k, -1)) if plain is x else ((k, -1), (k, m))

    def __call__(self, *values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The step on ``values`` (in ``layout``), written into ``out`` when given (of the result's shape)."""
        if self.summing:
            values = [np.sum(v, axis=drop) if drop else v for v, drop in zip(values, self.pre)]
        if self.kind == "sum":
            return values[0]
        if self.kind == "einsum":
            return np.einsum(self.equation, *values, out=out)
        a, b = values[0].reshape(self.views[0]), values[1].reshape(self.views[1])
        if self.kind == "gemm":  # (M, K) @ (K, N * cases), the table first
            if self.views[0][1] == -1:
                a, b = b, a
            flat = None if out is None else out.reshape(a.shape[1], -1)
            return np.matmul(a.T, b, out=flat).reshape(self.shape + (-1,))
        if not self.lead:
            return np.multiply(a, b, out=out)
        return np.einsum("a...,a...->...", a, b, out=out)

    def buffer(self, space: dict | None, key, capacity: int, n: int, most: int) -> np.ndarray | None:
        """A view of the result's shape for ``n`` cases in ``space[key]`` (reused from call to call), or None.

        ``space[key]`` is made with room for ``capacity`` entries per case for ``most`` cases.
        """
        if space is None or key is None or self.kind == "sum":
            return None
        size = self.size * n if self.case else self.size
        flat = space.get(key)
        if flat is None or flat.size < size:
            flat = space[key] = np.empty(max(size, capacity * most))
        return flat[:size].reshape(self.shape + (n,) if self.case else self.shape)


class _Buffers:
    """Hands out buffers to the values of one pass: a buffer is reused once no living value is in it.

    The forward and backward passes of a sub-batch then work in a few buffers that stay in
    cache, rather than one fresh buffer per intermediate.
    """

    def __init__(self):
        self.sizes: list[int] = []  # entries per case of each buffer
        self.users: list[int] = []  # living values in each buffer
        self.free: list[int] = []
        self.holder: dict = {}  # value -> its buffer (absent: none of ours)

    def take(self, value, size: int) -> int:
        """A buffer for ``value`` of ``size`` entries per case (the smallest free one that fits)."""
        fits = [b for b in self.free if self.sizes[b] >= size]
        if fits or self.free:
            slot = min(fits, key=self.sizes.__getitem__) if fits else max(self.free, key=self.sizes.__getitem__)
            self.free.remove(slot)
        else:
            slot = len(self.sizes)
            self.sizes.append(0)
            self.users.append(0)
        self.sizes[slot] = max(self.sizes[slot], size)
        self.share(value, slot)
        return slot

    def share(self, value, slot: int | None) -> None:
        """``value`` lives in ``slot`` too (a view of another value)."""
        if slot is not None:
            self.holder[value] = slot
            self.users[slot] += 1

    def drop(self, value) -> None:
        """``value`` is dead: its buffer is free once no other value lives in it."""
        slot = self.holder.pop(value, None)
        if slot is not None:
            self.users[slot] -= 1
            if not self.users[slot]:
                self.free.append(slot)


def _share_buffers(run: list, kernels: dict, backward: list) -> tuple[dict, list]:
    """The buffer of every value of both passes: ``{output: (key, capacity per case)}`` for the forward
    steps, and the backward pass with ``(key, capacity per case)`` added to each part.

    A forward value lives until its step has read it, or until the last backward step that
    reads it; a gradient until its step has read it (the leaves' until the end). A ``"sum"``
    kernel returns its input (or a new array): such a value shares its input's buffer.
    """
    last_read = {}  # forward value -> the last backward step (number) that reads it
    for t, (output, parts) in enumerate(backward):
        for part in parts:
            for j in part[1]:
                last_read[j] = t
    buffers = _Buffers()
    forward = {}
    for step in run:
        kernel = kernels[step.output]
        if kernel.kind != "sum":
            forward[step.output] = buffers.take(("value", step.output), kernel.size)
        elif not kernel.summing:
            buffers.share(("value", step.output), buffers.holder.get(("value", step.inputs[0])))
        for i in step.inputs:
            if i not in last_read:
                buffers.drop(("value", i))
    grads = {}
    for t, (output, parts) in enumerate(backward):
        for i, others, kernel, missing in parts:
            if kernel.kind != "sum":
                grads[(t, i)] = buffers.take(("grad", i), kernel.size)
            elif not kernel.summing:
                buffers.share(("grad", i), buffers.holder.get(("grad", output)))
        buffers.drop(("grad", output))
        for j in {j for part in parts for j in part[1]}:
            if last_read[j] == t:
                buffers.drop(("value", j))
    key = lambda slot: (("buffer", slot), buffers.sizes[slot]) if slot is not None else (None, 0)  # noqa: E731
    return ({output: key(slot) for output, slot in forward.items()},
            [(output, [(i, others, kernel, missing, key(grads.get((t, i)))) for i, others, kernel, missing in parts])
             for t, (output, parts) in enumerate(backward)])


def _sorted(axes: tuple[int, ...], rank: Mapping[int, tuple]) -> tuple[int, ...]:
    """``axes`` in elimination order (the soonest summed first), the case axis (if there) last."""
    return tuple(sorted((a for a in axes if a != _CASE), key=rank.__getitem__)) + ((_CASE,) if _CASE in axes else ())


def _permuted(array: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """``array`` transposed by ``perm``, contiguous (itself when ``perm`` keeps the order)."""
    return array if perm == tuple(range(len(perm))) else np.ascontiguousarray(array.transpose(perm))
