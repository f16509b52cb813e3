"""The batch plan (:mod:`popliteal.engine.contraction`): one contraction and its backward pass.

Oracle: the engine's one-case path (a separate contraction per target,
checked against pgmpy and brute force in ``test_inference_exact.py``), case
by case, on random batches of hard, soft and missing evidence that include
observed targets and impossible cases. Plus hand-checkable facts: without
evidence the plan gives the priors, and its result does not depend on how
the cases are split into sub-batches.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from popliteal.network import structure
from popliteal.engine.contraction import Plan
from popliteal.engine.inference import PLAN_MIN_BATCH, Engine
from budget import examples


def random_likelihoods(draw_rng, names, n):
    """Per case: unobserved (ones), a sure state (one-hot) or soft evidence on a yes/no variable."""
    out = {}
    for name in names:
        card = len(structure.BY_NAME[name].states)
        lik = np.ones((n, card))
        kind = draw_rng.integers(0, 3, n)
        state = draw_rng.integers(0, card, n)
        hard = kind == 1
        lik[hard] = np.eye(card)[state[hard]]
        soft = (kind == 2) & (card == 2)
        x = draw_rng.uniform(0.05, 0.95, n)
        lik[soft, 0] = x[soft]
        lik[soft, 1] = 1 - x[soft]
        out[name] = lik
    return out


@settings(max_examples=examples(6))
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(3, 14))
def test_batch_plan_against_one_case_at_a_time(model, seed, size):
    rng = np.random.default_rng(seed)
    names = sorted(rng.choice(structure.NAMES, size=size, replace=False), key=structure.NAMES.index)
    n = PLAN_MIN_BATCH + 8
    lik = random_likelihoods(rng, names, n)
    batch, p_batch = model.engine.marginals(lik, structure.TARGETS, batch=n)  # the plan
    for i in range(0, n, 4):
        one, p_one = model.engine.marginals({k: v[i] for k, v in lik.items()}, structure.TARGETS)
        assert p_batch[i] == pytest.approx(p_one[0], rel=1e-12, abs=1e-300)
        for t in structure.TARGETS:
            if np.isnan(one[t][0]).any():
                assert np.isnan(batch[t][i]).all()
            else:
                np.testing.assert_allclose(batch[t][i], one[t][0], rtol=0, atol=1e-12)


def test_without_evidence_the_plan_gives_the_priors(model):
    plan = Plan(model.engine.tables, (), structure.TARGETS)
    joint = plan.joint(model.engine.tables, {}, 3)
    prior, _ = Engine(model.engine.tables, complaint=False).marginals({}, structure.TARGETS)  # nothing known
    for t in structure.TARGETS:
        np.testing.assert_allclose(joint[t], np.repeat(prior[t], 3, axis=0), rtol=0, atol=1e-15)
        np.testing.assert_allclose(joint[t].sum(axis=1), 1.0, rtol=0, atol=1e-14)


def test_result_does_not_depend_on_the_sub_batches(model, rng):
    names = [n for n in structure.NAMES if n not in structure.TARGETS]
    lik = random_likelihoods(rng, names, 301)
    plan = Plan(model.engine.tables, names, structure.TARGETS)
    whole = plan.joint(model.engine.tables, lik, 301)
    plan.sub_batch = 100  # leaves a lone case at the end
    split = plan.joint(model.engine.tables, lik, 301)
    for t in structure.TARGETS:
        np.testing.assert_array_equal(split[t], whole[t])


def test_observed_target_gets_its_joint_with_the_evidence(model):
    """P(dvt = s, e) with soft evidence on dvt itself is L(s) P(dvt = s, rest of e)."""
    lik = {"dvt": np.array([[0.8, 0.2]] * PLAN_MIN_BATCH), "calf_swelling": np.array([[1.0, 0.0]] * PLAN_MIN_BATCH)}
    joint = Plan(model.engine.tables, ("dvt", "calf_swelling"), ("dvt",)).joint(model.engine.tables, lik,
                                                                                PLAN_MIN_BATCH)
    without = Plan(model.engine.tables, ("calf_swelling",), ("dvt",)).joint(
        model.engine.tables, {"calf_swelling": lik["calf_swelling"]}, PLAN_MIN_BATCH)
    np.testing.assert_allclose(joint["dvt"], without["dvt"] * [0.8, 0.2], rtol=1e-13, atol=0)


def test_threaded_sub_batches_against_one_thread(model, rng, monkeypatch):
    """Sub-batches contracted side by side on threads give the one-thread result, to the last bit."""
    from popliteal.engine import contraction

    names = [n for n in structure.NAMES if n not in structure.TARGETS]
    lik = random_likelihoods(rng, names, 301)
    plan = Plan(model.engine.tables, names, structure.TARGETS)
    plan.sub_batch = 40
    monkeypatch.setattr(contraction, "THREADS", 1)
    serial = plan.joint(model.engine.tables, lik, 301)
    serial_scaled, serial_log = plan.joint(model.engine.tables, lik, 301, scaled=True)
    monkeypatch.setattr(contraction, "THREADS", 3)
    threaded = plan.joint(model.engine.tables, lik, 301)
    threaded_scaled, threaded_log = plan.joint(model.engine.tables, lik, 301, scaled=True)
    for t in structure.TARGETS:
        np.testing.assert_array_equal(threaded[t], serial[t])
        np.testing.assert_array_equal(threaded_scaled[t], serial_scaled[t])
    np.testing.assert_array_equal(threaded_log, serial_log)


def test_an_error_in_a_thread_reaches_the_caller(monkeypatch):
    from popliteal.engine import contraction

    monkeypatch.setattr(contraction, "THREADS", 2)
    seen = []

    def fn(i):
        if i == 3:
            raise ValueError("boom")
        seen.append(i)

    with pytest.raises(ValueError, match="boom"):
        contraction._map(fn, range(6))


def test_planning_twice_gives_the_same_plan_against_itself(model):
    """The randomised orders are seeded: the same pattern always gets the same steps (the same bits)."""
    from popliteal.engine.contraction import LARGE_PATTERN

    names = [n for n in structure.NAMES if n not in structure.TARGETS]
    assert len(names) >= LARGE_PATTERN  # a file's pattern: the many-orders search
    first = Plan(model.engine.tables, names, structure.TARGETS, trials=30)
    second = Plan(model.engine.tables, names, structure.TARGETS, trials=30)
    assert first._steps == second._steps
