"""The Posterior of a query: read-only, JSON-ready, copyable, and ranked one way everywhere.

Oracles: Python's own ``json``, ``pickle`` and ``copy`` (what a caller does with a result), the
posterior's cached frame (which must keep agreeing with its numbers), and the leader that the
vectorised triage (``clinic.policy.triage_many``) picks with ``numpy.argmax`` (the first maximum
in structure order).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle

import numpy as np
import pytest

from popliteal.clinic.validation import differential
from popliteal.engine.inference import Posterior, rank
from popliteal.network import structure

EVIDENCE = {"age": 67, "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}


@pytest.fixture(scope="module")
def posterior(model):
    return dataclasses.replace(model.posterior(EVIDENCE), intervals={t: (0.0, 1.0) for t in structure.TARGETS})


@pytest.mark.parametrize("name", ["evidence", "probabilities", "intervals", "incidental"])
def test_a_frozen_posterior_refuses_a_change_of_its_numbers_as_python_refuses_one_of_a_field(posterior, name):
    before = posterior.frame.copy()
    mapping = getattr(posterior, name)
    key = next(iter(mapping))
    with pytest.raises(TypeError):
        mapping[key] = 5.0
    with pytest.raises(TypeError):
        del mapping[key]
    with pytest.raises(AttributeError):
        setattr(posterior, name, {})
    assert posterior.frame.equals(before)


def test_a_posterior_keeps_its_own_copy_of_the_dicts_it_was_given():
    probs = dict.fromkeys(structure.TARGETS, 0.1)
    post = Posterior(evidence={"calf_swelling": "yes"}, probabilities=probs, digest="test")
    probs["dvt"] = 0.9
    assert post.probabilities["dvt"] == 0.1


def test_to_dict_gives_plain_dicts_that_json_dumps_and_reads_back(posterior):
    out = posterior.to_dict()
    for key in ("evidence", "probabilities", "incidental", "intervals"):
        assert type(out[key]) is dict
    assert json.loads(json.dumps(out)) == json.loads(posterior.to_json())
    assert json.loads(json.dumps(out))["probabilities"] == dict(posterior.probabilities)


@pytest.mark.parametrize("clone", [lambda p: pickle.loads(pickle.dumps(p)), copy.copy, copy.deepcopy],
                         ids=["pickle", "copy", "deepcopy"])
def test_a_posterior_survives_pickle_and_copy_equal_and_still_read_only(posterior, clone):
    again = clone(posterior)
    assert again == posterior and again.log_p_evidence == posterior.log_p_evidence
    assert again.frame.equals(posterior.frame)
    with pytest.raises(TypeError):
        again.probabilities["dvt"] = 5.0


def test_posteriors_with_the_same_numbers_are_equal_whatever_mapping_they_were_given(posterior):
    plain = Posterior(evidence=dict(posterior.evidence), probabilities=dict(posterior.probabilities),
                      digest=posterior.digest, p_evidence=posterior.p_evidence,
                      intervals=dict(posterior.intervals), incidental=dict(posterior.incidental),
                      outside_model=posterior.outside_model, age_years=posterior.age_years)
    assert plain == posterior
    assert posterior.probabilities == dict(posterior.probabilities)


def test_rank_breaks_ties_in_structure_order_as_numpy_argmax_picks_the_triage_leader():
    rng = np.random.default_rng(3)
    probs = rng.choice([0.0, 0.2, 0.5, 0.5, 0.9], size=(200, len(structure.TARGETS)))  # many ties
    for row in probs:
        ranked = rank(row)
        assert ranked == rank(dict(zip(structure.TARGETS, row)))
        assert ranked[0] == structure.TARGETS[int(np.argmax(row))]
        assert [row[structure.TARGETS.index(t)] for t in ranked] == sorted(row, reverse=True)
        post = Posterior(evidence={}, probabilities=dict(zip(structure.TARGETS, row)), digest="test")
        assert post.ranking == ranked


def test_the_differential_ranks_dvt_after_its_embolism_by_the_same_rule():
    probs = dict.fromkeys(structure.TARGETS, 0.3)
    probs["dvt"], probs["pulmonary_embolism"] = 0.5, 0.2
    diff = differential(Posterior(evidence={}, probabilities=probs, digest="test"))
    assert [n for n, _ in diff] == rank({**probs, "dvt": 0.3})
    assert dict(diff)["dvt"] == pytest.approx(0.3)


def test_rank_refuses_a_vector_of_the_wrong_length_in_one_line():
    with pytest.raises(ValueError, match=f"rank: 2 probabilities for {len(structure.TARGETS)} targets"):
        rank([0.1, 0.2])


def test_the_age_in_years_is_kept_beside_its_band_and_dropped_when_the_band_changes():
    """``age=57`` gives ``age_group=adult`` for the network and keeps 57 for the triage rules."""
    from popliteal.engine.evidence import Evidence, EvidenceError, from_mapping

    ev = from_mapping({"age": 57, "recent_trauma": "yes"})
    assert ev.years == 57 and ev.hard["age_group"] == "adult"
    assert from_mapping({"age": "57", "age_group": "adult"}).years == 57
    assert ev.with_state("calf_pain", "no").years == 57 and ev.without("calf_pain").years == 57
    assert ev.with_state("age_group", "over_60").years is None and ev.without("age_group").years is None
    assert from_mapping({"age_group": "adult"}).years is None
    with pytest.raises(EvidenceError, match=r"^age_group: given twice with different values"):
        from_mapping({"age": 57, "age_group": "over_60"})
    with pytest.raises(EvidenceError, match=r"^age: given twice with different values \(57 and 58\)"):
        from_mapping([("age", 57), ("age", 58)])
    with pytest.raises(EvidenceError, match=r"^age=57: the age in years needs age_group=adult beside it"):
        Evidence({"age_group": "child"}, {}, 57.0)
