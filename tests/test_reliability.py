"""Regression tests of issue 13 (reliability), one named after each failure it reported.

Oracles: the error contract (one line, exit status 2, no traceback), exact
answers that follow from the model's own structure (a soft report on a state
the rest of the evidence rules out changes nothing), pgmpy's
VariableElimination on the same tables, and the file system (no partial file).
The generalisations over many inputs are in ``tests/test_adversarial.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from popliteal.common import safeyaml

from popliteal.network import structure
from popliteal.cli.main import main
from popliteal.engine.evidence import Evidence, EvidenceError, from_mapping, parse_items
from popliteal.network.priors import PriorsError, load_priors
from popliteal.explore.scenario_file import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
PRIORS = ROOT / "priors"
EXE = [sys.executable, "-m", "popliteal"]


def cli(*argv):
    """Run the CLI in this process: ``(status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- 3: soft likelihoods at full precision ------------------------------------------------------

def test_soft_likelihood_is_not_rounded_to_six_digits():
    ev = parse_items(["pregnant_or_postpartum=yes:0.99999951"])
    assert ev.as_dict()["pregnancy"] == "pregnant|postpartum:0.99999951"
    assert from_mapping(ev.as_dict()) == ev  # one parse: the text reads back as the same float


def test_query_explain_and_api_agree_on_a_seven_nines_likelihood(model):
    """A child cannot be postpartum: a 0.99999951 report of it is possible (P(e) = 4.9e-7 x ...), never impossible."""
    items = ["age=8", "pregnant_or_postpartum=yes:0.99999951"]
    code, out, err = cli("query", *[x for i in items for x in ("-e", i)], "--json")
    assert code == 0, err
    query = json.loads(out)
    code, out, err = cli("explain", *[x for i in items for x in ("-e", i)], "--json")
    assert code == 0, err
    assert json.loads(out)["evidence"] == query["evidence"] == {"age_group": "child",
                                                                "pregnancy": "pregnant|postpartum:0.99999951"}
    api = model.query(age=8, pregnant_or_postpartum="yes:0.99999951").probabilities
    assert api == query["posteriors"]


# --- 6: safe YAML -------------------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def test_scenario_alias_bomb_is_refused_before_expansion(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "evidence: {calf_swelling: '*i'}\n")
    with pytest.raises(ScenarioError, match=r"bomb\.yaml: line 1: anchors \(&a\) are not allowed"):
        load_scenario(path)


def test_priors_description_alias_bomb_is_not_reported_valid(tmp_path):
    folder = _copy_priors(tmp_path)
    text = (folder / "dvt.yaml").read_text()
    (folder / "dvt.yaml").write_text(BOMB + text.replace("description:", "description: *i\nold_description:", 1))
    code, out, err = cli("validate-priors", str(folder))
    assert_one_line_error(code, err, "dvt.yaml: line 1: anchors")


def test_duplicate_yaml_key_is_refused_not_last_wins(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("evidence:\n  calf_swelling: 'yes'\n  calf_swelling: 'no'\n")
    with pytest.raises(ScenarioError, match=r"case\.yaml: line 3: calf_swelling: duplicate key \(first at line 2\)"):
        load_scenario(path)


def test_duplicate_key_in_a_priors_file_is_refused(tmp_path):
    folder = _copy_priors(tmp_path)
    (folder / "dvt.yaml").write_text((folder / "dvt.yaml").read_text() + "kind: table\n")
    with pytest.raises(PriorsError, match=r"^dvt\.yaml: line \d+: kind: duplicate key"):
        load_priors(folder)


def test_every_bundled_yaml_file_passes_the_strict_loader():
    files = sorted(PRIORS.glob("*.yaml")) + sorted((ROOT / "tests" / "vignettes").glob("*.yaml"))
    assert len(files) > 50
    for path in files:
        assert safeyaml.load_file(path) is not None, path


# --- 7: one line, not a traceback ---------------------------------------------------------------

def test_explain_tiny_likelihood_has_no_overflow_traceback():
    """A weight above log(1.8e308) = 709.8 has no finite likelihood ratio: None in the JSON,
    ``LR e^N`` in the table, never an OverflowError from ``math.exp``."""
    from popliteal.clinic.explain import Conflict, _ratio

    for lik in ("1e-295", "1e-310", "5e-324"):
        for pieces in (["calf_swelling=yes:" + lik, "age=40"], ["pregnant_or_postpartum=no:" + lik, "sex=male"],
                       ["dvt=yes:" + lik, "pulmonary_embolism=no:" + lik, "breathlessness=yes"]):
            code, out, err = cli("explain", *[x for p in pieces for x in ("-e", p)], "--json")
            assert code == 0 and not err, (pieces, err)
            json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert _ratio(709.0) == pytest.approx(math.exp(709.0)) and _ratio(710.0) is None and _ratio(None) is None
    assert "e^800 times less likely" in Conflict(800.0).warning()


@pytest.mark.parametrize("oddity", ["folder", "dangling symlink", "symlink loop", "fifo", "unreadable"])
def test_priors_folder_oddity_is_one_line_not_a_traceback_or_a_hang(tmp_path, oddity, monkeypatch):
    folder = _copy_priors(tmp_path)
    target = folder / "calf_swelling.yaml"
    target.unlink()
    if oddity == "folder":
        target.mkdir()
    elif oddity == "dangling symlink":
        target.symlink_to(folder / "nowhere.yaml")
    elif oddity == "symlink loop":
        target.symlink_to(target)
    elif oddity == "fifo":
        os.mkfifo(target)
    else:
        target.write_text((PRIORS / "calf_swelling.yaml").read_text())
        real_open = os.open

        def refuse(path, *args, **kwargs):  # the tests may run as root, who reads a chmod-000 file
            if os.fspath(path) == str(target):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    expected = {"folder": "not a regular file (a folder)", "dangling symlink": "a dangling symbolic link",
                "symlink loop": "a symbolic link loop", "fifo": "not a regular file (a FIFO)",
                "unreadable": "Permission denied"}[oddity]
    code, out, err = cli("validate-priors", str(folder))
    assert_one_line_error(code, err, "calf_swelling.yaml", expected)
    code, out, err = cli("query", "--priors", str(folder))  # through the cache
    assert_one_line_error(code, err, "calf_swelling.yaml", expected)


def test_priors_fifo_does_not_hang_a_query_process(tmp_path):
    folder = _copy_priors(tmp_path)
    (folder / "dvt.yaml").unlink()
    os.mkfifo(folder / "dvt.yaml")
    proc = subprocess.run([*EXE, "query", "--priors", str(folder)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "a FIFO" in proc.stderr, proc.stderr


def test_priors_deep_nesting_is_one_line(tmp_path):
    folder = _copy_priors(tmp_path)
    (folder / "dvt.yaml").write_text("description: " + "[" * 200_000 + "\n")
    with pytest.raises(PriorsError, match=r"^dvt\.yaml: line 1: nested more than 64 levels deep"):
        load_priors(folder)


def test_priors_rule_conditions_not_a_list_is_one_line(tmp_path):
    folder = _copy_priors(tmp_path)
    text = (folder / "triage.yaml").read_text()
    doc = safeyaml.load_text(text, "triage.yaml")
    doc["rules"][0]["when"] = 5
    (folder / "triage.yaml").write_text(safeyaml.dump(doc, sort_keys=False))
    with pytest.raises(PriorsError, match=r"^triage\.yaml: rules\[0\]\.when: must be a list of conditions, got int"):
        load_priors(folder)


@pytest.mark.parametrize("value, fragment", [
    ("age: " + "9" * 300, "a number with 300 digits"),
    ("age: '" + "9" * 300 + "'", "age=1e+300: the model covers ages"),
    ("calf_swelling: 'yes:0." + "9" * 400 + "'", None),  # rounds to 1: a sure yes
    ("calf_swelling: " + "[" * 5000 + "]" * 5000, "nested more than 64 levels deep"),
    ("calf_swelling: " + "x" * 100_000, "characters); states are yes, no"),
])
def test_scenario_with_huge_or_deep_values_is_one_line(tmp_path, value, fragment):
    path = tmp_path / "case.yaml"
    path.write_text("evidence:\n  " + value + "\n")
    if fragment is None:
        assert load_scenario(path).evidence.hard == {"calf_swelling": "yes"}
        return
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and fragment in message and len(message) < 400, message


def test_query_json_to_dev_full_is_one_line_exit_2():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*EXE, "query", "-e", "calf_swelling=yes", "--json"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "cannot write to standard output" in proc.stderr, proc.stderr


# --- 10: tiny P(evidence), API arguments, huge inputs, empty paths ----------------------------------

@pytest.mark.parametrize("lik", ["1e-250", "1e-295", "1e-310", "5e-324"])
def test_tiny_p_evidence_is_not_called_impossible(model, lik):
    """A man cannot be postpartum, so a report 'not postpartum' with likelihood L leaves every
    posterior where ``sex=male`` alone puts it, exactly, whatever L: P(e) = L * P(rest)."""
    base = {"sex": "male", "calf_swelling": "yes", "knee_locking": "yes", "breathlessness": "no"}
    reference = model.posterior(base)
    tiny = model.posterior({**base, "pregnant_or_postpartum": f"no:{lik}"})
    assert tiny.p_evidence > 0
    assert tiny.log_evidence == pytest.approx(math.log(float(lik)) + reference.log_evidence, abs=1e-9)
    for cause, p in reference.probabilities.items():
        assert tiny.probabilities[cause] == pytest.approx(p, abs=1e-13), cause
    tiny_mpe, mpe = model.mpe({**base, "pregnant_or_postpartum": f"no:{lik}"}).best, model.mpe(base).best
    assert tiny_mpe.present == mpe.present and tiny_mpe.probability == pytest.approx(mpe.probability, abs=1e-12)


def test_tiny_p_evidence_against_pgmpy(model, pgmpy_model):
    """P(e) about 1e-253, computed by the rescaled pass, against pgmpy's VariableElimination."""
    from popliteal.network.bayesnet import reference_query

    evidence = {"sex": "male", "calf_swelling": "yes"}
    soft = {"pregnancy": (("no", 1e-250),), "bakers_cyst": (("yes", 0.3), ("no", 0.7))}
    ours = model.posterior(Evidence(evidence, {"pregnancy": ("no", 1e-250), "bakers_cyst": ("yes", 0.3)}))
    assert ours.p_evidence < 1e-200
    vectors = {n: np.array([dict(v)[s] if s in dict(v) else 0.0 for s in structure.BY_NAME[n].states])
               for n, v in soft.items()}
    vectors["pregnancy"] = np.array([1e-250, 1.0 - 1e-250, 1.0 - 1e-250])
    ref = reference_query(pgmpy_model, list(structure.TARGETS), evidence, vectors)
    for cause in structure.TARGETS:
        assert ours.probabilities[cause] == pytest.approx(ref[cause]["yes"], abs=1e-9), cause


def test_api_evidence_with_unknown_variable_raises_evidence_error():
    with pytest.raises(EvidenceError, match="unknown variable 'nonexistent'"):
        Evidence(hard={"nonexistent": "yes"})
    with pytest.raises(EvidenceError, match="calf_swelling: unknown state 'maybe'"):
        Evidence(hard={"calf_swelling": "maybe"})
    with pytest.raises(EvidenceError, match=r"must be in \(0, 1\]"):
        Evidence(soft={"calf_swelling": ("yes", 1.5)})


def test_api_keyword_that_contradicts_the_mapping_raises(model):
    with pytest.raises(EvidenceError, match="calf_swelling: given twice with different values"):
        model.query({"calf_swelling": "yes"}, calf_swelling="no")
    with pytest.raises(EvidenceError, match="age_group: given twice"):
        model.query({"age_group": "child"}, age=70)
    same = model.query({"calf_swelling": "yes"}, calf_swelling="yes").probabilities
    assert same == model.query(calf_swelling="yes").probabilities


def test_api_bad_interview_answer_arguments_raise_clear_errors(model):
    interview = model.interview({"age": 40})
    with pytest.raises(EvidenceError, match="unknown variable 'calf_swellin'; did you mean calf_swelling"):
        interview.answer("calf_swellin", "yes")
    with pytest.raises(EvidenceError, match="unknown variable 42"):
        interview.answer(42, "yes")
    with pytest.raises(EvidenceError, match="the answer must be a text"):
        interview.answer("calf_swelling", None)
    with pytest.raises(EvidenceError, match="evidence must be a mapping"):
        model.query("calf_swelling=yes")


def test_huge_inputs_are_cut_in_messages(model):
    with pytest.raises(EvidenceError) as info:
        model.query({"x" * 1_000_000: "yes"})
    assert len(str(info.value)) < 200 and "(1000002 characters)" in str(info.value)
    code, out, err = cli("query", "-e", "calf_swelling=" + "y" * 1_000_000)
    assert len(assert_one_line_error(code, err, "calf_swelling")) < 300


@pytest.mark.parametrize("argv, fragment", [
    (["query", "--plot", ""], "--plot: an empty file name"),
    (["explain", "--plot", ""], "--plot: an empty file name"),
    (["query", "--priors", ""], "an empty name"),
    (["export", "--format", "bif", ""], "an empty file name"),
])
def test_empty_paths_are_refused(argv, fragment):
    code, out, err = cli(*argv)
    assert_one_line_error(code, err, fragment)


def test_plot_path_ending_in_slash_is_refused(tmp_path):
    code, out, err = cli("query", "--plot", f"{tmp_path}/x.png/")
    assert_one_line_error(code, err, "names a folder")
    assert not (tmp_path / "x.png").exists()


def _copy_priors(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "priors"
    shutil.copytree(PRIORS, folder)
    return folder


@pytest.mark.parametrize("key, message", [
    ("hamstring_tendinopathy", r"must join two or more different causes with '\+'"),
    ("hamstring_tendinopathy+hamstring_tendinopathy", r"must join two or more different causes"),
    ("hamstring_tendinopathy+popliteus_tendinopathy+hamstring_tendinopathy", r"must join two or more different causes"),
    ("hamstring_tendinopathy+calf_swelling", r"'calf_swelling' is not a cause or complication"),
])
def test_priors_bad_sum_condition_is_one_line(tmp_path, key, message):
    folder = _copy_priors(tmp_path)
    doc = safeyaml.load_text((folder / "triage.yaml").read_text(), "triage.yaml")
    i = next(i for i, r in enumerate(doc["rules"]) if r["id"] == "overload_pattern")
    j = next(j for j, c in enumerate(doc["rules"][i]["when"]) if "posterior_sum_at_least" in c)
    doc["rules"][i]["when"][j] = {"posterior_sum_at_least": {key: 0.5}}
    (folder / "triage.yaml").write_text(safeyaml.dump(doc, sort_keys=False))
    with pytest.raises(PriorsError, match=rf"^triage\.yaml: rules\[{i}\]\.when\[{j}\]\.posterior_sum_at_least\.{key.replace('+', '[+]')}: {message}"):
        load_priors(folder)
