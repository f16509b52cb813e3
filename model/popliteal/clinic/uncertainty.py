"""Parameter uncertainty: how much the posteriors move within the priors' ranges.

Every number in ``priors/`` carries a plausible ``range``. This module draws
``N`` parameter sets from distributions matched to those ranges, rebuilds all
tables for all draws at once (:meth:`popliteal.network.priors.NodePrior.rebuild`),
answers the query for every draw in one vectorised pass of the exact engine
(:class:`popliteal.engine.inference.Engine` with ``batched_tables=True``) and reports
the 5th–95th percentile of each cause's posterior as its 90% interval, and how
often each triage level comes out across the draws. The point estimate (the
priors' values) and its triage stay the official answer.

The distributions (the range is read as a 90% interval):

- **Probabilities**: a Beta with mean = the value. Its concentration
  ``kappa = a + b`` is the smallest for which the range holds 90% of the draws
  (``P(low <= p <= high) >= 0.90``, solved numerically on the regularised
  incomplete beta function). An end of the range that is no real bound — 0 or
  1 (the edge of the support) or the value itself — is ignored, and the other
  end is then the 5th or 95th percentile. A range that bounds nothing
  (``[0, 1]``) gets ``kappa = 2``. Where 90% is reached, lost and reached
  again as ``kappa`` grows (a small value with a range starting at 0), the
  larger ``kappa`` is taken, which avoids spiky Beta shapes.
- **Odds ratios**: log-normal with median = the value and the range's ends as
  the 5th and 95th percentiles: ``log OR = log value + sigma * z`` with
  ``z ~ N(0, 1)`` and ``sigma = log(value / low) / 1.645`` for ``z < 0``,
  ``log(high / value) / 1.645`` for ``z > 0`` (a split log-normal when the
  range is not symmetric on the log scale).
- **A row of a multi-state table** (``age_group``, ``sex``): a Dirichlet with
  mean = the row; its concentration is the smallest of the states' Beta
  concentrations (each state's share is Beta-distributed under a Dirichlet),
  so the widest range is matched and no state is drawn more precisely than
  its range says.
- **Fixed**: a zero-width range, and any probability of exactly 0 or 1 (a
  distribution on [0, 1] with mean 0 or 1 is a point mass). Structural
  impossibilities (a rupture without a cyst, growing pains in an adult, a
  pregnant man) stay impossible in every draw.

Drawn probabilities are clipped into ``[1e-9, 1 - 1e-9]`` so that no draw makes
possible evidence impossible or a logistic baseline infinite. Draws are seeded
(``seed``, default 0): the same seed and number of draws give the same output,
and the first ``n`` draws do not depend on how many are drawn in total.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Iterator, Mapping

import numpy as np

from ..network import structure
from ..engine.evidence import Evidence
from ..engine.complaint import carry, fitted_tables
from ..engine.inference import IMPOSSIBLE, Engine, ImpossibleEvidence
from ..network.priors import LEVELS, Priors, TriagePolicy
from .policy import Assessment, facts, triage_many

#: The range of a number is read as this central interval of its distribution.
LEVEL = 0.90
#: Quantile of the standard normal at the top of the central interval (1.645 for 90%).
Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)
DEFAULT_SEED = 0
#: Upper limit of ``--uncertainty N`` (time and memory grow linearly with N).
MAX_DRAWS = 100_000
#: Draws per vectorised pass; bounds memory (the largest table holds 4096 numbers per draw).
CHUNK = 2048
#: Drawn probabilities are clipped into [EPS, 1 - EPS].
EPS = 1e-9
#: Bounds of a Beta's concentration a + b: 2 is the loosest (uniform for a mean of 0.5).
KAPPA_MIN = 2.0
KAPPA_MAX = 1e9

FIXED, BETA, LOGNORMAL, DIRICHLET = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class ParameterDistributions:
    """The distribution of every parameter of a priors folder.

    Parameters are concatenated node by node in structure order;
    ``slices[node]`` selects a node's parameters, in the order its
    :meth:`~popliteal.network.priors.NodePrior.rebuild` expects.

    Attributes
    ----------
    names : tuple of str
    kind : numpy.ndarray of int
        ``FIXED``, ``BETA``, ``LOGNORMAL`` or ``DIRICHLET`` per parameter.
    value, low, high : numpy.ndarray
    concentration : numpy.ndarray
        ``a + b`` of a Beta, the Dirichlet concentration of the parameter's row; NaN otherwise.
    sigma_low, sigma_high : numpy.ndarray
        Log-scale standard deviations below and above the median of an odds ratio.
    rows : tuple of numpy.ndarray
        For each Dirichlet row, the indices of its free (not fixed) states.
    """

    names: tuple[str, ...]
    kind: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    concentration: np.ndarray
    sigma_low: np.ndarray
    sigma_high: np.ndarray
    rows: tuple[np.ndarray, ...]
    slices: dict[str, slice] = field(repr=False)

    def sample(self, draws: int, seed: int = DEFAULT_SEED) -> np.ndarray:
        """Draw ``draws`` parameter sets: an array of shape ``(draws, n_parameters)``."""
        return np.concatenate(list(self._chunks(draws, seed)), axis=0)

    def _chunks(self, draws: int, seed: int):
        """Yield the draws in chunks of at most :data:`CHUNK` rows.

        Each family of distributions has its own random stream, consumed row by
        row, so draw ``i`` is the same whatever the chunking or the total.
        """
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
        done = 0
        while done < draws:
            n = min(CHUNK, draws - done)
            yield self._draw(n, *streams)
            done += n

    def _draw(self, n: int, beta_rng, normal_rng, gamma_rng) -> np.ndarray:
        out = np.broadcast_to(self.value, (n, self.value.size)).copy()
        idx = np.flatnonzero(self.kind == BETA)
        if idx.size:
            kappa, m = self.concentration[idx], self.value[idx]
            out[:, idx] = beta_rng.beta(m * kappa, (1.0 - m) * kappa, size=(n, idx.size))
        idx = np.flatnonzero(self.kind == LOGNORMAL)
        if idx.size:
            z = normal_rng.standard_normal(size=(n, idx.size))
            sigma = np.where(z < 0, self.sigma_low[idx], self.sigma_high[idx])
            out[:, idx] = self.value[idx] * np.exp(sigma * z)
        if self.rows:  # one call for all rows, so that each stream is consumed draw by draw
            idx = np.concatenate(self.rows)
            masses = [self.value[free].sum() for free in self.rows]  # 1 minus the fixed states of a row
            alpha = np.concatenate([self.concentration[free] * self.value[free] / m
                                    for free, m in zip(self.rows, masses)])
            g = gamma_rng.standard_gamma(alpha, size=(n, idx.size))
            start = 0
            for free, mass in zip(self.rows, masses):
                part = g[:, start:start + free.size]
                out[:, free] = mass * part / part.sum(axis=1, keepdims=True)
                start += free.size
        prob = np.flatnonzero((self.kind == BETA) | (self.kind == DIRICHLET))
        lo = np.minimum(EPS, self.value[prob])
        hi = np.maximum(1.0 - EPS, self.value[prob])
        out[:, prob] = np.clip(out[:, prob], lo, hi)
        return out

    def tables(self, priors: Priors, values: np.ndarray) -> dict[str, np.ndarray]:
        """Every node's table for each row of ``values``: ``{node: (draws, card, *parent_cards)}``."""
        return {name: priors.nodes[name].rebuild(values[:, self.slices[name]]) for name in structure.NAMES}


# ---------------------------------------------------------------------------
# Matching the distributions to the ranges
# ---------------------------------------------------------------------------


def beta_concentration(mean, low, high) -> np.ndarray:
    """The concentration ``a + b`` of a Beta with the given mean that matches ``[low, high]``.

    Vectorised. See the module docstring for the rule; ``mean`` must lie
    strictly between 0 and 1 and inside ``[low, high]``.

    Examples
    --------
    >>> k = beta_concentration(0.5, 0.35, 0.65)[0]
    >>> from scipy.special import betainc
    >>> round(float(betainc(0.5 * k, 0.5 * k, 0.65) - betainc(0.5 * k, 0.5 * k, 0.35)), 6)
    0.9
    """
    from scipy.special import betainc, betaincc

    mean, low, high = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=float)) for x in (mean, low, high)))
    has_low = (low > 0.0) & (low < mean)
    has_high = (high < 1.0) & (high > mean)
    # allowed mass outside the range: both ends bound -> 10% in all; one end -> 5% beyond it
    allowed = np.where(has_low & has_high, 1.0 - LEVEL, (1.0 - LEVEL) / 2)
    low, high = np.where(has_low, low, 0.5), np.where(has_high, high, 0.5)  # placeholders never used

    def fails(kappa, sel=slice(None)):
        a, b = mean[sel] * kappa, (1.0 - mean[sel]) * kappa
        outside = (np.where(has_low[sel], betainc(a, b, low[sel]), 0.0)
                   + np.where(has_high[sel], betaincc(a, b, high[sel]), 0.0))
        return outside > allowed[sel]

    grid = np.geomspace(KAPPA_MIN, KAPPA_MAX, 121)
    on_grid = fails(grid[:, None])  # (grid, parameters)
    ever = on_grid.any(axis=0)
    last = len(grid) - 1 - np.argmax(on_grid[::-1], axis=0)  # the last grid point that fails
    kappa = np.where(ever, KAPPA_MAX, KAPPA_MIN)  # never fails: the loosest; fails at KAPPA_MAX: the tightest
    inner = np.flatnonzero(ever & (last < len(grid) - 1))
    if inner.size:
        lo, hi = np.log(grid[last[inner]]), np.log(grid[last[inner] + 1])
        for _ in range(40):  # bisection on log kappa: fails at lo, holds at hi
            mid = 0.5 * (lo + hi)
            bad = fails(np.exp(mid), inner)
            lo, hi = np.where(bad, mid, lo), np.where(bad, hi, mid)
        kappa[inner] = np.exp(hi)
    return kappa


def _is_fixed(p) -> bool:
    return p.low == p.high or (p.scale == "probability" and p.value in (0.0, 1.0))


def distributions(priors: Priors) -> ParameterDistributions:
    """Match a distribution to every parameter of ``priors`` (cached by the priors' digest)."""
    cached = _CACHE.get(priors.digest)
    if cached is None:
        cached = _build(priors)
        _CACHE.clear()
        _CACHE[priors.digest] = cached
    return cached


_CACHE: dict[str, ParameterDistributions] = {}


def _build(priors: Priors) -> ParameterDistributions:
    names, value, low, high, kind, slices = [], [], [], [], [], {}
    dirichlet_rows: list[list[int]] = []
    for var in structure.VARIABLES:
        node = priors.nodes[var.name]
        start = len(names)
        multi = node.kind in ("table", "mixture") and var.states != structure.YES_NO
        # the entries of a multi-state distribution end in "=state"; others (a mixture's leak weight) are Beta
        in_rows = [multi and "=" in p.name and p.name.rsplit("=", 1)[1] in var.states for p in node.parameters]
        for p, in_row in zip(node.parameters, in_rows):
            names.append(p.name)
            value.append(p.value)
            low.append(p.low)
            high.append(p.high)
            if _is_fixed(p):
                kind.append(FIXED)
            elif p.scale == "odds_ratio":
                kind.append(LOGNORMAL)
            else:
                kind.append(DIRICHLET if in_row else BETA)
        if multi:
            k = len(var.states)
            members = [start + i for i, in_row in enumerate(in_rows) if in_row]
            if len(members) % k or any(not names[j].endswith(f"={var.states[n % k]}") for n, j in enumerate(members)):
                raise AssertionError(f"{var.name}: a multi-state row must list every state in order")
            for row in range(0, len(members), k):
                dirichlet_rows.append(members[row:row + k])
        slices[var.name] = slice(start, len(names))
    kind_a = np.array(kind)
    value_a, low_a, high_a = (np.array(x, dtype=float) for x in (value, low, high))

    concentration = np.full(value_a.size, np.nan)
    beta = np.flatnonzero(kind_a == BETA)
    if beta.size:
        concentration[beta] = beta_concentration(value_a[beta], low_a[beta], high_a[beta])
    rows = []
    for row in dirichlet_rows:
        free = np.array([i for i in row if kind_a[i] == DIRICHLET], dtype=int)
        if free.size < 2:  # one free state is set by the fixed others
            kind_a[free] = FIXED
            continue
        mass = value_a[free].sum()
        kappa = beta_concentration(value_a[free] / mass, np.clip(low_a[free] / mass, 0, 1),
                                   np.clip(high_a[free] / mass, 0, 1))
        concentration[free] = kappa.min()
        rows.append(free)

    sigma_low = np.zeros(value_a.size)
    sigma_high = np.zeros(value_a.size)
    ln = kind_a == LOGNORMAL
    with np.errstate(divide="ignore"):
        sigma_low[ln] = np.log(value_a[ln] / low_a[ln]) / Z
        sigma_high[ln] = np.log(high_a[ln] / value_a[ln]) / Z
    return ParameterDistributions(names=tuple(names), kind=kind_a, value=value_a, low=low_a, high=high_a,
                                  concentration=concentration, sigma_low=sigma_low, sigma_high=sigma_high,
                                  rows=tuple(rows), slices=slices)


# ---------------------------------------------------------------------------
# Posteriors over the draws
# ---------------------------------------------------------------------------


def check_draws(draws) -> int:
    """Return ``draws`` as an int, or raise ValueError naming the problem."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"the number of uncertainty draws must be a whole number from 1 to {MAX_DRAWS}, "
                         f"got {draws!r}")
    return int(draws)


def check_seed(seed) -> int:
    """Return ``seed`` as an int, or raise ValueError naming the problem."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"the seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def posterior_draws(priors: Priors, evidence: Evidence, draws: int,
                    seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """``P(cause = yes | evidence)`` under each of ``draws`` parameter sets.

    Returns
    -------
    dict of str to array of shape ``(draws,)``, one per cause and complication

    Raises
    ------
    ImpossibleEvidence
        If the evidence is impossible under some draw (it cannot be under
        the priors' values: impossibilities are fixed, the rest clipped).
    """
    draws, seed = check_draws(draws), check_seed(seed)
    likelihoods = evidence.likelihoods()
    parts: dict[str, list[np.ndarray]] = {t: [] for t in structure.TARGETS}
    bad = 0
    for n, engine in draw_engines(priors, draws, seed):
        marg, p_e = engine.marginals(likelihoods, structure.TARGETS, batch=n, given_complaint=False)  # 0: impossible
        bad += int(np.count_nonzero(~(p_e > IMPOSSIBLE)))
        for t in structure.TARGETS:
            parts[t].append(np.clip(marg[t][:, 0], 0.0, 1.0))
    if bad:
        raise ImpossibleEvidence(f"the evidence is impossible under {bad} of {draws} parameter draws")
    return {t: np.concatenate(v) for t, v in parts.items()}


def draw_engines(priors: Priors, draws: int, seed: int) -> Iterator[tuple[int, Engine]]:
    """The engines over ``draws`` parameter sets, one chunk at a time: ``(rows, engine)``.

    The draws depend only on the priors, their number and the seed. Up to :data:`CHUNK`
    draws (one engine) the engine of the last call is kept and serves the next one (another
    case in a notebook, the next vignette of the validation report) without drawing and
    rebuilding every table again, which costs more than the contraction of one case
    (2026-12-02, 2-core Intel Xeon, 300 draws: 0.27 s against 0.16 s); its tables take
    49 MiB for 300 draws and 163 MiB for 1,000. More draws are built chunk by chunk and
    never kept, so memory stays that of one chunk however many are asked for.
    """
    def build(values: np.ndarray) -> tuple[int, Engine]:
        return values.shape[0], Engine(carry(dist.tables(priors, values), priors.tables, fitted), batched_tables=True)

    key = (priors.digest, draws, seed)
    if draws <= CHUNK and key in _ENGINES:
        yield from _ENGINES[key]
        return
    dist = distributions(priors)
    fitted = fitted_tables(priors.tables, priors.digest)
    if draws > CHUNK:
        for values in dist._chunks(draws, seed):
            yield build(values)
        return
    engines = [build(values) for values in dist._chunks(draws, seed)]
    _ENGINES.clear()
    _ENGINES[key] = engines
    yield from engines


_ENGINES: dict[tuple[str, int, int], list[tuple[int, Engine]]] = {}


def intervals(samples: Mapping[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """The central 90% interval (5th and 95th percentile) of each cause's posterior."""
    q = 100 * (1 - LEVEL) / 2
    return {t: (float(np.percentile(s, q)), float(np.percentile(s, 100 - q))) for t, s in samples.items()}


def triage_stability(samples: Mapping[str, np.ndarray], evidence: Mapping[str, str],
                     policy: TriagePolicy) -> dict[str, float]:
    """The share of draws that gives each triage level (every level, most urgent first).

    ``samples`` holds ``P(target = yes)`` per draw for every target; ``evidence`` the
    evidence as the contract writes it (and ``age``, the years, as :func:`popliteal.clinic.policy.facts` adds it). All draws are triaged at once
    (:func:`popliteal.clinic.policy.triage_many`, which gives the levels of :func:`triage`).
    """
    n = len(next(iter(samples.values())))
    probs = np.column_stack([np.asarray(samples[t], dtype=float) for t in structure.TARGETS])
    shown = {name: np.full(n, value, dtype=object) for name, value in evidence.items()}
    levels, _ = triage_many(probs, shown, policy)
    return {level: int(np.count_nonzero(levels == level)) / n for level in LEVELS}


@dataclass(frozen=True)
class UncertainAssessment(Assessment):
    """An :class:`~popliteal.clinic.policy.Assessment` with the uncertainty over the priors' ranges.

    The posterior carries ``intervals``; ``triage`` and ``advice`` are those of
    the point estimate (the official answer).

    Attributes
    ----------
    draws : int
    seed : int
    triage_stability : dict
        ``{level: share of draws}`` for every triage level.
    """

    draws: int = 0
    seed: int = DEFAULT_SEED
    triage_stability: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["uncertainty"] = {"draws": self.draws, "seed": self.seed}
        out["triage_stability"] = dict(self.triage_stability)
        return out

    def table(self) -> str:
        text = super().table()
        shares = ", ".join(f"{lv} {s:.1%}" for lv, s in self.triage_stability.items() if s > 0)
        note = (f"Intervals: 5th–95th percentile over {self.draws} draws of the priors within their "
                f"ranges (seed {self.seed}).\nTriage across the draws: {shares}")
        head, sep, tail = text.partition("\n\nAdvice:")
        return f"{head}\n{note}{sep}{tail}"


def assess_uncertainty(point: Assessment, priors: Priors, evidence: Evidence, draws: int,
                       seed: int = DEFAULT_SEED) -> UncertainAssessment:
    """Add 90% intervals and the triage's stability to the assessment ``point``."""
    samples = posterior_draws(priors, evidence, draws, seed)
    # every field of the point answer (incidental, outside_model, ...) stays; only the intervals are added
    posterior = dataclasses.replace(point.posterior, intervals=intervals(samples))
    stability = triage_stability(samples, facts(point.posterior), priors.triage)
    return UncertainAssessment(posterior=posterior, triage=point.triage, advice=point.advice,
                               warnings=point.warnings, advice_ids=point.advice_ids,
                               incidental_shown=point.incidental_shown,
                               incidental_heading=point.incidental_heading, draws=int(draws), seed=int(seed),
                               triage_stability=stability)


__all__ = ["ParameterDistributions", "UncertainAssessment", "assess_uncertainty", "beta_concentration",
           "distributions", "intervals", "posterior_draws", "triage_stability", "DEFAULT_SEED", "MAX_DRAWS"]

