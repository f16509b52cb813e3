"""Marginals of any variable: ``model.marginals`` and ``popliteal query --target``.

Oracle: pgmpy's ``VariableElimination`` on the same tables
(:func:`popliteal.network.bayesnet.reference_query`), and the causes' posteriors of
``model.query`` for the variables both report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from popliteal.network import structure
from popliteal.engine.evidence import EvidenceError, from_mapping
from popliteal.engine.inference import ImpossibleEvidence
from popliteal.network.bayesnet import reference_query

CASE = {"age": 67, "long_travel": "yes", "calf_swelling": "yes:0.8"}
#: One variable of each kind, and every multi-state one: derived from the structure.
SOME = tuple(dict.fromkeys([*(next(v.name for v in structure.VARIABLES if v.kind == k) for k in structure.KINDS),
                            *(v.name for v in structure.VARIABLES if len(v.states) > 2)]))


def test_marginals_of_every_variable_against_pgmpy(model):
    ev = from_mapping(CASE)
    result = model.marginals(CASE)
    assert list(result.marginals) == list(structure.NAMES)
    soft = {n: lik for n, lik in ev.likelihoods().items() if n in ev.soft}
    reference = reference_query(model.network(), list(structure.NAMES), dict(ev.hard), soft)
    for name in structure.NAMES:
        assert list(result.marginals[name]) == list(structure.BY_NAME[name].states)
        assert sum(result.marginals[name].values()) == pytest.approx(1.0, abs=1e-12)
        for state, p in reference[name].items():
            assert result.marginals[name][state] == pytest.approx(p, abs=1e-10), (name, state)


def test_marginals_agree_with_the_query_on_the_causes(model):
    query = model.query(CASE)
    result = model.marginals(CASE, targets=structure.TARGETS)
    for cause, p in query.probabilities.items():
        assert result.probability(cause) == pytest.approx(p, abs=1e-12)


def test_marginals_keep_order_and_show_observed_evidence(model):
    result = model.marginals(age=30, targets=[SOME[-1], "age_group", SOME[-1]])
    assert list(result.marginals) == list(dict.fromkeys([SOME[-1], "age_group"]))
    assert result.marginals["age_group"]["adult"] == 1.0
    frame = result.frame
    assert set(frame.columns) == {"variable", "kind", "state", "probability", "observed"}
    assert frame.loc[frame.variable == "age_group", "observed"].all()


def test_marginals_refuse_unknown_targets_and_impossible_evidence(model):
    name = structure.FINDINGS[0]
    with pytest.raises(EvidenceError, match=f"unknown variable '{name[:-1]}'.*did you mean {name}"):
        model.marginals(targets=[name[:-1]])
    with pytest.raises(ImpossibleEvidence):
        model.marginals({"sex": "male", "pregnant_or_postpartum": "yes"}, targets=["sex"])


def test_marginals_keyword_that_contradicts_the_mapping_raises_as_query_does(model):
    with pytest.raises(EvidenceError, match="calf_swelling: given twice with different values"):
        model.marginals({"calf_swelling": "yes"}, calf_swelling="no")
    with pytest.raises(EvidenceError, match="age_group: given twice"):
        model.marginals({"age_group": "child"}, age=70)
    same = model.marginals({"calf_swelling": "yes"}, targets=["dvt"], calf_swelling="yes")
    assert same.marginals == model.marginals(calf_swelling="yes", targets=["dvt"]).marginals


def run(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("POPLITEAL_PRIORS", None)
    return subprocess.run([sys.executable, "-m", "popliteal", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_query_target_in_json_table_and_plot(model, tmp_path):
    args = [f"-e{k}={v}" if k != "age" else f"-eage={v}" for k, v in CASE.items()]
    targets = [t for name in SOME for t in ("--target", name)]
    plot = tmp_path / "q.png"
    proc = run("query", *args, *targets, "--json", "--plot", str(plot))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    api = model.marginals(CASE, targets=SOME)
    assert list(out["targets"]) == list(SOME)
    for name in SOME:
        assert out["targets"][name] == pytest.approx(api.marginals[name], abs=1e-12)
    assert set(out["posteriors"]) == set(structure.TARGETS)  # the contract's keys stay as they were
    assert plot.read_bytes().startswith(b"\x89PNG")
    table = run("query", *args, *targets).stdout
    section = table.split("Other variables, P(state | evidence):\n")[1]
    for name in SOME:
        line = next(line for line in section.splitlines() if line.startswith(name + " "))
        assert all(state in line for state in structure.BY_NAME[name].states)


def test_query_target_unknown_is_one_line():
    name = structure.FINDINGS[0]
    proc = run("query", "--target", name[:-1])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and f"did you mean {name}" in proc.stderr
    assert proc.stdout == ""


def test_plot_marginals_one_segment_per_state(model):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = model.marginals(CASE, targets=SOME)
    ax = result.plot()
    bars = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert len(bars) == sum(len(structure.BY_NAME[n].states) for n in SOME)
    assert sorted(round(b.get_width(), 12) for b in bars) == sorted(
        round(p, 12) for n in SOME for p in result.marginals[n].values())
    plt.close(ax.figure)
