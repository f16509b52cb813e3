"""Noisy-OR tables contracted as sums of products (:func:`popliteal.engine.contraction.factorise_noisy_or`).

Oracles: the table itself (the factors rebuild it), brute-force enumeration of
a finding's evidence factor over every assignment of its parents, the same
engine with every table kept whole (``Engine(..., factorise=False, factorise_complaint=False)``, itself
checked against pgmpy and brute force in ``test_inference_exact.py``) on
random batches of hard, soft and missing evidence, on evidence so unlikely
that the rescaled path runs, and on batched tables of parameter draws; and
pgmpy's VariableElimination on the whole network.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from popliteal.network import structure
from popliteal.engine.contraction import factorise_noisy_or
from popliteal.engine.evidence import Evidence
from popliteal.engine.inference import FACTORISE_MIN_PARENTS, PLAN_MIN_BATCH, RESCALE_BELOW, Engine, query
from popliteal.network.bayesnet import reference_query
from popliteal.network.priors import load_priors
from popliteal.clinic.uncertainty import distributions

#: The findings with the most parents, whose tables the engine factorises within its error budget
#: when the complaint is kept whole (knee_pop, added 2026-12-03, ties limping at eight parents and
#: comes first in structure order; with the complaint factorised its amplification no longer fits).
BIG = ("persistent_pain", "knee_pop")


def _likelihoods(rng, names, n, positive=0.5):
    """Per case and variable: missing (ones), a sure state, or soft evidence; yes/no findings lean to yes."""
    out = {}
    for name in names:
        card = len(structure.BY_NAME[name].states)
        lik = np.ones((n, card))
        kind = rng.integers(0, 3, n)
        state = np.where(rng.random(n) < positive, 0, rng.integers(0, card, n))
        hard = kind == 1
        lik[hard] = np.eye(card)[state[hard]]
        soft = (kind == 2) & (card == 2)
        x = rng.uniform(0.05, 0.95, n)
        lik[soft, 0], lik[soft, 1] = x[soft], 1 - x[soft]
        out[name] = lik
    return out


def _assert_same(got, want, p_got, p_want, atol=1e-12):
    np.testing.assert_allclose(p_got, p_want, rtol=1e-12, atol=0)
    for t in want:
        np.testing.assert_array_equal(np.isnan(got[t]), np.isnan(want[t]))
        np.testing.assert_allclose(got[t], want[t], rtol=0, atol=atol, err_msg=t)


@pytest.mark.parametrize("which", ["bundled", "random"])
def test_factorisation_against_the_table(which, model, random_priors_dir):
    """Every noisy-OR table over yes/no parents is rebuilt from its factors; no other kind of table is taken for one.

    A noisy-OR with a parent of more states (``calf_swelling`` and ``calf_pain`` by ``pregnancy``)
    is kept whole: it has five parents, below :data:`~popliteal.engine.inference.FACTORISE_MIN_PARENTS`.
    """
    priors = model.priors if which == "bundled" else load_priors(random_priors_dir)
    checked = 0
    for name, node in priors.nodes.items():
        found = factorise_noisy_or(node.table)
        binary = node.table.shape == (2,) * node.table.ndim
        if node.kind == "noisy_or" and binary and node.table[(0,) + (1,) * (node.table.ndim - 1)] > 0:
            assert found is not None, name
            checked += 1
        elif node.kind == "noisy_or" and not binary:
            assert found is None, name
            assert len(structure.BY_NAME[name].parents) < FACTORISE_MIN_PARENTS, name
        if found is not None:
            np.testing.assert_allclose(found.table(), node.table, rtol=0, atol=1e-12, err_msg=name)
            if node.kind != "noisy_or":  # only when the table happens to be one
                assert node.table.shape[0] == 2, name
    assert factorise_noisy_or(priors.nodes["pain_side"].table) is None  # three states: kept whole
    assert checked >= 20


def test_decomposed_noisy_or_against_bruteforce_enumeration(model, rng):
    """sum_s lik(s) P(s | x) for every assignment x of the parents, against the factors contracted."""
    for name in BIG:
        table = model.engine.tables[name]
        found = factorise_noisy_or(table)
        var = structure.BY_NAME[name]
        for lik in ([1.0, 0.0], [0.0, 1.0], [1.0, 1.0], rng.uniform(0, 1, 2), [1e-300, 1e-310]):
            lik = np.asarray(lik)
            core = np.einsum("s,sh...->h...", lik, found.core)
            for x in itertools.product(range(2), repeat=len(var.parents)):
                want = lik @ table[(slice(None),) + x]
                terms = core[(slice(None),) + tuple(x[k] for k in found.kept)].copy()
                for k, g in found.per_parent.items():
                    terms *= g[:, x[k]]
                size = np.abs(terms).sum()  # rounding errors scale with it, the table's with the likelihood
                assert abs(terms.sum() - want) <= 1e-14 * (size + lik.sum()), (name, x)
                assert size <= found.amplification * want * (1 + 1e-12), (name, x)


def test_engine_factorises_the_findings_with_most_parents(model):
    chosen = Engine(model.engine.tables, factorise=True, factorise_complaint=False).factorised()
    assert set(BIG) <= set(chosen)
    assert chosen["persistent_pain"] == ("growing_pains",)  # the scaling parent stays
    both = Engine(model.engine.tables, factorise=True).factorised()
    assert list(both)[:2] == [structure.COMPLAINT, "persistent_pain"]  # the complaint takes its share first
    assert both[structure.COMPLAINT] == ()
    assert Engine(model.engine.tables, factorise=False).factorised() == {structure.COMPLAINT: ()}
    # the findings off by default (slower on this network, see Engine), the complaint on
    assert model.engine.factorised() == {structure.COMPLAINT: ()}
    assert Engine(model.engine.tables, factorise_complaint=False).factorised() == {}
    assert Engine(model.engine.tables, complaint=False).factorised(structure.TARGETS) == {}  # not observed


@pytest.mark.parametrize("n", [3, PLAN_MIN_BATCH + 40])  # the all-variables plan, and a planned pattern
def test_factorised_complaint_against_the_whole_complaint_table(model, rng, n):
    """The default engine (the complaint as a sum of two products) against one with its table whole."""
    whole = Engine(model.engine.tables, factorise_complaint=False)
    names = ["pain_side", "calf_swelling", "calf_pain", "back_pain", "age_group", "sex", "recent_trauma",
             "knee_effusion", "dvt", "growing_pains", "night_pain_both_legs", "limping"]
    for _ in range(3):
        lik = _likelihoods(rng, names, n)
        got, p_got = model.engine.marginals(lik, structure.TARGETS, batch=n)
        want, p_want = whole.marginals(lik, structure.TARGETS, batch=n)
        _assert_same(got, want, p_got, p_want)
    lik = _likelihoods(rng, names, n)
    lik["night_pain_both_legs"][:] = [1e-300, 1e-310]  # P(e) < 1e-300: the rescaled path
    got, p_got, log_got = model.engine.marginals_full(lik, structure.TARGETS, batch=n)
    want, p_want, log_want = whole.marginals_full(lik, structure.TARGETS, batch=n)
    assert np.all(p_want < RESCALE_BELOW)
    np.testing.assert_allclose(log_got, log_want, rtol=1e-12, atol=0)
    _assert_same(got, want, p_got, p_want)


@pytest.fixture(scope="module")
def factorised(model):
    """The bundled network's engine with its noisy-OR findings factorised (the default keeps them whole)."""
    engine = Engine(model.engine.tables, factorise=True, factorise_complaint=False)
    assert set(BIG) <= set(engine.factorised())
    return engine


@pytest.mark.parametrize("n", [3, PLAN_MIN_BATCH + 40])  # the all-variables plan, and a planned pattern
def test_decomposed_noisy_or_against_joined_table(model, factorised, rng, n):
    joined = Engine(model.engine.tables, factorise=False, factorise_complaint=False)
    names = [*BIG, "pain_side", "unable_to_bear_weight", "calf_swelling", "age_group", "sex", "recent_trauma",
             "knee_effusion", "dvt", "growing_pains"]
    for _ in range(3):
        lik = _likelihoods(rng, names, n)
        got, p_got = factorised.marginals(lik, structure.TARGETS, batch=n)
        want, p_want = joined.marginals(lik, structure.TARGETS, batch=n)
        _assert_same(got, want, p_got, p_want)


def test_decomposed_noisy_or_against_joined_table_on_targets_and_impossible_cases(model, factorised):
    """A factorised finding as a target, and cases the model holds impossible (exact zeros stay zero)."""
    joined = Engine(model.engine.tables, factorise=False, factorise_complaint=False)
    n = PLAN_MIN_BATCH
    lik = {"sex": np.tile([0.0, 1.0], (n, 1)), "pregnancy": np.tile([0.0, 1.0, 0.0], (n, 1)),
           "limping": np.tile([1.0, 0.0], (n, 1))}
    lik["sex"][::2] = [1.0, 0.0]  # female: possible; male and pregnant: impossible
    targets = (*structure.TARGETS, "persistent_pain")
    got, p_got = factorised.marginals(lik, targets, batch=n)
    want, p_want = joined.marginals(lik, targets, batch=n)
    assert np.all(p_got[1::2] == 0) and np.all(p_got[::2] > 0)
    _assert_same(got, want, p_got, p_want)
    adult = {"age_group": np.eye(4)[2], "persistent_pain": np.array([1.0, 0.0])}
    got, _ = factorised.marginals(adult, ("growing_pains", "epiphysiolysis"))
    assert got["growing_pains"][0, 0] == 0.0 and got["epiphysiolysis"][0, 0] == 0.0


@pytest.mark.parametrize("n", [2, PLAN_MIN_BATCH + 4])
def test_decomposed_noisy_or_against_joined_table_when_p_evidence_is_tiny(model, factorised, rng, n):
    """The rescaled path (negative coefficients of the factorised findings included)."""
    joined = Engine(model.engine.tables, factorise=False, factorise_complaint=False)
    names = [*BIG, "limping", "calf_swelling", "breathlessness", "night_pain_both_legs", "age_group"]
    lik = _likelihoods(rng, names, n)
    lik["persistent_pain"][:] = [1e-300, 1e-310]  # leans to yes: a negative coefficient, and P(e) < 1e-300
    lik["knee_pop"][::2] = [1e-250, 0.0]
    lik["limping"][1::2] = [1e-250, 0.0]
    got, p_got, log_got = factorised.marginals_full(lik, structure.TARGETS, batch=n)
    want, p_want, log_want = joined.marginals_full(lik, structure.TARGETS, batch=n)
    assert np.all(p_want < RESCALE_BELOW)
    np.testing.assert_allclose(log_got, log_want, rtol=1e-12, atol=0)
    _assert_same(got, want, p_got, p_want)


def test_decomposed_noisy_or_against_joined_table_with_batched_tables(model, rng):
    """Parameter draws (the uncertainty analysis): every draw's tables are factorised alike."""
    dist = distributions(model.priors)
    tables = dist.tables(model.priors, dist.sample(40, seed=11))
    factorised = Engine(tables, batched_tables=True, factorise=True, factorise_complaint=False)
    joined = Engine(tables, batched_tables=True, factorise=False, factorise_complaint=False)
    assert "persistent_pain" in factorised.factorised()
    lik = {"persistent_pain": np.array([1.0, 0.0]), "limping": np.array([0.3, 0.9]),
           "age_group": np.eye(4)[1], "knee_effusion": np.array([0.0, 1.0])}
    got, p_got = factorised.marginals(lik, structure.TARGETS, batch=40)
    want, p_want = joined.marginals(lik, structure.TARGETS, batch=40)
    _assert_same(got, want, p_got, p_want)
    tiny = {**lik, "persistent_pain": np.array([1e-300, 0.0])}
    got, p_got, log_got = factorised.marginals_full(tiny, structure.TARGETS, batch=40)
    want, p_want, log_want = joined.marginals_full(tiny, structure.TARGETS, batch=40)
    np.testing.assert_allclose(log_got, log_want, rtol=1e-12, atol=0)
    _assert_same(got, want, p_got, p_want)


def test_decomposed_noisy_or_against_pgmpy_variable_elimination(model, factorised, pgmpy_model):
    ev = Evidence({"persistent_pain": "yes", "limping": "yes", "age_group": "adolescent", "recent_trauma": "no"},
                  {"unable_to_bear_weight": ("yes", 0.7)})
    post = query(factorised, ev, model.digest)
    lik = ev.likelihoods()
    ref = reference_query(pgmpy_model, list(structure.TARGETS), evidence=dict(ev.hard),
                          soft={k: lik[k] for k in ev.soft})
    for t in structure.TARGETS:
        assert post.probabilities[t] == pytest.approx(ref[t]["yes"], abs=1e-10), t
