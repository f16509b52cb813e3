"""Triage and advice against the policy in priors/triage.yaml and priors/advice.yaml.

The unit tests feed hand-made posteriors to the rules; the invariant tests run 10,000 random
patients drawn from the network (partial answers, soft evidence) through the whole model and
check what the clinical review asked for: advice never contradicts its level, no red flag reaches
self-care, PECH follows a fall, heat never beside a dangerous cause or after trauma, and (NHS knee
pathways) a knee that is stuck, one that swelled within hours of an injury, or one the patient cannot
walk on is seen the same day.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from popliteal import batch
from popliteal.common import safeyaml

from popliteal.network import structure
from popliteal.engine.inference import Posterior
from popliteal.clinic.policy import assess, reported, triage


def posterior(evidence=None, **probs):
    base = {t: 0.0 for t in structure.TARGETS}
    base.update(probs)
    return Posterior(evidence=evidence or {}, probabilities=base, digest="test")


@pytest.fixture(scope="module")
def policy(model):
    return model.priors.triage


ROOT = Path(__file__).resolve().parents[1]
CALF_ANSWERED = {"calf_swelling": "no", "calf_tenderness": "no", "calf_pain": "no"}


def test_a_dvt_at_the_threshold_is_seen_the_same_day_once_the_calf_was_asked(policy):
    t = policy.threshold("dvt_probable", "dvt")
    assert triage(posterior(CALF_ANSWERED, dvt=t), policy).level == "urgent"
    assert triage(posterior(CALF_ANSWERED, dvt=t * 0.99), policy).level == "doctor"


def test_risk_factors_alone_do_not_make_a_patient_urgent_but_ask_the_calf_questions(policy):
    result = assess(posterior({"age_group": "over_60", "overweight": "yes"}, dvt=0.08), policy)
    assert result.triage.level == "doctor" and result.triage.rules == ("dvt_calf_not_asked",)
    assert result.advice_ids[0] == "answer_calf_questions"


def test_nice_ng158_says_a_swollen_or_tender_calf_is_assessed_the_same_day(policy):
    for sign in ("calf_swelling", "calf_tenderness"):
        result = assess(posterior({sign: "yes"}, dvt=0.01, other_calf_condition=0.5), policy)
        assert result.triage.level == "urgent" and "calf_sign" in result.triage.rules
        assert "dvt_see_today" in result.advice_ids


def test_seed_says_a_bluish_leg_with_a_possible_thrombosis_is_seen_the_same_day(policy):
    """Seed: a bluish discoloration or clearly visible veins are signs of a thrombosis; see a doctor asap."""
    t = policy.threshold("skin_sign_dvt_possible", "dvt")
    bluish = assess(posterior({"skin_discoloration": "yes"}, dvt=t), policy)
    assert bluish.triage.level == "urgent" and "skin_sign_dvt_possible" in bluish.triage.rules
    assert "dvt_see_today" in bluish.advice_ids
    # visible veins are common without a thrombosis: below the residual risk, no same-day rule from them
    assert triage(posterior({"skin_discoloration": "yes", **CALF_ANSWERED}, dvt=t * 0.9), policy).level == "doctor"


def test_decousus_says_a_vein_cord_with_a_possible_thrombosis_is_seen_the_same_day(policy):
    """POST (Decousus 2010): a quarter of superficial vein thromboses come with a deep one."""
    t = policy.threshold("vein_cord_dvt_possible", "dvt")
    cord = assess(posterior({"vein_cord": "yes"}, dvt=t, other_calf_condition=0.6), policy)
    assert cord.triage.level == "urgent" and "vein_cord_dvt_possible" in cord.triage.rules
    assert "dvt_see_today" in cord.advice_ids
    assert "vein_cord_dvt_possible" not in triage(
        posterior({"vein_cord": "yes", **CALF_ANSWERED}, dvt=t * 0.9), policy).rules


def test_boyd_says_a_snap_in_the_calf_is_an_achilles_rupture_until_examined_the_same_day(policy):
    """BJGP 2015: a snap as if hit in the calf is the classic Achilles story; a delay beyond a day matters."""
    snap = assess(posterior({"calf_snap": "yes"}, other_calf_condition=0.9), policy)
    assert snap.triage.level == "urgent" and "calf_snap_achilles" in snap.triage.rules
    assert "calf_snap_today" in snap.advice_ids
    assert "calf_snap_achilles" not in triage(posterior({"calf_snap": "no"}, other_calf_condition=0.9), policy).rules


def test_seed_says_a_break_from_sport_whichever_overloaded_tendon_hurts(policy):
    """Seed: pain after exercise means a few days' break from sport; the tendon does not change that.

    The self-care gate adds the two overload tendinopathies (the same advice) instead of
    asking one of them to reach its threshold alone.
    """
    t = policy.threshold("overload_pattern", "hamstring_tendinopathy")
    runner = {"sports_overload": "yes", "pain_after_exercise": "yes"}
    split = assess(posterior(runner, hamstring_tendinopathy=t * 0.6, popliteus_tendinopathy=t * 0.5), policy)
    assert split.triage.level == "self_care" and split.triage.rules == ("overload_pattern",)
    assert "sport_break" in split.advice_ids
    assert "P(popliteus_tendinopathy) = " in split.triage.reasons[0]
    short = assess(posterior(runner, hamstring_tendinopathy=t * 0.5, popliteus_tendinopathy=t * 0.49), policy)
    assert short.triage.level == "doctor"  # together below the threshold: no self-care
    worse = assess(posterior(runner, hamstring_tendinopathy=t * 0.6, popliteus_tendinopathy=t * 0.5,
                             meniscus_tear=t * 0.7), policy)
    assert worse.triage.level != "self_care"  # a tear leads: the tendons are not the likely cause


def test_pulmonary_embolism_is_an_emergency_and_says_call_emergency_services(policy):
    result = assess(posterior({"breathlessness": "yes"}, pulmonary_embolism=0.06, dvt=0.2), policy)
    assert result.triage.level == "emergency" and result.advice_ids[0] == "call_emergency_pe"
    assert "dvt_emergency_if_breathless" not in result.advice_ids  # she already reported it


def test_self_care_needs_the_positive_pattern(policy):
    asked = {"age_group": "child", "night_pain_both_legs": "yes", "limping": "no"}
    assert triage(posterior(asked, growing_pains=0.9), policy).level == "self_care"
    # Peterson: a limp excludes growing pains and must be asked and denied; persisting pain and a systemic
    # symptom (fever) block self-care when reported (the interview asks them before it settles)
    assert triage(posterior({"age_group": "child", "night_pain_both_legs": "yes"}, growing_pains=0.9),
                  policy).level == "doctor"
    for reported in ("persistent_pain", "fever"):
        assert triage(posterior({**asked, reported: "yes"}, growing_pains=0.9), policy).level != "self_care", reported
        denied = {**asked, reported: "no"}
        assert triage(posterior(denied, growing_pains=0.9), policy).level == "self_care", reported
    assert triage(posterior({**asked, "persistent_pain": "no:0.8"}, growing_pains=0.9), policy).level == "self_care"
    assert triage(posterior({"age_group": "child"}, growing_pains=0.9), policy).level == "doctor"
    limping = posterior({"age_group": "child", "night_pain_both_legs": "yes", "limping": "yes"}, growing_pains=0.9)
    assert triage(limping, policy).level == "doctor"
    # the overload pattern is both halves, a sport overload and pain after exercise: a risk factor alone is none
    for half in ({"sports_overload": "yes"}, {"pain_after_exercise": "yes"}):
        assert triage(posterior(half, hamstring_tendinopathy=0.9), policy).level == "doctor", half
    both = {"sports_overload": "yes", "pain_after_exercise": "yes"}
    assert triage(posterior(both, hamstring_tendinopathy=0.9), policy).level == "self_care"


def test_unsure_answers_to_red_flags_count_as_reported(policy):
    """Soft evidence fires a rule when the state's likelihood is at least 0.5 (issue 13, item 2)."""
    assert reported("yes:0.5", {"yes"}, 0.5) and reported("yes:0.5", {"no"}, 0.5)
    assert reported("yes:0.9", {"yes"}, 0.5) and not reported("yes:0.3", {"yes"}, 0.5)
    assert reported("pregnant|postpartum", {"postpartum"}, 0.5)
    for value in ("yes", "yes:0.999999", "yes:0.9", "yes:0.5"):
        assert triage(posterior({"breathlessness": value}, pulmonary_embolism=0.06), policy).level == "emergency"
    child = posterior({"age_group": "child", "recent_trauma": "yes:0.9999", "night_pain_both_legs": "yes"},
                      growing_pains=0.9)
    assert triage(child, policy).rules == ("pittsburgh_child",)  # X-ray after a fall under 12
    assert reported("pregnant|postpartum:0.9", {"postpartum"}, 0.5)
    assert not reported("pregnant|postpartum:0.9", {"no"}, 0.5)


def test_ottawa_knee_rule_after_trauma(policy):
    old = posterior({"age_group": "over_60", "recent_trauma": "yes"}, meniscus_tear=0.3)
    assert triage(old, policy).rules == ("ottawa_age",)
    cannot_walk = posterior({"age_group": "adult", "recent_trauma": "yes", "unable_to_bear_weight": "yes"})
    assert triage(cannot_walk, policy).level == "urgent"


def test_an_adolescent_after_an_injury_is_seen_the_same_day_until_weight_bearing_is_known(policy):
    """Bulloch 2003: 9.3% of knee injuries aged 2-16 have a fracture and the Ottawa rule needs its
    weight-bearing item; under 12 the Pittsburgh rule asks for an X-ray after any fall (2026-12-01: three
    independent adolescent cases were sent to a doctor within days)."""
    injured = {"age_group": "adolescent", "recent_trauma": "yes"}
    unknown = assess(posterior(injured, ligament_injury=0.25, epiphysiolysis=0.025), policy)
    assert unknown.triage.rules == ("adolescent_injury_weight_bearing_unknown",)
    assert unknown.triage.level == "urgent" and "adolescent_injury_today" in unknown.advice_ids
    walks = posterior({**injured, "unable_to_bear_weight": "no"}, ligament_injury=0.25, epiphysiolysis=0.01)
    assert triage(walks, policy).level == "doctor"
    cannot = posterior({**injured, "unable_to_bear_weight": "yes"}, ligament_injury=0.4, epiphysiolysis=0.04)
    assert "ottawa_weight_bearing" in triage(cannot, policy).rules
    for age in ("adult", "over_60"):  # adults keep the injury and Ottawa-age rules
        assert "adolescent_injury_weight_bearing_unknown" not in triage(
            posterior({"age_group": age, "recent_trauma": "yes"}, ligament_injury=0.25), policy).rules
    assert triage(posterior({"age_group": "adolescent", "recent_trauma": "no"}), policy).level == "doctor"


def test_guideline_says_a_knee_swollen_after_an_injury_is_seen_today_until_the_onset_is_known(policy):
    """G-care: a large effusion or haemarthrosis after an acute knee injury goes to an urgent fracture clinic;
    swelling within hours is the haemarthrosis (2026-12-01: an independent adult case, a fall with a growing
    effusion and no onset recorded, was sent to a doctor within days)."""
    swollen = {"age_group": "adult", "recent_trauma": "yes", "knee_effusion": "yes"}
    unknown = assess(posterior(swollen, ligament_injury=0.5), policy)
    assert unknown.triage.rules == ("swollen_after_injury_onset_unknown",)
    assert unknown.triage.level == "urgent" and unknown.advice_ids[:2] == ("injury_swelling_today", "pech")
    slow = posterior({**swollen, "rapid_swelling": "no"}, ligament_injury=0.3)
    assert triage(slow, policy).level == "doctor"
    fast = triage(posterior({**swollen, "rapid_swelling": "yes"}, ligament_injury=0.8), policy)
    assert fast.level == "urgent" and "haemarthrosis" in fast.rules
    for other in ({**swollen, "recent_trauma": "no"}, {**swollen, "knee_effusion": "no"}):
        assert "swollen_after_injury_onset_unknown" not in triage(posterior(other), policy).rules


def test_a_knee_dislocated_in_an_injury_is_an_emergency_for_its_artery(policy):
    """Medina 2014: the popliteal artery is torn in about 18% of knee dislocations; Boyce 2015: a knee that
    reduced by itself may hide it (2026-12-01: an independent case reached only 'urgent')."""
    out = assess(posterior({"age_group": "adolescent", "recent_trauma": "yes", "knee_dislocation": "yes",
                            "unable_to_bear_weight": "yes"}, ligament_injury=0.7), policy)
    assert out.triage.level == "emergency" and out.triage.rules == ("knee_dislocated",)
    assert out.advice_ids[0] == "dislocation_emergency" and "call emergency services now" in out.advice[0]
    assert not {i for i in out.advice_ids if i.endswith("_today")}
    assert "pech" not in out.advice_ids  # first aid that "applies first" would compete with the call
    assert triage(posterior({"age_group": "adult", "knee_dislocation": "no", "recent_trauma": "yes",
                             "unable_to_bear_weight": "no"}), policy).level == "doctor"
    # the question asks about a knee out of place after an injury: the injury need not be answered too
    for age in ("child", "adolescent", "adult", "over_60"):
        assert triage(posterior({"age_group": age, "knee_dislocation": "yes"}), policy).level == "emergency", age


def test_every_advice_entry_says_at_which_levels_it_shows(policy):
    """An entry without ``levels`` shows at every level, beside "call emergency services now" too, as the
    PECH first aid did after a dislocated knee (QA, 2026-12-03): each entry names its levels, and the
    emergency level takes only texts written for it alone."""
    entries = safeyaml.load_file(ROOT / "priors" / "advice.yaml")["advice"]
    assert [e["id"] for e in entries if "levels" not in e] == []
    at_emergency = [item.id for item in policy.advice if "emergency" in item.levels]
    assert "call_emergency_pe" in at_emergency
    assert [i for i in at_emergency if policy.advice_by_id()[i].levels != ("emergency",)] == []


def test_guideline_says_a_cold_pale_foot_is_an_emergency_with_or_without_an_injury(policy):
    """NHS Highland: acute limb ischaemia is a time-critical vascular emergency; Devon: its pain is worse with
    the leg raised, so no compression or elevation (2026-12-01: an independent case, a child with a separated
    growth plate and weak foot pulses, reached only 'urgent')."""
    injured = assess(posterior({"age_group": "child", "recent_trauma": "yes", "cold_pale_foot": "yes"},
                               epiphysiolysis=0.6), policy)
    assert injured.triage.level == "emergency" and "cold_pale_foot" in injured.triage.rules
    assert injured.advice_ids[0] == "cold_foot_emergency" and "call emergency services now" in injured.advice[0]
    assert "pech" not in injured.advice_ids
    no_injury = assess(posterior({"age_group": "over_60", "cold_pale_foot": "yes"}), policy)
    assert no_injury.triage.level == "emergency" and no_injury.triage.rules == ("cold_pale_foot",)
    warm = assess(posterior({"age_group": "child", "recent_trauma": "yes", "cold_pale_foot": "no"},
                            epiphysiolysis=0.01), policy)
    assert "cold_pale_foot" not in warm.triage.rules and "pech" in warm.advice_ids


def test_superficial_vein_thrombosis_raises_the_mimic_and_the_dvt_behind_it(model):
    """Decousus 2010: a quarter of superficial vein thromboses hide a deep one, so a tender cord along a
    vein must not argue against a DVT."""
    before = model.posterior({"age_group": "adult"}).probabilities
    after = model.posterior({"age_group": "adult", "vein_cord": "yes"}).probabilities
    assert after["other_calf_condition"] > 4 * before["other_calf_condition"]
    assert after["dvt"] > 2 * before["dvt"]


def test_acute_knee_injury_rules_follow_the_nhs_knee_pathways(policy):
    """Gloucestershire G-care: a locked knee (stuck, cannot straighten) goes straight to the acute knee or
    fracture clinic, with or without an injury; a haemarthrosis (swelling within hours of an injury) to an
    urgent fracture clinic (East Lancashire: A&E); 'unable to walk' is a red flag with or without an injury
    (Cornwall: emergency department). A knee that only locks or catches is not a same-day red flag, even
    after an injury: the advice names the signs that would make it one."""
    for history in ({"recent_trauma": "yes"}, {}):
        stuck = assess(posterior({"age_group": "adult", "knee_stuck": "yes", **history}, meniscus_tear=0.5), policy)
        assert stuck.triage.level == "urgent" and "locked_after_injury" in stuck.triage.rules
        assert "locked_knee_today" in stuck.advice_ids
        assert ("pech" in stuck.advice_ids) == bool(history)
    catching = assess(posterior({"age_group": "adult", "recent_trauma": "yes", "knee_locking": "yes"},
                                meniscus_tear=0.3), policy)
    assert catching.triage.level == "doctor" and "injury_when_today" in catching.advice_ids
    text = catching.advice[catching.advice_ids.index("injury_when_today")]
    assert "stuck" in text and "swelled up within an hour or two" in text
    assert triage(posterior({"age_group": "over_60", "knee_locking": "yes"}, meniscus_tear=0.3),
                  policy).level == "doctor"
    bleed = assess(posterior({"age_group": "adult", "recent_trauma": "yes", "rapid_swelling": "yes"},
                             ligament_injury=0.7), policy)
    assert bleed.triage.rules == ("haemarthrosis",) and "haemarthrosis_today" in bleed.advice_ids
    assert "pech" in bleed.advice_ids
    walk = assess(posterior({"age_group": "adult", "unable_to_bear_weight": "yes"}), policy)
    assert walk.triage.rules == ("cannot_walk",) and "cannot_walk_today" in walk.advice_ids
    # swelling with no timing after an injury: a day or two later is normal, so not the same day, but
    # the advice names the timing that would be
    swollen = assess(posterior({"age_group": "adult", "recent_trauma": "yes", "knee_effusion": "yes",
                                "rapid_swelling": "no"}, ligament_injury=0.6), policy)
    assert swollen.triage.level == "doctor" and "injury_when_today" in swollen.advice_ids


def test_every_rule_names_advice_that_exists_and_every_advice_is_reachable(policy):
    ids = {a.id for a in policy.advice}
    for rule in (*policy.rules, policy.default):
        assert set(rule.advice) <= ids
    brought = {a for r in (*policy.rules, policy.default) for a in r.advice}
    assert all(a.id in brought or a.show_when is not None for a in policy.advice)


def test_no_cause_fits_speaks_up_whatever_complaint_was_reported(policy):
    """The 'none of the causes fits' line must not depend on which finding the patient reported."""
    entry = policy.advice_by_id()["no_cause_fits"]
    named = {name for c in entry.show_when if c.kind == "evidence_any" for name, _ in c.items}
    assert named == set(structure.FINDINGS)


# --- invariants over simulated patients -------------------------------------------------

WAIT = ("injury_mri_if_no_better", "safety_net_wait", "growing_pains_reassure", "heat_for_muscles",
        "sport_break", "stretching", "see_doctor_unclear")
RED_FLAGS = {"calf_swelling", "calf_tenderness", "breathlessness", "unable_to_bear_weight", "knee_stuck",
             "rapid_swelling", "sudden_severe_pain", "skin_discoloration", "bruising", "knee_effusion",
             "redness_warmth", "fever"}
#: A painful calf is a sign of thrombosis (NICE NG158 1.1.1) but also where growing pains hurt
#: (Peterson inclusion criteria), so it blocks self-care for an overload only; so does a tingling
#: calf (a nerve, or in a young athlete an artery entrapment or a compartment syndrome).
RED_FLAGS_OVERLOAD = RED_FLAGS | {"calf_pain", "calf_tingling"}


@pytest.fixture(scope="module")
def simulated(model):
    """10,000 patients drawn from the network, 40% of answers given, a fifth of them soft."""
    rng = np.random.default_rng(2026)
    frame = batch.simulate_cases(model, 10_000, rng, observe=0.4, soft=0.2)
    out = []
    for row in frame.to_dict("records"):
        evidence = {k: v for k, v in row.items() if v}
        out.append((evidence, assess(model.posterior(evidence), model.priors.triage)))
    return out


@pytest.mark.slow
def test_advice_never_contradicts_its_triage_level(simulated):
    for evidence, result in simulated:
        level, ids = result.triage.level, result.advice_ids
        if level in ("urgent", "emergency"):
            assert not set(ids) & set(WAIT), (evidence, ids)
        assert ids[-1] == {"emergency": "safety_net_emergency", "urgent": "safety_net_today",
                           "doctor": "safety_net_doctor", "self_care": "safety_net_wait"}[level]
        if level == "emergency":  # the emergency text of every emergency rule that fired
            rules = set(result.triage.rules)
            assert rules <= {"pe_symptomatic", "pe_probable", "knee_dislocated", "cold_pale_foot", "cauda_equina"}, rules
            if "cauda_equina" in rules:
                assert "cauda_equina_emergency" in ids
            if rules & {"pe_symptomatic", "pe_probable"}:
                assert "call_emergency_pe" in ids
            if "knee_dislocated" in rules:
                assert "dislocation_emergency" in ids
            if "cold_pale_foot" in rules:
                assert "cold_foot_emergency" in ids and "pech" not in ids
        if level == "urgent" and {"dvt_probable", "calf_sign", "dvt_likely"} & set(result.triage.rules):
            assert "dvt_see_today" in ids
        if level == "emergency":  # one instruction: no "see a doctor today" beside "call emergency services"
            assert not {"dvt_see_today", "osteoarthritis_care", "bakers_cyst_cause", "calf_mimic_doctor"} & set(ids)
            assert not {i for i in ids if i.endswith("_today")}, (evidence, ids)
        if level in ("urgent", "emergency"):  # no reassurance beside a same-day level
            assert not {"bakers_cyst_cause", "child_after_fall", "child_limp_doctor"} & set(ids), (evidence, ids)
        if "growing_pains_reassure" in ids:
            assert level == "self_care"


@pytest.mark.slow
def test_no_red_flag_reaches_self_care(simulated, model):
    soft = model.priors.triage.soft_evidence_threshold
    for evidence, result in simulated:
        if result.triage.level != "self_care":
            continue
        flags = RED_FLAGS_OVERLOAD if "overload_pattern" in result.triage.rules else RED_FLAGS
        for name in flags:
            assert not reported(result.evidence.get(name), {"yes"}, soft), (evidence, name)
        assert result.probabilities["dvt"] < 0.05 and result.probabilities["epiphysiolysis"] < 0.05
        findings = [n for n in structure.FINDINGS if reported(result.evidence.get(n), {"yes"}, soft)]
        assert findings, evidence  # self-care needs a pattern of the pain itself, never risk factors alone


@pytest.mark.slow
def test_pech_follows_a_fall_and_heat_never_sits_beside_danger_or_trauma(simulated, model):
    soft = model.priors.triage.soft_evidence_threshold
    for evidence, result in simulated:
        ids, ev, p = result.advice_ids, result.evidence, result.probabilities
        # a high-energy accident is an injury (the model holds the one without the other impossible)
        trauma = (reported(ev.get("recent_trauma"), {"yes"}, soft)
                  or reported(ev.get("high_energy_injury"), {"yes"}, soft))
        cold_foot = reported(ev.get("cold_pale_foot"), {"yes"}, soft)  # no compression or elevation then
        # and no first aid that "applies first" beside "call emergency services now"
        emergency = result.triage.level == "emergency"
        assert ("pech" in ids) == (trauma and not cold_foot and not emergency), evidence
        if result.triage.level in ("doctor", "self_care"):
            assert ("injury_when_today" in ids) == trauma, evidence
        # G-care / Cornwall / East Lancashire: a stuck (locked) knee, a knee that swelled within hours of an
        # injury, or one the patient cannot walk on, is seen the same day; catching alone is not
        for flag in ("knee_stuck", "rapid_swelling", "unable_to_bear_weight"):
            if reported(ev.get(flag), {"yes"}, soft):
                assert result.triage.level in ("urgent", "emergency"), (evidence, flag)
        if "injury_when_today" in ids:
            text = result.advice[ids.index("injury_when_today")]
            assert not (reported(ev.get("knee_stuck"), {"yes"}, soft) and "stuck" in text)
            assert not (reported(ev.get("rapid_swelling"), {"yes"}, soft) and "swelled" in text)
        if "heat_for_muscles" in ids:
            assert not trauma and p["dvt"] < 0.02 and p["bakers_cyst_rupture"] < 0.2
            assert not reported(ev.get("redness_warmth"), {"yes"}, soft)
        if "sport_break" in ids:
            assert ev.get("age_group") != "child"
        if {"injury_mri_if_no_better", "injury_mri"} & set(ids):
            assert trauma and result.posterior.ranking[0] != "osteoarthritis_pain"
        if result.triage.level == "doctor":  # the answer already asks for a doctor: no "if no better, see one"
            assert "injury_mri_if_no_better" not in ids, evidence
        if {"heat_for_muscles", "stretching"} & set(ids):  # a limp is no overstrained muscle's sign
            assert not reported(ev.get("limping"), {"yes"}, soft), evidence
            for bleed in ("bruising", "calf_snap"):  # a tear or a bleed: no heat (NHS), no stretching
                assert not reported(ev.get(bleed), {"yes"}, soft), (evidence, bleed)
        if "dvt_safety_net" in ids:
            text = result.advice[ids.index("dvt_safety_net")]
            assert not (reported(ev.get("calf_swelling"), {"yes"}, soft) and "calf swells" in text)


@pytest.mark.slow
def test_vectorised_triage_equals_the_one_patient_path_on_random_patients(simulated, policy):
    """reasoning.triage_many (batch scoring) gives exactly the levels and rules of triage()."""
    from popliteal.clinic.policy import triage_many

    probs = np.array([[r.probabilities[t] for t in structure.TARGETS] for _, r in simulated])
    names = sorted({k for _, r in simulated for k in r.evidence})
    shown = {k: np.array([r.evidence.get(k, "") for _, r in simulated], dtype=object) for k in names}
    levels, fired = triage_many(probs, shown, policy)
    ids = [r.id for r in policy.rules]
    for i, (_, result) in enumerate(simulated):
        assert levels[i] == result.triage.level, (result.evidence, levels[i], result.triage.level)
        expected = set(result.triage.rules) - {"default"}
        assert {ids[j] for j in range(len(ids)) if fired[i, j]} >= expected
    # the age in years (Ottawa's 55 inside the adult band): the adults get 50-60 years
    from popliteal.clinic.policy import triage

    adults = [i for i, (_, r) in enumerate(simulated) if r.evidence.get("age_group") == "adult"]
    years = {i: 50.0 + i % 11 for i in adults}
    shown["age"] = np.array([repr(years[i]) if i in years else "" for i in range(len(simulated))], dtype=object)
    levels, _ = triage_many(probs, shown, policy)
    changed = 0
    for i in adults:
        aged = triage(dataclasses.replace(simulated[i][1].posterior, age_years=years[i]), policy)
        assert levels[i] == aged.level, (simulated[i][1].evidence, years[i], levels[i], aged.level)
        changed += aged.level != simulated[i][1].triage.level
    assert changed  # some adults of 55-60 after an injury are now urgent
