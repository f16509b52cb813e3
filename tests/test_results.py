"""Every result object follows one protocol: frame, to_dict, to_json, _repr_html_, plot(ax=None).

Oracles: the protocol itself (a pandas frame, JSON that parses back to ``to_dict()``, HTML with
the priors digest where the result has one, a matplotlib Axes drawn on the one handed in), and
an ast walk that finds every class of the package with a ``to_dict`` method and requires the
mixin of the top-level results.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from popliteal.present.result import Result

matplotlib.use("Agg")

EVIDENCE = {"age": 67, "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}

#: Each Model method and the result it returns.
CALLS = {
    "query": lambda m: m.query(EVIDENCE),
    "query with uncertainty": lambda m: m.query(EVIDENCE, uncertainty=50, seed=1),
    "posterior": lambda m: m.posterior(EVIDENCE),
    "marginals": lambda m: m.marginals(EVIDENCE),
    "explain": lambda m: m.explain(EVIDENCE),
    "next_questions": lambda m: m.next_questions(EVIDENCE),
    "mpe": lambda m: m.mpe(EVIDENCE),
    "conflict": lambda m: m.conflict({"calf_swelling": "yes", "recent_trauma": "yes"}),
    "compare": lambda m: m.compare({"traveller": EVIDENCE, "nothing known": {}}),
    "sweep": lambda m: m.sweep("age_group", base={"calf_swelling": "yes"}),
    "grid": lambda m: m.grid("age_group", "long_travel"),
    "trajectory": lambda m: m.trajectory(EVIDENCE),
}


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_every_model_result_follows_the_protocol(model, call):
    import matplotlib.pyplot as plt

    result = CALLS[call](model)
    assert isinstance(result, Result)
    assert isinstance(result.frame, pd.DataFrame) and len(result.frame) > 0
    as_json = json.loads(result.to_json())
    if call == "marginals":  # its JSON wraps to_dict() (what `query --target` prints) with the evidence
        as_json = as_json["targets"]
    assert as_json == json.loads(json.dumps(result.to_dict()))
    html = result._repr_html_()
    assert html.startswith("<")
    digest = getattr(result, "digest", None) or getattr(getattr(result, "posterior", None), "digest", None)
    if digest:
        assert digest in html
    fig, ax = plt.subplots()
    try:
        assert result.plot(ax=ax) is ax
    finally:
        plt.close(fig)


def test_the_protocol_refuses_what_a_subclass_did_not_give():
    class Bare(Result):
        pass

    with pytest.raises(NotImplementedError, match="Bare has no frame"):
        Bare().frame
    with pytest.raises(NotImplementedError, match="Bare has no to_dict"):
        Bare().to_json()


def test_no_result_class_writes_its_own_json_or_plot_plumbing():
    """``to_json`` and ``plot`` come from the mixin (Marginals' JSON adds its evidence: the one override)."""
    package = Path(__file__).resolve().parents[1] / "model" / "popliteal"
    own = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                own += [f"{path.name}:{node.name}.{m}" for m in ("to_json", "plot") if m in methods]
    assert own == ["marginals.py:Marginals.to_json", "result.py:Result.to_json", "result.py:Result.plot"]
