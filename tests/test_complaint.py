"""The complaint node: the causes compete for the one pain, and the files' rows still hold.

Oracles: the files themselves (every ancestor's row, once the pain is known, is its file's
row; checked with the engine on every row and with pgmpy on a few), and the noisy-OR identity
``P(x, e, pain) = P(x, e) - (1 - leak) P(x, e, no cause)``, computed by the engine without the
complaint (itself checked against brute force and pgmpy in ``test_inference_exact``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from popliteal.engine import complaint
from popliteal.engine.evidence import EvidenceError, from_mapping
from popliteal.engine.inference import Engine
from popliteal.engine.sampling import draw_states
from popliteal.network import structure
from popliteal.network.bayesnet import reference_query

from test_inference_exact import evidence_strategy

CAUSES = structure.BY_NAME[structure.COMPLAINT].parents


def _files(model):
    return model.priors.tables


def _leak(model) -> float:
    table = model.engine.tables[structure.COMPLAINT]
    return float(table[(0,) + (1,) * len(CAUSES)])


def test_every_row_given_the_pain_equals_its_file_row(model):
    files = _files(model)
    for name in complaint.ancestors():
        likelihoods, batch = complaint._rows(structure.BY_NAME[name])
        marg, p_e = model.engine.marginals(likelihoods, (name,), batch=batch)
        table = files[name]
        now = marg[name].T.reshape(table.shape)
        possible = (p_e > 0).reshape(table.shape[1:])
        np.testing.assert_allclose(now[:, possible], table[:, possible], rtol=0, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("name,given", [
    ("age_group", {}),
    ("osteoarthritis_pain", {"osteoarthritis": "yes"}),
    ("hamstring_tendinopathy", {"sports_overload": "yes", "age_group": "adult"}),
    ("growing_pains", {"age_group": "child", "recent_trauma": "no"}),
])
def test_rows_given_the_pain_equal_the_files_against_pgmpy(name, given, model, pgmpy_model):
    var = structure.BY_NAME[name]
    ref = reference_query(pgmpy_model, [name], given)[name]
    index = tuple(structure.BY_NAME[p].states.index(given[p]) for p in var.parents)
    want = model.priors.nodes[name].table[(slice(None), *index)]
    for state, p in zip(var.states, want):
        assert ref[state] == pytest.approx(p, abs=1e-9), state


@settings(max_examples=40, deadline=None)
@given(ev=evidence_strategy(max_size=6))
def test_posterior_against_the_noisy_or_identity(ev, model):
    if structure.COMPLAINT in ev.names:
        return
    lik = ev.likelihoods()
    with_pain, p_pain = model.engine.marginals(lik, structure.TARGETS)
    if not p_pain[0] > 0:
        return
    plain = Engine(model.engine.tables, complaint=False)
    m_all, p_all = plain.marginals(lik, structure.TARGETS)
    none = {**lik, **{c: np.array([0.0, 1.0]) * lik.get(c, np.ones(2)) for c in CAUSES}}
    m_none, p_none = plain.marginals(none, structure.TARGETS)
    keep = 1.0 - _leak(model)
    p_none_0 = p_none[0] if p_none[0] > 0 else 0.0
    denominator = p_all[0] - keep * p_none_0
    _, p_no_cause = plain.marginals({c: np.array([0.0, 1.0]) for c in CAUSES}, ["age_group"])
    p_complaint = 1.0 - keep * p_no_cause[0]
    assert p_pain[0] == pytest.approx(denominator / p_complaint, rel=1e-9)  # P(evidence | pain)
    for t in structure.TARGETS:
        none_t = m_none[t][0] if p_none[0] > 0 else np.zeros(2)
        expected = (p_all[0] * m_all[t][0] - keep * p_none_0 * none_t) / denominator
        np.testing.assert_allclose(with_pain[t][0], expected, rtol=0, atol=1e-9, err_msg=t)


def test_a_proven_cause_explains_the_pain_away(model):
    """A DVT found in an over-60 with known osteoarthritis leaves the OA less likely to be what hurts."""
    ev = {"age_group": "over_60", "osteoarthritis": "yes"}
    before = model.posterior(ev).probabilities["osteoarthritis_pain"]
    after = model.posterior({**ev, "dvt": "yes"}).probabilities["osteoarthritis_pain"]
    assert after < 0.6 * before
    plain = Engine(model.engine.tables, complaint=False)  # without the complaint, no competition
    lik = from_mapping(ev).likelihoods()
    a, _ = plain.marginals(lik, ["osteoarthritis_pain"])
    b, _ = plain.marginals({**lik, "dvt": np.array([1.0, 0.0])}, ["osteoarthritis_pain"])
    assert a["osteoarthritis_pain"][0, 0] == pytest.approx(b["osteoarthritis_pain"][0, 0], abs=1e-12)


def test_knee_pain_yes_is_accepted_and_changes_nothing(model):
    ev = {"age_group": "adult", "calf_swelling": "yes"}
    a = model.posterior(ev).probabilities
    b = model.posterior({**ev, "knee_pain": "yes"}).probabilities
    assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("ev", [
    {"age": 30, "sports_overload": "yes", "pain_after_exercise": "yes", "calf_swelling": "no", "calf_pain": "no",
     "calf_tenderness": "no"},
    {"age": 70, "night_pain_both_legs": "yes"},  # a real clash: its warning must not grow
])
def test_knee_pain_yes_changes_no_warning_and_no_explanation(model, ev):
    """It was taken for a piece of evidence: a false conflict warning (measure 6.8, "897 times less likely")
    and a weight "for" each cause in explain (QA, 2026-12-03)."""
    plain, told = model.query(ev), model.query({**ev, "knee_pain": "yes"})
    assert told.warnings == plain.warnings and told.advice == plain.advice
    assert told.triage == plain.triage
    with_it, without = model.conflict({**ev, "knee_pain": "yes"}), model.conflict(ev)
    assert (with_it.pair, with_it.conflicting) == (without.pair, without.conflicting)
    assert with_it.score == pytest.approx(without.score, abs=1e-9)
    a, b = model.explain(ev).frame, model.explain({**ev, "knee_pain": "yes"}).frame
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-12)


@pytest.mark.parametrize("value", ["no", "yes:0.7"])
def test_knee_pain_otherwise_is_refused_in_one_line(value):
    with pytest.raises(EvidenceError, match=r"^knee_pain: always yes") as info:
        from_mapping({"knee_pain": value})
    assert "\n" not in str(info.value)


def test_drawn_patients_all_have_the_complaint(model, rng):
    drawn = draw_states(model, 500, rng)
    assert all(len(v) == 500 for v in drawn.values())
    assert np.all(drawn[structure.COMPLAINT] == 0)


def test_the_fit_on_disk_is_the_fit(model, tmp_path, monkeypatch):
    monkeypatch.setenv("POPLITEAL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(complaint, "_FITTED", {})
    first = complaint.fitted_tables(_files(model), "digest-for-test")
    assert list(tmp_path.glob("fit-*.npz"))
    monkeypatch.setattr(complaint, "_FITTED", {})
    again = complaint.fitted_tables(_files(model), "digest-for-test")
    for n in structure.NAMES:
        np.testing.assert_array_equal(first[n], again[n])
        np.testing.assert_allclose(first[n], model.engine.tables[n], rtol=0, atol=1e-12)


def test_a_fit_that_cannot_converge_fails_loudly(model):
    with pytest.raises(complaint.FitError, match="knee_pain: the tables did not fit"):
        complaint.fit(_files(model), tol=0.0, max_sweeps=2)


def test_draws_at_the_files_values_move_exactly_to_the_fit(model):
    files = _files(model)
    stacked = {n: np.stack([t, t]) for n, t in files.items()}
    moved = complaint.carry(stacked, files, model.engine.tables)
    for n in structure.NAMES:
        np.testing.assert_allclose(moved[n][1], model.engine.tables[n], rtol=0, atol=1e-12, err_msg=n)
