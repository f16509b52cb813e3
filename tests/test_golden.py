"""Golden posteriors of named scenarios (tests/data/scenarios.yaml).

When a prior changes on purpose, run ``make golden`` and commit the diff of
golden.json: it shows the clinical effect of the change, scenario by scenario.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _update_golden():
    spec = importlib.util.spec_from_file_location("update_golden", ROOT / "scripts" / "update_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_golden_posteriors_are_unchanged(model):
    golden = json.loads((ROOT / "tests" / "data" / "golden.json").read_text())
    now = _update_golden().compute(model)
    assert now["scenarios"].keys() == golden["scenarios"].keys(), "scenarios changed: run make golden"
    for name, expected in golden["scenarios"].items():
        got = now["scenarios"][name]
        assert got["evidence"] == expected["evidence"], name
        assert got["triage"] == expected["triage"], f"{name}: triage changed; run make golden if intended"
        for cause, p in expected["posteriors"].items():
            assert got["posteriors"][cause] == pytest.approx(p, abs=1e-9), (
                f"{name}: P({cause}) moved from {p} to {got['posteriors'][cause]}; run make golden if intended")
    assert golden["priors_digest"] == now["priors_digest"], "priors changed without make golden"
