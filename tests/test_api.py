"""The notebook API (compare, sweep, grid, pairs, trajectory) and its result objects.

Oracles: the CLI (``popliteal query --json`` run as a subprocess gives the same
numbers to 1e-12, so the notebooks and the command line can never disagree),
single queries (every case of a batched result equals ``model.query`` of its
evidence), and the contract of a result object (tidy frame, JSON that carries
every number of the frame, HTML naming every cause, a plot on the Agg backend).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import matplotlib
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from popliteal.network import structure
from popliteal.engine.evidence import EvidenceError
from popliteal.engine.inference import ImpossibleEvidence
from popliteal.explore.scenarios import Comparison, Grid, Sweep, Trajectory, batch_posteriors
from test_inference_exact import evidence_strategy
from budget import examples

matplotlib.use("Agg")

SCENARIOS = {
    "65, after a long-haul flight": {"age": 65, "long_travel": "yes"},
    "bump, osteoarthritis": {"popliteal_swelling": "yes", "osteoarthritis": "yes"},
    "soft calf swelling": {"age_group": "adult", "calf_swelling": "yes:0.7", "estrogen_therapy": "yes"},
}
SWEEP_BASE = {"long_travel": "yes", "calf_swelling": "yes"}
AGES = (9, 30, 67)
TRAJECTORY_BASE = {"age": 65}
TRAJECTORY = ["calf_swelling=yes", "calf_tenderness=yes", "redness_warmth=yes"]


def _cli_json_many(cases: list[dict[str, str]]) -> list[dict]:
    """Run ``popliteal query --json`` once per case (two at a time) and parse the output."""
    env = {k: v for k, v in os.environ.items() if k != "POPLITEAL_PRIORS"}
    env["MPLBACKEND"] = "Agg"
    out: list[dict] = []
    for start in range(0, len(cases), 2):
        procs = []
        for case in cases[start:start + 2]:
            args = [a for k, v in case.items() for a in ("-e", f"{k}={v}")]
            procs.append(subprocess.Popen([sys.executable, "-m", "popliteal", "query", *args, "--json"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            out.append(json.loads(stdout))
    return out


def _assert_same_as_cli(result, cli: dict) -> None:
    assert result.evidence == cli["evidence"]
    assert set(result.probabilities) == set(cli["posteriors"])
    for cause, p in cli["posteriors"].items():
        assert abs(result.probabilities[cause] - p) <= 1e-12, cause
    assert result.ranking == cli["ranking"]
    assert result.triage.level == cli["triage"]["level"]
    assert list(result.triage.reasons) == cli["triage"]["reasons"]
    assert list(result.advice) == cli["advice"]
    assert result.posterior.digest == cli["priors_digest"]


def test_query_compare_sweep_and_trajectory_against_cli_json(model):
    comparison = model.compare(SCENARIOS)
    by_state = model.sweep("estrogen_therapy", base=SWEEP_BASE)
    by_age = model.sweep("age", AGES, base=SWEEP_BASE)
    path = model.trajectory(TRAJECTORY, base=TRAJECTORY_BASE)
    results = [model.query(SCENARIOS["65, after a long-haul flight"]), *comparison.results, *by_state.results,
               *by_age.results, *path.results]
    cli = _cli_json_many([r.evidence for r in results])
    for result, out in zip(results, cli, strict=True):
        _assert_same_as_cli(result, out)
    assert [c["evidence"]["age_group"] for c in cli[-len(path.results) - len(AGES):-len(path.results)]] == \
        ["child", "adult", "over_60"]


def test_every_case_equals_a_single_query(model):
    comparison = model.compare(SCENARIOS)
    sweep = model.sweep("age_group", base={"sex": "female", "calf_tenderness": "yes"})
    path = model.trajectory(TRAJECTORY, base=TRAJECTORY_BASE)
    for result in (*comparison.results, *sweep.results, *path.results):
        single = model.query(result.evidence)
        assert result.triage == single.triage and result.advice == single.advice
        for cause in structure.TARGETS:
            assert result.probabilities[cause] == pytest.approx(single.probabilities[cause], abs=1e-12)
        assert result.posterior.p_evidence == pytest.approx(single.posterior.p_evidence, rel=1e-10)


def test_grid_and_pairs_cells_equal_single_queries(model):
    grid = model.grid("long_travel", "cancer", cause="dvt", base={"age": 67})
    assert grid.rows == ("yes", "no") and grid.columns == ("yes", "no")
    for i, a in enumerate(grid.rows):
        for j, b in enumerate(grid.columns):
            q = model.query({"age": 67, "long_travel": a, "cancer": b})
            assert grid.values[i][j] == pytest.approx(q.probabilities["dvt"], abs=1e-12)
            assert grid.triage[i][j] == q.triage.level
            assert grid.cells[i][j] == q.evidence
    assert grid.baseline == pytest.approx(model.query({"age": 67}).probabilities["dvt"], abs=1e-12)

    pairs = model.pairs(["long_travel", "cancer", "age_group=over_60"], cause="dvt", base={"sex": "male"})
    assert pairs.rows == ("long_travel", "cancer", "age_group=over_60")
    one = model.query({"sex": "male", "cancer": "yes"}).probabilities["dvt"]
    two = model.query({"sex": "male", "cancer": "yes", "age_group": "over_60"}).probabilities["dvt"]
    assert pairs.values[1][1] == pytest.approx(one, abs=1e-12)
    assert pairs.values[1][2] == pytest.approx(two, abs=1e-12) and pairs.values[2][1] == pairs.values[1][2]


@settings(max_examples=examples(15))
@given(cases=st.lists(evidence_strategy(max_size=5), min_size=1, max_size=6))
def test_batch_posteriors_against_single_queries(model, cases):
    batched = batch_posteriors(model, cases)
    for ev, post in zip(cases, batched, strict=True):
        try:
            single = model.posterior(ev)
        except ImpossibleEvidence:
            assert post is None
            continue
        assert post is not None and post.evidence == single.evidence
        for cause in structure.TARGETS:
            assert post.probabilities[cause] == pytest.approx(single.probabilities[cause], abs=1e-12)


# --- result objects ---------------------------------------------------------------------------

def _results(model):
    return {
        "comparison": model.compare(SCENARIOS),
        "sweep": model.sweep("age", AGES, base=SWEEP_BASE),
        "grid": model.pairs(["long_travel", "cancer", "immobilization"], base={"age": 67}),
        "trajectory": model.trajectory(TRAJECTORY, base=TRAJECTORY_BASE),
    }


COLUMNS = {
    "comparison": ["scenario", "cause", "probability", "triage"],
    "sweep": ["variable", "value", "cause", "probability", "triage"],
    "grid": ["row", "column", "cause", "probability", "triage"],
    "trajectory": ["step", "added", "cause", "probability", "triage"],
}


def _frame_from_json(kind: str, data: dict) -> pd.DataFrame:
    """Rebuild the tidy frame from the JSON alone (the round trip's oracle)."""
    if kind == "comparison":
        rows = [(s["name"], c, s["posteriors"][c], s["triage"]["level"])
                for s in data["scenarios"] for c in structure.TARGETS]
    elif kind == "sweep":
        rows = [(data["variable"], s["value"], c, s["posteriors"][c], s["triage"]["level"])
                for s in data["cases"] for c in structure.TARGETS]
    elif kind == "grid":
        rows = [(c["row"], c["column"], data["cause"], c["probability"], c["triage"]) for c in data["cells"]]
    else:
        rows = [(s["step"], s["added"], c, s["posteriors"][c], s["triage"]["level"])
                for s in data["steps"] for c in structure.TARGETS]
    return pd.DataFrame(rows, columns=COLUMNS[kind])


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_result_frame_json_html_and_plot(model, kind):
    import matplotlib.pyplot as plt

    result = _results(model)[kind]
    frame = result.frame
    assert list(frame.columns) == COLUMNS[kind]
    assert frame["probability"].between(0, 1).all()
    data = json.loads(result.to_json())
    assert data["priors_digest"] == model.digest
    pd.testing.assert_frame_equal(_frame_from_json(kind, data), frame, check_exact=True)
    html = result._repr_html_()
    causes = structure.TARGETS if kind != "grid" else (result.cause,)
    assert all(c in html for c in causes)
    assert model.digest in html
    ax = result.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    plt.close(ax.figure)


def test_results_carry_their_evidence_and_digest(model):
    res = _results(model)
    comparison: Comparison = res["comparison"]
    assert comparison.evidence["65, after a long-haul flight"] == {"age_group": "over_60", "long_travel": "yes"}
    assert comparison["soft calf swelling"].evidence["calf_swelling"] == "yes:0.7"
    assert comparison.digest == model.digest
    sweep: Sweep = res["sweep"]
    assert sweep.base == {"long_travel": "yes", "calf_swelling": "yes"}
    assert [e["age_group"] for e in sweep.evidence] == ["child", "adult", "over_60"]
    grid: Grid = res["grid"]
    assert grid.cells[0][1] == {"age_group": "over_60", "long_travel": "yes", "cancer": "yes"}
    assert grid.cells[2][2] == {"age_group": "over_60", "immobilization": "yes"}
    assert all(c["age_group"] == "over_60" for row in grid.cells for c in row)
    path: Trajectory = res["trajectory"]
    assert path.steps == ("start", *TRAJECTORY)
    assert [len(e) for e in path.evidence] == [1, 2, 3, 4]


def test_sweep_keeps_impossible_cases_explicit(model):
    sweep = model.sweep("sex", base={"pregnant_or_postpartum": "yes"})
    assert sweep.impossible == ("male",)
    male = sweep.frame[sweep.frame["value"] == "male"]
    assert male["probability"].isna().all() and (male["triage"] == "impossible").all()
    data = json.loads(sweep.to_json())
    assert data["cases"][1] == {"value": "male", "evidence": {"sex": "male", "pregnancy": "pregnant|postpartum"},
                                "impossible": True}
    assert "impossible" in sweep._repr_html_()
    grid = model.grid("sex", "pregnancy")
    assert math.isnan(grid.values[1][1]) and grid.triage[1][1] == "impossible"
    assert json.loads(grid.to_json())["cells"][4]["probability"] is None


def test_impossible_and_bad_input_give_one_clear_error(model):
    with pytest.raises(ImpossibleEvidence, match="scenario 'b'.*sex=male with pregnancy=pregnant\\|postpartum"):
        model.compare({"a": {}, "b": {"sex": "male", "pregnant_or_postpartum": "yes"}})
    with pytest.raises(EvidenceError, match="scenario 'a': unknown variable 'calf_swellin'.*calf_swelling"):
        model.compare({"a": {"calf_swellin": "yes"}})
    with pytest.raises(EvidenceError, match="at least one scenario"):
        model.compare({})
    with pytest.raises(ImpossibleEvidence, match="step 2 \\(pregnancy=pregnant\\|postpartum\\)"):
        model.trajectory(["calf_swelling=yes", "pregnant_or_postpartum=yes"], base={"sex": "male"})
    with pytest.raises(EvidenceError, match="calf_swelling is already in the evidence"):
        model.trajectory(["calf_swelling=yes"], base={"calf_swelling": "no"})
    with pytest.raises(EvidenceError, match="unknown variable 'long_trave'.*long_travel"):
        model.sweep("long_trave")
    with pytest.raises(EvidenceError, match="unknown state 'maybe'"):
        model.sweep("long_travel", ["yes", "maybe"])
    with pytest.raises(EvidenceError, match="age must be a number"):
        model.sweep("age", ["old"])
    with pytest.raises(ImpossibleEvidence, match="base evidence impossible"):
        model.sweep("cancer", base={"sex": "male", "pregnant_or_postpartum": "yes"})
    with pytest.raises(EvidenceError, match="unknown cause 'dvtt'.*dvt"):
        model.grid("long_travel", "cancer", cause="dvtt")
    with pytest.raises(EvidenceError, match="name the same variable age_group"):
        model.pairs(["age_group=adult", "age=70"])


def test_compare_order_and_names_are_kept(model):
    comparison = model.compare({"z": {"age": 30}, "a": {"age": 70}})
    assert comparison.names == ("z", "a")
    assert list(comparison.frame["scenario"].unique()) == ["z", "a"]
    assert comparison["a"].evidence == {"age_group": "over_60"}


def test_sweep_uses_one_engine_call(model, monkeypatch):
    calls = []
    original = model.engine.marginals

    def counting(*args, **kwargs):
        calls.append(kwargs.get("batch"))
        return original(*args, **kwargs)

    monkeypatch.setattr(model.engine, "marginals", counting)
    sweep = model.sweep("age", base={"long_travel": "yes"})
    assert calls == [len(sweep.values)]


@settings(max_examples=examples(10))
@given(ev=evidence_strategy(max_size=4, soft=False), variable=st.sampled_from(structure.RISK_FACTORS))
def test_sweep_states_match_with_state_queries(model, ev, variable):
    try:
        sweep = model.sweep(variable, base=ev)
    except ImpossibleEvidence:
        return
    for value, result in zip(sweep.values, sweep.results, strict=True):
        case = ev.with_state(variable, value)
        try:
            single = model.query(case)
        except ImpossibleEvidence:
            assert result is None
            continue
        assert result.probabilities == pytest.approx(single.probabilities, abs=1e-12)


def test_parameters_frame_lists_every_sourced_number(model):
    frame = model.parameters()
    assert list(frame.columns) == ["node", "parameter", "value", "low", "high", "scale", "evidence", "source",
                                   "citation", "locator"]
    assert len(frame) == len(model.priors.parameters)
    assert (frame["low"] <= frame["value"]).all() and (frame["value"] <= frame["high"]).all()
    assert frame["citation"].str.len().gt(0).all()
    dvt = model.parameters("dvt")
    assert set(dvt["node"]) == {"dvt"}
    assert list(dvt["parameter"]) == [p.name for p in model.priors.nodes["dvt"].parameters]
    with pytest.raises(EvidenceError, match="unknown variable 'dvtt'.*dvt"):
        model.parameters("dvtt")


# --- many cases: model.score and model.query_many (issue 11) ---------------------------------------


def test_query_many_equals_query_case_by_case(model):

    from popliteal.network import structure

    cases = [{"age": 67, "long_travel": "yes", "calf_swelling": "yes"}, {"calf_swelling": "yes:0.7"},
             {}, {"age": 67, "long_travel": "yes", "calf_swelling": "yes"}, {"calf_swelling": "maybe"}]
    out = model.query_many(cases)
    assert len(out) == len(cases) and list(out.index) == list(range(len(cases)))
    for i, case in enumerate(cases[:4]):
        result = model.query(case)
        assert out.loc[i, "triage"] == result.triage.level and out.loc[i, "error"] is None
        for t in structure.TARGETS:
            assert out.loc[i, f"p_{t}"] == pytest.approx(result.probabilities[t], abs=1e-12)
    assert "unknown state 'maybe'" in out.loc[4, "error"] and math.isnan(out.loc[4, "p_dvt"])


def test_query_many_refuses_an_unknown_variable(model):
    from popliteal.engine.evidence import EvidenceError

    with pytest.raises(EvidenceError, match="unknown variable 'calf_swellin'; did you mean calf_swelling"):
        model.query_many([{"calf_swellin": "yes"}])


def test_query_many_accepts_aliases_age_and_the_names_query_accepts(model):
    from popliteal.engine.evidence import Evidence

    cases = [{"pregnant_or_postpartum": "yes", "sex": "female"}, {"age": 67, "calf_swelling": True},
             {" calf_swelling ": "yes"}, [("pregnant_or_postpartum", "no"), ("age", "30")],
             Evidence({"calf_swelling": "yes"}, {"long_travel": ("yes", 0.7)})]
    out = model.query_many(cases)
    assert "pregnant_or_postpartum" in out.columns and out["error"].isna().all()
    for i, case in enumerate(cases):
        result = model.query(case)
        assert out.loc[i, "triage"] == result.triage.level
        for t in structure.TARGETS:
            assert out.loc[i, f"p_{t}"] == pytest.approx(result.probabilities[t], abs=1e-12)


def test_query_many_refuses_a_name_given_twice_in_a_case_as_query_does(model):
    with pytest.raises(EvidenceError, match="calf_swelling: given twice with different values"):
        model.query_many([[("calf_swelling", "yes"), (" calf_swelling", "no")]])
    assert model.query_many([[("calf_swelling", "yes"), ("calf_swelling ", "yes")]]).loc[0, "error"] is None


def test_query_many_refuses_an_unknown_alias_like_name_in_one_line(model):
    with pytest.raises(EvidenceError, match=r"^unknown variable 'pregnant_or_postpartun'; did you mean "
                                            r"pregnant_or_postpartum[^\n]*$"):
        model.query_many([{"sex": "female"}, {"pregnant_or_postpartun": "yes"}])
    with pytest.raises(EvidenceError, match="evidence must be a mapping"):
        model.query_many(["calf_swelling=yes"])


def test_model_score_takes_a_mapping_of_columns_and_keeps_every_row(model):
    out = model.score({"id": ["a", "b"], "calf_swelling": ["yes", ""], "age": ["70", "abc"]})
    assert out["id"].tolist() == ["a", "b"]
    assert out.loc[0, "p_dvt"] == pytest.approx(model.posterior({"calf_swelling": "yes", "age": 70})
                                                 .probabilities["dvt"], abs=1e-12)
    assert "age must be a number" in out.loc[1, "error"]


def test_a_list_of_texts_is_not_evidence_pairs_and_says_so(model):
    """``["calf_swelling=yes"]`` is a CLI habit: one clear line for query and query_many, not an unpacking error."""
    for call in (model.query, lambda ev: model.query_many([ev])):
        with pytest.raises(EvidenceError, match=r"^evidence pairs must be \(name, state\), got 'calf_swelling=yes'"):
            call(["calf_swelling=yes"])
    assert model.query([("calf_swelling", "yes")]).probabilities == model.query({"calf_swelling": "yes"}).probabilities


def test_model_score_refuses_a_frame_without_an_evidence_column_as_the_cli_does(model):
    from popliteal.clinic.scoring import BatchError

    with pytest.raises(BatchError, match="frame: no column is named after a variable .* columns: foo"):
        model.score(pd.DataFrame({"foo": ["yes"]}))
    assert model.score(pd.DataFrame({"foo": ["yes"], "sex": ["male"]}))["triage"].notna().all()
    assert len(model.query_many([{}, {}])) == 2  # cases without evidence are the prior, as query answers them


def test_sweep_and_grid_take_the_compatibility_name_with_its_own_states(model):
    """The contract keeps ``pregnant_or_postpartum`` as evidence; sweep and grid looked its states up in the
    structure and failed with a KeyError (QA, 2026-12-03)."""
    swept = model.sweep("pregnant_or_postpartum", base={"sex": "female"})
    assert swept.values == ("yes", "no")
    for value in ("yes", "no"):
        direct = model.posterior({"sex": "female", "pregnant_or_postpartum": value}).probabilities["dvt"]
        row = swept.frame.query("cause == 'dvt' and value == @value")
        assert row["probability"].item() == pytest.approx(direct, abs=1e-12)
    grid = model.grid("sex", "pregnant_or_postpartum")
    assert set(grid.frame["column"]) == {"yes", "no"}
    impossible = grid.frame.query("row == 'male' and column == 'yes'")
    assert impossible["triage"].unique().tolist() == ["impossible"]
    with pytest.raises(EvidenceError, match=r"^grid: the two variables must differ \(both are pregnancy\)$"):
        model.grid("pregnancy", "pregnant_or_postpartum")
    for call in (lambda: model.sweep("pregnant_or_postpartm"), lambda: model.grid("sex", "pregnant_or_postpartm")):
        with pytest.raises(EvidenceError, match=r"^unknown variable 'pregnant_or_postpartm'; did you mean "
                                                r"pregnant_or_postpartum"):
            call()
