"""Property tests (hypothesis) over the Python API.

Oracles: the laws of probability and of the model's own semantics —
marginals sum to one, evidence order is irrelevant, impossible evidence is
an error (never NaN), a rupture is never more probable than a cyst, and no
thrombosis risk factor ever lowers P(dvt).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from popliteal.network import structure
from popliteal.engine.evidence import Evidence, EvidenceError
from popliteal.engine.inference import ImpossibleEvidence
from test_inference_exact import evidence_strategy

RISKS = ["estrogen_therapy", "immobilization", "long_travel", "overweight", "cancer",
         "previous_thrombosis", "thrombophilia", "smoking"]


def _posterior_or_none(model, ev):
    try:
        return model.posterior(ev)
    except ImpossibleEvidence:
        return None


@given(ev=evidence_strategy())
def test_posteriors_are_probabilities_and_marginals_sum_to_one(model, ev):
    marg, p_e = model.engine.marginals(ev.likelihoods(), structure.TARGETS)
    if p_e[0] <= 1e-300:
        with pytest.raises(ImpossibleEvidence):
            model.posterior(ev)
        return
    for t, m in marg.items():
        assert np.all(np.isfinite(m)), t
        assert np.all((m >= -1e-15) & (m <= 1 + 1e-15)), t
        assert m.sum() == pytest.approx(1.0, abs=1e-12), t
    post = model.posterior(ev)
    assert all(0.0 <= v <= 1.0 and not math.isnan(v) for v in post.probabilities.values())


@given(ev=evidence_strategy(), seed=st.integers(0, 2**16))
def test_evidence_order_does_not_matter(model, ev, seed):
    items = list(ev.as_dict().items())
    shuffled = [items[i] for i in np.random.default_rng(seed).permutation(len(items))]
    a = _posterior_or_none(model, dict(items))
    b = _posterior_or_none(model, dict(shuffled))
    assert (a is None) == (b is None)
    if a is not None:
        assert a.evidence == b.evidence
        for t in structure.TARGETS:
            assert a.probabilities[t] == pytest.approx(b.probabilities[t], abs=1e-13)


@given(ev=evidence_strategy(soft=False))
def test_a_cause_is_never_more_probable_than_its_presence(model, ev):
    """A ruptured or an intact painful cyst implies a cyst; a painful tear implies a tear."""
    post = _posterior_or_none(model, ev)
    if post is not None:
        present = model.engine.marginals(
            ev.likelihoods(), ["bakers_cyst_present", "meniscus_tear_present"])[0]
        cyst = present["bakers_cyst_present"][0, 0]
        p = post.probabilities
        assert p["bakers_cyst_rupture"] + p["bakers_cyst"] <= cyst + 1e-12
        assert p["meniscus_tear"] <= present["meniscus_tear_present"][0, 0] + 1e-12


@given(ev=evidence_strategy(max_size=5, soft=False), risk=st.sampled_from(RISKS))
def test_adding_a_thrombosis_risk_factor_never_lowers_p_dvt(model, ev, risk):
    ev = ev.without(risk).without("dvt")
    before = _posterior_or_none(model, ev)
    after = _posterior_or_none(model, ev.with_state(risk, "yes"))
    if before is not None and after is not None:
        assert after.probabilities["dvt"] >= before.probabilities["dvt"] - 1e-12


@given(ev=evidence_strategy(soft=False))
def test_impossible_evidence_raises_and_never_returns_nan(model, ev):
    impossible = ev.with_state("sex", "male").with_state("pregnancy", "pregnant")
    with pytest.raises(ImpossibleEvidence):
        model.posterior(impossible)


@given(lik=st.floats(min_value=0.01, max_value=0.99))
def test_soft_evidence_lies_between_no_evidence_and_sure_evidence(model, lik):
    """Virtual evidence with likelihood L for 'yes' moves P(dvt) monotonically in L."""
    none = model.posterior({}).probabilities["dvt"]
    soft = model.posterior({"calf_swelling": f"yes:{lik}"}).probabilities["dvt"]
    sure = model.posterior({"calf_swelling": "yes"}).probabilities["dvt"]
    if lik >= 0.5:
        assert none - 1e-12 <= soft <= sure + 1e-12
    else:
        assert soft <= none + 1e-12


def test_soft_evidence_of_one_half_is_no_evidence(model):
    a = model.posterior({}).probabilities
    b = model.posterior({"calf_swelling": "yes:0.5"}).probabilities
    for t in structure.TARGETS:
        assert a[t] == pytest.approx(b[t], abs=1e-14)


@given(text=st.text(max_size=30))
def test_garbage_evidence_is_an_error_not_a_crash(model, text):
    try:
        model.posterior({text: "yes"})
    except EvidenceError as exc:
        assert "\n" not in str(exc)
    else:
        assert text.strip() in structure.BY_NAME or text.strip() == "age"


def test_evidence_keeps_the_soft_form_in_its_dict():
    ev = Evidence({"sex": "female"}, {"calf_swelling": ("yes", 0.7)})
    assert ev.as_dict() == {"sex": "female", "calf_swelling": "yes:0.7"}
