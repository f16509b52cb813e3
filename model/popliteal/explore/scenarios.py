"""Results for exploring scenarios: comparisons, sweeps, grids and trajectories.

``model.query`` answers for one patient. The notebooks ask wider questions:
how do several named patients compare, what does one risk factor do as it
takes each of its states, which pairs of risk factors raise ``P(dvt)`` most,
and how do the probabilities move as findings come in one by one. Each answer
is a frozen dataclass that carries every case's evidence and the priors
digest, with a tidy pandas ``frame``, ``to_dict``/``to_json``,
``plot(ax=None)`` and ``_repr_html_`` for Jupyter.

All cases of one result are computed in a single engine call along the
batch axis: a variable observed in some cases but not in others gets the
likelihood ``[1, ..., 1]`` (no evidence) where it is not observed, which sums
it out exactly. The numbers are therefore those of ``model.query`` (and of
``popliteal query --json``), as ``tests/test_api.py`` checks.

A case the model holds impossible is never dropped silently: a comparison or
a trajectory refuses it with :class:`~popliteal.engine.inference.ImpossibleEvidence`;
a sweep or a grid keeps it as an explicit ``impossible`` row or cell (its
probabilities are NaN), unless every case is impossible.

This module never imports pgmpy or matplotlib; ``plot`` imports
:mod:`popliteal.present.figures` when called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..network import structure
from ..present.result import Result
from ..engine.evidence import AGE, Evidence, EvidenceError, from_mapping, states_of
from ..engine.inference import IMPOSSIBLE, ImpossibleEvidence, Posterior, explain_impossible
from ..clinic.policy import Assessment, assess, thresholds_in_play


#: The triage label of a case the model holds impossible.
IMPOSSIBLE_LABEL = "impossible"

#: Ages (years) of an age sweep when none are given: every five years from 5 to 90.
DEFAULT_AGES: tuple[int, ...] = tuple(range(5, 95, 5))


# --------------------------------------------------------------------------------------------
# computing many cases at once
# --------------------------------------------------------------------------------------------

def batch_posteriors(model, cases: Sequence[Evidence]) -> list[Posterior | None]:
    """Exact posteriors for many evidence sets in one engine call.

    Parameters
    ----------
    model : Model
    cases : sequence of Evidence

    Returns
    -------
    list of Posterior or None
        One per case, in order; ``None`` where the model holds the evidence impossible.
    """
    if not cases:
        raise ValueError("no cases to compute")
    per_case = [ev.likelihoods() for ev in cases]
    observed = [n for n in structure.NAMES if any(n in lik for lik in per_case)]
    likelihoods = {}
    for name in observed:
        rows = np.ones((len(cases), len(structure.BY_NAME[name].states)))
        for i, lik in enumerate(per_case):
            if name in lik:
                rows[i] = lik[name]
        likelihoods[name] = rows
    marg, p_e = model.engine.marginals(likelihoods, structure.TARGETS, batch=len(cases))
    out: list[Posterior | None] = []
    for i, ev in enumerate(cases):
        if not p_e[i] > IMPOSSIBLE:
            out.append(None)
            continue
        probs = {t: float(np.clip(marg[t][i, 0], 0.0, 1.0)) for t in structure.TARGETS}
        out.append(Posterior(evidence=ev.as_dict(), probabilities=probs, digest=model.digest,
                             p_evidence=float(p_e[i]), age_years=ev.years))
    return out


def _assess(model, posteriors: Iterable[Posterior | None]) -> tuple[Assessment | None, ...]:
    return tuple(None if p is None else assess(p, model.priors.triage) for p in posteriors)


def _merge(base: Evidence, extra: Evidence) -> Evidence:
    """``base`` with every variable of ``extra`` set as in ``extra`` (``extra`` wins)."""
    hard = {k: v for k, v in base.hard.items() if k not in extra.names}
    soft = {k: v for k, v in base.soft.items() if k not in extra.names}
    hard.update(extra.hard)
    soft.update(extra.soft)
    years = extra.years if extra.years is not None else None if "age_group" in extra.names else base.years
    return Evidence(hard, soft, years)


def _label(evidence: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in evidence.items()) or "no evidence"


def _all_impossible(model, base: Evidence, what: str) -> ImpossibleEvidence:
    """The error for a sweep or grid none of whose cases is possible."""
    if not _possible(model, base):
        return ImpossibleEvidence(f"{what}: the model holds the base evidence impossible: "
                                  f"{explain_impossible(model.engine, base)}")
    return ImpossibleEvidence(f"{what}: the model holds every case impossible")


def _possible(model, evidence: Evidence) -> bool:
    _, p_e = model.engine.marginals(evidence.likelihoods(), ("age_group",))
    return bool(p_e[0] > IMPOSSIBLE)


def _finite_or_none(x: float) -> float | None:
    return None if isinstance(x, float) and math.isnan(x) else x


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pct(p: float | None) -> str:
    return IMPOSSIBLE_LABEL if p is None or (isinstance(p, float) and math.isnan(p)) else f"{p:.1%}"


def _digest_line(digest: str) -> str:
    return f"<small>priors digest {escape(digest)}</small>"


# --------------------------------------------------------------------------------------------
# Comparison: named scenarios side by side
# --------------------------------------------------------------------------------------------

class _DrawsThresholds:
    """Mixin of the results whose figure draws the triage thresholds in play (a sweep, a trajectory)."""

    @property
    def thresholds(self) -> list:
        """The policy's probability thresholds that bear on these cases (drawn by ``plot``)."""
        return thresholds_in_play(self.policy, self.evidence)


@dataclass(frozen=True, eq=False)
class Comparison(Result):
    """Named scenarios side by side: ``model.compare({"name": evidence, ...})``.

    Attributes
    ----------
    names : tuple of str
        The scenario names, in the order given.
    results : tuple of Assessment
        Posteriors, triage and advice of each scenario.
    digest : str
        Digest of the priors the numbers come from.
    """

    names: tuple[str, ...]
    results: tuple[Assessment, ...]
    digest: str

    def __getitem__(self, name: str) -> Assessment:
        return self.results[self.names.index(name)]

    @property
    def scenarios(self) -> dict[str, Assessment]:
        """``{name: Assessment}`` in the order given."""
        return dict(zip(self.names, self.results))

    @property
    def evidence(self) -> dict[str, dict[str, str]]:
        """``{name: evidence}`` of every scenario."""
        return {n: dict(r.evidence) for n, r in zip(self.names, self.results)}

    @property
    def frame(self):
        """Tidy frame: ``scenario, cause, probability, triage``, causes in structure order."""
        import pandas as pd

        rows = [{"scenario": n, "cause": c, "probability": r.probabilities[c], "triage": r.triage.level}
                for n, r in zip(self.names, self.results) for c in structure.TARGETS]
        return pd.DataFrame(rows, columns=["scenario", "cause", "probability", "triage"])

    def to_dict(self) -> dict:
        """Every scenario in the CLI's JSON form, with its name."""
        return {"priors_digest": self.digest,
                "scenarios": [{"name": n, **r.to_dict()} for n, r in zip(self.names, self.results)]}

    figure = "plot_comparison"

    def _repr_html_(self) -> str:
        order = sorted(structure.TARGETS, key=lambda c: -max(r.probabilities[c] for r in self.results))
        rows = [[escape(c)] + [_pct(r.probabilities[c]) for r in self.results] for c in order]
        rows.append(["<b>triage</b>"] + [f"<b>{escape(r.triage.level)}</b>" for r in self.results])
        evidence = "".join(f"<li><b>{escape(n)}</b>: {escape(_label(r.evidence))}</li>"
                           for n, r in zip(self.names, self.results))
        return (f"<div>{_html_table(['cause', *self.names], rows)}<ul>{evidence}</ul>"
                f"{_digest_line(self.digest)}</div>")


def compare(model, scenarios: Mapping[str, Evidence | Mapping[str, Any] | None]) -> Comparison:
    """Posteriors, triage and advice of several named scenarios (one engine call).

    Raises
    ------
    EvidenceError
        A scenario's evidence is invalid (the message names the scenario).
    ImpossibleEvidence
        The model holds a scenario's evidence impossible.
    """
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise EvidenceError("compare needs a mapping {name: evidence} with at least one scenario")
    names, cases = [], []
    for name, evidence in scenarios.items():
        try:
            cases.append(model.evidence(evidence))
        except EvidenceError as exc:
            raise EvidenceError(f"scenario {name!r}: {exc}") from None
        names.append(str(name))
    posteriors = batch_posteriors(model, cases)
    for name, case, post in zip(names, cases, posteriors):
        if post is None:
            raise ImpossibleEvidence(f"scenario {name!r}: the model holds this evidence impossible: "
                                     f"{explain_impossible(model.engine, case)}")
    return Comparison(names=tuple(names), results=_assess(model, posteriors), digest=model.digest)


# --------------------------------------------------------------------------------------------
# Sweep: one variable through its states (or age through years)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Sweep(_DrawsThresholds, Result):
    """The posteriors as one variable takes each of its states: ``model.sweep(variable)``.

    Attributes
    ----------
    variable : str
        The swept variable; ``"age"`` for a sweep over years (mapped to ``age_group``).
    values : tuple
        The states, or the ages in years.
    base : dict
        The evidence held fixed.
    cases : tuple of dict
        The full evidence of each case, in the order of ``values``.
    results : tuple of Assessment or None
        One per value; ``None`` where the model holds the case impossible.
    digest : str
    """

    variable: str
    values: tuple
    base: dict[str, str]
    cases: tuple[dict[str, str], ...]
    results: tuple[Assessment | None, ...]
    digest: str
    #: The triage policy the results were assessed with (its thresholds are drawn by ``plot``).
    policy: Any = None

    @property
    def evidence(self) -> tuple[dict[str, str], ...]:
        """The full evidence of each case, in the order of ``values``."""
        return self.cases

    @property
    def impossible(self) -> tuple:
        """The values whose case the model holds impossible."""
        return tuple(v for v, r in zip(self.values, self.results) if r is None)

    @property
    def probabilities(self) -> dict[str, list[float]]:
        """``{cause: [P(cause | case) for each value]}``, NaN where impossible."""
        return {c: [math.nan if r is None else r.probabilities[c] for r in self.results]
                for c in structure.TARGETS}

    @property
    def frame(self):
        """Tidy frame: ``variable, value, cause, probability, triage``."""
        import pandas as pd

        rows = [{"variable": self.variable, "value": v, "cause": c,
                 "probability": math.nan if r is None else r.probabilities[c],
                 "triage": IMPOSSIBLE_LABEL if r is None else r.triage.level}
                for v, r in zip(self.values, self.results) for c in structure.TARGETS]
        return pd.DataFrame(rows, columns=["variable", "value", "cause", "probability", "triage"])

    def to_dict(self) -> dict:
        """Every case in the CLI's JSON form with its ``value``; ``impossible: true`` where impossible."""
        cases = []
        for v, ev, r in zip(self.values, self.cases, self.results):
            cases.append({"value": v, **(r.to_dict() if r is not None else
                                         {"evidence": ev, "impossible": True})})
        return {"variable": self.variable, "base": dict(self.base), "priors_digest": self.digest,
                "cases": cases}

    figure = "plot_sweep"

    def _repr_html_(self) -> str:
        probs = self.probabilities
        order = sorted(structure.TARGETS, key=lambda c: -np.nanmax(probs[c]))
        rows = [[escape(c)] + [_pct(p) for p in probs[c]] for c in order]
        rows.append(["<b>triage</b>"] + [f"<b>{escape(IMPOSSIBLE_LABEL if r is None else r.triage.level)}</b>"
                                         for r in self.results])
        head = [f"{self.variable} =", *(str(v) for v in self.values)]
        return (f"<div><b>Base evidence:</b> {escape(_label(self.base))}{_html_table(head, rows)}"
                f"{_digest_line(self.digest)}</div>")


def sweep(model, variable: str, states: Sequence | None = None,
          base: Evidence | Mapping[str, Any] | None = None) -> Sweep:
    """Posteriors of every cause as ``variable`` takes each state (one engine call).

    Parameters
    ----------
    variable : str
        A variable of the network, or ``"age"`` for ages in years.
    states : sequence, optional
        The states to visit (default: all of them), or the ages in years
        (default :data:`DEFAULT_AGES`). Soft states such as ``"yes:0.7"`` are accepted.
    base : evidence, optional
        Evidence held fixed; its value for ``variable`` (if any) is replaced.
    """
    base_ev = model.evidence(base)
    if variable == AGE:
        values = tuple(DEFAULT_AGES if states is None else states)
    else:
        values = tuple(states_of(variable) if states is None else states)
    if not values:
        raise EvidenceError(f"sweep {variable}: no states to visit")
    cases = [_merge(base_ev, from_mapping({variable: value})) for value in values]
    results = _assess(model, batch_posteriors(model, cases))
    if all(r is None for r in results):
        raise _all_impossible(model, base_ev, f"sweep {variable}")
    return Sweep(variable=variable, values=values, base=base_ev.as_dict(),
                 cases=tuple(c.as_dict() for c in cases), results=results, digest=model.digest,
                 policy=model.priors.triage)


# --------------------------------------------------------------------------------------------
# Grid: one cause over two variables, or over pairs of risk factors
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Grid(Result):
    """``P(cause = yes)`` over a grid of cases, for a heat map.

    Made by ``model.grid(var_a, var_b)`` (rows are the states of ``var_a``,
    columns those of ``var_b``) or ``model.pairs(factors)`` (rows and columns
    are the factors; a cell holds both, the diagonal each alone).

    Attributes
    ----------
    cause : str
    rows, columns : tuple of str
        Row and column labels.
    row_title, column_title : str
    values : tuple of tuple of float
        ``P(cause = yes | cell)``; NaN where the model holds the cell impossible.
    triage : tuple of tuple of str
        The triage level of each cell (``"impossible"`` where impossible).
    cells : tuple of tuple of dict
        The full evidence of each cell.
    base : dict
        The evidence every cell shares.
    baseline : float
        ``P(cause = yes | base)``, for reference.
    digest : str
    """

    cause: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    row_title: str
    column_title: str
    values: tuple[tuple[float, ...], ...]
    triage: tuple[tuple[str, ...], ...]
    cells: tuple[tuple[dict[str, str], ...], ...]
    base: dict[str, str]
    baseline: float
    digest: str

    @property
    def matrix(self) -> np.ndarray:
        """The values as a ``(rows, columns)`` array."""
        return np.array(self.values, dtype=float)

    @property
    def evidence(self) -> tuple[tuple[dict[str, str], ...], ...]:
        """The full evidence of each cell (same as ``cells``)."""
        return self.cells

    @property
    def frame(self):
        """Tidy frame: ``row, column, cause, probability, triage``."""
        import pandas as pd

        out = [{"row": r, "column": c, "cause": self.cause, "probability": self.values[i][j],
                "triage": self.triage[i][j]}
               for i, r in enumerate(self.rows) for j, c in enumerate(self.columns)]
        return pd.DataFrame(out, columns=["row", "column", "cause", "probability", "triage"])

    def to_dict(self) -> dict:
        """Labels, base, baseline and every cell with its evidence, probability and triage."""
        cells = [{"row": r, "column": c, "evidence": self.cells[i][j],
                  "probability": _finite_or_none(self.values[i][j]), "triage": self.triage[i][j]}
                 for i, r in enumerate(self.rows) for j, c in enumerate(self.columns)]
        return {"cause": self.cause, "rows": list(self.rows), "columns": list(self.columns),
                "row_title": self.row_title, "column_title": self.column_title, "base": dict(self.base),
                "baseline": self.baseline, "priors_digest": self.digest, "cells": cells}

    figure = "plot_heatmap"

    def _repr_html_(self) -> str:
        rows = [[escape(r)] + [_pct(v) for v in self.values[i]] for i, r in enumerate(self.rows)]
        head = [f"P({self.cause}): {self.row_title} \\ {self.column_title}", *self.columns]
        return (f"<div><b>Base evidence:</b> {escape(_label(self.base))} "
                f"(P({escape(self.cause)}) = {self.baseline:.1%})"
                f"{_html_table(head, rows)}{_digest_line(self.digest)}</div>")


def _check_cause(cause: str) -> str:
    if cause not in structure.TARGETS:
        from ..engine.evidence import _suggest

        raise EvidenceError(f"unknown cause {cause!r}{_suggest(cause, structure.TARGETS)}")
    return cause


def _grid(model, cause, row_items, col_items, row_title, column_title, base_ev, cell) -> Grid:
    """Compute a grid; ``cell(i, j)`` gives the extra evidence of a cell."""
    cases = [base_ev] + [_merge(base_ev, cell(i, j)) for i in range(len(row_items))
                         for j in range(len(col_items))]
    posteriors = batch_posteriors(model, cases)
    if posteriors[0] is None:
        raise ImpossibleEvidence(f"the model holds the base evidence impossible: "
                                 f"{explain_impossible(model.engine, base_ev)}")
    results = _assess(model, posteriors[1:])
    if all(r is None for r in results):
        raise _all_impossible(model, base_ev, "grid")
    n = len(col_items)
    values = tuple(tuple(math.nan if r is None else r.probabilities[cause] for r in results[i * n:(i + 1) * n])
                   for i in range(len(row_items)))
    levels = tuple(tuple(IMPOSSIBLE_LABEL if r is None else r.triage.level for r in results[i * n:(i + 1) * n])
                   for i in range(len(row_items)))
    cells = tuple(tuple(c.as_dict() for c in cases[1 + i * n:1 + (i + 1) * n]) for i in range(len(row_items)))
    return Grid(cause=cause, rows=tuple(row_items), columns=tuple(col_items), row_title=row_title,
                column_title=column_title, values=values, triage=levels, cells=cells, base=base_ev.as_dict(),
                baseline=posteriors[0].probabilities[cause], digest=model.digest)


def grid(model, var_a: str, var_b: str, cause: str = "dvt",
         base: Evidence | Mapping[str, Any] | None = None,
         states_a: Sequence[str] | None = None, states_b: Sequence[str] | None = None) -> Grid:
    """``P(cause = yes)`` for every pair of states of two variables (one engine call).

    Cells the model holds impossible (``sex=male`` with ``pregnant_or_postpartum=yes``)
    are kept as NaN and labelled ``impossible``.
    """
    _check_cause(cause)
    var_a = "age_group" if var_a == AGE else var_a
    var_b = "age_group" if var_b == AGE else var_b
    known_a, known_b = states_of(var_a), states_of(var_b)  # raise the one-line error with suggestions
    same = {structure.ALIASES.get(v, (v,))[0] for v in (var_a, var_b)}
    if len(same) == 1:
        raise EvidenceError(f"grid: the two variables must differ (both are {same.pop()})")
    sa = tuple(known_a if states_a is None else states_a)
    sb = tuple(known_b if states_b is None else states_b)
    ev_a = [from_mapping({var_a: s}) for s in sa]
    ev_b = [from_mapping({var_b: s}) for s in sb]
    return _grid(model, cause, sa, sb, var_a, var_b, model.evidence(base),
                 lambda i, j: _merge(ev_a[i], ev_b[j]))


def _factor(item: str | tuple[str, Any]) -> tuple[str, Evidence]:
    """A factor given as ``"name"`` (meaning ``name=yes``), ``"name=state"`` or ``(name, state)``."""
    if isinstance(item, tuple):
        name, state = item
    else:
        name, sep, state = str(item).partition("=")
        state = state if sep else "yes"
    ev = from_mapping({name.strip(): state.strip() if isinstance(state, str) else state})
    (var, value), = ev.as_dict().items()
    return (var if value == "yes" else f"{var}={value}"), ev


def pairs(model, factors: Sequence[str | tuple[str, Any]], cause: str = "dvt",
          base: Evidence | Mapping[str, Any] | None = None) -> Grid:
    """``P(cause = yes)`` with each pair of factors present (the diagonal: each alone).

    Parameters
    ----------
    factors : sequence
        ``"long_travel"`` (read as ``long_travel=yes``), ``"age_group=over_60"``,
        ``"age=67"`` or ``(name, state)``; each names a different variable.
    cause : str
    base : evidence, optional
        Evidence every cell shares (for example a sex and an age).
    """
    _check_cause(cause)
    parsed = [_factor(f) for f in factors]
    if len(parsed) < 2:
        raise EvidenceError("pairs needs at least two factors")
    seen: dict[str, str] = {}
    for label, ev in parsed:
        (var,) = ev.names
        if var in seen:
            raise EvidenceError(f"pairs: {seen[var]} and {label} name the same variable {var}")
        seen[var] = label
    labels = [label for label, _ in parsed]
    evs = [ev for _, ev in parsed]
    return _grid(model, cause, labels, labels, "risk factor", "risk factor", model.evidence(base),
                 lambda i, j: _merge(evs[i], evs[j]))


# --------------------------------------------------------------------------------------------
# Trajectory: findings added one by one
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Trajectory(_DrawsThresholds, Result):
    """How the posteriors move as findings are added one by one.

    Attributes
    ----------
    steps : tuple of str
        ``"start"`` then the item added at each step (``"calf_swelling=yes"``).
    base : dict
        The evidence at the start.
    results : tuple of Assessment
        The posterior after each step (the first is the start).
    digest : str
    """

    steps: tuple[str, ...]
    base: dict[str, str]
    results: tuple[Assessment, ...]
    digest: str
    #: The triage policy the results were assessed with (its thresholds are drawn by ``plot``).
    policy: Any = None

    @property
    def evidence(self) -> tuple[dict[str, str], ...]:
        """The cumulative evidence after each step."""
        return tuple(dict(r.evidence) for r in self.results)

    @property
    def probabilities(self) -> dict[str, list[float]]:
        """``{cause: [P(cause | evidence after each step)]}``."""
        return {c: [r.probabilities[c] for r in self.results] for c in structure.TARGETS}

    @property
    def frame(self):
        """Tidy frame: ``step, added, cause, probability, triage``."""
        import pandas as pd

        rows = [{"step": i, "added": s, "cause": c, "probability": r.probabilities[c], "triage": r.triage.level}
                for i, (s, r) in enumerate(zip(self.steps, self.results)) for c in structure.TARGETS]
        return pd.DataFrame(rows, columns=["step", "added", "cause", "probability", "triage"])

    def to_dict(self) -> dict:
        """Every step in the CLI's JSON form, with its number and the item ``added``."""
        return {"base": dict(self.base), "priors_digest": self.digest,
                "steps": [{"step": i, "added": s, **r.to_dict()}
                          for i, (s, r) in enumerate(zip(self.steps, self.results))]}

    figure = "plot_trajectory"

    def _repr_html_(self) -> str:
        probs = self.probabilities
        order = sorted(structure.TARGETS, key=lambda c: -max(probs[c]))
        rows = [[escape(c)] + [_pct(p) for p in probs[c]] for c in order]
        rows.append(["<b>triage</b>"] + [f"<b>{escape(r.triage.level)}</b>" for r in self.results])
        head = ["cause", *(s if i == 0 else f"+ {s}" for i, s in enumerate(self.steps))]
        return (f"<div><b>Start:</b> {escape(_label(self.base))}{_html_table(head, rows)}"
                f"{_digest_line(self.digest)}</div>")


def _items(findings: Mapping[str, Any] | Sequence) -> list[tuple[str, Any]]:
    if isinstance(findings, Mapping):
        return list(findings.items())
    out = []
    for item in findings:
        if isinstance(item, tuple) and len(item) == 2:
            out.append(item)
            continue
        name, sep, state = str(item).partition("=")
        if not sep or not name.strip() or not state.strip():
            raise EvidenceError(f"finding {item!r} must have the form NAME=STATE (for example calf_swelling=yes)")
        out.append((name.strip(), state.strip()))
    return out


def trajectory(model, findings: Mapping[str, Any] | Sequence,
               base: Evidence | Mapping[str, Any] | None = None) -> Trajectory:
    """Posteriors after each finding is added, in order (one engine call).

    Parameters
    ----------
    findings : mapping or sequence
        Ordered ``{name: state}``, ``["name=state", ...]`` or ``[(name, state), ...]``.
        Each names a variable not yet in the evidence.
    base : evidence, optional
        The evidence at the start (for example age and risk factors).
    """
    base_ev = model.evidence(base)
    items = _items(findings)
    if not items:
        raise EvidenceError("trajectory needs at least one finding to add")
    current, cases, steps = base_ev, [base_ev], ["start"]
    for name, state in items:
        step = from_mapping({name: state})
        clash = step.names & current.names
        if clash:
            raise EvidenceError(f"trajectory: {sorted(clash)[0]} is already in the evidence "
                                f"({name}={state} would set it again)")
        current = _merge(current, step)
        cases.append(current)
        steps.append(_label(step.as_dict()))
    posteriors = batch_posteriors(model, cases)
    for i, post in enumerate(posteriors):
        if post is None:
            where = "the start" if i == 0 else f"step {i} ({steps[i]})"
            raise ImpossibleEvidence(f"trajectory: at {where} the model holds the evidence impossible: "
                                     f"{explain_impossible(model.engine, cases[i])}")
    return Trajectory(steps=tuple(steps), base=base_ev.as_dict(), results=_assess(model, posteriors),
                      digest=model.digest, policy=model.priors.triage)
