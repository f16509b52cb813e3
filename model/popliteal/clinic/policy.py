"""From posteriors to a triage level and the advice that fits.

The whole policy is data: the rules and thresholds live in ``priors/triage.yaml``
and every advice text in ``priors/advice.yaml``, each with its source. This
module only evaluates them: every rule whose conditions hold fires, the most
urgent level reached wins (a self-care rule counts only when nothing more
urgent fires), and the advice shown is the advice of the rules that fired and
of the entries whose own conditions hold, at the levels each entry allows. So
the advice never contradicts the level it sits under.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..network import structure
from ..present.result import Result
from ..engine.inference import Posterior
import numpy as np

from ..engine.evidence import AGE, SET_SEPARATOR
from ..network.priors import AGE_CONDITIONS, LEVELS, POSTERIOR_CONDITIONS, AdviceItem, Condition, Rule, TriagePolicy


@dataclass(frozen=True)
class Triage:
    """A triage level with the reasons that set it, the ids of the rules behind them and what it asks."""

    level: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...] = ()
    #: What the level asks the patient to do (``levels.words`` of ``triage.yaml``).
    words: str = ""


@dataclass(frozen=True)
class Assessment(Result):
    """A posterior with its triage and advice: what the CLI and the notebooks show.

    Attributes
    ----------
    posterior : Posterior
    triage : Triage
    advice : tuple of str
    warnings : tuple of str
        Notes on the evidence (such as a conflict between its pieces).
    advice_ids : tuple of str
        The id in ``priors/advice.yaml`` of each advice line, in the same order.
    incidental_shown, incidental_heading : float, str
        From which probability, and under which heading, the text table lists the conditions
        probably present but likely not the cause (``incidental`` of ``triage.yaml``).
    """

    posterior: Posterior
    triage: Triage
    advice: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    advice_ids: tuple[str, ...] = field(default=())
    incidental_shown: float = 0.2
    incidental_heading: str = ""

    @property
    def evidence(self) -> dict[str, str]:
        return self.posterior.evidence

    @property
    def probabilities(self) -> dict[str, float]:
        return self.posterior.probabilities

    @property
    def ranking(self) -> list[str]:
        return self.posterior.ranking

    @property
    def frame(self):
        """The posterior's tidy frame (one row per cause)."""
        return self.posterior.frame

    figure = "plot_posteriors"

    def to_dict(self) -> dict:
        """The contract's JSON object."""
        out = {
            "evidence": dict(self.posterior.evidence),
            "posteriors": {k: self.posterior.probabilities[k] for k in self.posterior.ranking},
            "ranking": self.posterior.ranking,
            "triage": {"level": self.triage.level, "reasons": list(self.triage.reasons),
                       "rules": list(self.triage.rules)},
            "advice": list(self.advice),
            "advice_ids": list(self.advice_ids),
            "priors_digest": self.posterior.digest,
        }
        if self.posterior.incidental:
            out["incidental"] = dict(self.posterior.incidental)
        if self.posterior.outside_model is not None:
            out["outside_model"] = self.posterior.outside_model
        if self.posterior.age_years is not None:
            out["age_years"] = self.posterior.age_years
        if self.posterior.intervals is not None:
            out["intervals"] = {k: list(v) for k, v in self.posterior.intervals.items()}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def table(self) -> str:
        """A readable text table: causes most probable first, then triage and advice."""
        lines = [evidence_line(self.posterior), ""]
        width = max(len(n) for n in structure.TARGETS)
        lines.append(f"{'cause':<{width}}  probability")
        for name in self.posterior.ranking:
            p = self.posterior.probabilities[name]
            bar = "#" * int(round(p * 30))
            extra = ""
            if self.posterior.intervals is not None:
                lo, hi = self.posterior.intervals[name]
                extra = f"  [{lo:6.1%} – {hi:6.1%}]"
            lines.append(f"{name:<{width}}  {p:7.1%}{extra}  {bar}")
        lines.append("(each: the probability that this condition is causing the pain; several can be at once,"
                     " so they need not add up to 100%)")
        if self.posterior.outside_model is not None:
            lines.append(f"{'none of these':<{width}}  {self.posterior.outside_model:7.1%}"
                         "  (that none of them causes the pain: a cause outside the model)")
        shown = {k: v for k, v in self.posterior.incidental.items() if v >= self.incidental_shown}
        if shown:
            lines.append("")
            lines.append(self.incidental_heading or "Incidental (likely not the cause of this pain):")
            for name, value in shown.items():
                lines.append(f"  {name:<{width}}  {value:7.1%}")
        lines.append("")
        lines.append(f"Triage: {self.triage.level}" + (f" — {self.triage.words}" if self.triage.words else ""))
        for reason in self.triage.reasons:
            lines.append(f"  - {reason}")
        for warning in self.warnings:
            lines.append(f"Warning: {warning}")
        lines.append("")
        lines.append("Advice:")
        for item in self.advice:
            lines.append(f"  - {item}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(n)}</td><td style='text-align:right'>{self.probabilities[n]:.1%}</td></tr>"
            for n in self.ranking
        )
        ev = escape(", ".join(f"{k}={v}" for k, v in self.evidence.items()) or "none")
        advice = "".join(f"<li>{escape(a)}</li>" for a in self.advice)
        if self.posterior.outside_model is not None:
            rows += (f"<tr><td><i>none of these</i></td>"
                     f"<td style='text-align:right'><i>{self.posterior.outside_model:.1%}</i></td></tr>")
        return (f"<div><b>Evidence:</b> {ev}<table><tr><th>cause</th><th>P(yes)</th></tr>{rows}</table>"
                f"<b>Triage:</b> {escape(self.triage.level)}<ul>{advice}</ul>"
                f"<small>priors digest {escape(self.posterior.digest)}</small></div>")


def reported(value: str | None, states: frozenset[str] | set[str], soft_threshold: float) -> bool:
    """Whether an evidence value (as in ``Evidence.as_dict``) reports one of ``states``.

    A sure state reports itself; a set ``a|b`` reports each member; soft evidence ``s:L`` reports
    ``s`` (or each member of a set ``a|b:L``) when ``L`` reaches ``soft_threshold`` and the other
    states when ``1 - L`` does (``yes:0.5``, unsure, reports both).
    """
    if value is None:
        return False
    if ":" in value:
        state, _, lik_text = value.partition(":")
        lik = float(lik_text)
        members = set(state.split(SET_SEPARATOR))
        if members & set(states) and lik >= soft_threshold:
            return True
        # the other states get likelihood 1 - L: they are reported when that reaches the threshold
        return bool(set(states) - members) and 1.0 - lik >= soft_threshold
    return any(s in states for s in value.split(SET_SEPARATOR))


def evidence_line(posterior: Posterior) -> str:
    """The first line of a text answer: the evidence as given, with the age in years beside its band."""
    if not posterior.evidence:
        return "Evidence: none (prior probabilities)"
    years = posterior.age_years
    return "Evidence: " + ", ".join(f"{k}={v}" + (f" (age {years:g})" if k == "age_group" and years is not None else "")
                                    for k, v in posterior.evidence.items())


def age_known(kind: str, years: str | None, group: str | None, limit: float, soft: float) -> bool:
    """Whether the evidence shows the patient at least (``age_at_least``) or below (``age_below``) ``limit`` years.

    The age in years decides when it was given; otherwise every reported ``age_group`` must lie
    on that side of ``limit`` (``over_60`` is at least 55, ``adult`` is neither known to be at
    least 55 nor below it). With no age known, neither holds.
    """
    if years:
        return float(years) >= limit if kind == "age_at_least" else float(years) < limit
    if not group:
        return False
    states = [s for s in structure.AGE_GROUP_FROM if reported(group, {s}, soft)]
    if kind == "age_at_least":
        return bool(states) and all(structure.AGE_GROUP_FROM[s] >= limit for s in states)
    return bool(states) and all(structure.AGE_GROUP_BELOW[s] <= limit for s in states)


def facts(posterior: Posterior) -> dict[str, str]:
    """The evidence the policy reads: the posterior's evidence and, when given, the age in years."""
    ev = dict(posterior.evidence)
    if posterior.age_years is not None:
        ev[AGE] = repr(posterior.age_years)
    return ev


def holds(cond: Condition, p: dict[str, float], ev: dict[str, str], leader: str, soft: float) -> bool:
    """Whether one condition of ``triage.yaml`` or ``advice.yaml`` holds for a patient."""
    kind, items = cond.kind, cond.items
    if kind == "evidence":
        return all(reported(ev.get(n), s, soft) for n, s in items)
    if kind == "evidence_any":
        return any(reported(ev.get(n), s, soft) for n, s in items)
    if kind == "no_evidence_of":
        return not any(reported(ev.get(n), s, soft) for n, s in items)
    if kind == "unanswered":
        return all(n not in ev for n in items)
    if kind == "posterior_at_least":
        return all(p[c] >= t for c, t in items)
    if kind == "posterior_any_at_least":
        return any(p[c] >= t for c, t in items)
    if kind == "posterior_below":
        return all(p[c] < t for c, t in items)
    if kind == "posterior_sum_at_least":
        return all(sum(p[c] for c in causes) >= t for causes, t in items)
    if kind == "leading":
        return leader in items
    if kind in AGE_CONDITIONS:
        return age_known(kind, ev.get(AGE), ev.get("age_group"), items[0], soft)
    raise AssertionError(f"unknown condition {kind}")  # pragma: no cover - the loader refuses it


def thresholds_in_play(policy: TriagePolicy | None, cases) -> list[tuple[Rule, str, float]]:
    """The probability thresholds of ``policy`` whose evidence conditions hold in some case.

    Each is ``(rule, cause, threshold)`` of a ``posterior_at_least`` or
    ``posterior_any_at_least`` condition; the figures of a sweep or a trajectory draw
    them beside the lines they bear on.
    """
    if policy is None:
        return []
    found = []
    for rule in policy.rules:
        on_evidence = [c for c in rule.when if c.kind not in POSTERIOR_CONDITIONS and c.kind != "leading"]
        if not any(all(holds(c, {}, case, "", policy.soft_evidence_threshold) for c in on_evidence)
                   for case in cases):
            continue
        found += [(rule, cause, threshold) for cond in rule.when
                  if cond.kind in ("posterior_at_least", "posterior_any_at_least")
                  for cause, threshold in cond.items]
    return found


def _reason(rule: Rule, p: dict[str, float]) -> str:
    shown = [f"P({x}) = {p[x]:.1%}" for cond in rule.when if cond.kind in POSTERIOR_CONDITIONS
             for c, _ in cond.items for x in (c if isinstance(c, tuple) else (c,))]
    return f"{rule.id}: {rule.reason}" + (f" ({', '.join(shown)})" if shown else "")


def condition_threshold(rule: Rule, cond: Condition, soft: float) -> float:
    """The likelihood from which soft evidence reports a state, for one condition of one rule.

    An unsure answer (``L`` at the threshold, 0.5) reports both states, so that it fires a warning
    rule and blocks self-care; the positive pattern a self-care rule asks for (its ``evidence`` and
    ``evidence_any``) needs more than that, an answer that leans to it.
    """
    if rule.level == "self_care" and cond.kind in ("evidence", "evidence_any"):
        return float(np.nextafter(soft, 1.0))
    return soft


def fired_rules(posterior: Posterior, policy: TriagePolicy) -> tuple[Rule, ...]:
    """Every rule of the policy whose conditions all hold, in file order."""
    p, ev, leader = posterior.probabilities, facts(posterior), posterior.ranking[0]
    soft = policy.soft_evidence_threshold
    return tuple(r for r in policy.rules
                 if all(holds(c, p, ev, leader, condition_threshold(r, c, soft)) for c in r.when))


def triage(posterior: Posterior, policy: TriagePolicy, fired: tuple[Rule, ...] | None = None) -> Triage:
    """Return the most urgent level a rule reaches, with every reason at that level."""
    fired = fired_rules(posterior, policy) if fired is None else fired
    p = posterior.probabilities
    words = dict(policy.level_words)
    for level in LEVELS:
        at = [r for r in fired if r.level == level]
        if at:
            return Triage(level, tuple(_reason(r, p) for r in at), tuple(r.id for r in at), words.get(level, ""))
    d = policy.default
    return Triage(d.level, (f"{d.id}: {d.reason}",), (d.id,), words.get(d.level, ""))


def _text(item: AdviceItem, ev: dict[str, str], soft: float) -> str | None:
    if not item.signs:
        return item.text
    missing = [words for name, words in item.signs if not reported(ev.get(name), {"yes"}, soft)]
    if not missing:
        return None
    signs = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " or " + missing[-1]
    return item.text.replace("{signs}", signs)


def advice(posterior: Posterior, level: str, policy: TriagePolicy,
           fired: tuple[Rule, ...] | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The advice texts and their ids: what the fired rules bring and what its own conditions show."""
    fired = fired_rules(posterior, policy) if fired is None else fired
    p, ev, leader = posterior.probabilities, facts(posterior), posterior.ranking[0]
    soft = policy.soft_evidence_threshold
    brought = {a for r in fired for a in r.advice}
    if not any(r.level == level for r in fired):
        brought |= set(policy.default.advice)
    texts, ids = [], []
    for item in policy.advice:
        if level not in item.levels:
            continue
        shown = item.id in brought or (
            item.show_when is not None and all(holds(c, p, ev, leader, soft) for c in item.show_when))
        if not shown or any(holds(c, p, ev, leader, soft) for c in item.hide_when):
            continue
        text = _text(item, ev, soft)
        if text is not None:
            texts.append(text)
            ids.append(item.id)
    return tuple(texts), tuple(ids)


def assess(posterior: Posterior, policy: TriagePolicy, warnings: tuple[str, ...] = ()) -> Assessment:
    """Triage and advice for a posterior."""
    fired = fired_rules(posterior, policy)
    t = triage(posterior, policy, fired)
    texts, ids = advice(posterior, t.level, policy, fired)
    return Assessment(posterior=posterior, triage=t, advice=texts, warnings=warnings, advice_ids=ids,
                      incidental_shown=policy.incidental_shown, incidental_heading=policy.incidental_heading)


# ---------------------------------------------------------------------------
# The same policy over many cases at once (batch scoring)
# ---------------------------------------------------------------------------


def _reported_many(values: np.ndarray, states: frozenset[str], soft: float) -> np.ndarray:
    """:func:`reported` for an array of evidence texts (``""`` where unobserved), each distinct text once."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    hits = np.array([bool(u) and reported(u, states, soft) for u in uniques] + [False], dtype=bool)
    return hits[np.where(codes < 0, len(uniques), codes)]


def _holds_many(cond: Condition, probs: np.ndarray, shown: dict, leader: np.ndarray, soft: float,
                cache: dict) -> np.ndarray:
    """:func:`holds` for ``n`` cases at once: a boolean array."""
    n = len(probs)
    col = {t: j for j, t in enumerate(structure.TARGETS)}

    def rep(name, states):
        key = (name, states, soft)
        if key not in cache:
            cache[key] = (_reported_many(shown[name], states, soft) if name in shown
                          else np.zeros(n, dtype=bool))
        return cache[key]

    kind, items = cond.kind, cond.items
    if kind == "evidence":
        return np.logical_and.reduce([rep(name, s) for name, s in items])
    if kind == "evidence_any":
        return np.logical_or.reduce([rep(name, s) for name, s in items])
    if kind == "no_evidence_of":
        return ~np.logical_or.reduce([rep(name, s) for name, s in items])
    if kind == "unanswered":
        return np.logical_and.reduce([shown[name] == "" if name in shown else np.ones(n, dtype=bool)
                                      for name in items])
    if kind == "posterior_at_least":
        return np.logical_and.reduce([probs[:, col[c]] >= t for c, t in items])
    if kind == "posterior_any_at_least":
        return np.logical_or.reduce([probs[:, col[c]] >= t for c, t in items])
    if kind == "posterior_below":
        return np.logical_and.reduce([probs[:, col[c]] < t for c, t in items])
    if kind == "posterior_sum_at_least":
        return np.logical_and.reduce([sum(probs[:, col[c]] for c in causes) >= t for causes, t in items])
    if kind == "leading":
        return np.isin(leader, [col[c] for c in items])
    if kind in AGE_CONDITIONS:  # each distinct (years, age group) pair once
        import pandas as pd

        blank = np.full(n, "", dtype=object)
        pairs = pd.MultiIndex.from_arrays([pd.Series(shown.get(AGE, blank), dtype=object),
                                           pd.Series(shown.get("age_group", blank), dtype=object)])
        codes, uniques = pd.factorize(pairs)
        hits = np.array([age_known(kind, years, group, items[0], soft) for years, group in uniques] + [False],
                        dtype=bool)
        return hits[codes]
    raise AssertionError(f"unknown condition {kind}")  # pragma: no cover - the loader refuses it


def triage_many(probs: np.ndarray, shown: dict, policy: TriagePolicy) -> tuple[np.ndarray, np.ndarray]:
    """The triage of ``n`` cases at once, exactly as :func:`triage` gives it case by case.

    Parameters
    ----------
    probs : numpy.ndarray
        ``(n, len(structure.TARGETS))``: ``P(target = yes | evidence)`` per case.
    shown : mapping of str to numpy.ndarray
        The evidence per variable as ``Evidence.as_dict`` writes it (``""`` where unobserved),
        and under :data:`AGE` the age in years as text where it was given.

    Returns
    -------
    levels : numpy.ndarray of str, shape (n,)
    fired : numpy.ndarray of bool, shape (n, len(policy.rules))
        Which rules fired for each case.
    """
    probs = np.asarray(probs, dtype=float)
    n = len(probs)
    shown = {k: np.asarray(v, dtype=object) for k, v in shown.items()}
    # the leading cause: the first maximum in structure order, as Posterior.ranking breaks ties
    leader = np.argmax(probs, axis=1) if n else np.zeros(0, dtype=int)
    cache: dict = {}
    soft = policy.soft_evidence_threshold
    fired = np.ones((n, len(policy.rules)), dtype=bool)
    for j, rule in enumerate(policy.rules):
        for cond in rule.when:
            fired[:, j] &= _holds_many(cond, probs, shown, leader, condition_threshold(rule, cond, soft), cache)
    levels = np.full(n, policy.default.level, dtype=object)
    decided = np.zeros(n, dtype=bool)
    for level in LEVELS:
        at = np.array([r.level == level for r in policy.rules], dtype=bool)
        hit = fired[:, at].any(axis=1) & ~decided
        levels[hit] = level
        decided |= hit
    return levels, fired
