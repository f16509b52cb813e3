"""Triage and advice from posteriors, against the policy in priors/triage.yaml."""

from __future__ import annotations

import pytest

from popliteal import structure
from popliteal.inference import Posterior
from popliteal.reasoning import ADVICE, PECH, SEE_DOCTOR_IF_NO_BETTER, assess, triage


def posterior(evidence=None, **probs):
    base = {t: 0.0 for t in structure.TARGETS}
    base.update(probs)
    return Posterior(evidence=evidence or {}, probabilities=base, digest="test")


@pytest.fixture(scope="module")
def policy(model):
    return model.priors.triage


def threshold(policy, cause):
    return next(r.threshold for r in policy.rules if r.cause == cause and not r.when)


def test_a_dvt_at_the_threshold_is_never_sent_home(policy):
    t = threshold(policy, "dvt")
    assert triage(posterior(dvt=t, hamstring_tendinopathy=0.9), policy).level == "urgent"
    just_below = triage(posterior(dvt=t * 0.99, hamstring_tendinopathy=0.9), policy)
    assert just_below.level == "self_care"


def test_pulmonary_embolism_is_an_emergency(policy):
    t = threshold(policy, "pulmonary_embolism")
    result = triage(posterior(pulmonary_embolism=t, dvt=0.5), policy)
    assert result.level == "emergency"
    assert any("pulmonary_embolism" in r for r in result.reasons)


def test_unclear_picture_goes_to_a_doctor(policy):
    result = triage(posterior(hamstring_tendinopathy=0.3, meniscus_tear=0.25), policy)
    assert result.level == "doctor"


def test_self_care_needs_a_leading_self_limiting_cause(policy):
    assert triage(posterior(growing_pains=0.8), policy).level == "self_care"
    assert triage(posterior(growing_pains=0.8, epiphysiolysis=0.06), policy).level == "urgent"


def test_evidence_rules_fire_whatever_the_posteriors(policy):
    child = posterior({"age_group": "child", "recent_trauma": "yes"}, growing_pains=0.9)
    assert triage(child, policy).level == "doctor"
    breathless = posterior({"breathlessness": "yes"}, hamstring_tendinopathy=0.9)
    assert triage(breathless, policy).level == "urgent"


def test_advice_of_every_likely_cause_is_given(policy):
    result = assess(posterior({"recent_trauma": "yes"}, meniscus_tear=0.5, dvt=0.3), policy)
    for text in ADVICE["meniscus_tear"] + ADVICE["dvt"]:
        assert text in result.advice
    assert result.advice[-1].startswith("This is not medical advice")


def test_seed_says_pech_is_for_pain_after_a_fall(policy):
    """'For pain after a fall, the PECH rule generally applies first' — not without a fall."""
    for evidence in ({}, {"recent_trauma": "no"}):
        result = assess(posterior(evidence, meniscus_tear=0.5), policy)
        assert PECH not in result.advice and SEE_DOCTOR_IF_NO_BETTER in result.advice


def test_every_cause_has_advice():
    assert set(ADVICE) == set(structure.TARGETS)


def test_levels_are_ordered_most_urgent_first(policy):
    result = triage(posterior(pulmonary_embolism=0.5, dvt=0.9, meniscus_tear=0.9), policy)
    assert result.level == "emergency"


def test_symptomatic_patient_goes_to_emergency_at_a_lower_pe_threshold(policy):
    """priors/triage.yaml: P(PE) >= 5% with breathlessness, >= 15% when it was not asked."""
    symptomatic = [r for r in policy.rules if r.cause == "pulmonary_embolism" and r.when]
    assert symptomatic and symptomatic[0].when == {"breathlessness": "yes"}
    p = (symptomatic[0].threshold + threshold(policy, "pulmonary_embolism")) / 2
    assert triage(posterior({"breathlessness": "yes"}, pulmonary_embolism=p), policy).level == "emergency"
    assert triage(posterior({}, pulmonary_embolism=p, dvt=0.9), policy).level == "urgent"
