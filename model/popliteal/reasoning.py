"""From posteriors to a triage level and the advice that fits.

The thresholds live in ``priors/triage.yaml`` with the reasoning for each;
the advice is the seed article's, cause by cause. The most urgent level whose
rule fires wins, so a likely DVT or pulmonary embolism is never sent home.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import structure
from .inference import Posterior
from .priors import LEVELS, TriagePolicy

PECH = (
    "After a fall or a twist, the PECH rule applies first: Pause (avoid stress on the leg), Ice "
    "(cooling), Compression (light pressure, such as an elastic bandage), Elevation."
)
SEE_DOCTOR_IF_NO_BETTER = (
    "If the pain does not improve after a few days, see a doctor: an MRI can usually confirm the diagnosis."
)

#: Advice of the seed article for each cause, in the order it is shown.
ADVICE: dict[str, tuple[str, ...]] = {
    "pulmonary_embolism": (
        "Shortness of breath or chest pain with a painful or swollen leg can mean a pulmonary "
        "embolism, which is life-threatening: call emergency services now.",
    ),
    "dvt": (
        "A thrombosis of a leg vein is possible: see a doctor as soon as possible, because in the "
        "worst case it can lead to a life-threatening pulmonary embolism.",
        "Call emergency services at once if shortness of breath or chest pain appears.",
    ),
    "epiphysiolysis": (
        "A growth-plate injury (epiphysiolysis) is possible: it needs prompt treatment, otherwise "
        "growth disturbances may occur. See a doctor today.",
    ),
    "bakers_cyst_rupture": (
        "Sudden severe pain with redness and warmth can mean a ruptured Baker's cyst. It looks like "
        "a thrombosis, so a doctor should rule one out the same day (ultrasound).",
    ),
    "meniscus_tear": (PECH, SEE_DOCTOR_IF_NO_BETTER),
    "ligament_injury": (PECH, SEE_DOCTOR_IF_NO_BETTER),
    "bakers_cyst": (
        "A Baker's cyst is mostly harmless. Its cause is usually an irritation of the knee joint "
        "(osteoarthritis, meniscus damage, joint inflammation), which a doctor should look into.",
    ),
    "tibial_nerve_irritation": (
        "The tibial nerve may be irritated (pain when stretching the knee or after long walking, "
        "burning or tingling in the calf): see a doctor to find what constricts it, such as a "
        "Baker's cyst, a joint effusion or fast muscle growth.",
    ),
    "hamstring_tendinopathy": (
        "Take a break from sport for a few days.",
        "For overstrained muscles heat helps (red light, warm compresses); if the tendon is "
        "inflamed, with the back of the knee warm and swollen, cooling makes more sense.",
        "Light stretching does not seem to hurt, though its preventive effect is controversial.",
    ),
    "popliteus_tendinopathy": (
        "Take a break from sport for a few days.",
        "For overstrained muscles heat helps (red light, warm compresses); if the tendon is "
        "inflamed, with the back of the knee warm and swollen, cooling makes more sense.",
        "Light stretching does not seem to hurt, though its preventive effect is controversial.",
    ),
    "other_calf_condition": (
        "A torn calf muscle, cellulitis or an inflamed superficial vein can look like a thrombosis: a "
        "doctor should examine the calf, and an ultrasound may be needed to rule a thrombosis out.",
    ),
    "growing_pains": (
        "Growing pains usually disappear on their own after some time.",
        "See a doctor if the pain persists for a longer time, is unusually severe, or followed a "
        "fall or an accident.",
    ),
}

DVT_SAFETY_NET = (
    "A thrombosis is not ruled out: see a doctor the same day if the calf swells, turns bluish, or hurts "
    "when squeezed, and call emergency services for shortness of breath or chest pain."
)
CHILD_AFTER_TRAUMA_ADVICE = (
    "A child with pain after a fall or an accident should be seen by a doctor."
)
SAFETY_NET = (
    "This is not medical advice. See a doctor if the pain gets worse or does not improve, and call "
    "emergency services for shortness of breath or chest pain."
)

LEVEL_WORDS = {
    "emergency": "call emergency services now",
    "urgent": "see a doctor as soon as possible (today)",
    "doctor": "see a doctor within the next days",
    "self_care": "self-care is reasonable; see a doctor if it does not improve",
}


@dataclass(frozen=True)
class Triage:
    """A triage level with the reasons that set it."""

    level: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """A posterior with its triage and advice: what the CLI and the notebooks show.

    Attributes
    ----------
    posterior : Posterior
    triage : Triage
    advice : tuple of str
    """

    posterior: Posterior
    triage: Triage
    advice: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

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

    def to_dict(self) -> dict:
        """The contract's JSON object."""
        out = {
            "evidence": dict(self.posterior.evidence),
            "posteriors": {k: self.posterior.probabilities[k] for k in self.posterior.ranking},
            "ranking": self.posterior.ranking,
            "triage": {"level": self.triage.level, "reasons": list(self.triage.reasons)},
            "advice": list(self.advice),
            "priors_digest": self.posterior.digest,
        }
        if self.posterior.intervals is not None:
            out["intervals"] = {k: list(v) for k, v in self.posterior.intervals.items()}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def plot(self, ax=None, **kwargs):
        """Bar chart of the posteriors (see :func:`popliteal.plotting.plot_posteriors`)."""
        from .plotting import plot_posteriors

        return plot_posteriors(self, ax=ax, **kwargs)

    def table(self) -> str:
        """A readable text table: causes most probable first, then triage and advice."""
        lines = []
        if self.posterior.evidence:
            lines.append("Evidence: " + ", ".join(f"{k}={v}" for k, v in self.posterior.evidence.items()))
        else:
            lines.append("Evidence: none (prior probabilities)")
        lines.append("")
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
        lines.append("")
        lines.append(f"Triage: {self.triage.level} — {LEVEL_WORDS[self.triage.level]}")
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
        return (f"<div><b>Evidence:</b> {ev}<table><tr><th>cause</th><th>P(yes)</th></tr>{rows}</table>"
                f"<b>Triage:</b> {escape(self.triage.level)}<ul>{advice}</ul></div>")


def triage(posterior: Posterior, policy: TriagePolicy) -> Triage:
    """Return the most urgent level whose rule fires, with every reason at that level."""
    p = posterior.probabilities
    fired: dict[str, list[str]] = {level: [] for level in LEVELS}
    ev = posterior.evidence
    for rule in policy.rules:
        if p[rule.cause] >= rule.threshold and all(ev.get(k) == v for k, v in rule.when.items()):
            given = "".join(f" with {k}={v}" for k, v in rule.when.items())
            fired[rule.level].append(f"P({rule.cause}) = {p[rule.cause]:.1%} reaches the {rule.level} "
                                     f"threshold of {rule.threshold:.0%}{given}")
    for erule in policy.evidence_rules:
        if all(ev.get(k) == v for k, v in erule.when.items()):
            fired[erule.level].append(erule.reason)
    leader = posterior.ranking[0]
    if leader in policy.self_care_causes and p[leader] >= policy.self_care_threshold:
        fired["self_care"].append(
            f"the leading cause, {leader} ({p[leader]:.1%}), is self-limiting and no warning rule fires")
    else:
        fired["doctor"].append(
            f"no self-limiting cause leads with at least {policy.self_care_threshold:.0%}: "
            "an unclear picture needs an examination")
    for level in LEVELS:
        if fired[level]:
            return Triage(level, tuple(fired[level]))
    raise AssertionError("unreachable: the last rule always fires")  # pragma: no cover


def advice(posterior: Posterior, level: str, policy: TriagePolicy) -> tuple[str, ...]:
    """The article's advice for every cause that is likely or leads, most urgent first."""
    p = posterior.probabilities
    leader = posterior.ranking[0]
    items: list[str] = []
    ev = posterior.evidence
    for cause, texts in ADVICE.items():
        if p[cause] >= policy.advice_threshold or cause == leader:
            items.extend(t for t in texts if t not in items)
    if ev.get("recent_trauma") != "yes" and PECH in items:  # the article: "for pain after a fall"
        items.remove(PECH)
    if not any(t in items for t in ADVICE["dvt"]) and p["dvt"] >= policy.dvt_safety_net:
        items.append(DVT_SAFETY_NET)
    if ev.get("recent_trauma") == "yes" and ev.get("age_group") == "child" and CHILD_AFTER_TRAUMA_ADVICE not in items:
        items.insert(0, CHILD_AFTER_TRAUMA_ADVICE)
    items.append(SAFETY_NET)
    return tuple(items)


def assess(posterior: Posterior, policy: TriagePolicy, warnings: tuple[str, ...] = ()) -> Assessment:
    """Triage and advice for a posterior."""
    t = triage(posterior, policy)
    return Assessment(posterior=posterior, triage=t, advice=advice(posterior, t.level, policy), warnings=warnings)
