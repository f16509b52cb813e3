"""The structure against the public contract and the seed article."""

from __future__ import annotations

import networkx as nx

from popliteal.network import structure

CONTRACT_RISK_FACTORS = {
    "age_group": ("child", "adolescent", "adult", "over_60"),
    "sex": ("female", "male"),
    **{n: ("yes", "no") for n in (
        "estrogen_therapy", "recent_trauma", "sports_overload", "weight_training",
        "osteoarthritis", "joint_inflammation", "immobilization", "long_travel", "overweight", "cancer",
        "previous_thrombosis", "thrombophilia", "smoking")},
}
CONTRACT_CAUSES = {"meniscus_tear", "ligament_injury", "hamstring_tendinopathy", "popliteus_tendinopathy",
                   "bakers_cyst", "dvt", "tibial_nerve_irritation", "growing_pains", "epiphysiolysis"}
CONTRACT_COMPLICATIONS = {"bakers_cyst_rupture", "pulmonary_embolism"}
CONTRACT_FINDINGS = {
    "knee_effusion", "popliteal_swelling", "calf_swelling", "skin_discoloration", "calf_tenderness",
    "redness_warmth", "sudden_severe_pain", "pain_on_bending", "pain_on_extension", "tendon_thickening",
    "calf_tingling", "pain_after_walking", "pain_after_exercise", "knee_instability", "knee_locking",
    "night_pain_both_legs", "limping", "breathlessness"}


#: Variables the project added to the contract (documented in docs/contract.md), never removed ones.
ADDED_FINDINGS = {"persistent_pain", "calf_pain", "bruising", "pain_side", "unable_to_bear_weight",
                  "knee_stuck", "rapid_swelling", "pain_downhill", "fever",
                  "knee_dislocation", "calf_snap", "vein_cord", "sole_numbness",
                  "cold_pale_foot", "high_energy_injury", "leg_weakness", "knee_pop", "back_pain",
                  "saddle_numbness"}
#: 2026-12-03: lumbar_radiculopathy (pain referred from the lower back), with back_pain and saddle_numbness.
ADDED_CAUSES = {"other_calf_condition", "osteoarthritis_pain", "lumbar_radiculopathy"}
ADDED_PRESENCE = {"meniscus_tear_present", "bakers_cyst_present"}
#: The contract's 2026-11-30 additions: pregnancy (no/pregnant/postpartum) carries the old
#: pregnant_or_postpartum, which stays accepted as evidence (structure.ALIASES).
#: 2026-12-02: anticoagulation (a treated patient rarely forms a new clot and bleeds more easily).
ADDED_RISK_FACTORS = {"pregnancy": ("no", "pregnant", "postpartum"), "anticoagulation": ("yes", "no")}
#: 2026-12-01: the complaint the causes compete for (docs/contract.md, `knee_pain`).
ADDED_COMPLAINT = {"knee_pain"}
ADDED = ADDED_FINDINGS | ADDED_CAUSES | ADDED_PRESENCE | set(ADDED_RISK_FACTORS) | ADDED_COMPLAINT


def test_variables_are_the_contracts_plus_documented_additions():
    contract = set(CONTRACT_RISK_FACTORS) | CONTRACT_CAUSES | CONTRACT_COMPLICATIONS | CONTRACT_FINDINGS
    assert set(structure.NAMES) == contract | ADDED
    assert structure.ALIASES["pregnant_or_postpartum"] == (
        "pregnancy", {"yes": ("pregnant", "postpartum"), "no": ("no",)})


def test_states_and_kinds_match_the_contract():
    for name, states in CONTRACT_RISK_FACTORS.items():
        assert structure.BY_NAME[name].states == states
        assert structure.BY_NAME[name].kind == "risk_factor"
    for name in CONTRACT_CAUSES | CONTRACT_COMPLICATIONS | CONTRACT_FINDINGS:
        assert structure.BY_NAME[name].states == ("yes", "no")
    for name, states in ADDED_RISK_FACTORS.items():
        assert structure.BY_NAME[name].states == states
        assert structure.BY_NAME[name].kind == "risk_factor"
    assert structure.BY_NAME["pain_side"].states == ("medial", "lateral", "central")
    assert {n for n in structure.NAMES if structure.BY_NAME[n].kind == "presence"} == ADDED_PRESENCE
    assert {n for n in structure.NAMES if structure.BY_NAME[n].kind == "cause"} == CONTRACT_CAUSES | ADDED_CAUSES
    assert {n for n in structure.NAMES if structure.BY_NAME[n].kind == "complication"} == CONTRACT_COMPLICATIONS
    assert set(structure.FINDINGS) == CONTRACT_FINDINGS | ADDED_FINDINGS


def test_graph_is_a_dag_listed_in_topological_order():
    graph = nx.DiGraph(structure.edges())
    assert nx.is_directed_acyclic_graph(graph)
    position = {n: i for i, n in enumerate(structure.NAMES)}
    assert all(position[p] < position[c] for p, c in structure.edges())


def test_seed_says_which_edges_exist():
    """Each edge the article (and the network issue) names."""
    e = set(structure.edges())
    must = [
        ("recent_trauma", "meniscus_tear"), ("recent_trauma", "ligament_injury"),
        ("sports_overload", "hamstring_tendinopathy"), ("sports_overload", "popliteus_tendinopathy"),
        ("osteoarthritis", "knee_effusion"), ("meniscus_tear_present", "knee_effusion"),
        ("joint_inflammation", "knee_effusion"), ("knee_effusion", "bakers_cyst_present"),
        ("bakers_cyst_present", "bakers_cyst_rupture"), ("dvt", "pulmonary_embolism"),
        ("weight_training", "tibial_nerve_irritation"), ("knee_effusion", "tibial_nerve_irritation"),
        ("bakers_cyst_present", "tibial_nerve_irritation"), ("age_group", "growing_pains"),
        ("age_group", "epiphysiolysis"), ("recent_trauma", "epiphysiolysis"),
        ("bakers_cyst_present", "popliteal_swelling"), ("bakers_cyst", "popliteal_swelling"),
        ("meniscus_tear_present", "meniscus_tear"), ("bakers_cyst_present", "bakers_cyst"),
        ("osteoarthritis", "osteoarthritis_pain"), ("bakers_cyst_rupture", "bruising"),
        ("dvt", "calf_pain"), ("popliteus_tendinopathy", "pain_side"), ("hamstring_tendinopathy", "pain_side"),
        ("epiphysiolysis", "unable_to_bear_weight"), ("growing_pains", "limping"), ("dvt", "calf_swelling"), ("dvt", "skin_discoloration"),
        ("dvt", "calf_tenderness"), ("bakers_cyst_rupture", "sudden_severe_pain"),
        ("bakers_cyst_rupture", "redness_warmth"), ("tibial_nerve_irritation", "calf_tingling"),
        ("tibial_nerve_irritation", "pain_on_extension"), ("tibial_nerve_irritation", "pain_after_walking"),
        ("hamstring_tendinopathy", "pain_on_bending"), ("popliteus_tendinopathy", "pain_on_bending"),
        ("hamstring_tendinopathy", "tendon_thickening"), ("growing_pains", "night_pain_both_legs"),
        ("pulmonary_embolism", "breathlessness"), ("meniscus_tear", "knee_locking"),
        ("ligament_injury", "knee_instability"), ("meniscus_tear", "knee_stuck"),
        ("ligament_injury", "rapid_swelling"), ("recent_trauma", "rapid_swelling"),
        ("popliteus_tendinopathy", "pain_downhill"), ("osteoarthritis_pain", "pain_downhill"),
    ]
    assert [edge for edge in must if edge not in e] == []
    thrombosis_risks = {"age_group", "pregnancy", "estrogen_therapy", "immobilization", "long_travel",
                        "overweight", "cancer", "previous_thrombosis", "thrombophilia", "smoking",
                        "anticoagulation"}
    assert set(structure.BY_NAME["dvt"].parents) == thrombosis_risks


def test_every_finding_has_a_cause_and_every_cause_a_finding():
    for name in structure.FINDINGS:
        assert structure.BY_NAME[name].parents, name
    for name in structure.TARGETS:
        assert any(structure.BY_NAME[c].kind == "finding" for c in structure.children(name)), name
