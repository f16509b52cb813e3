"""Write the validation report: docs/validation.md with figures in docs/figures/.

- the vignette suite (tests/vignettes): top-1 and top-3 accuracy, triage, a confusion table of
  leading causes, every miss listed with the model's top three;
- calibration of P(dvt) against the Wells strata (tests/data/wells_calibration.yaml);
- sensitivity: which priors move the vignettes' expected causes most (a tornado plot), so the
  numbers that most need better sources are known;
- posterior ranges of each vignette's expected cause under the priors' plausible ranges, when
  the uncertainty module is available.

``--update-baseline`` also rewrites tests/data/validation_baseline.json, the regression floor the
test suite holds the model to (like golden.json, changed only on purpose).

Run with ``make validate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "model"))

import matplotlib  # noqa: E402
import yaml  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import popliteal  # noqa: E402
import simulate_triage  # noqa: E402  (scripts/, on the path as this script's folder)
from popliteal.clinic import validation  # noqa: E402
from popliteal.present.figures import style  # noqa: E402

DOCS = ROOT / "docs"
VIGNETTES = ROOT / "tests" / "vignettes"
#: Simulated presenters per scenario in the report.
PRESENTERS = 20_000
WELLS = ROOT / "tests" / "data" / "wells_calibration.yaml"
BASELINE = ROOT / "tests" / "data" / "validation_baseline.json"
MISS_REASONS = ROOT / "tests" / "data" / "miss_reasons.yaml"
COHORT_TITLES = {"in-house-2026-11": "in-house (50)", "published-2026-11": "published cases, 2026-11",
                 "published-2026-12": "published cases, 2026-12", "published-2026-12b": "published cases, 2026-12b",
                 "published-2026-12c": "published cases, 2026-12c",
                 "published-2026-12d": "published cases, 2026-12d",
                 "published-2026-12e": "published cases, 2026-12e",
                 "published-2026-12f": "published cases, 2026-12f",
                 "published-2026-12g": "published cases, 2026-12g",
                 "published-2026-12h": "published cases, 2026-12h",
                 "published-2026-12i": "published cases, 2026-12i",
                 "published-2026-12j": "published cases, 2026-12j",
                 "published-2026-12k": "published cases, 2026-12k",
                 "published-2026-12l": "published cases, 2026-12l",
                 "published-2026-12m": "published cases, 2026-12m",
                 "published-2026-12n": "published cases, 2026-12n",
                 "published-2026-12o": "published cases, 2026-12o",
                 "published-2026-12p": "published cases, 2026-12p"}

#: The model each cohort of an independent tester met: its commit, and what it still lacked.
COHORT_MET = {"published-2026-12": "4cf5499",
              "published-2026-12b": "c6fd61e",
              "published-2026-12c": "the model before the complaint node, e25c82a",
              "published-2026-12d": "bb14b07, before `vein_cord`, `sole_numbness` and `cold_pale_foot`",
              "published-2026-12e": "33970ef, before `anticoagulation`",
              "published-2026-12f": "96ff47d",
              "published-2026-12g": "1fb2f55",
              "published-2026-12h": "96cea03, before `calf_snap_achilles`",
              "published-2026-12i": "45c5dbd",
              "published-2026-12j": "fb7e007",
              "published-2026-12k": "7371edf",
              "published-2026-12l": "a16d35a",
              "published-2026-12m": "fec2daa, the commit that added `lumbar_radiculopathy`, which it was aimed at",
              "published-2026-12n": "f98aef4",
              "published-2026-12o": "22c3eb6",
              "published-2026-12p": "131d8ec"}
#: English words for the cohort counts of the report.
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")


def number_word(n: int) -> str:
    """``n`` as a word up to twenty, as digits beyond."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def cohort_sentence(count: int, shown_dir: str) -> str:
    """The report's paragraph on the cohorts, its counts and commits derived from ``COHORT_TITLES``."""
    published = [c for c in COHORT_TITLES if c.startswith("published-")]
    independent = [c for c in published if c in COHORT_MET]
    first, last = independent[0].removeprefix("published-"), independent[-1].removeprefix("published-")
    fixed = ", ".join(f"`{c}`" for c in published if c not in COHORT_MET)
    met = "; ".join(f"{c.removeprefix('published-')}: {COHORT_MET[c]}" for c in independent)
    return (
        f"{count} vignettes in `{shown_dir}/`, each written from a cited public source. "
        f"{number_word(len(COHORT_TITLES)).capitalize()} cohorts: the in-house cases written with the first "
        f"network (2026-11), and {number_word(len(published))} sets of cases written from published case reports "
        f"and case-based teaching material (cohorts {fixed} and `published-{first}` to `published-{last}`, the "
        f"last {number_word(len(independent))} by independent testers from 2026-12-01 to 2026-12-03), encoded "
        "from the presentation only and committed before the model was run on them (the git history shows it). "
        f"The later cases met the model as it was at that commit ({met}); changes made after reading their "
        "misses are named in `why`, and a case they then fixed no longer counts as unseen.")

#: Published bars (Semigran et al. BMJ 2015;351:h3480 and JAMA Intern Med 2016;176:1860).
BARS = {
    "symptom checkers": {"top1": 0.34, "final_top3": 0.51, "triage_exact": 0.57},
    "physicians": {"top1": 0.721, "final_top3": 0.843, "triage_exact": None},
}


def plot_calibration(rows, strata, path):
    with style():
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        names = list(strata)
        for i, name in enumerate(names):
            s = strata[name]
            ax.errorbar(i - 0.12, s["prevalence"], yerr=[[s["prevalence"] - s["interval"][0]],
                                                         [s["interval"][1] - s["prevalence"]]],
                        fmt="s", color="#333333", capsize=4, label="Wells 2006 (referred, suspected DVT)" if i == 0 else None)
            ps = [r["p_dvt"] for r in rows if r["stratum"] == name]
            ax.scatter([i + 0.12] * len(ps), ps, color="#b2182b", alpha=0.8,
                       label="popliteal, Wells-item cases" if i == 0 else None)
        ax.set_xticks(range(len(names)), [f"{n}\n({strata[n]['points']} points)" for n in names])
        ax.set_ylabel("P(DVT)")
        ax.set_ylim(0, 1)
        ax.set_title("P(dvt) against the Wells strata", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        fig.savefig(path, dpi=140)
        plt.close(fig)


def plot_tornado(frame, path, top=15):
    agg = frame.groupby(["parameter", "evidence_type"], as_index=False)["swing"].mean()
    agg = agg.sort_values("swing", ascending=False).head(top).iloc[::-1]
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 5.2))
        colours = ["#ef8a62" if e == "estimate" else "#67a9cf" for e in agg["evidence_type"]]
        ax.barh(agg["parameter"], agg["swing"], color=colours)
        ax.set_xlabel("mean swing of the expected cause's posterior across vignettes (low → high end of range)")
        ax.set_title("Which priors move the vignettes most (orange: estimates)", fontsize=10)
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=140)
        plt.close(fig)
    return agg.iloc[::-1]


def posterior_ranges(model, vignettes):
    """5th-95th percentile of each vignette's expected cause over prior draws, if available."""
    import inspect

    if "uncertainty" not in inspect.signature(model.query).parameters:
        return None
    out = []
    for v in vignettes:
        if v.outside:
            continue
        result = model.query(v.evidence, uncertainty=300, seed=0)
        cause = v.leading[0]
        lo, hi = result.posterior.intervals[cause]
        out.append((v.id, cause, result.probabilities[cause], lo, hi))
    return out


def _cell(fmt: str, value) -> str:
    """One cell of the measures table; a share of no case (a cohort wholly outside the model) is a dash."""
    return "—" if isinstance(value, float) and value != value else fmt.format(value)


def _shown(folder: Path) -> str:
    """A folder as the report names it: relative to the project when inside it."""
    try:
        return folder.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(folder)


def build(update_baseline: bool = False, docs: Path = DOCS, vignette_dir: Path = VIGNETTES,
          presenters: int = PRESENTERS) -> dict:
    model = popliteal.load(ROOT / "priors")
    vignettes = validation.load_vignettes(vignette_dir)
    scores = validation.score_vignettes(model, vignettes)
    strata, cases = validation.load_wells_cases(WELLS)
    calib = validation.wells_calibration(model, cases)
    sens = validation.sensitivity(model, vignettes)
    figs = docs / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    plot_calibration(calib, strata, figs / "validation-wells.png")
    top_params = plot_tornado(sens, figs / "validation-tornado.png")
    ranges = posterior_ranges(model, vignettes)
    s = scores.summary
    cohorts = sorted({v.cohort for v in vignettes})
    by_cohort = {c: validation.score_vignettes(model, [v for v in vignettes if v.cohort == c]) for c in cohorts}
    reasons = yaml.safe_load(MISS_REASONS.read_text(encoding="utf-8")) if MISS_REASONS.exists() else {}

    lines = [
        "# Validation report",
        "",
        f"Written by `scripts/validate.py` for priors digest `{model.digest}`. Not medical advice: a "
        "model scored on its own vignettes, not a clinical study.",
        "",
        "## Vignettes",
        "",
        cohort_sentence(s['vignettes'], _shown(vignette_dir)) + " The leading "
        "diagnosis is the most specific one (a DVT without embolism scores "
        "P(dvt) − P(PE)). Top-3 is measured two ways: the final diagnosis among the first three (the "
        "published studies' definition, Semigran 2015), and, stricter, every cause the vignette lists (the "
        "final diagnosis and the differentials its source names) among the first three; a DVT counts as "
        "shown when its embolism is. A case whose final diagnosis is no cause of the model (`leading: []`, "
        "for example a septic joint or a popliteal aneurysm) counts for the triage only; the three ranking "
        "measures are shares of the others.",
        "",
        "| measure | " + " | ".join(COHORT_TITLES.get(c, c) for c in cohorts) + " | all | symptom checkers "
        "(Semigran 2015) | physicians (Semigran 2016) |",
        "| --- |" + " --- |" * (len(cohorts) + 3),
    ]
    rows = [("cases", "vignettes", "{:d}", "—", "—"),
            ("of which the final diagnosis is outside the model (triage only)", "outside", "{:d}", "—", "—"),
            ("correct leading cause (top-1)", "top1", "{:.0%}", "34%", "72%"),
            ("final diagnosis in the top 3 (Semigran's top-3)", "final_top3", "{:.0%}", "51%", "84%"),
            ("every listed cause (diagnosis and differentials) in the top 3", "top3", "{:.0%}", "—", "—"),
            ("triage exactly as expected", "triage_exact", "{:.0%}", "57%", "—"),
            ("triage as urgent as expected or more (safe)", "triage_safe", "{:.0%}", "—", "—"),
            ("under-triage of urgent or emergency cases", "urgent_under_triaged", "{:d}", "—", "—"),
            ("over-triage", "over_triage", "{:d}", "—", "—")]
    for label, key, fmt, checker, doctor in rows:
        cells = [_cell(fmt, by_cohort[c].summary[key]) for c in cohorts] + [_cell(fmt, s[key])]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {checker} | {doctor} |")
    lines += [
        "",
        "The issue's goals (top-1 ≥ 90%, top-3 ≥ 97%, no under-triage on the new cases) are **not** met, on either reading of top-3; "
        "the misses below say why. Nothing was tuned to a vignette. The published figures come from other "
        "vignettes (45 general cases) and are a yardstick, not a head-to-head comparison.",
        "",
        "### Misses",
        "",
        "Every vignette whose leading cause, top three or triage differs from the expectation. Scores "
        "are those of the differential; `why` is the reviewer's reading of the miss "
        "(`tests/data/miss_reasons.yaml`, written after the run; empty where none was written yet).",
        "",
        "| vignette | cohort | expected | model's top 3 | triage expected → model | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in scores.results:
        if not ((r.vignette.outside or (r.top1 and r.top3)) and r.triage_delta == 0):
            top = ", ".join(f"{c} {r.scores[c]:.0%}" for c in r.ranking[:3])
            why = reasons.get(r.vignette.id, "")
            lines.append(f"| {r.vignette.id} | {COHORT_TITLES.get(r.vignette.cohort, r.vignette.cohort)} | "
                         f"{', '.join(r.vignette.leading) or 'outside the model'} | {top} | "
                         f"{r.vignette.triage} → {r.triage} | {why} |")
    published = [r for r in scores.results if r.vignette.cohort != validation.IN_HOUSE]
    bins = zip(validation.reliability(scores.results), validation.reliability(published))
    lines += ["", "### Is the model as sure as it is right?", "",
              "The leading cause's probability (its score in the differential) against how often it is the "
              "correct one. Right less often than it says would be over-confidence. The probabilities "
              "are not exclusive (several causes can share the pain, and `none of these` takes the rest), "
              "so a leading cause at 40% that is right 55% of the time is caution, not an error.", "",
              "| leading cause's probability | vignettes | mean probability | leading cause correct "
              "| published cases only | mean probability | correct |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for every, pub in bins:
        cells = [f"{row['cases']}" + "".join(
            f" | {row[k]:.0%}" if row["cases"] else " | —" for k in ("mean_probability", "correct"))
            for row in (every, pub)]
        lines.append(f"| {every['low']:.0%}–{every['high']:.0%} | " + " | ".join(cells) + " |")
    conf = validation.confusion(scores)
    lines += ["", "### Confusion of leading causes (rows: expected, columns: model)", "",
              "| expected \\ model | " + " | ".join(conf.columns) + " |",
              "| --- |" + " --- |" * len(conf.columns)]
    for idx, row in conf.iterrows():
        lines.append(f"| {idx} | " + " | ".join(str(int(x)) if x else "·" for x in row) + " |")
    lines += [
        "",
        "## Triage of simulated presenters",
        "",
        f"Presenters drawn from the network itself (`scripts/simulate_triage.py`, {presenters:,} per scenario, "
        "seed 2026): the model sees only their risk factors and findings. This checks the policy of "
        "`priors/triage.yaml` against the model's own assumptions, not real-world accuracy. Goals of the "
        "triage issue: true DVT or PE below urgent < 2% with the calf questions answered; presenters whose "
        "only cause is self-limiting sent to a doctor ≤ 30%; over-60s sent urgent on risk factors alone ≈ 0.",
        "",
        simulate_triage.report(model, presenters, 2026),
        "",
        "How much the shares move with the draws: on 60,000 presenters per scenario (seed 7, 2026-12-02) the "
        "model of 69f6eb3 and that of ff7e6d9 (growing pains' Peterson exclusions, the vein-cord and Achilles "
        "rules) both sent 2.5% of the true DVTs or PEs below urgent with every question answered (of 1,949; "
        "4.9% and 5.0% with 30% answered and the calf asked), and 85.0% and 83.1% of the only-self-limiting "
        "presenters to a doctor. On 60,000 again (seed 7, 2026-12-03) the model of 7f81a90 and that of 919ca9d "
        "(pregnancy's odds ratios among presenters, the calf-pain and blood-thinner rules) sent 1.4% and 1.6% "
        "below urgent with every question answered (of 1,959 and 1,883; 5.3% and 6.4% with 30% answered and the "
        "calf asked; the lower odds ratios of pregnancy are the likely reason, not measured), "
        "and 85.4% and 85.6% of the only-self-limiting presenters to a doctor. The 20,000 above move within "
        "that noise (1.6-2.3% between runs of the day): the goal of < 2% is met on the larger runs, narrowly, "
        "and the goal of 30% is not.",
        "",
        "Reading: a true DVT below urgent is one without any calf sign or symptom, whose risk factors keep "
        "P(dvt) under 5% (a silent thrombosis, as the network's own finding rates draw it: reaching it "
        "would mean sending patients urgent on risk factors alone, which the triage issue forbids). A true "
        "DVT sent home, where there is one, is such a silent thrombosis drawn beside a self-limiting cause "
        "whose pattern opens self-care (read on digest c57d908386e3629f: a hamstring overload after sport in "
        "an overweight traveller, every calf question answered no, P(dvt) < 0.01%, the same answer as on the "
        "digest before; no question the model asks can find it). The "
        "self-limiting presenters sent to a doctor are broken down above: persisting pain (the seed: see "
        "a doctor if the pain does not improve), a warning sign or exclusion that blocks self-care (since "
        "2026-11-30 every warning sign reported blocks it, whether or not its same-day rule fires), no "
        "positive self-limiting pattern (self-care needs overload and pain after sport, or night pain in "
        "both legs in a child who does not limp), or a same-day sign that the network's leaks put on a "
        "self-limiting presenter; the goal of 30% is not "
        "met, and meeting it would mean dropping one of those safeguards. The over-60s sent urgent on "
        "risk factors alone are those whose combined risk factors make a DVT likely (P(dvt) >= 28%); "
        "about half of them have one, so sending them home would be under-triage.",
        "",
        "## Calibration against the Wells score",
        "",
        "![P(dvt) against the Wells strata](figures/validation-wells.png)",
        "",
        "| case | Wells points | stratum (published prevalence) | model P(dvt) |",
        "| --- | --- | --- | --- |",
    ]
    for r in calib:
        st = strata[r["stratum"]]
        lines.append(f"| {r['name']} | {r['points']} | {r['stratum']} ({st['prevalence']:.0%}) | {r['p_dvt']:.1%} |")
    means = {name: sum(r["p_dvt"] for r in calib if r["stratum"] == name) / max(1, sum(r["stratum"] == name for r in calib))
             for name in strata}
    lines += [
        "",
        "Mean model P(dvt) by stratum: " + ", ".join(f"{k} {v:.1%} (published {strata[k]['prevalence']:.0%})"
                                                     for k, v in means.items()) + ".",
        "",
        "Population difference: the strata describe outpatients referred with suspected DVT (prevalence "
        "13–16%), all with a leg complaint; the model describes everyone seeking help for posterior knee "
        "pain (DVT ≈ 2.5%). A 0-point patient here has no calf sign at all, so the model's P(dvt) is far "
        "below the 5% of the 0-point referrals. From one Wells item on, such a patient would be referred, "
        "and the model comes near the strata; at 3+ points it is somewhat above the pooled 53% (Wells 1997 "
        "reported 75%).",
        "",
        "## Sensitivity: which numbers matter most",
        "",
        "Each prior set in turn to the low and high end of its range; the swing is the change of the "
        "vignette's expected cause. The numbers at the top most need better sources.",
        "",
        "![tornado](figures/validation-tornado.png)",
        "",
        "| parameter | evidence | mean swing |",
        "| --- | --- | --- |",
    ]
    for _, row in top_params.iterrows():
        lines.append(f"| `{row['parameter']}` | {row['evidence_type']} | {row['swing']:.3f} |")
    if ranges is not None:
        lines += ["", "## Posterior ranges under the priors' uncertainty", "",
                  "90% interval of each vignette's expected cause over 300 draws of the priors within their ranges.",
                  "", "| vignette | cause | posterior | 90% interval |", "| --- | --- | --- | --- |"]
        for vid, cause, p, lo, hi in ranges:
            lines.append(f"| {vid} | {cause} | {p:.1%} | {lo:.1%} – {hi:.1%} |")
    (docs / "validation.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}
    summary["by_cohort"] = {c: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in sc.summary.items()}
                            for c, sc in by_cohort.items()}
    if update_baseline:
        BASELINE.write_text(json.dumps({"priors_digest": model.digest, "summary": summary}, indent=1) + "\n")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-baseline", action="store_true",
                        help="also rewrite tests/data/validation_baseline.json")
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for validation.md and figures/")
    parser.add_argument("--vignettes", type=Path, default=VIGNETTES,
                        help="folder of vignettes (default tests/vignettes; another one for a quick run)")
    parser.add_argument("--presenters", type=int, default=PRESENTERS,
                        help=f"simulated presenters per scenario (default {PRESENTERS:,})")
    args = parser.parse_args(argv)
    if args.update_baseline and (args.vignettes.resolve() != VIGNETTES.resolve() or args.presenters != PRESENTERS):
        parser.error("--update-baseline needs the whole suite: no --vignettes or --presenters")
    if args.presenters < 1:
        parser.error(f"--presenters must be at least 1, got {args.presenters}")
    summary = build(args.update_baseline, args.out, args.vignettes, args.presenters)
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'validation.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
