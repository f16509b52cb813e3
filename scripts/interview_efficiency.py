"""How many questions the interview needs on the vignettes, against asking in a fixed order.

For every vignette in ``tests/vignettes`` the *target* is the model's own answer on the
vignette's full evidence: its leading cause and its triage level. Two strategies then
collect the same evidence one answer at a time, starting from nothing:

- **interview**: ``popliteal interview``'s logic (:class:`popliteal.clinic.interview.Interview`)
  asks its best question; the answer is taken from the vignette, and a variable the
  vignette does not mention is skipped (it is not asked again). It runs until it stops
  by itself (settled, or nothing left worth asking).
- **fixed order**: the vignette's own variables in structure order
  (``popliteal.network.structure.VARIABLES``), all of them answered. This strategy knows which
  variables the vignette mentions, which the interview does not.

"Needed" is the number of answers after which the running leading cause and triage
equal the target and stay equal for every later answer of that strategy. The fixed
order always gets there by its last answer; the interview may stop before (a miss,
reported). "Asked" adds the skipped questions the interview posed on the way.

Run ``python scripts/interview_efficiency.py`` (``--json`` for one JSON object).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "model"))

import popliteal  # noqa: E402
from popliteal.network import structure  # noqa: E402
from popliteal.common import safeyaml
from popliteal.engine.evidence import AGE, from_mapping  # noqa: E402
from popliteal.clinic.interview import SETTLE_PROBABILITY, Interview  # noqa: E402

VIGNETTES = ROOT / "tests" / "vignettes"


def _needed(trace: list[tuple[str, str]], target: tuple[str, str]) -> int | None:
    """Smallest k with ``trace[k:] == target`` throughout; None when the last entry misses."""
    if not trace or trace[-1] != target:
        return None
    k = len(trace) - 1
    while k > 0 and trace[k - 1] == target:
        k -= 1
    return k


def _state(model, evidence) -> tuple[str, str]:
    result = model.query(evidence)
    return result.ranking[0], result.triage.level


def fixed_order(model, evidence) -> dict:
    """Answer the vignette's variables in structure order."""
    names = [n for n in structure.NAMES if n in evidence.names]
    full = evidence.as_items()
    trace = [_state(model, {})]
    for k in range(1, len(names) + 1):
        given = {n: full[n] for n in names[:k]}
        if "age_group" in given and AGE in full:
            given[AGE] = full[AGE]  # the years beside their band, as the full vignette has them
        trace.append(_state(model, given))
    return {"answers": len(names), "needed": _needed(trace, trace[-1])}


def _answers(evidence) -> dict[str, str]:
    """The vignette's answers as typed: an age given in years answers the age question with its years."""
    full = evidence.as_dict()
    if evidence.years is not None:
        full["age_group"] = f"{evidence.years:g}"
    return full


def interview(model, evidence, target, settle_probability: float = SETTLE_PROBABILITY) -> dict:
    """Let the interview ask; answer from the vignette, skip what it does not mention."""
    full = _answers(evidence)
    iv = Interview(model, settle_probability=settle_probability)
    trace = [_state(model, {})]
    asked_at = [0]  # questions posed (answered or skipped) when the k-th answer was given
    posed = 0
    while True:
        status = iv.status()
        if status.reason is not None:
            break
        q = status.question.variable
        posed += 1
        step = iv.answer(q, full[q] if q in full else "skip")
        if step.value is not None:
            trace.append((step.top[0][0], step.triage))
            asked_at.append(posed)
    needed = _needed(trace, target)
    return {"answers": iv.questions_asked, "skipped": iv.questions_skipped, "stopped": status.reason,
            "needed": needed, "asked_to_needed": asked_at[needed] if needed is not None else None,
            "final_matches": trace[-1] == target, "final_triage_matches": trace[-1][1] == target[1],
            "final": list(trace[-1])}


def _summary(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "median": statistics.median(values), "n": len(values)} if values \
        else {"mean": None, "median": None, "n": 0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--vignettes", type=Path, default=VIGNETTES)
    parser.add_argument("--settle-probability", type=float, default=SETTLE_PROBABILITY,
                        help=f"the interview's settle probability (default {SETTLE_PROBABILITY})")
    args = parser.parse_args(argv)
    model = popliteal.load(ROOT / "priors")
    start = time.perf_counter()
    rows = []
    for path in sorted(args.vignettes.glob("*.yaml")):
        doc = safeyaml.load_file(path)
        evidence = from_mapping(doc["evidence"])
        target = _state(model, evidence)
        rows.append({"vignette": doc.get("id", path.stem), "variables": len(evidence), "target": list(target),
                     "expected": {"leading": doc["expected"]["leading"], "triage": doc["expected"]["triage"]},
                     "fixed": fixed_order(model, evidence),
                     "interview": interview(model, evidence, target, args.settle_probability)})
    seconds = time.perf_counter() - start
    reached = [r for r in rows if r["interview"]["needed"] is not None]
    summary = {
        "vignettes": len(rows),
        "fixed_order_needed": _summary([r["fixed"]["needed"] for r in rows]),
        "fixed_order_all_answers": _summary([r["fixed"]["answers"] for r in rows]),
        "interview_reached": len(reached),
        "interview_needed": _summary([r["interview"]["needed"] for r in reached]),
        "interview_asked_to_needed": _summary([r["interview"]["asked_to_needed"] for r in reached]),
        "fixed_order_needed_same_vignettes": _summary([r["fixed"]["needed"] for r in reached]),
        "interview_answers_at_stop": _summary([r["interview"]["answers"] for r in rows]),
        "interview_asked_at_stop": _summary([r["interview"]["answers"] + r["interview"]["skipped"] for r in rows]),
        "interview_final_matches": sum(r["interview"]["final_matches"] for r in rows),
        "interview_final_triage_matches": sum(r["interview"]["final_triage_matches"] for r in rows),
        "settle_probability": args.settle_probability,
        "seconds": seconds,
        "priors_digest": model.digest,
    }
    if args.json:
        print(json.dumps({"summary": summary, "vignettes": rows}, indent=2))
        return 0
    print(f"{'vignette':<48} {'vars':>4} {'fixed':>5}  {'iv need':>7} {'(asked)':>7} {'iv stop':>7}  stopped")
    for r in rows:
        iv = r["interview"]
        need = "-" if iv["needed"] is None else str(iv["needed"])
        asked = "-" if iv["asked_to_needed"] is None else str(iv["asked_to_needed"])
        print(f"{r['vignette']:<48} {r['variables']:>4} {r['fixed']['needed']:>5}  {need:>7} {asked:>7} "
              f"{iv['answers']:>3}+{iv['skipped']:<3}  {iv['stopped']}")

    def fmt(s):
        return "n/a" if s["mean"] is None else f"mean {s['mean']:.2f}, median {s['median']:g} (n={s['n']})"

    print()
    print(f"vignettes: {summary['vignettes']}; settle probability {args.settle_probability:g}; "
          f"priors digest {summary['priors_digest']}; {seconds:.1f} s")
    print(f"fixed order, answers needed:           {fmt(summary['fixed_order_needed'])}")
    print(f"fixed order, all answers:              {fmt(summary['fixed_order_all_answers'])}")
    print(f"interview reached the target in {summary['interview_reached']} of {summary['vignettes']}")
    print(f"interview, answers needed:             {fmt(summary['interview_needed'])}")
    print(f"interview, questions posed (w/ skips): {fmt(summary['interview_asked_to_needed'])}")
    print(f"fixed order on those same vignettes:   {fmt(summary['fixed_order_needed_same_vignettes'])}")
    print(f"interview at its stop: answers {fmt(summary['interview_answers_at_stop'])}; "
          f"posed {fmt(summary['interview_asked_at_stop'])}")
    print(f"interview's final state equals the target in {summary['interview_final_matches']} of {len(rows)} "
          f"(the triage alone in {summary['interview_final_triage_matches']})")
    for r in rows:
        if not r["interview"]["final_matches"]:
            print(f"  missed: {r['vignette']}: target {'/'.join(r['target'])}, "
                  f"interview stopped at {'/'.join(r['interview']['final'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
