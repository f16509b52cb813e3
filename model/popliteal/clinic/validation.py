"""Clinical validation: vignettes, Wells calibration and sensitivity to the priors.

A vignette (``tests/vignettes/*.yaml``) is a case written from a cited public
source with the expected leading cause(s), the causes expected in the top
three and the expected triage level. This module reads them, scores the
model on them, compares P(dvt) with the Wells strata and measures which
priors move each vignette's expected cause most (the tornado of
``scripts/validate.py``).

Leading diagnosis. A pulmonary embolism almost always comes from a DVT, so
P(dvt) is almost never below P(pulmonary_embolism) (only through the table's
0.05% of embolisms without a DVT). The *differential* therefore ranks the most
specific diagnosis: a DVT without embolism scores
``max(P(dvt) - P(pulmonary_embolism), 0)``; every other cause its marginal (an
intact and a ruptured Baker's cyst are already separate pictures).

Each vignette may name its ``cohort``: the in-house cases written with the
first network, and ``published-2026-11``, written from published case reports
and committed before the model was run on them (the git history shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..network import structure
from ..engine.complaint import carry
from ..engine.evidence import EvidenceError, from_mapping
from ..engine.inference import Engine, Posterior, rank
from ..network.priors import LEVELS
from .policy import holds

#: A complication in the top three implies its parent cause there too.
IMPLIES = {"pulmonary_embolism": "dvt"}
#: The cohort of a vignette that names none: the first, in-house suite.
IN_HOUSE = "in-house-2026-11"
#: Triage levels from least to most urgent.
URGENCY = tuple(reversed(LEVELS))
VIGNETTE_KEYS = {"id", "title", "source", "narrative", "evidence", "expected"}
EXPECTED_KEYS = {"leading", "top3", "triage", "rationale"}


class VignetteError(ValueError):
    """A vignette file is malformed (``file: field: problem``)."""


@dataclass(frozen=True)
class Vignette:
    """One validation case."""

    id: str
    title: str
    source: dict[str, str]
    narrative: str
    evidence: dict[str, Any]
    leading: tuple[str, ...]
    top3: tuple[str, ...]
    triage: str
    rationale: str
    path: Path | None = None
    cohort: str = IN_HOUSE

    @property
    def outside(self) -> bool:
        """The final diagnosis is no cause of the model (``leading: []``): scored on its triage only."""
        return not self.leading


def load_vignettes(folder: str | Path) -> list[Vignette]:
    """Read and validate every ``*.yaml`` vignette of ``folder``, sorted by file name."""
    from ..common.safeyaml import YamlError, load_file

    folder = Path(folder)
    out = []
    for path in sorted(folder.glob("*.yaml")):
        name = path.name
        try:
            doc = load_file(path)
        except YamlError as exc:
            raise VignetteError(str(exc).replace(f"{path}: ", f"{name}: ", 1)) from None
        if not isinstance(doc, dict):
            raise VignetteError(f"{name}: file: must be a mapping")
        for key in sorted(VIGNETTE_KEYS - set(doc)):
            raise VignetteError(f"{name}: {key}: missing")
        exp = doc["expected"]
        if not isinstance(exp, dict):
            raise VignetteError(f"{name}: expected: must be a mapping")
        for key in sorted({"leading", "top3", "triage"} - set(exp)):
            raise VignetteError(f"{name}: expected.{key}: missing")
        for key in ("leading", "top3"):
            bad = [c for c in exp[key] if c not in structure.TARGETS]
            if bad:
                raise VignetteError(f"{name}: expected.{key}: {bad[0]!r} is not a cause")
        if exp["triage"] not in LEVELS:
            raise VignetteError(f"{name}: expected.triage: must be one of {', '.join(LEVELS)}")
        if not set(exp["leading"]) <= set(exp["top3"]):
            raise VignetteError(f"{name}: expected.top3: must include the leading cause(s)")
        try:
            from_mapping(doc["evidence"] or {})
        except EvidenceError as exc:
            raise VignetteError(f"{name}: evidence: {exc}") from None
        out.append(Vignette(
            id=str(doc["id"]), title=str(doc["title"]), source=dict(doc["source"] or {}),
            narrative=str(doc["narrative"]), evidence=dict(doc["evidence"] or {}),
            leading=tuple(exp["leading"]), top3=tuple(exp["top3"]), triage=exp["triage"],
            rationale=str(exp.get("rationale", "")), path=path, cohort=str(doc.get("cohort", IN_HOUSE)),
        ))
    if not out:
        raise VignetteError(f"{folder}: no vignettes (*.yaml) found")
    return out


def differential(posterior: Posterior) -> list[tuple[str, float]]:
    """Causes ranked by the probability of being the most specific diagnosis (see module docstring)."""
    p = dict(posterior.probabilities)
    score = dict(p)
    score["dvt"] = max(p["dvt"] - p["pulmonary_embolism"], 0.0)
    return [(name, score[name]) for name in rank(score)]


@dataclass(frozen=True)
class VignetteResult:
    """The model's answer to one vignette, scored."""

    vignette: Vignette
    ranking: tuple[str, ...]
    probabilities: dict[str, float]
    triage: str
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def leading(self) -> str:
        return self.ranking[0]

    @property
    def top1(self) -> bool:
        return self.leading in self.vignette.leading

    @property
    def _shown(self) -> set[str]:
        """The top three, with what a complication there implies (a DVT under its embolism)."""
        shown = set(self.ranking[:3])
        return shown | {IMPLIES[c] for c in shown if c in IMPLIES}

    @property
    def final_top3(self) -> bool:
        """The final diagnosis (every leading cause) is in the top three: Semigran 2015's top-3."""
        return all(c in self._shown for c in self.vignette.leading)

    @property
    def top3(self) -> bool:
        """Every cause the vignette lists (the final diagnosis and its differentials) is in the top three."""
        return all(c in self._shown for c in self.vignette.top3)

    @property
    def triage_delta(self) -> int:
        """Positive: more urgent than expected (over-triage); negative: under-triage."""
        return URGENCY.index(self.triage) - URGENCY.index(self.vignette.triage)


def ranked(results: Iterable[VignetteResult]) -> list[VignetteResult]:
    """The results whose final diagnosis is a cause of the model: the ranking can only be right on these."""
    return [r for r in results if not r.vignette.outside]


@dataclass(frozen=True)
class Scores:
    """Accuracy over a vignette suite."""

    results: tuple[VignetteResult, ...]
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def ranked(self) -> list[VignetteResult]:
        """The results that count for the ranking measures (see :func:`ranked`)."""
        return ranked(self.results)

    @classmethod
    def of(cls, results: Iterable[VignetteResult]) -> "Scores":
        results = tuple(results)
        n = len(results)
        inside = ranked(results)
        urgent = [r for r in results if r.vignette.triage in ("urgent", "emergency")]
        share = (lambda hits: sum(hits) / len(inside)) if inside else (lambda hits: float("nan"))
        summary = {
            "vignettes": n,
            "outside": n - len(inside),
            "top1": share(r.top1 for r in inside),
            "final_top3": share(r.final_top3 for r in inside),
            "top3": share(r.top3 for r in inside),
            "triage_exact": sum(r.triage_delta == 0 for r in results) / n,
            "triage_safe": sum(r.triage_delta >= 0 for r in results) / n,
            "under_triage": sum(r.triage_delta < 0 for r in results),
            "over_triage": sum(r.triage_delta > 0 for r in results),
            "urgent_cases": len(urgent),
            "urgent_under_triaged": sum(r.triage_delta < 0 for r in urgent),
        }
        return cls(results, summary)


def score_vignettes(model, vignettes: Iterable[Vignette]) -> Scores:
    """Run every vignette through ``model`` (a :class:`popliteal.api.Model`) and score it."""
    results = []
    for v in vignettes:
        result = model.query(v.evidence)
        diff = differential(result.posterior)
        results.append(VignetteResult(v, tuple(name for name, _ in diff), dict(result.probabilities),
                                      result.triage.level, dict(diff)))
    return Scores.of(results)


#: Bins of the leading cause's probability in the reliability table.
RELIABILITY_EDGES = (0.0, 0.3, 0.5, 0.7, 0.85, 1.0)


def reliability(results: Iterable[VignetteResult], edges: Sequence[float] = RELIABILITY_EDGES) -> list[dict[str, float]]:
    """How often the leading cause is right, by the probability the model gave it.

    One row per bin of the leading cause's score (the differential's, as the ranking uses):
    the number of vignettes, their mean score and the share whose leading cause is correct. A
    well-calibrated model is right about as often as it says; right less often is
    over-confidence. The last bin includes its upper edge.
    """
    results = ranked(results)
    rows = []
    for i, (low, high) in enumerate(zip(edges, edges[1:])):
        last = i == len(edges) - 2
        chosen = [r for r in results if low <= r.scores[r.leading] < high or (last and r.scores[r.leading] == high)]
        n = len(chosen)
        rows.append({"low": low, "high": high, "cases": n,
                     "mean_probability": sum(r.scores[r.leading] for r in chosen) / n if n else float("nan"),
                     "correct": sum(r.top1 for r in chosen) / n if n else float("nan")})
    return rows


def confusion(scores: Scores) -> "Any":
    """A pandas crosstab of expected (first listed) against predicted leading cause (causes of the model only)."""
    import pandas as pd

    expected = [r.vignette.leading[0] for r in scores.ranked]
    predicted = [r.leading for r in scores.ranked]
    return pd.crosstab(pd.Series(expected, name="expected"), pd.Series(predicted, name="model"))


# ---------------------------------------------------------------------------
# Wells calibration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WellsCase:
    """A patient described by Wells items, with the stratum's published DVT prevalence."""

    name: str
    points: int
    stratum: str
    evidence: dict[str, str]


def load_wells_cases(path: str | Path) -> tuple[dict[str, dict], list[WellsCase]]:
    """Read the Wells calibration file: strata with prevalences and the cases."""
    from ..common.safeyaml import load_file

    doc = load_file(path)
    strata = doc["strata"]
    cases = [WellsCase(c["name"], int(c["points"]), c["stratum"], {k: str(v) for k, v in c["evidence"].items()})
             for c in doc["cases"]]
    for c in cases:
        if c.stratum not in strata:
            raise ValueError(f"{Path(path).name}: cases.{c.name}.stratum: unknown stratum {c.stratum!r}")
    return strata, cases


def wells_calibration(model, cases: Iterable[WellsCase]) -> list[dict[str, Any]]:
    """P(dvt) of each Wells case."""
    return [{"name": c.name, "points": c.points, "stratum": c.stratum,
             "p_dvt": model.posterior(c.evidence).probabilities["dvt"]} for c in cases]


# ---------------------------------------------------------------------------
# Sensitivity to the priors
# ---------------------------------------------------------------------------


def sensitivity(model, vignettes: Iterable[Vignette]) -> "Any":
    """How far each prior moves each vignette's expected leading cause.

    Every parameter is set in turn to the low and the high end of its range
    (all others at their values); the engine answers all 2 x n_parameters
    variants of one vignette in one batched pass. Returns a tidy frame with
    one row per (vignette, parameter): ``p_low``, ``p_high``, ``p_base`` and
    ``swing = |p_high - p_low|``.
    """
    import pandas as pd

    priors = model.priors
    nodes = [priors.nodes[n] for n in structure.NAMES]
    params = [(node, i, par) for node in nodes for i, par in enumerate(node.parameters) if par.high > par.low]
    n_var = 2 * len(params)
    tables = {}
    for node in nodes:
        values = np.array([p.value for p in node.parameters])
        tiled = np.tile(values, (n_var, 1))
        for k, (other, i, par) in enumerate(params):
            if other is node:
                tiled[2 * k, i] = par.low
                tiled[2 * k + 1, i] = par.high
        tables[node.node] = node.rebuild(tiled)
    engine = Engine(carry(tables, priors.tables, model.engine.tables), batched_tables=True)
    rows = []
    for v in vignettes:
        if v.outside:  # no cause of the model to move
            continue
        target = v.leading[0]
        ev = from_mapping(v.evidence)
        marg, p_e = engine.marginals(ev.likelihoods(), [target], batch=n_var)
        base = model.posterior(ev).probabilities[target]
        probs = marg[target][:, 0]
        for k, (node, _, par) in enumerate(params):
            lo, hi = probs[2 * k], probs[2 * k + 1]
            rows.append({"vignette": v.id, "cause": target, "parameter": par.name, "node": node.node,
                         "evidence_type": par.evidence, "p_base": base, "p_low": float(lo), "p_high": float(hi),
                         "swing": float(abs(hi - lo)) if np.isfinite(lo) and np.isfinite(hi) else float("nan")})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Triage of simulated presenters (the model's own world)
# ---------------------------------------------------------------------------

#: Causes that get better on their own: a presenter with only these should be able to reach self-care.
SELF_LIMITING = ("growing_pains", "hamstring_tendinopathy", "popliteus_tendinopathy")
#: Questions about the calf that decide a suspected thrombosis (NICE NG158: a swollen or painful leg).
CALF_QUESTIONS = ("calf_swelling", "calf_tenderness", "calf_pain")


def simulate_triage(model, n: int, rng: np.random.Generator, answered: float = 1.0,
                    always_ask: Iterable[str] = ()) -> "Any":
    """Triage of ``n`` presenters drawn from the network, shown only risk factors and findings.

    Each presenter's causes are drawn with everything else (ancestral sampling); the model then
    sees every risk factor and finding (``answered=1``) or each with probability ``answered``,
    plus the ``always_ask`` questions. This tests the triage policy against the model's own
    assumptions, not real-world accuracy.

    Returns a frame with one row per presenter: the true state of each cause, ``age_group``,
    ``asked`` (how many questions were answered), whether the calf was asked about,
    ``self_care_blocked`` (a self-care rule's positive pattern was reported, but each such rule is
    closed by a warning sign or exclusion that was reported too), the ``triage`` level and the
    ids of the ``rules`` that set it.
    """
    import pandas as pd

    from ..engine.sampling import draw_states
    from .scoring import score_frame, triage_rows

    drawn = draw_states(model, n, rng)
    askable = [name for name in structure.NAMES
               if structure.BY_NAME[name].kind in (structure.RISK_FACTOR, structure.FINDING)]
    always = set(always_ask)
    cells = {}
    for name in askable:
        states = np.array(structure.BY_NAME[name].states, dtype=object)
        keep = rng.random(n) < answered if name not in always else np.ones(n, dtype=bool)
        cells[name] = np.where(keep, states[drawn[name]], "")
    frame = pd.DataFrame(cells)
    scored = score_frame(model, frame)
    out = pd.DataFrame({t: drawn[t] == 0 for t in structure.TARGETS})
    out["age_group"] = np.array(structure.AGE_GROUPS, dtype=object)[drawn["age_group"]]
    out["recent_trauma"] = drawn["recent_trauma"] == 0
    out["asked"] = (frame != "").sum(axis=1).to_numpy()
    out["calf_asked"] = (frame[list(CALF_QUESTIONS)] != "").any(axis=1).to_numpy()
    out["findings_asked"] = (frame[list(structure.FINDINGS)] != "").any(axis=1).to_numpy()
    out["self_care_blocked"] = _self_care_blocked(frame, model.priors.triage)
    out["triage"] = scored["triage"].to_numpy()
    probs = scored[[f"p_{t}" for t in structure.TARGETS]].to_numpy(dtype=float)
    levels, rules = triage_rows(probs, {k: v.astype(object) for k, v in cells.items()}, model.priors.triage)
    if not np.array_equal(levels, out["triage"].to_numpy()):  # pragma: no cover - the same policy twice
        raise AssertionError("the rules do not give the levels the scoring gave")
    out["rules"] = rules
    return out


def _self_care_blocked(frame, policy) -> np.ndarray:
    """Per row: a self-care rule's positive pattern is reported, but every such rule is closed by an exclusion."""
    soft = policy.soft_evidence_threshold
    rules = [([c for c in r.when if c.kind == "evidence"], [c for c in r.when if c.kind == "no_evidence_of"])
             for r in policy.rules if r.level == "self_care"]
    out = np.zeros(len(frame), dtype=bool)
    for i, row in enumerate(frame.to_dict("records")):
        ev = {k: v for k, v in row.items() if v}
        matched = [excl for pattern, excl in rules if all(holds(c, {}, ev, "", soft) for c in pattern)]
        out[i] = bool(matched) and not any(all(holds(c, {}, ev, "", soft) for c in excl) for excl in matched)
    return out


def _only_self_limiting(sim):
    """Presenters of a :func:`simulate_triage` frame whose every true cause is self-limiting (at least one)."""
    causes = sim[list(structure.TARGETS)]
    return causes[list(SELF_LIMITING)].any(axis=1) & ~causes.drop(columns=list(SELF_LIMITING)).any(axis=1)


def self_limiting_referrals(sim) -> list[tuple[str, int, float]]:
    """Where presenters whose only cause is self-limiting were sent, and why.

    Each such presenter is counted once, under the first of: self-care; a rule above
    ``doctor`` fired (a warning sign or a same-day rule, such as a leak of the calf findings);
    pain that persists (the seed sends it to a doctor); the positive pattern of a self-care rule
    reported together with one of its warning signs or exclusions; no rule at all (no positive
    self-limiting pattern, which self-care needs); another ``doctor`` rule. Returns
    ``[(reason, count, share of those presenters)]`` in that order.
    """
    rows = sim[_only_self_limiting(sim)]
    keys = ("self-care", "urgent or emergency: a warning sign or a same-day rule",
            "doctor: pain that persists (the seed: see a doctor)",
            "doctor: the self-care pattern, but with a warning sign or exclusion reported",
            "doctor: no rule fired (no positive self-limiting pattern)", "doctor: another rule")
    counts = dict.fromkeys(keys, 0)
    for level, rules, blocked in zip(rows["triage"], rows["rules"], rows["self_care_blocked"]):
        if level == "self_care":
            key = keys[0]
        elif level in ("urgent", "emergency"):
            key = keys[1]
        elif "persistent_pain" in rules:
            key = keys[2]
        elif blocked:
            key = keys[3]
        elif rules == ("default",):
            key = keys[4]
        else:
            key = keys[5]
        counts[key] += 1
    n = max(len(rows), 1)
    return [(k, c, c / n) for k, c in counts.items()]


def triage_summary(sim) -> dict[str, float]:
    """The clinical review's measures on a :func:`simulate_triage` frame."""
    urgent = sim["triage"].isin(["urgent", "emergency"])
    dangerous = sim["dvt"] | sim["pulmonary_embolism"]
    causes = sim[list(structure.TARGETS)]
    only_self_limiting = _only_self_limiting(sim)
    no_cause = ~causes.any(axis=1)
    old = sim["age_group"] == "over_60"
    calf = dangerous & sim["calf_asked"]

    def share(mask, of):
        return float((mask & of).sum() / of.sum()) if of.sum() else float("nan")

    return {
        "presenters": int(len(sim)),
        "dvt_or_pe": int(dangerous.sum()),
        "dvt_or_pe_below_urgent": share(~urgent, dangerous),
        "dvt_or_pe_below_urgent_calf_asked": share(~urgent, calf),
        "dvt_or_pe_sent_home": share(sim["triage"] == "self_care", dangerous),
        "only_self_limiting": int(only_self_limiting.sum()),
        "only_self_limiting_sent_to_doctor": share(sim["triage"] != "self_care", only_self_limiting),
        "no_modelled_cause_urgent": share(urgent, no_cause),
        # the Ottawa knee rule sends every over-60 after trauma for an X-ray: left out here
        "over_60_no_findings_urgent": share(urgent, old & ~sim["findings_asked"] & ~sim["recent_trauma"]),
    }
