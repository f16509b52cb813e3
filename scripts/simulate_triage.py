"""Triage of presenters simulated from the network, by true cause (issue 10, the review's §3c).

Draws presenters from the network itself, shows the model only their risk factors and findings
(all of them, or 30% at random, or risk factors only), and reports the triage distribution by
true cause and the measures of the clinical review: true DVT or PE below urgent, presenters
whose only cause is self-limiting sent to a doctor, over-60s sent urgent on risk factors alone.
This checks the policy against the model's own assumptions, not real-world accuracy.

    .venv/bin/python scripts/simulate_triage.py [--n 20000] [--seed 2026]

``scripts/validate.py`` includes the same tables in docs/validation.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "model"))

import popliteal  # noqa: E402
from popliteal.clinic import validation  # noqa: E402
from popliteal.network import structure
from popliteal.network.priors import LEVELS  # noqa: E402

SCENARIOS = {
    "every question answered": dict(answered=1.0),
    "30% of questions answered, calf questions always": dict(answered=0.3,
                                                           always_ask=validation.CALF_QUESTIONS),
    "30% of questions answered": dict(answered=0.3),
    "risk factors only": dict(answered=0.0, always_ask=structure.RISK_FACTORS),
}


def _share(value: float) -> str:
    """A share as a percentage; a dash where the scenario has no such presenter (an empty group)."""
    return "—" if value != value else f"{value:.1%}"


def report(model, n: int, seed: int) -> str:
    """The markdown section: one table of measures, and the triage by true cause when all is answered."""
    lines = ["| scenario | true DVT/PE below urgent | ... with the calf asked | DVT/PE sent home | "
             "only self-limiting, sent to a doctor | over-60s, no findings, no trauma, sent urgent |",
             "| --- | --- | --- | --- | --- | --- |"]
    by_cause = None
    for i, (name, kwargs) in enumerate(SCENARIOS.items()):
        sim = validation.simulate_triage(model, n, np.random.default_rng(seed + i), **kwargs)
        s = validation.triage_summary(sim)
        lines.append(f"| {name} | {_share(s['dvt_or_pe_below_urgent'])} (of {s['dvt_or_pe']}) | "
                     f"{_share(s['dvt_or_pe_below_urgent_calf_asked'])} | {_share(s['dvt_or_pe_sent_home'])} | "
                     f"{_share(s['only_self_limiting_sent_to_doctor'])} (of {s['only_self_limiting']}) | "
                     f"{_share(s['over_60_no_findings_urgent'])} |")
        if by_cause is None:
            by_cause = sim
        if kwargs.get("answered") == 0.0:
            rf_only = sim
    urgent_old = rf_only[(rf_only["age_group"] == "over_60") & ~rf_only["recent_trauma"]
                         & rf_only["triage"].isin(["urgent", "emergency"])]
    if len(urgent_old):
        rules = sorted({r for fired in urgent_old["rules"] for r in fired})
        lines += ["", f"Over-60s sent urgent on risk factors alone (scenario \"risk factors only\"): "
                  f"{len(urgent_old)}, by the rule{'s' if len(rules) > 1 else ''} {', '.join(rules)}; "
                  f"{urgent_old['dvt'].mean():.0%} of them have a DVT in the simulation "
                  f"(against {rf_only['dvt'].mean():.1%} of all presenters)."]
    lines += ["", "Where presenters whose only cause is self-limiting went, every question answered, and why "
              "(each counted once, under the first reason that applies):", "",
              "| where and why | presenters | share |", "| --- | --- | --- |"]
    lines += [f"| {why} | {count} | {share:.1%} |" for why, count, share in validation.self_limiting_referrals(by_cause)]
    lines += ["", f"Triage by true cause, every question answered ({n} presenters; a presenter with two "
              "causes counts under both):", "",
              "| true cause | n | " + " | ".join(LEVELS) + " |", "| --- | --- |" + " --- |" * len(LEVELS)]
    for cause in structure.TARGETS:
        rows = by_cause[by_cause[cause]]
        if len(rows):
            shares = [f"{(rows['triage'] == level).mean():.1%}" for level in LEVELS]
            lines.append(f"| {cause} | {len(rows)} | " + " | ".join(shares) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="presenters per scenario")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    print(report(popliteal.load(ROOT / "priors"), args.n, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
