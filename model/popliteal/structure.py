"""The network's structure: variable names, states, meanings and edges.

This module holds no numbers. It is the single source of truth for what the
model contains; the priors files in ``priors/`` are validated against it and
the CLI's ``variables`` command prints it. Every edge follows a statement of
the seed article (back-of-knee-pain, "Painful back of the knee") or a clinical
source named in the priors file of the child node.
"""

from __future__ import annotations

from dataclasses import dataclass

YES_NO: tuple[str, str] = ("yes", "no")

RISK_FACTOR = "risk_factor"
CAUSE = "cause"
COMPLICATION = "complication"
FINDING = "finding"
KINDS = (RISK_FACTOR, CAUSE, COMPLICATION, FINDING)


@dataclass(frozen=True)
class Variable:
    """One node of the network.

    Parameters
    ----------
    name : str
        Identifier used on the command line, in priors files and in JSON.
    kind : str
        One of ``risk_factor``, ``cause``, ``complication``, ``finding``.
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

#: Every variable, in a topological order (parents before children).
VARIABLES: tuple[Variable, ...] = (
    # --- risk factors and history -------------------------------------------------
    _v("age_group", RISK_FACTOR, "age: child 2-11, adolescent 12-17, adult 18-60, over_60 over 60 years",
       states=AGE_GROUPS),
    _v("sex", RISK_FACTOR, "sex", states=("female", "male")),
    _v("pregnant_or_postpartum", RISK_FACTOR, "pregnant, or up to six weeks after birth",
       ("sex", "age_group")),
    _v("estrogen_therapy", RISK_FACTOR, "birth control pill or hormone treatment with estrogen",
       ("sex", "age_group")),
    _v("recent_trauma", RISK_FACTOR, "fall, accident or twisting of the knee"),
    _v("sports_overload", RISK_FACTOR, "too intensive or incorrect training (jogging, cycling, ...)"),
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
    # --- causes ---------------------------------------------------------------------
    _v("meniscus_tear", CAUSE, "a torn meniscus (traumatic or degenerative)",
       ("recent_trauma", "age_group", "osteoarthritis")),
    _v("ligament_injury", CAUSE, "injury of a knee ligament, such as a torn cruciate ligament",
       ("recent_trauma", "age_group")),
    _v("hamstring_tendinopathy", CAUSE,
       "overload, irritation or inflammation of the tendons of the posterior thigh (ischiocrural) muscles",
       ("sports_overload",)),
    _v("popliteus_tendinopathy", CAUSE, "overload, irritation or inflammation of the popliteus tendon",
       ("sports_overload",)),
    _v("epiphysiolysis", CAUSE,
       "detachment of a growth plate at the knee (epiphysiolysis, physeal injury)",
       ("age_group", "recent_trauma")),
    _v("knee_effusion", FINDING, "swollen knee joint (joint effusion)",
       ("osteoarthritis", "joint_inflammation", "meniscus_tear", "ligament_injury", "epiphysiolysis")),
    _v("bakers_cyst", CAUSE,
       "Baker's cyst: a bulge of the joint capsule into the back of the knee, filled with synovial fluid",
       ("knee_effusion", "meniscus_tear", "osteoarthritis", "joint_inflammation")),
    _v("bakers_cyst_rupture", COMPLICATION, "a ruptured Baker's cyst (a rupture implies a cyst)",
       ("bakers_cyst",)),
    _v("dvt", CAUSE, "deep vein thrombosis of the leg",
       ("age_group", "pregnant_or_postpartum", "estrogen_therapy", "immobilization", "long_travel",
        "overweight", "cancer", "previous_thrombosis", "thrombophilia", "smoking")),
    _v("pulmonary_embolism", COMPLICATION, "pulmonary embolism, a complication of a deep vein thrombosis",
       ("dvt",)),
    _v("tibial_nerve_irritation", CAUSE, "irritation or constriction of the tibial nerve in the back of the knee",
       ("weight_training", "knee_effusion", "bakers_cyst")),
    _v("growing_pains", CAUSE, "growing pains of childhood", ("age_group", "recent_trauma")),
    # Added to the contract: the conditions that mimic a thrombosis in the calf (Wells' "alternative
    # diagnosis"). They cause calf swelling and tenderness *together*, which independent leaks cannot.
    _v("other_calf_condition", CAUSE,
       "another calf condition that mimics a thrombosis: a torn calf muscle (tennis leg), cellulitis, "
       "superficial thrombophlebitis"),
    # --- findings -------------------------------------------------------------------
    _v("popliteal_swelling", FINDING, "palpable swelling or bump in the back of the knee",
       ("bakers_cyst", "dvt", "hamstring_tendinopathy", "popliteus_tendinopathy")),
    _v("calf_swelling", FINDING, "swelling of the calf", ("dvt", "bakers_cyst_rupture", "other_calf_condition")),
    _v("skin_discoloration", FINDING, "bluish discoloration or clearly visible veins",
       ("dvt", "bakers_cyst_rupture", "other_calf_condition")),
    _v("calf_tenderness", FINDING, "pain when the calf is squeezed or the sole of the foot is pressed",
       ("dvt", "bakers_cyst_rupture", "other_calf_condition")),
    _v("redness_warmth", FINDING, "redness and overheating of the back of the knee",
       ("bakers_cyst_rupture", "hamstring_tendinopathy", "popliteus_tendinopathy", "dvt", "other_calf_condition")),
    _v("sudden_severe_pain", FINDING, "sudden, severe pain in the back of the knee",
       ("bakers_cyst_rupture", "ligament_injury", "meniscus_tear", "epiphysiolysis", "other_calf_condition")),
    _v("pain_on_bending", FINDING, "pain when bending the knee or pressing on the tendon",
       ("hamstring_tendinopathy", "popliteus_tendinopathy", "bakers_cyst", "meniscus_tear")),
    _v("pain_on_extension", FINDING, "pain or pulling when stretching the knee",
       ("bakers_cyst", "tibial_nerve_irritation", "meniscus_tear")),
    _v("tendon_thickening", FINDING, "a thickened tendon at the back of the knee",
       ("hamstring_tendinopathy", "popliteus_tendinopathy")),
    _v("calf_tingling", FINDING, "burning or tingling in the calf", ("tibial_nerve_irritation",)),
    _v("pain_after_walking", FINDING, "pain after long walking or running",
       ("tibial_nerve_irritation", "hamstring_tendinopathy", "popliteus_tendinopathy")),
    _v("pain_after_exercise", FINDING, "pain during or after sports",
       ("hamstring_tendinopathy", "popliteus_tendinopathy", "meniscus_tear")),
    _v("knee_instability", FINDING, "the knee gives way", ("ligament_injury", "meniscus_tear")),
    _v("knee_locking", FINDING, "the knee locks or catches", ("meniscus_tear", "bakers_cyst")),
    _v("night_pain_both_legs", FINDING, "evening or night pain in both legs, without a limp",
       ("growing_pains",)),
    _v("limping", FINDING, "limping or unable to bear weight",
       ("epiphysiolysis", "ligament_injury", "meniscus_tear", "bakers_cyst_rupture", "dvt", "other_calf_condition")),
    _v("breathlessness", FINDING, "shortness of breath or chest pain", ("pulmonary_embolism",)),
    # Added to the contract: the article's advice turns on it ("if the pain does not improve after a
    # few days", "if the pain persists for a longer period of time or is unusually severe").
    _v("persistent_pain", FINDING,
       "pain that persists for a longer time, has not improved after a few days, or is unusually severe",
       ("meniscus_tear", "ligament_injury", "bakers_cyst", "bakers_cyst_rupture", "dvt",
        "tibial_nerve_irritation", "epiphysiolysis", "hamstring_tendinopathy", "popliteus_tendinopathy",
        "growing_pains")),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
NAMES: tuple[str, ...] = tuple(BY_NAME)

#: Causes and complications: the variables whose posterior the model reports.
TARGETS: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.kind in (CAUSE, COMPLICATION))
RISK_FACTORS: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.kind == RISK_FACTOR)
FINDINGS: tuple[str, ...] = tuple(v.name for v in VARIABLES if v.kind == FINDING)

#: Causes that must never be sent home: the triage and the next-question logic
#: treat them as red flags.
DANGEROUS: tuple[str, ...] = ("dvt", "pulmonary_embolism", "epiphysiolysis")


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
