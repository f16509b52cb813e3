"""The compiled engine is exact.

Oracles: brute-force enumeration of the joint of ancestral sub-networks
(small enough to enumerate), and pgmpy's VariableElimination on the whole
network, with hard and soft evidence.
"""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, strategies as st

from popliteal.network import structure
from popliteal.engine.evidence import Evidence, from_mapping
from popliteal.engine.inference import Engine, ImpossibleEvidence, query
from popliteal.network.bayesnet import build_network, reference_query
from popliteal.network.priors import load_priors


def _ancestral_closure(names):
    keep = set(names)
    frontier = list(names)
    while frontier:
        for p in structure.BY_NAME[frontier.pop()].parents:
            if p not in keep:
                keep.add(p)
                frontier.append(p)
    return [n for n in structure.NAMES if n in keep]


def bruteforce(tables, nodes, likelihoods, target):
    """P(target | evidence) from the full joint of ``nodes``, every assignment at once.

    ``nodes`` must be closed under parents; the nodes outside are barren and
    sum out to one, so the sub-network's joint is the marginal of the whole.
    The joint is the dense product of every table, broadcast over one axis per
    node (no elimination order, no factorisation): enumeration, vectorised.
    """
    axis = {n: i for i, n in enumerate(nodes)}
    joint = np.ones([len(structure.BY_NAME[n].states) for n in nodes])
    for n in nodes:
        own = (n, *structure.BY_NAME[n].parents)
        order = sorted(own, key=axis.get)
        table = np.transpose(tables[n], [own.index(m) for m in order])
        shape = [1] * len(nodes)
        for m in order:
            shape[axis[m]] = joint.shape[axis[m]]
        joint = joint * table.reshape(shape)
    for n, lik in likelihoods.items():
        shape = [1] * len(nodes)
        shape[axis[n]] = len(lik)
        joint = joint * np.asarray(lik).reshape(shape)
    num = joint.sum(axis=tuple(i for i in range(len(nodes)) if i != axis[target]))
    return num / num.sum()


SUBNETS = [
    ("knee_locking", "meniscus_tear", {"knee_locking": "yes", "age_group": "adult"}),
    ("pain_on_extension", "bakers_cyst", {"pain_on_extension": "yes", "osteoarthritis": "yes"}),
    ("calf_tingling", "tibial_nerve_irritation", {"calf_tingling": "yes", "knee_effusion": "no"}),
    ("knee_instability", "epiphysiolysis", {"knee_effusion": "yes", "age_group": "adolescent", "recent_trauma": "yes"}),
    ("night_pain_both_legs", "growing_pains", {"night_pain_both_legs": "yes", "age_group": "child"}),
    ("sudden_severe_pain", "bakers_cyst_rupture", {"sudden_severe_pain": "yes:0.8", "knee_locking": "no"}),
]


@pytest.mark.parametrize("leaf,target,evidence", SUBNETS, ids=[s[0] for s in SUBNETS])
@pytest.mark.parametrize("which", ["bundled", "random"])
def test_posterior_against_bruteforce_enumeration(leaf, target, evidence, which, model, random_priors_dir):
    priors = model.priors if which == "bundled" else load_priors(random_priors_dir)
    tables = {n: priors.nodes[n].table for n in structure.NAMES}
    ev = from_mapping(evidence)
    nodes = _ancestral_closure([leaf, target, *ev.names])
    assert len(nodes) <= 22, "sub-network too large to enumerate"
    expected = bruteforce(tables, nodes, ev.likelihoods(), target)
    # the complaint's ancestors are too many to enumerate: it is checked by its identity in test_complaint
    marg, _ = Engine(tables, complaint=False).marginals(ev.likelihoods(), [target])
    np.testing.assert_allclose(marg[target][0], expected, rtol=0, atol=1e-12)


def test_hand_worked_bakers_cyst_rupture_example(model):
    """Two nodes by hand: P(cyst present | rupture) must be 1, since a rupture implies a cyst.

    P(rupture | no cyst) = 0 in the priors, so by Bayes
    P(present | rupture) = P(rupture | present) P(present) / [P(rupture | present) P(present) + 0] = 1.
    And the intact-cyst cause is 0 given a rupture (the two pictures exclude each other).
    """
    tables = {n: model.priors.nodes[n].table for n in structure.NAMES}
    marg, _ = Engine(tables, complaint=False).marginals({"bakers_cyst_rupture": np.array([1.0, 0.0])},
                                       ["bakers_cyst_present", "bakers_cyst"])
    assert marg["bakers_cyst_present"][0, 0] == pytest.approx(1.0, abs=1e-15)
    assert marg["bakers_cyst"][0, 0] == pytest.approx(0.0, abs=1e-15)


def evidence_strategy(max_size: int = 7, soft: bool = True):
    """Random evidence over any variables: hard states and (optionally) soft findings."""
    likelihood = st.one_of(st.none(), st.floats(min_value=0.05, max_value=0.95)) if soft else st.none()
    raw = st.dictionaries(st.sampled_from(structure.EVIDENCE_NAMES), st.tuples(st.integers(0, 3), likelihood),
                          max_size=max_size)
    return raw.map(_materialise)


def _materialise(raw):
    hard, soft = {}, {}
    for name, (index, lik) in raw.items():
        states = structure.BY_NAME[name].states
        state = states[index % len(states)]
        if lik is None or len(states) != 2:
            hard[name] = state
        else:
            soft[name] = (state, float(lik))
    return Evidence(hard, soft)


@given(ev=evidence_strategy())
def test_posterior_against_pgmpy_variable_elimination(ev, model, pgmpy_model):
    lik = ev.likelihoods()
    try:
        post = query(model.engine, ev, model.digest)
    except ImpossibleEvidence:
        _, p_e = model.engine.marginals(lik, ["age_group"])
        assert p_e[0] <= 1e-300
        return
    ref = reference_query(pgmpy_model, list(structure.TARGETS), evidence=dict(ev.hard),
                          soft={k: lik[k] for k in ev.soft})
    for t in structure.TARGETS:
        assert post.probabilities[t] == pytest.approx(ref[t]["yes"], abs=1e-10), t


def test_batch_equals_one_by_one(model, rng):
    names = ["age_group", "calf_swelling", "popliteal_swelling", "recent_trauma", "knee_locking"]
    n = 64
    lik = {}
    rows = []
    for name in names:
        k = len(structure.BY_NAME[name].states)
        idx = rng.integers(0, k, size=n)
        lik[name] = np.eye(k)[idx]
        rows.append(idx)
    batch, _ = model.engine.marginals(lik, structure.TARGETS)
    for i in range(0, n, 9):
        single = {name: lik[name][i] for name in names}
        one, _ = model.engine.marginals(single, structure.TARGETS)
        for t in structure.TARGETS:
            np.testing.assert_allclose(batch[t][i], one[t][0], atol=1e-14)


def test_network_is_checked_by_pgmpy(model):
    net = build_network(model.priors)
    assert set(net.nodes()) == set(structure.NAMES)
    assert net.check_model()


OUTSIDE_CASES = [
    {},
    {"age_group": "child", "night_pain_both_legs": "yes", "fever": "yes"},
    {"age_group": "adult", "calf_swelling": "yes", "long_travel": "yes", "knee_locking": "no"},
]


@pytest.mark.parametrize("evidence", OUTSIDE_CASES, ids=["prior", "child-fever", "swollen-calf"])
def test_outside_model_against_pgmpy_chain_rule(evidence, model, pgmpy_model):
    """P(no modelled cause | e) as a product of pgmpy marginals, one cause at a time.

    P(c1 = no, ..., ck = no | e) = P(c1 = no | e) P(c2 = no | e, c1 = no) ...: each factor is an
    ordinary single-variable query of pgmpy's variable elimination, so the engine's one ratio of
    two evidence probabilities is checked against a different route.
    """
    post = query(model.engine, from_mapping(evidence), model.digest, outside=True)
    given, expected = dict(evidence), 1.0
    for cause in structure.BY_NAME[structure.COMPLAINT].parents:
        expected *= reference_query(pgmpy_model, [cause], evidence=given)[cause]["no"]
        given[cause] = "no"
    assert post.outside_model == pytest.approx(expected, abs=1e-10)


def test_outside_model_is_zero_once_a_cause_is_known_and_one_without_any(model):
    assert query(model.engine, from_mapping({"dvt": "yes"}), model.digest, outside=True).outside_model == 0.0
    none = {c: "no" for c in structure.BY_NAME[structure.COMPLAINT].parents}
    assert query(model.engine, from_mapping(none), model.digest, outside=True).outside_model == pytest.approx(
        1.0, abs=1e-12)
    assert query(model.engine, from_mapping({"dvt": "yes"}), model.digest).outside_model is None  # not asked for


def test_outside_model_is_none_without_the_complaint(model):
    tables = {n: model.priors.nodes[n].table for n in structure.NAMES}
    post = query(Engine(tables, complaint=False), from_mapping({"age_group": "adult"}), model.digest, outside=True)
    assert post.outside_model is None and "outside_model" not in post.to_dict()
