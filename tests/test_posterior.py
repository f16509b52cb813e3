"""The Posterior of a query: ranked one way everywhere.

Oracle: the leader that the vectorised triage (``clinic.policy.triage_many``) picks with
``numpy.argmax`` (the first maximum in structure order).
"""

from __future__ import annotations

import numpy as np
import pytest

from popliteal.clinic.validation import differential
from popliteal.engine.inference import Posterior, rank
from popliteal.network import structure


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
