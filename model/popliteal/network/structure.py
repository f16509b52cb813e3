"""The network's structure: variable names, states, meanings and edges.

This module holds no numbers. It is the single source of truth for what the
model contains; the priors files in ``priors/`` are validated against it and
the CLI's ``variables`` command prints it. Every edge follows a statement of
the seed article (back-of-knee-pain, "Painful back of the knee") or a clinical
source named in the priors file of the child node.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

YES_NO: tuple[str, str] = ("yes", "no")

RISK_FACTOR = "risk_factor"
PRESENCE = "presence"
CAUSE = "cause"
COMPLICATION = "complication"
FINDING = "finding"
COMPLAINT_KIND = "complaint"
KINDS = (RISK_FACTOR, PRESENCE, CAUSE, COMPLICATION, FINDING, COMPLAINT_KIND)


@dataclass(frozen=True)
class Variable:
    """One node of the network.

    Parameters
    ----------
    name : str
        Identifier used on the command line, in priors files and in JSON.
    kind : str
        One of ``risk_factor``, ``presence``, ``cause``, ``complication``, ``finding``. A
        ``presence`` node says that a condition is there (as an MRI or ultrasound would show),
        whether or not it causes this pain; a ``cause`` says that it causes this pain now.
    meaning : str
        What the variable means, in words a patient or clinician understands.
    parents : tuple of str
        Names of the parent nodes, in the order their CPD axes are built.
    states : tuple of str
        The states; binary variables are ``("yes", "no")``.
    """

    name: str
    kind: str
    meaning: str
    parents: tuple[str, ...] = ()
    states: tuple[str, ...] = YES_NO


def _v(name: str, kind: str, meaning: str, parents: tuple[str, ...] = (), states=YES_NO):
    return Variable(name, kind, meaning, tuple(parents), tuple(states))


AGE_GROUPS = ("child", "adolescent", "adult", "over_60")
PREGNANCY_STATES = ("no", "pregnant", "postpartum")
PAIN_SIDES = ("medial", "lateral", "central")

#: Every variable, in a topological order (parents before children).
VARIABLES: tuple[Variable, ...] = (
    # --- risk factors and history -------------------------------------------------
    _v("age_group", RISK_FACTOR, "age: child 2-11, adolescent 12-17, adult 18-60, over_60 over 60 years",
       states=AGE_GROUPS),
    _v("sex", RISK_FACTOR, "sex", states=("female", "male")),
    _v("pregnancy", RISK_FACTOR, "pregnant, or postpartum (up to six weeks after birth)",
       ("sex", "age_group"), states=PREGNANCY_STATES),
    _v("estrogen_therapy", RISK_FACTOR, "birth control pill or hormone treatment with estrogen",
       ("sex", "age_group")),
    _v("recent_trauma", RISK_FACTOR, "fall, accident or twisting of the knee"),
    _v("sports_overload", RISK_FACTOR, "too intensive or incorrect training (jogging, cycling, ...)",
       ("age_group",)),
    _v("weight_training", RISK_FACTOR, "intense weight training with rapid muscle growth"),
    _v("osteoarthritis", RISK_FACTOR, "known osteoarthritis of the knee", ("age_group",)),
    _v("joint_inflammation", RISK_FACTOR,
       "known inflammatory joint disease (rheumatoid arthritis, gout, ...)"),
    _v("immobilization", RISK_FACTOR,
       "bed rest, after surgery or injury, on crutches or in a cast"),
    _v("long_travel", RISK_FACTOR,
       "sitting for long periods: long-haul flight, long train or car trip"),
    _v("overweight", RISK_FACTOR, "excess weight"),
    _v("cancer", RISK_FACTOR, "active cancer", ("age_group",)),
    _v("previous_thrombosis", RISK_FACTOR, "thrombosis in the past"),
    _v("thrombophilia", RISK_FACTOR, "a disease with a tendency to clot"),
    _v("smoking", RISK_FACTOR, "smoking", ("age_group",)),
    # Added 2026-12-02: a treated patient rarely forms a new clot and bleeds more easily (a calf haematoma).
    _v("anticoagulation", RISK_FACTOR,
       "takes a blood thinner (anticoagulant: warfarin, apixaban, rivaroxaban, edoxaban, dabigatran or heparin "
       "injections; not aspirin or clopidogrel alone)", ("age_group",)),
    # --- presence: there, whether or not it causes this pain -------------------------
    _v("meniscus_tear_present", PRESENCE,
       "a torn meniscus is present (traumatic or degenerative), as an MRI would show, whether or not it "
       "causes this pain", ("recent_trauma", "age_group", "osteoarthritis")),
    # --- causes of this pain ----------------------------------------------------------
    _v("meniscus_tear", CAUSE, "a torn meniscus causing this pain",
       ("meniscus_tear_present", "recent_trauma", "osteoarthritis", "age_group")),
    _v("ligament_injury", CAUSE, "injury of a knee ligament, such as a torn cruciate ligament",
       ("recent_trauma", "age_group")),
    _v("hamstring_tendinopathy", CAUSE,
       "overload, irritation or inflammation of the tendons of the posterior thigh (ischiocrural) muscles",
       ("sports_overload", "age_group")),
    _v("popliteus_tendinopathy", CAUSE, "overload, irritation or inflammation of the popliteus tendon",
       ("sports_overload", "age_group")),
    _v("osteoarthritis_pain", CAUSE, "osteoarthritis of the knee causing this pain", ("osteoarthritis",)),
    _v("epiphysiolysis", CAUSE,
       "detachment of a growth plate at the knee (epiphysiolysis, physeal injury)",
       ("age_group", "recent_trauma")),
    _v("growing_pains", CAUSE, "growing pains of childhood", ("age_group", "recent_trauma")),
    _v("knee_effusion", FINDING, "swollen knee joint (joint effusion)",
       ("osteoarthritis", "joint_inflammation", "meniscus_tear_present", "ligament_injury", "epiphysiolysis",
        "growing_pains")),
    _v("bakers_cyst_present", PRESENCE,
       "a Baker's cyst is present (a bulge of the joint capsule into the back of the knee, filled with "
       "synovial fluid), as an ultrasound would show, whether or not it causes this pain",
       ("knee_effusion", "meniscus_tear_present", "osteoarthritis", "joint_inflammation", "age_group")),
    _v("bakers_cyst_rupture", COMPLICATION,
       "a ruptured Baker's cyst causing this pain (a rupture implies a cyst)", ("bakers_cyst_present",)),
    _v("bakers_cyst", CAUSE, "an intact Baker's cyst causing this pain",
       ("bakers_cyst_present", "bakers_cyst_rupture")),
    _v("dvt", CAUSE, "deep vein thrombosis of the leg",
       ("age_group", "pregnancy", "estrogen_therapy", "immobilization", "long_travel",
        "overweight", "cancer", "previous_thrombosis", "thrombophilia", "smoking", "anticoagulation")),
    _v("pulmonary_embolism", COMPLICATION, "pulmonary embolism, a complication of a deep vein thrombosis",
       ("dvt",)),
    _v("tibial_nerve_irritation", CAUSE, "irritation or constriction of the tibial nerve in the back of the knee",
       ("weight_training", "knee_effusion", "bakers_cyst_present")),
    # Added to the contract: the conditions that mimic a thrombosis in the calf (Wells' "alternative
    # diagnosis"). They cause calf swelling and tenderness *together*, which independent leaks cannot.
    _v("other_calf_condition", CAUSE,
       "another calf condition that mimics a thrombosis: a torn calf muscle (tennis leg), cellulitis, "
       "superficial thrombophlebitis", ("age_group", "anticoagulation")),
    # Added 2026-12-03: pain referred from the lower back (sciatica), which tingles the calf and numbs the sole
    # as an entrapped tibial nerve does, and is far commoner (an independent review: a numb sole with a
    # tingling calf gave the tibial nerve 98%).
    _v("lumbar_radiculopathy", CAUSE,
       "a pinched or irritated nerve root in the lower back (sciatica) whose pain runs into the back of the "
       "knee or the calf", ("age_group",)),
    # --- the complaint: the pain every user of the model has --------------------------
    # Always known ("yes"): the causes compete for it, so a cause that explains this pain makes
    # the others less likely (explaining away). See priors/knee_pain.yaml and engine.complaint.
    _v("knee_pain", COMPLAINT_KIND, "this pain at the back of the knee (always yes: the model is for people who have it)",
       ("meniscus_tear", "ligament_injury", "hamstring_tendinopathy", "popliteus_tendinopathy",
        "osteoarthritis_pain", "epiphysiolysis", "growing_pains", "bakers_cyst_rupture", "bakers_cyst", "dvt",
        "tibial_nerve_irritation", "other_calf_condition", "lumbar_radiculopathy")),
    # --- findings -------------------------------------------------------------------
    _v("popliteal_swelling", FINDING, "palpable swelling or bump in the back of the knee",
       ("bakers_cyst_present", "bakers_cyst", "dvt", "hamstring_tendinopathy", "popliteus_tendinopathy",
        "growing_pains")),
    # pregnancy added 2026-12-03: the swollen, aching legs of pregnancy and the puerperium, without a clot.
    _v("calf_swelling", FINDING, "swelling of the calf",
       ("dvt", "bakers_cyst_rupture", "other_calf_condition", "growing_pains", "pregnancy")),
    _v("calf_pain", FINDING, "pain in the calf, at rest or on walking",
       ("dvt", "bakers_cyst_rupture", "other_calf_condition", "tibial_nerve_irritation", "pregnancy",
        "lumbar_radiculopathy")),
    # Added 2026-12-01: the history that tells a torn calf muscle (tennis leg) from a clot or a ruptured cyst.
    _v("calf_snap", FINDING,
       "a sudden snap or pop in the calf during activity, as if kicked or hit from behind",
       ("other_calf_condition", "bakers_cyst_rupture", "growing_pains")),
    # Added 2026-12-01: the sign of a superficial vein thrombosis, a quarter of which hide a deep one.
    # Widened 2026-12-03 to the inner thigh and to a red, tender line (the great saphenous vein).
    _v("vein_cord", FINDING, "a hard, tender cord, or a red, tender line, along a vein under the skin of the leg: "
       "the calf, the back of the knee or the inner thigh", ("other_calf_condition", "dvt", "growing_pains")),
    _v("skin_discoloration", FINDING,
       "a leg that has turned bluish or reddish-blue, or veins that have become clearly visible, since the pain "
       "began (not long-standing varicose veins)",
       ("dvt", "other_calf_condition", "growing_pains")),
    _v("bruising", FINDING, "a bruise at the calf or ankle (the crescent sign of a ruptured Baker's cyst)",
       ("bakers_cyst_rupture", "other_calf_condition", "recent_trauma", "anticoagulation", "growing_pains")),
    _v("calf_tenderness", FINDING, "pain when the calf is squeezed or the sole of the foot is pressed",
       ("dvt", "bakers_cyst_rupture", "other_calf_condition", "growing_pains")),
    _v("redness_warmth", FINDING, "redness and overheating of the back of the knee",
       ("bakers_cyst_rupture", "hamstring_tendinopathy", "popliteus_tendinopathy", "dvt", "other_calf_condition",
        "growing_pains")),
    _v("sudden_severe_pain", FINDING, "sudden, severe pain in the back of the knee",
       ("bakers_cyst_rupture", "ligament_injury", "meniscus_tear", "epiphysiolysis", "other_calf_condition")),
    _v("pain_on_bending", FINDING, "pain when bending the knee or pressing on the tendon",
       ("hamstring_tendinopathy", "popliteus_tendinopathy", "bakers_cyst", "meniscus_tear", "osteoarthritis_pain",
        "bakers_cyst_rupture")),
    _v("pain_on_extension", FINDING, "pain or pulling when stretching the knee",
       ("bakers_cyst", "tibial_nerve_irritation", "meniscus_tear", "bakers_cyst_rupture", "lumbar_radiculopathy")),
    _v("pain_side", FINDING,
       "where at the back of the knee the pain sits: medial (inner side), lateral (outer side) or central",
       ("hamstring_tendinopathy", "popliteus_tendinopathy", "meniscus_tear", "bakers_cyst", "osteoarthritis_pain",
        "ligament_injury", "tibial_nerve_irritation", "dvt"), states=PAIN_SIDES),
    _v("tendon_thickening", FINDING, "a thickened tendon at the back of the knee",
       ("hamstring_tendinopathy", "popliteus_tendinopathy", "growing_pains")),
    # Added 2026-12-01: the signs of a failing blood supply below the knee (a torn or blocked artery).
    _v("cold_pale_foot", FINDING, "since the pain or the injury began, the foot has turned cold and pale, or the "
       "pulses at the foot are weak or missing", ("epiphysiolysis", "ligament_injury", "growing_pains")),
    _v("calf_tingling", FINDING, "burning or tingling in the calf", ("tibial_nerve_irritation", "lumbar_radiculopathy")),
    # Added 2026-12-01: the rest of the tibial nerve's territory.
    _v("sole_numbness", FINDING, "numbness, tingling or burning in the sole of the foot",
       ("tibial_nerve_irritation", "lumbar_radiculopathy")),
    # Added 2026-12-03 with lumbar_radiculopathy: the history that points to the back, and the warning signs
    # of a cauda equina syndrome, an emergency.
    _v("back_pain", FINDING, "pain in the lower back or buttock, or pain that runs down from the back or buttock "
       "into the back of the thigh and the knee", ("lumbar_radiculopathy", "pregnancy")),
    _v("saddle_numbness", FINDING, "since the pain began, numbness between the legs or around the back passage, or "
       "new trouble passing urine or holding urine or stool", ("lumbar_radiculopathy",)),
    # Added 2026-12-03: a motor deficit (a nerve pressed or torn, or a compartment syndrome), beside the sensory findings.
    _v("leg_weakness", FINDING, "new weakness of the foot or leg since the pain began, not only because it hurts to "
       "try: the toes will not bend, the foot cannot push off, or the foot drops",
       ("tibial_nerve_irritation", "ligament_injury", "popliteus_tendinopathy", "other_calf_condition",
        "bakers_cyst_rupture", "growing_pains", "lumbar_radiculopathy")),
    _v("pain_after_walking", FINDING, "pain after long walking or running",
       ("tibial_nerve_irritation", "hamstring_tendinopathy", "popliteus_tendinopathy", "osteoarthritis_pain",
        "lumbar_radiculopathy")),
    _v("pain_after_exercise", FINDING, "pain during or after sports",
       ("hamstring_tendinopathy", "popliteus_tendinopathy", "meniscus_tear", "ligament_injury")),
    # Added to the contract (2026-11-30): the reference texts' one presenting feature of popliteus
    # tendinopathy (pain running downhill), asked together with going down stairs (OA pain).
    _v("pain_downhill", FINDING, "pain walking or running downhill, or going down stairs",
       ("popliteus_tendinopathy", "osteoarthritis_pain", "hamstring_tendinopathy", "meniscus_tear")),
    _v("knee_instability", FINDING, "the knee gives way",
       ("ligament_injury", "meniscus_tear", "osteoarthritis_pain", "recent_trauma")),
    _v("knee_locking", FINDING, "the knee locks or catches", ("meniscus_tear", "bakers_cyst", "osteoarthritis_pain")),
    # Added to the contract (2026-11-30): "locks or catches" is common and weak (KACS 2018), so the
    # NHS knee pathways' red flags need their own questions: a knee stuck and unable to straighten
    # (true locking, a mechanical block) and swelling within hours of an injury (a haemarthrosis).
    _v("knee_stuck", FINDING,
       "the knee is stuck and cannot be fully straightened (true locking, a mechanical block)",
       ("meniscus_tear", "ligament_injury", "epiphysiolysis", "osteoarthritis_pain", "growing_pains")),
    # Added 2026-12-03: the history item that tells a torn ligament (or a ruptured cyst) from an overload.
    _v("knee_pop", FINDING,
       "a single pop, snap or crack felt or heard inside or at the back of the knee at the moment the pain began "
       "(not the crackling of a stiff knee, not a snap in the calf)",
       ("ligament_injury", "recent_trauma", "meniscus_tear", "bakers_cyst_rupture", "epiphysiolysis",
        "hamstring_tendinopathy", "popliteus_tendinopathy", "other_calf_condition")),
    # Added 2026-12-01: a knee that was dislocated (and perhaps went back in) is an emergency for its artery.
    _v("knee_dislocation", FINDING,
       "after an injury the knee joint itself (not only the kneecap) was visibly out of place or deformed, "
       "even if it went back in by itself", ("ligament_injury", "epiphysiolysis", "growing_pains")),
    # Added 2026-12-02: the energy of the injury (a road accident, a fall from a height), history that raises
    # the fractures and torn ligaments the knee rules look for.
    _v("high_energy_injury", FINDING,
       "the knee was hurt in a high-energy accident: a road accident (in or on a vehicle, or hit by one), a fall "
       "from more than about 3 metres, or a heavy blow or crush",
       ("ligament_injury", "epiphysiolysis", "recent_trauma")),
    _v("rapid_swelling", FINDING,
       "the knee swelled up within a few hours of an injury (bleeding into the joint)",
       ("recent_trauma", "ligament_injury", "meniscus_tear", "epiphysiolysis")),
    _v("night_pain_both_legs", FINDING, "evening or night pain in both legs, without a limp",
       ("growing_pains",)),
    _v("limping", FINDING, "limping or unable to bear weight",
       ("epiphysiolysis", "ligament_injury", "meniscus_tear", "bakers_cyst_rupture", "dvt", "other_calf_condition",
        "osteoarthritis_pain", "growing_pains")),
    _v("unable_to_bear_weight", FINDING,
       "unable to bear weight: cannot take four steps (the Ottawa knee rule)",
       ("epiphysiolysis", "ligament_injury", "meniscus_tear", "bakers_cyst_rupture", "other_calf_condition",
        "recent_trauma", "growing_pains")),
    _v("breathlessness", FINDING,
       "new shortness of breath or chest pain since the leg or knee pain began", ("pulmonary_embolism",)),
    # Added to the contract (2026-11-30): the first question a triager asks about a hot, swollen or
    # limping knee (an infected joint or bone); those causes sit in its leak, the triage carries them.
    _v("fever", FINDING, "a fever (38 °C or more, or feeling hot and shivery) since the pain began",
       ("dvt", "other_calf_condition", "growing_pains")),
    # Added to the contract: the article's advice turns on it ("if the pain does not improve after a
    # few days", "if the pain persists for a longer period of time or is unusually severe").
    _v("persistent_pain", FINDING,
       "pain that persists for a longer time, has not improved after a few days, or is unusually severe",
       ("meniscus_tear", "ligament_injury", "bakers_cyst", "bakers_cyst_rupture", "dvt",
        "tibial_nerve_irritation", "epiphysiolysis", "hamstring_tendinopathy", "popliteus_tendinopathy",
        "osteoarthritis_pain", "growing_pains", "lumbar_radiculopathy")),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
#: The complaint node: always known, in its first state ("yes").
COMPLAINT: str = next(v.name for v in VARIABLES if v.kind == COMPLAINT_KIND)
NAMES: tuple[str, ...] = tuple(BY_NAME)
#: Every variable that evidence may be given on in any of its states (all but the complaint).
EVIDENCE_NAMES: tuple[str, ...] = tuple(n for n in NAMES if n != COMPLAINT)

#: Causes and complications: the variables whose posterior the model reports.
TARGETS: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.kind in (CAUSE, COMPLICATION))
RISK_FACTORS: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.kind == RISK_FACTOR)
FINDINGS: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.kind == FINDING)

#: Causes that must never be sent home: the triage and the next-question logic
#: treat them as red flags.
DANGEROUS: tuple[str, ...] = ("dvt", "pulmonary_embolism", "epiphysiolysis")

#: Presence nodes and the causes they may underlie: ``present`` minus these causes is what is
#: "probably present but likely not the cause" (reported apart, never ranked or triaged).
INCIDENTAL: dict[str, tuple[str, ...]] = {
    "meniscus_tear_present": ("meniscus_tear",),
    "bakers_cyst_present": ("bakers_cyst", "bakers_cyst_rupture"),
}

#: Evidence names kept for compatibility: ``NAME=STATE`` means the variable ``target`` is in one of
#: the listed states (hard evidence on a set of states).
ALIASES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "pregnant_or_postpartum": ("pregnancy", {"yes": ("pregnant", "postpartum"), "no": ("no",)}),
}


def edges() -> list[tuple[str, str]]:
    """Return every edge as ``(parent, child)``, in topological order of the child."""
    return [(p, v.name) for v in VARIABLES for p in v.parents]


def children(name: str) -> tuple[str, ...]:
    """Return the names of the nodes that have ``name`` as a parent."""
    return tuple(v.name for v in VARIABLES if name in v.parents)


def _check_topological_order() -> None:
    seen: set[str] = set()
    for v in VARIABLES:
        missing = [p for p in v.parents if p not in seen]
        if missing:  # pragma: no cover - guarded by tests
            raise AssertionError(f"{v.name}: parents {missing} must come before it")
        seen.add(v.name)


_check_topological_order()


#: The youngest age in each ``age_group`` (over_60: above 60), as :func:`age_to_group` draws the bands.
AGE_GROUP_FROM = {"child": 2.0, "adolescent": 12.0, "adult": 18.0, "over_60": 60.0}
#: The age each ``age_group`` stays below (adult: up to and including 60).
AGE_GROUP_BELOW = {"child": 12.0, "adolescent": 18.0, "adult": 61.0, "over_60": 121.0}


def age_to_group(years: float) -> str:
    """Map an age in years to the state of ``age_group`` (ValueError outside 2 to 120 years)."""
    if not math.isfinite(years) or years < 2 or years > 120:
        raise ValueError(f"age={years:g}: the model covers ages 2 to 120 years")
    if years < 12:
        return "child"
    if years < 18:
        return "adolescent"
    if years <= 60:
        return "adult"
    return "over_60"
