"""Every claim of the seed article, as a test of the model's behaviour.

Oracle: the seed article (back-of-knee-pain, "Painful back of the knee: what can
be behind it", a patient-information article). Each test quotes the claim it
checks. The tests compare directions and rankings, never exact numbers, so a
better-sourced prior does not break them unless it reverses what the article
says.
"""

from __future__ import annotations

import pytest

from popliteal.network import structure

THROMBOSIS_RISK_FACTORS = [
    ("immobilization", "yes"), ("long_travel", "yes"), ("overweight", "yes"), ("age_group", "over_60"),
    ("cancer", "yes"), ("previous_thrombosis", "yes"), ("thrombophilia", "yes"),
    ("pregnancy", "pregnant"), ("pregnancy", "postpartum"), ("smoking", "yes"), ("estrogen_therapy", "yes"),
]


def p(model, evidence, cause):
    if cause not in model.posterior(evidence).probabilities:  # a presence node: its marginal
        return float(model.marginals(evidence, [cause]).marginals[cause]["yes"])
    return model.posterior(evidence).probabilities[cause]


def top(model, evidence):
    return model.posterior(evidence).ranking[0]


def test_seed_says_pain_after_a_fall_points_to_meniscus_or_ligament(model):
    """'After a fall or an accident, pain ... can indicate damage to the knee ligaments or a meniscus.'"""
    base = {"age_group": "adult", "recent_trauma": "no"}
    fall = {"age_group": "adult", "recent_trauma": "yes"}
    for cause in ("meniscus_tear", "ligament_injury"):
        assert p(model, fall, cause) > 2 * p(model, base, cause)
    assert top(model, {**fall, "knee_locking": "yes"}) == "meniscus_tear"
    assert top(model, {**fall, "knee_instability": "yes"}) == "ligament_injury"


def test_seed_says_pain_after_sport_without_trauma_points_to_overload(model):
    """'If the back of the knee hurts, especially after sports, an overload or incorrect load is often the cause.'"""
    ev = {"age_group": "adult", "sports_overload": "yes", "recent_trauma": "no", "pain_after_exercise": "yes"}
    assert top(model, ev) in ("hamstring_tendinopathy", "popliteus_tendinopathy")
    overload = p(model, ev, "hamstring_tendinopathy") + p(model, ev, "popliteus_tendinopathy")
    assert overload > p(model, ev, "meniscus_tear") + p(model, ev, "ligament_injury")


def test_seed_says_tendon_pain_on_bending_and_thickening_points_to_tendinopathy(model):
    """'pain ... which mainly occurs when bending the knee or when pressure is applied to the tendon ... thickened'"""
    ev = {"sports_overload": "yes", "pain_on_bending": "yes", "tendon_thickening": "yes"}
    assert top(model, ev) in ("hamstring_tendinopathy", "popliteus_tendinopathy")


def test_seed_says_bump_behind_knee_points_to_bakers_cyst(model):
    """'A painful, palpable swelling in the back of the knee ... is often indicative of a so-called Baker's cyst.'"""
    assert top(model, {"popliteal_swelling": "yes"}) == "bakers_cyst"
    post = model.posterior({"popliteal_swelling": "yes"})
    # a cyst is probably there (causing the pain, ruptured, or incidental)
    assert post.probabilities["bakers_cyst"] + post.probabilities["bakers_cyst_rupture"] \
        + post.incidental["bakers_cyst"] > 0.5


def test_seed_says_bakers_cyst_follows_osteoarthritis_meniscus_damage_and_inflammation(model):
    """'The cause is usually irritation of the knee joint – such as osteoarthritis, meniscus damage, or joint inflammation.'"""
    base = p(model, {}, "bakers_cyst_present")
    for ev in ({"osteoarthritis": "yes"}, {"meniscus_tear_present": "yes"}, {"joint_inflammation": "yes"},
               {"knee_effusion": "yes"}):
        assert p(model, ev, "bakers_cyst_present") > base, ev
    # the cyst as the cause of this pain follows them too, except the meniscus tear *as a cause*:
    # that one explains the pain itself (the causes compete for it, 2026-12-01)
    base = p(model, {}, "bakers_cyst")
    for ev in ({"osteoarthritis": "yes"}, {"joint_inflammation": "yes"}, {"knee_effusion": "yes"}):
        assert p(model, ev, "bakers_cyst") > base, ev


def test_seed_says_rupture_gives_sudden_severe_pain_redness_and_warmth(model):
    """'Rarely, the cyst can rupture – in which case there is sudden, severe pain as well as redness and overheating.'"""
    base = p(model, {}, "bakers_cyst_rupture")
    ev = {"sudden_severe_pain": "yes", "redness_warmth": "yes", "popliteal_swelling": "yes"}
    assert p(model, ev, "bakers_cyst_rupture") > 5 * base
    assert p(model, {}, "bakers_cyst_rupture") < 0.05  # 'rarely'


@pytest.mark.parametrize("name,state", THROMBOSIS_RISK_FACTORS)
def test_seed_says_each_thrombosis_risk_factor_raises_p_dvt(model, name, state):
    """The article's list of thrombosis risk factors: each raises P(dvt) on its own."""
    base = {"sex": "female", "age_group": "adult"}
    if name == "age_group":
        assert p(model, {**base, name: state}, "dvt") > p(model, base, "dvt")
    else:
        assert p(model, {**base, name: state}, "dvt") > p(model, {**base, name: "no"}, "dvt")


def test_seed_says_thrombosis_is_a_rare_cause(model):
    """'More rarely, thrombosis of the leg veins can also cause pain in the back of the knee.'"""
    prior = model.posterior({}).probabilities
    assert prior["dvt"] < 0.05
    assert prior["dvt"] < prior["bakers_cyst"] and prior["dvt"] < prior["meniscus_tear"]


def test_seed_says_swelling_discoloration_and_calf_tenderness_reinforce_thrombosis(model):
    """'swelling of the back of the knee or calf and a bluish discoloration ... pain when the calf is squeezed ... may reinforce the suspicion'

    Each sign alone raises P(dvt), and the three together raise it above any one alone. (Adding
    tenderness *after* the other two need not raise it further: a torn calf muscle or a ruptured
    cyst explain tenderness at least as well as a DVT does.)
    """
    base = {"age_group": "adult"}
    signs = ("calf_swelling", "skin_discoloration", "calf_tenderness", "popliteal_swelling")
    alone = {s: p(model, {**base, s: "yes"}, "dvt") for s in signs}
    assert all(v > p(model, base, "dvt") for v in alone.values()), alone
    together = p(model, {**base, **{s: "yes" for s in signs[:3]}}, "dvt")
    assert together > max(alone[s] for s in signs[:3])


def test_seed_says_suspected_thrombosis_means_seeing_a_doctor_soon(model):
    """'If you suspect that you may have a thrombosis, you should see a doctor as soon as possible.'"""
    ev = {"age_group": "over_60", "immobilization": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}
    result = model.query(ev)
    assert result.triage.level in ("urgent", "emergency")
    assert any("see a doctor today" in a for a in result.advice)


def test_seed_says_pulmonary_embolism_can_follow_thrombosis(model):
    """'in the worst case a life-threatening pulmonary embolism can be the result'"""
    assert p(model, {"dvt": "yes"}, "pulmonary_embolism") > 10 * p(model, {"dvt": "no"}, "pulmonary_embolism")
    ev = {"calf_swelling": "yes", "calf_tenderness": "yes", "immobilization": "yes", "breathlessness": "yes"}
    result = model.query(ev)
    assert result.triage.level == "emergency"
    assert any("emergency" in a for a in result.advice)


def test_seed_says_tibial_nerve_irritation_burns_or_tingles_in_the_calf(model):
    """'if the tibial nerve is irritated, there may be a burning or tingling sensation in the calf'

    The seed's picture (burning in the calf, pain when the knee is stretched) is also that of a
    pinched root in the back, which the seed does not name and which is several times commoner
    (lumbar_radiculopathy, 2026-12-03; the straight-leg raise stretches its nerve, vanderwindt2010).
    So the tibial nerve leads once the back is denied; with the back not asked, both nerve causes
    lead and the root comes first, the order in which a clinician examines them.
    """
    ev = {"calf_tingling": "yes", "pain_on_extension": "yes", "pain_after_walking": "yes"}
    assert top(model, {**ev, "back_pain": "no"}) == "tibial_nerve_irritation"
    assert set(model.posterior(ev).ranking[:2]) == {"tibial_nerve_irritation", "lumbar_radiculopathy"}


@pytest.mark.parametrize("cause_ev", [{"weight_training": "yes"}, {"knee_effusion": "yes"}, {"bakers_cyst": "yes"}])
def test_seed_says_weight_training_effusion_or_cyst_can_constrict_the_tibial_nerve(model, cause_ev):
    """'Rapid muscle growth during intense weight training, a knee joint effusion, or a Baker's cyst can constrict the nerve'"""
    assert p(model, cause_ev, "tibial_nerve_irritation") > p(model, {}, "tibial_nerve_irritation")


def test_seed_says_childrens_pain_without_a_fall_is_often_growing_pains(model):
    """'In children, pain in the back of the knee or calf that occurs without a previous fall is often due to growth.'"""
    ev = {"age_group": "child", "recent_trauma": "no", "night_pain_both_legs": "yes"}
    assert top(model, ev) == "growing_pains"
    # self-care once a limp is denied; pain that persists ('if the pain persists for a longer period of time or
    # is unusually severe, it should be clarified by a doctor') or a fever, reported, sends the child to a doctor
    assert model.query({**ev, "limping": "no"}).triage.level == "self_care"
    assert model.query({**ev, "limping": "no", "persistent_pain": "no", "fever": "no"}).triage.level == "self_care"
    assert model.query({**ev, "limping": "no", "persistent_pain": "yes"}).triage.level == "doctor"
    assert model.query({**ev, "limping": "no", "fever": "yes"}).triage.level in ("urgent", "emergency")
    assert model.query(ev).triage.level == "doctor"
    assert p(model, {"age_group": "adult"}, "growing_pains") == 0.0


def test_seed_says_a_child_after_a_fall_should_see_a_doctor(model):
    """'it should be clarified by a doctor – this applies in particular if the child has fallen or had an accident'"""
    result = model.query({"age_group": "child", "recent_trauma": "yes"})
    assert result.triage.level in ("doctor", "urgent", "emergency")
    assert any("fall" in a for a in result.advice)


def test_seed_says_growth_plate_detachment_needs_prompt_treatment(model):
    """'a detachment of the growth plate (epiphysiolysis) ... Prompt treatment is then important'"""
    ev = {"age_group": "adolescent", "recent_trauma": "yes", "limping": "yes", "knee_effusion": "yes"}
    assert p(model, ev, "epiphysiolysis") > p(model, {"age_group": "adolescent"}, "epiphysiolysis")
    assert model.query(ev).triage.level in ("urgent", "emergency")
    assert p(model, {"age_group": "adult", "recent_trauma": "yes"}, "epiphysiolysis") == 0.0


def test_seed_says_pech_after_a_fall_and_mri_if_no_better(model):
    """'For pain after a fall, the PECH rule generally applies first ... an MRI can usually confirm the diagnosis.'"""
    # a knee that swelled slowly after a twist (doctor): a knee that is *stuck* and will not straighten is
    # same-day (NHS Gloucestershire knee pathway), where "wait a few days for the MRI" is rightly not shown,
    # and so is a swollen knee whose onset is not known yet (a haemarthrosis cannot be ruled out); a knee
    # that only catches after a twist stays "doctor", with PECH and the MRI advice
    swollen = {"age_group": "adult", "recent_trauma": "yes", "knee_effusion": "yes"}
    advice = " ".join(model.query({**swollen, "rapid_swelling": "no"}).advice)
    assert "PECH" in advice and "MRI" in advice
    unknown = model.query(swollen)
    assert unknown.triage.level == "urgent" and "PECH" in " ".join(unknown.advice)
    assert "MRI" not in " ".join(unknown.advice)
    locked = " ".join(model.query({"recent_trauma": "yes", "knee_stuck": "yes"}).advice)
    assert "PECH" in locked and "MRI" not in locked and "today" in locked
    catching = " ".join(model.query({"recent_trauma": "yes", "knee_locking": "yes"}).advice)
    assert "PECH" in catching and "MRI" in catching and "stuck and will not straighten" in catching


def test_seed_says_rest_heat_or_cooling_for_overload(model):
    """'take a break from sport for a few days ... heat ... In the case of inflammation ... cooling'"""
    ev = {"age_group": "adult", "sports_overload": "yes", "pain_after_exercise": "yes", "pain_on_bending": "yes",
          "calf_swelling": "no", "calf_tenderness": "no", "calf_pain": "no"}
    advice = " ".join(model.query(ev).advice)
    assert "break from sport" in advice and "heat" in advice and "cooling" not in advice
    inflamed = " ".join(model.query({**ev, "redness_warmth": "yes"}).advice)
    assert "cooling" in inflamed and "heat helps" not in inflamed


def test_seed_says_pregnancy_is_impossible_for_men_and_children(model):
    from popliteal.engine.inference import ImpossibleEvidence

    for ev in ({"sex": "male", "pregnant_or_postpartum": "yes"},
               {"age_group": "child", "pregnant_or_postpartum": "yes"}):
        with pytest.raises(ImpossibleEvidence, match="impossible"):
            model.posterior(ev)


def test_every_cause_of_the_article_is_reachable(model):
    """Each cause can lead the ranking with the findings the article ties to it."""
    typical = {
        "meniscus_tear": {"recent_trauma": "yes", "knee_locking": "yes"},
        "ligament_injury": {"recent_trauma": "yes", "knee_instability": "yes"},
        "bakers_cyst": {"popliteal_swelling": "yes"},
        # the article's whole description: pain on stretching, after long walking, tingling in the calf; with the
        # back denied (else a pinched root, commoner and not in the article, comes first: see the test above)
        "tibial_nerve_irritation": {"calf_tingling": "yes", "pain_on_extension": "yes", "pain_after_walking": "yes",
                                    "back_pain": "no"},
        "growing_pains": {"age_group": "child", "night_pain_both_legs": "yes"},
        "dvt": {"calf_swelling": "yes", "calf_tenderness": "yes", "skin_discoloration": "yes",
                "immobilization": "yes", "cancer": "yes"},
    }
    for cause, ev in typical.items():
        assert top(model, ev) == cause, (cause, model.posterior(ev).ranking[:3])
    assert set(structure.TARGETS) >= set(typical)
