"""The priors loader rejects every kind of broken file with ``file: field: problem``.

Mutation check: each priors file of the bundled folder is corrupted in each
way below, and every corruption must be caught with a message that names the
file and the field.
"""

from __future__ import annotations

import copy
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from popliteal.common import safeyaml

from popliteal.network import structure
from popliteal.network.priors import PriorsError, _load_node, _load_references, load_priors

ROOT = Path(__file__).resolve().parents[1]
PRIORS = ROOT / "priors"
NODE_FILES = sorted(f"{n}.yaml" for n in structure.NAMES)


def _doc(name: str) -> dict:
    return yaml.safe_load((PRIORS / name).read_text())


def _load(name: str, doc_or_bytes) -> None:
    raw = doc_or_bytes if isinstance(doc_or_bytes, bytes) else safeyaml.dump(doc_or_bytes).encode()
    refs = _load_references(PRIORS / "references.yaml")
    _load_node(name, raw, structure.BY_NAME[name[:-5]], refs)


def _entries(doc: dict) -> list[dict]:
    """Every sourced entry of a document (rows, leak, causes, baseline, odds ratios)."""
    if doc["kind"] == "table":
        return doc["rows"]
    if doc["kind"] in ("noisy_or", "mixture"):
        return [doc["leak"], *doc["causes"], *doc.get("scaled_by", [])]
    return [doc["baseline"], *doc["odds_ratios"], *doc.get("scaled_by", [])]


def _set_number(doc: dict, value) -> None:
    if doc["kind"] == "table":
        row = doc["rows"][0]
        first = next(iter(row["probabilities"]))
        row["probabilities"][first] = value
    elif doc["kind"] == "noisy_or":
        doc["leak"]["probability"] = value
    elif doc["kind"] == "mixture":
        first = next(iter(doc["leak"]["probabilities"]))
        doc["leak"]["probabilities"][first] = value
    else:
        doc["baseline"]["probability"] = value


MUTATIONS = {
    "negative": (lambda d: _set_number(d, -0.2), r"(probabilit|range)"),
    "above_one": (lambda d: _set_number(d, 1.5), r"(probabilit|range)"),
    "nan": (lambda d: _set_number(d, math.nan), r"finite"),
    "wrong_type": (lambda d: _set_number(d, "0.3 percent"), r"must be a number"),
    "missing_source": (lambda d: _entries(d)[0].pop("source"), r"source: missing"),
    "unknown_source": (lambda d: _entries(d)[0].update(source="nobody2099"), r"source: 'nobody2099' is not a key"),
    "bad_evidence_type": (lambda d: _entries(d)[0].update(evidence="hearsay"), r"evidence: must be one of"),
    "missing_range": (lambda d: _entries(d)[0].pop("range"), r"range: missing"),
    "unknown_field": (lambda d: d.update(colour="blue"), r"colour: unknown field"),
    "wrong_node": (lambda d: d.update(node="not_this_one"), r"node: must be"),
    "unknown_kind": (lambda d: d.update(kind="lookup"), r"kind: must be one of"),
}


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("name", NODE_FILES)
def test_every_corruption_of_every_file_is_caught(name, mutation):
    doc = _doc(name)
    _load(name, doc)  # the original is valid
    mutate, pattern = MUTATIONS[mutation]
    broken = copy.deepcopy(doc)
    mutate(broken)
    with pytest.raises(PriorsError) as info:
        _load(name, broken)
    message = _first_line(info.value)
    assert message.startswith(f"{name}: "), message
    assert re.search(pattern, message), message


@pytest.mark.parametrize("name", NODE_FILES)
def test_random_bytes_and_truncation_are_caught(name, rng):
    raw = (PRIORS / name).read_bytes()
    for broken in (rng.bytes(200), raw[: len(raw) // 2], b"\xff\xfe" + raw, b"- just\n- a list\n"):
        try:
            _load(name, broken)
        except PriorsError as exc:
            assert _first_line(exc).startswith(f"{name}: ")
        else:  # a truncation may still be valid YAML: then it must still be a valid, complete file
            pytest.fail(f"{name}: corrupted content accepted: {broken[:40]!r}")


def _first_table(kind: str) -> str:
    for name in NODE_FILES:
        doc = _doc(name)
        if doc["kind"] == kind and (kind != "table" or structure.BY_NAME[name[:-5]].parents):
            return name
    raise AssertionError(f"no {kind} file")


def test_duplicate_row_is_caught():
    name = _first_table("table")
    doc = _doc(name)
    doc["rows"].append(copy.deepcopy(doc["rows"][0]))
    with pytest.raises(PriorsError, match=rf"^{name}: rows\[\d+\]\.given: duplicate of rows\[0\]"):
        _load(name, doc)


def test_missing_row_is_caught():
    name = _first_table("table")
    doc = _doc(name)
    doc["rows"].pop()
    with pytest.raises(PriorsError, match=rf"^{name}: rows: no row for "):
        _load(name, doc)


def test_row_not_summing_to_one_is_caught():
    name = _first_table("table")
    doc = _doc(name)
    probs = doc["rows"][0]["probabilities"]
    key = next(iter(probs))
    probs[key] = probs[key] + 1e-7 if probs[key] < 0.5 else probs[key] - 1e-7
    doc["rows"][0]["range"] = {k: [0.0, 1.0] for k in doc["rows"][0]["range"]}
    with pytest.raises(PriorsError, match=rf"^{name}: rows\[0\]\.probabilities: sums to .* not 1 within 1e-09"):
        _load(name, doc)


def test_unknown_parent_is_caught():
    """A parent that is not in the structure, as a cycle or a misspelling would need."""
    name = _first_table("table")
    doc = _doc(name)
    doc["rows"][0]["given"]["limping"] = "yes"
    with pytest.raises(PriorsError, match=rf"^{name}: rows\[0\]\.given: 'limping' is not a parent"):
        _load(name, doc)


def test_noisy_or_cause_that_is_a_child_is_caught():
    """Declaring a child as a cause would make a cycle: it is refused."""
    name = "bakers_cyst_rupture.yaml" if _doc("bakers_cyst_rupture.yaml")["kind"] == "noisy_or" else _first_table("noisy_or")
    doc = _doc(name)
    doc["causes"].append({**doc["causes"][0], "parent": "calf_swelling"})
    with pytest.raises(PriorsError, match=rf"^{name}: causes\[\d+\]\.parent: 'calf_swelling' is not a parent"):
        _load(name, doc)


def test_a_noisy_or_cause_with_more_states_names_each_causing_state():
    """``calf_swelling`` lists pregnancy by state; a missing, unknown, repeated or exhaustive state is refused."""
    name = "calf_swelling.yaml"
    entries = [i for i, c in enumerate(_doc(name)["causes"]) if c["parent"] == "pregnancy"]
    assert len(entries) == 2
    for change, pattern in (
        (lambda c: c.pop("state"), r"state: missing: pregnancy has the states no, pregnant, postpartum"),
        (lambda c: c.update(state="twins"), r"state: unknown state 'twins' of pregnancy"),
        (lambda c: c.update(state="pregnant"), r"state: pregnancy=pregnant repeats an earlier entry"),
    ):
        doc = _doc(name)
        change(doc["causes"][entries[1]])
        with pytest.raises(PriorsError, match=rf"^{name}: causes\[{entries[1]}\]\.{pattern}"):
            _load(name, doc)
    doc = _doc(name)
    doc["causes"].append({**doc["causes"][entries[0]], "state": "no"})
    with pytest.raises(PriorsError, match=rf"^{name}: causes: every state of pregnancy is listed"):
        _load(name, doc)
    doc = _doc(name)
    doc["causes"][0]["state"] = "no"  # dvt, a yes/no cause
    with pytest.raises(PriorsError, match=rf"^{name}: causes\[0\]\.state: a yes/no cause acts in 'yes'"):
        _load(name, doc)


def test_a_noisy_or_cause_with_more_states_leaves_its_unlisted_state_to_the_others():
    """With only the leak and pregnancy active, P(swelling) is 1 - (1 - leak)(1 - p_state), and the leak when not pregnant."""
    priors = load_priors(PRIORS)
    node = priors.nodes["calf_swelling"]
    values = {p.name: p.value for p in node.parameters}
    var = structure.BY_NAME["calf_swelling"]
    off = {p: structure.BY_NAME[p].states.index("no") for p in var.parents if p != "pregnancy"}
    for state in ("no", "pregnant", "postpartum"):
        index = tuple(off.get(p, structure.BY_NAME["pregnancy"].states.index(state)) for p in var.parents)
        p_state = values.get(f"calf_swelling.cause[pregnancy={state}]", 0.0)
        expected = 1 - (1 - values["calf_swelling.leak"]) * (1 - p_state)
        assert node.table[(0, *index)] == pytest.approx(expected, abs=1e-15)


def test_odds_ratio_must_be_positive():
    name = _first_table("logistic")
    doc = _doc(name)
    doc["odds_ratios"][0]["value"] = -1
    with pytest.raises(PriorsError, match=rf"^{name}: odds_ratios\[0\]\.value: must be > 0"):
        _load(name, doc)


def test_a_scaling_parent_of_a_logistic_node_takes_no_odds_ratio_and_must_be_yes_no():
    name = "meniscus_tear.yaml"
    doc = _doc(name)
    doc["odds_ratios"].append({**doc["odds_ratios"][0], "parent": "meniscus_tear_present", "state": "yes"})
    with pytest.raises(PriorsError, match=rf"^{name}: odds_ratios\[\d+\]\.parent: 'meniscus_tear_present' is "
                                          "not a parent of meniscus_tear graded by odds ratios"):
        _load(name, doc)
    doc = _doc(name)
    doc["scaled_by"].append({**doc["scaled_by"][0], "parent": "age_group"})
    with pytest.raises(PriorsError, match=rf"^{name}: scaled_by\[1\]\.parent: a scaling parent must be yes/no"):
        _load(name, doc)
    doc = _doc(name)
    del doc["scaled_by"]
    with pytest.raises(PriorsError, match=rf"^{name}: baseline\.reference: missing parent 'meniscus_tear_present'"):
        _load(name, doc)


def test_estimate_needs_reasoning_and_study_needs_locator():
    name = _first_table("noisy_or")
    doc = _doc(name)
    doc["leak"].update(evidence="estimate")
    doc["leak"].pop("reasoning", None)
    with pytest.raises(PriorsError, match=rf"^{name}: leak\.reasoning: missing"):
        _load(name, doc)
    doc = _doc(name)
    doc["leak"].update(evidence="study")
    doc["leak"].pop("locator", None)
    with pytest.raises(PriorsError, match=rf"^{name}: leak\.locator: missing"):
        _load(name, doc)


def test_range_must_contain_the_value():
    name = _first_table("logistic")
    doc = _doc(name)
    value = doc["odds_ratios"][0]["value"]
    doc["odds_ratios"][0]["range"] = [value * 2, value * 3]
    with pytest.raises(PriorsError, match=rf"^{name}: odds_ratios\[0\]\.range: .* does not contain the value"):
        _load(name, doc)


def test_folder_level_problems(tmp_path):
    folder = tmp_path / "priors"
    shutil.copytree(PRIORS, folder)
    (folder / "dvt.yaml").unlink()
    with pytest.raises(PriorsError, match=r"^dvt\.yaml: file missing"):
        load_priors(folder)
    shutil.copy(PRIORS / "dvt.yaml", folder / "dvt.yaml")
    (folder / "appendicitis.yaml").write_text("node: appendicitis\n")
    with pytest.raises(PriorsError, match=r"^appendicitis\.yaml: node: no variable called 'appendicitis'"):
        load_priors(folder)
    (folder / "appendicitis.yaml").unlink()
    load_priors(folder)
    with pytest.raises(PriorsError, match="not a readable priors folder"):
        load_priors(tmp_path / "nowhere")


def test_the_bundled_priors_are_valid_and_sourced():
    priors = load_priors(PRIORS)
    assert set(priors.nodes) == set(structure.NAMES)
    for p in priors.parameters:
        assert p.source in priors.references
        assert p.low <= p.value <= p.high
        if p.evidence == "estimate":
            assert p.reasoning
        else:
            assert p.locator
    for node in priors.nodes.values():
        np.testing.assert_allclose(node.table.sum(axis=0), 1.0, atol=1e-9)


def test_rebuild_from_the_values_gives_the_table_back(random_priors_dir):
    priors = load_priors(random_priors_dir)
    for node in priors.nodes.values():
        values = np.array([p.value for p in node.parameters])
        np.testing.assert_allclose(node.rebuild(values), node.table, atol=1e-15)
        batched = node.rebuild(np.stack([values, values]))
        assert batched.shape == (2, *node.table.shape)
        np.testing.assert_allclose(batched[1], node.table, atol=1e-15)


def _policy(triage_doc: dict) -> None:
    from popliteal.network.priors import policy_from_documents

    refs = _load_references(PRIORS / "references.yaml")
    policy_from_documents(triage_doc, _doc("advice.yaml"), refs)


def test_a_self_care_rule_must_decide_about_every_finding():
    """A finding nobody thought of must not slip through to self-care (a lump behind a child's knee)."""
    doc = _doc("triage.yaml")
    _policy(doc)
    growing = next(i for i, r in enumerate(doc["rules"]) if r["id"] == "growing_pains_pattern")
    forgotten = copy.deepcopy(doc)
    for cond in forgotten["rules"][growing]["when"]:
        cond.get("no_evidence_of", {}).pop("popliteal_swelling", None)
    with pytest.raises(PriorsError, match=rf"^triage\.yaml: rules\[{growing}\]\.compatible_findings: the finding "
                                          r"'popliteal_swelling' is neither required"):
        _policy(forgotten)
    missing = copy.deepcopy(doc)
    del missing["rules"][growing]["compatible_findings"]
    with pytest.raises(PriorsError, match=r"compatible_findings: missing"):
        _policy(missing)
    both = copy.deepcopy(doc)
    both["rules"][growing]["compatible_findings"].append("fever")
    with pytest.raises(PriorsError, match=r"'fever' is already a condition of the rule"):
        _policy(both)
    not_finding = copy.deepcopy(doc)
    not_finding["rules"][growing]["compatible_findings"].append("cancer")
    with pytest.raises(PriorsError, match=r"'cancer' is not a finding"):
        _policy(not_finding)
    urgent = copy.deepcopy(doc)
    urgent["rules"][0]["compatible_findings"] = ["calf_pain"]
    with pytest.raises(PriorsError, match=r"rules\[0\]\.compatible_findings: only a self_care rule"):
        _policy(urgent)


@pytest.mark.parametrize("bad", ["55", True, 1, 121, None, [55]])
def test_an_age_condition_must_be_an_age_in_years(bad):
    """``age_at_least`` takes a number of years the model covers (2-120), named in a one-line error."""
    doc = _doc("triage.yaml")
    _policy(doc)
    at = next(i for i, r in enumerate(doc["rules"]) if r["id"] == "ottawa_age")
    broken = copy.deepcopy(doc)
    where = next(j for j, c in enumerate(broken["rules"][at]["when"]) if "age_at_least" in c)
    broken["rules"][at]["when"][where]["age_at_least"] = bad
    with pytest.raises(PriorsError, match=rf"^triage\.yaml: rules\[{at}\]\.when\[{where}\]\.age_at_least: "
                                          r"must be an age in years from 2 to 120"):
        _policy(broken)
