"""Claims of the references cited in ``priors/``, as tests of the model's direction.

Oracle: the reference texts behind a finding's numbers (named in each test). Like the seed
tests, these compare directions and rankings, never exact numbers, so a better-sourced prior
breaks them only if it reverses what the reference says.
"""

from __future__ import annotations


def test_merck_says_downhill_pain_at_the_outer_back_of_the_knee_is_popliteus_tendinitis(model):
    """Merck Manual: 'Pain and soreness, particularly when running downhill, develop along the posterolateral knee.'"""
    runner = {"age_group": "adult", "sports_overload": "yes", "pain_after_exercise": "yes", "pain_side": "lateral",
              "recent_trauma": "no"}
    flat = model.posterior({**runner, "pain_downhill": "no"}).probabilities
    downhill = model.posterior({**runner, "pain_downhill": "yes"}).probabilities
    ratio = lambda p: p["popliteus_tendinopathy"] / p["hamstring_tendinopathy"]  # noqa: E731
    assert ratio(downhill) > 2 * ratio(flat)
    assert model.posterior({**runner, "pain_downhill": "yes"}).ranking[0] == "popliteus_tendinopathy"


def test_hensor_says_stairs_are_where_osteoarthritis_pain_shows_first(model):
    """Hensor 2015 (OAI): 'using stairs' is the first WOMAC pain item affirmed as knee OA pain begins."""
    older = {"age_group": "over_60", "pain_on_bending": "yes"}
    before = model.posterior(older).probabilities["osteoarthritis_pain"]
    after = model.posterior({**older, "pain_downhill": "yes"}).probabilities["osteoarthritis_pain"]
    assert after > before
    assert model.posterior({**older, "pain_downhill": "yes"}).ranking[0] == "osteoarthritis_pain"


def test_downhill_pain_says_nothing_about_a_thrombosis(model):
    """No reference ties pain on descent to a DVT: the finding leaves P(dvt) where the other answers put it."""
    ev = {"age_group": "over_60", "calf_swelling": "yes"}
    base = model.posterior(ev).probabilities["dvt"]
    with_descent = model.posterior({**ev, "pain_downhill": "yes"}).probabilities["dvt"]
    assert abs(with_descent - base) < 0.05 * base
