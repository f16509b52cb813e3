"""``explain``, ``next``, ``query --mpe`` and ``--scenario`` as a user runs them, and the
``red_flag_threshold`` entry of triage.yaml.

Oracles: the public contract (``docs/contract.md``: the JSON of ``next``
and ``explain``, exit status 2 with one line on stderr for bad input) and the
Python API (the CLI must print the same numbers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from popliteal.common import safeyaml
from popliteal.network.priors import PriorsError, load_priors
from popliteal.explore.scenario_file import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXE = [sys.executable, "-m", "popliteal"]
VIGNETTE = ROOT / "tests" / "vignettes" / "cyst-03-with-meniscus-tear.yaml"


def run(*args, stdin=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("POPLITEAL_PRIORS", None)
    return subprocess.run([*EXE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def assert_bad_input(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_next_json_follows_the_contract(model):
    proc = run("next", "-e", "age=67", "-e", "calf_swelling=yes", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["evidence"] == {"age_group": "over_60", "calf_swelling": "yes"}
    api = model.next_questions({"age_group": "over_60", "calf_swelling": "yes"})
    assert [q["variable"] for q in out["questions"]] == [q.variable for q in api.questions]
    for q, a in zip(out["questions"], api.questions):
        assert q["score"] == pytest.approx(a.score, abs=1e-12) and q["rationale"] == a.rationale
    assert out["questions"][0]["red_flag"]


def test_explain_json_and_plot_follow_the_contract(model, tmp_path):
    target = tmp_path / "why.svg"
    proc = run("explain", "-e", "popliteal_swelling=yes", "-e", "age_group=adult", "--json", "--plot", str(target))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    api = model.explain({"popliteal_swelling": "yes", "age_group": "adult"})
    assert [c["cause"] for c in out["causes"]] == [c.cause for c in api.causes]
    cyst = out["causes"][0]
    assert cyst["cause"] == "bakers_cyst" and {"for", "against", "posterior"} <= set(cyst)
    # the lump carries the cyst; the age barely moves it (+0.009 since 2026-12-03, when the age-dependent
    # lumbar_radiculopathy joined the causes competing for the pain)
    assert cyst["for"][0]["variable"] == "popliteal_swelling" and cyst["for"][0]["weight"] > 2
    assert all(abs(p["weight"]) < 0.1 for p in cyst["for"][1:] + cyst["against"])
    assert all({"variable", "state", "weight"} <= set(p) for p in cyst["for"])
    assert target.read_text().lstrip().startswith("<?xml")


def test_explain_and_next_tables():
    explained = run("explain", "-e", "calf_swelling=yes", "-e", "calf_tenderness=yes")
    assert explained.returncode == 0 and "for " in explained.stdout and "LR" in explained.stdout
    nxt = run("next", "-e", "calf_swelling=yes", "--limit", "3")
    assert nxt.returncode == 0 and "[red flag]" in nxt.stdout and "more (--json lists all)" in nxt.stdout


def test_mpe_only_when_asked_and_labelled_as_a_combination(model):
    args = ["query", "-e", "popliteal_swelling=yes", "-e", "osteoarthritis=yes"]
    plain = json.loads(run(*args, "--json").stdout)
    assert "mpe" not in plain
    out = json.loads(run(*args, "--json", "--mpe").stdout)
    api = model.mpe({"popliteal_swelling": "yes", "osteoarthritis": "yes"})
    assert out["mpe"]["causes"] == list(api.present)
    assert out["mpe"]["probability"] == pytest.approx(api.probability, abs=1e-12)
    assert out["posteriors"] == plain["posteriors"]
    text = run(*args, "--mpe").stdout
    assert "Most probable combination (joint, not the per-cause probabilities above)" in text


def test_evidence_help_explains_virtual_evidence():
    for command in ("query", "explain", "next", "interview"):
        proc = run(command, "--help")
        flat = " ".join(proc.stdout.split())
        assert proc.returncode == 0 and "virtual" in flat and "P(report | STATE) = L" in flat, command


def test_scenario_file_with_title_notes_age_and_soft_evidence(tmp_path, model):
    case = tmp_path / "case.yaml"
    case.write_text("title: older traveller\nnotes: sore calf since landing\n"
                    "evidence:\n  age: 73\n  long_travel: yes\n  calf_swelling: 'yes:0.7'\n")
    proc = run("query", "--scenario", str(case), "-e", "sex=female", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    expected = {"age_group": "over_60", "sex": "female", "long_travel": "yes", "calf_swelling": "yes:0.7"}
    assert out["evidence"] == expected
    assert out["posteriors"] == pytest.approx(model.query(expected).to_dict()["posteriors"], abs=1e-12)
    assert out["scenario"] == {"file": str(case), "title": "older traveller", "notes": "sore calf since landing"}
    assert "Scenario" in run("next", "--scenario", str(case)).stdout


def test_scenario_keeps_the_age_in_years_for_the_ottawa_rule(tmp_path):
    """A file's ``age: 57`` reaches the policy as years, as ``-e age=57`` does (55 lies inside the adult band)."""
    case = tmp_path / "fall.yaml"
    case.write_text("evidence:\n  age: 57\n  recent_trauma: 'yes'\n")
    typed = json.loads(run("query", "-e", "age=57", "-e", "recent_trauma=yes", "--json").stdout)
    for extra in ((), ("-e", "age=57")):
        out = json.loads(run("query", "--scenario", str(case), *extra, "--json").stdout)
        assert out["age_years"] == 57 and out["triage"] == typed["triage"]
        assert "ottawa_age" in out["triage"]["rules"]
    assert_bad_input(run("query", "--scenario", str(case), "-e", "age=60"), "evidence.age", "the file says 57 but -e says 60")


def test_vignettes_are_scenario_files():
    scenario = load_scenario(VIGNETTE)
    assert scenario.title and scenario.evidence.hard["knee_locking"] == "yes"
    proc = run("explain", "--scenario", str(VIGNETTE), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["causes"][0]["cause"] == "bakers_cyst"


def test_scenario_and_command_line_that_disagree_are_refused():
    assert_bad_input(run("query", "--scenario", str(VIGNETTE), "-e", "knee_locking=no"),
                     str(VIGNETTE), "evidence.knee_locking", "-e says no")
    same = run("query", "--scenario", str(VIGNETTE), "-e", "knee_locking=yes", "--json")
    assert same.returncode == 0


BROKEN = [
    ("evidense:\n  calf_swelling: yes\n", "evidense: unknown field; did you mean evidence?"),
    ("title: no evidence here\n", "evidence: missing"),
    ("- calf_swelling\n", "file: must be a mapping"),
    ("evidence: [calf_swelling]\n", "evidence: must be a mapping"),
    ("evidence:\n  calf_swelin: yes\n", "evidence.calf_swelin: unknown variable"),
    ("evidence:\n  calf_swelling: maybe\n", "evidence.calf_swelling: calf_swelling: unknown state"),
    ("evidence:\n  calf_swelling: 'yes:1.5'\n", "evidence.calf_swelling:"),
    ("evidence:\n  age: 150\n", "evidence.age:"),
    ("evidence: {age: 70, age_group: child}\n", "evidence: age_group: given twice"),
    ("evidence:\n  a: [\n", "not valid YAML"),
    ("title: [1, 2]\nevidence: {}\n", "title: must be a text"),
]


@pytest.mark.parametrize("text, fragment", BROKEN)
def test_broken_scenario_files_name_the_file_and_the_field(tmp_path, text, fragment):
    path = tmp_path / "case.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and fragment in message and "\n" not in message


@pytest.mark.parametrize("command", ["query", "explain", "next", "interview"])
def test_broken_scenario_exits_2_with_one_line(tmp_path, command):
    path = tmp_path / "case.yaml"
    path.write_text("evidence:\n  calf_swelin: yes\n")
    assert_bad_input(run(command, "--scenario", str(path), stdin=""), str(path), "evidence.calf_swelin")


def test_missing_scenario_file_exits_2():
    assert_bad_input(run("query", "--scenario", "no/such/case.yaml"), "no/such/case.yaml", "cannot read")


def test_impossible_evidence_still_exits_2_for_every_reasoning_command():
    for command in ("explain", "next"):
        assert_bad_input(run(command, "-e", "sex=male", "-e", "pregnant_or_postpartum=yes"), "impossible")
    assert_bad_input(run("query", "--mpe", "-e", "sex=male", "-e", "pregnant_or_postpartum=yes"), "impossible")


def _priors_copy(tmp_path):
    target = tmp_path / "priors"
    shutil.copytree(ROOT / "priors", target)
    return target


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.pop("red_flag_threshold"), "triage.yaml: red_flag_threshold: missing"),
    (lambda d: d["red_flag_threshold"].update(threshold=1.5), "red_flag_threshold.threshold: must be a probability"),
    (lambda d: d["red_flag_threshold"].update(threshold=0.2), "red_flag_threshold.range"),
    (lambda d: d["red_flag_threshold"].pop("source"), "red_flag_threshold.source: missing"),
    (lambda d: d["red_flag_threshold"].update(colour="red"), "red_flag_threshold.colour: unknown field"),
    (lambda d: d.update(red_flag_threshold=0.02), "red_flag_threshold: must be a mapping"),
    (lambda d: d.pop("red_flag_questions"), "triage.yaml: red_flag_questions: missing"),
    (lambda d: d.update(red_flag_questions=[]), "red_flag_questions: must be a non-empty list"),
    (lambda d: d["red_flag_questions"][0].update(question="dvt"),
     "red_flag_questions[0].question: must be a risk factor or finding one can ask, got 'dvt'"),
    (lambda d: d["red_flag_questions"][1].update(question="breathlessness"),
     "red_flag_questions[1].question: 'breathlessness' repeats red_flag_questions[0]"),
    (lambda d: d["red_flag_questions"][0].update(screens_for=["flu"]), "red_flag_questions[0].screens_for: must be"),
    (lambda d: d["red_flag_questions"][4].update(after={"recent_trauma": "maybe"}),
     "red_flag_questions[4].after.recent_trauma: recent_trauma has no state 'maybe'"),
    (lambda d: d["red_flag_questions"][0].pop("screens_for"), "red_flag_questions[0]: needs screens_for"),
    (lambda d: d["red_flag_questions"][0].pop("source"), "red_flag_questions[0].source: missing"),
    # the triage line's words and the incidental display (2026-11-30)
    (lambda d: d.pop("levels"), "triage.yaml: levels: missing"),
    (lambda d: d["levels"]["words"].pop("urgent"), "levels.words.urgent: missing"),
    (lambda d: d["levels"]["words"].update(soon="see a doctor soon"), "levels.words.soon: unknown field"),
    (lambda d: d["levels"]["words"].update(doctor=" "), "levels.words.doctor: must be a non-empty text"),
    (lambda d: d["levels"].pop("source"), "levels.source: missing"),
    (lambda d: d.pop("incidental"), "triage.yaml: incidental: missing"),
    (lambda d: d["incidental"].update(shown_from=2), "incidental.shown_from: must be a probability"),
    (lambda d: d["incidental"].update(heading=""), "incidental.heading: must be a non-empty text"),
    (lambda d: d["incidental"].pop("reasoning"), "incidental.reasoning: missing (required for an estimate)"),
])
def test_triage_yaml_sections_are_validated(tmp_path, mutate, fragment):
    folder = _priors_copy(tmp_path)
    doc = yaml.safe_load((folder / "triage.yaml").read_text())
    mutate(doc)
    (folder / "triage.yaml").write_text(safeyaml.dump(doc, sort_keys=False))
    with pytest.raises(PriorsError, match=re.escape(fragment)):
        load_priors(folder)


def test_triage_line_and_incidental_heading_come_from_triage_yaml(model):
    doc = yaml.safe_load((ROOT / "priors" / "triage.yaml").read_text())
    result = model.query({"age_group": "over_60", "long_travel": "yes", "calf_swelling": "yes"})
    table = result.table()
    assert f"Triage: urgent — {doc['levels']['words']['urgent']}" in table
    assert doc["incidental"]["heading"] in table  # a degenerative tear at over 60


def test_red_flag_threshold_is_read_from_triage_yaml(model):
    doc = yaml.safe_load((ROOT / "priors" / "triage.yaml").read_text())
    assert model.priors.triage.red_flag_threshold == doc["red_flag_threshold"]["threshold"]
