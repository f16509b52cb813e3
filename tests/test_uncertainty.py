"""Uncertainty over the priors' ranges: the distributions, the vectorised pass, the CLI.

Oracles: the ranges themselves (a 90% interval: the share of draws inside,
within sampling error), scipy's regularised incomplete beta function for the
matched Beta distributions, the exact engine run on each drawn table set one
at a time (the vectorised pass must equal that loop to 1e-12), and the point
posterior (which a folder of narrow ranges must reproduce on average).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from popliteal.common import safeyaml
from scipy.special import betainc

import popliteal
from popliteal.network import structure
from popliteal.engine.complaint import carry
from popliteal.engine.inference import Engine, ImpossibleEvidence
from popliteal.network.priors import LEVELS
from popliteal.clinic.uncertainty import (BETA, DIRICHLET, FIXED, LOGNORMAL, beta_concentration, distributions,
                                   posterior_draws)

PRIORS = Path(__file__).resolve().parents[1] / "priors"
DRAWS = 20_000
#: Allowed error of a share estimated from DRAWS draws: about 4.5 standard errors at p = 0.9.
SHARE_TOL = 0.01
CASE = {"age_group": "over_60", "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}


@pytest.fixture(scope="module")
def dist(model):
    return distributions(model.priors)


@pytest.fixture(scope="module")
def values(dist):
    return dist.sample(DRAWS, seed=11)


def inside(values, dist):
    return ((values >= dist.low) & (values <= dist.high)).mean(axis=0)


def bounded_both_ends(dist):
    """Parameters whose range bounds them on both sides (neither end at 0, 1 or the value)."""
    low_binds = (dist.low < dist.value) & ((dist.kind == LOGNORMAL) | (dist.low > 0))
    high_binds = (dist.high > dist.value) & ((dist.kind == LOGNORMAL) | (dist.high < 1))
    return low_binds & high_binds


def test_the_bundled_priors_use_every_kind_of_distribution(dist):
    kinds = set(dist.kind.tolist())
    assert kinds == {FIXED, BETA, LOGNORMAL, DIRICHLET}
    assert len(dist.names) == len(set(dist.names))


def test_ninety_percent_of_the_draws_fall_inside_each_range(dist, values):
    share = inside(values, dist)
    two_sided = bounded_both_ends(dist) & ((dist.kind == BETA) | (dist.kind == LOGNORMAL))
    assert two_sided.sum() > 100
    bad = {dist.names[i]: share[i] for i in np.flatnonzero(two_sided) if abs(share[i] - 0.90) > SHARE_TOL}
    assert not bad, bad


def test_a_range_from_zero_puts_five_percent_above_its_top(dist, values):
    from_zero = np.flatnonzero((dist.kind == BETA) & (dist.low == 0) & (dist.high < 1))
    assert from_zero.size >= 3
    above = (values[:, from_zero] > dist.high[from_zero]).mean(axis=0)
    np.testing.assert_allclose(above, 0.05, atol=SHARE_TOL)


def test_odds_ratios_have_the_value_as_median_and_the_range_as_5th_to_95th_percentile(dist, values):
    idx = np.flatnonzero(dist.kind == LOGNORMAL)
    assert idx.size >= 10
    v = values[:, idx]
    np.testing.assert_allclose((v < dist.value[idx]).mean(axis=0), 0.5, atol=SHARE_TOL)
    np.testing.assert_allclose((v < dist.low[idx]).mean(axis=0), 0.05, atol=SHARE_TOL)
    np.testing.assert_allclose((v > dist.high[idx]).mean(axis=0), 0.05, atol=SHARE_TOL)


def test_probabilities_keep_their_value_as_mean(dist, values):
    idx = np.flatnonzero((dist.kind == BETA) | (dist.kind == DIRICHLET))
    mean, sd = values[:, idx].mean(axis=0), values[:, idx].std(axis=0)
    assert np.all(np.abs(mean - dist.value[idx]) <= 5 * sd / math.sqrt(DRAWS) + 1e-12)


def test_a_dirichlet_row_matches_its_widest_range_and_sums_to_one(dist, values):
    assert len(dist.rows) >= 2, "age_group and sex are multi-state tables"
    for row in dist.rows:
        np.testing.assert_allclose(values[:, row].sum(axis=1), dist.value[row].sum(), atol=1e-12)
        share = inside(values, dist)[row]
        # the loosest state sets the concentration: it holds 90%, the others are drawn wider
        assert abs(share.max() - 0.90) <= SHARE_TOL, share
        assert np.all(share <= 0.90 + SHARE_TOL), share


@pytest.mark.parametrize("mean, low, high", [(0.5, 0.35, 0.65), (0.07, 0.03, 0.15), (0.6, 0.4, 0.8),
                                             (0.004, 0.001, 0.01), (0.9, 0.8, 0.97)])
def test_beta_concentration_against_scipy_incomplete_beta(mean, low, high):
    kappa = beta_concentration(mean, low, high)[0]
    a, b = mean * kappa, (1 - mean) * kappa
    assert betainc(a, b, high) - betainc(a, b, low) == pytest.approx(0.90, abs=1e-6)


@pytest.mark.parametrize("mean, low, high", [(0.01, 0.0, 0.05), (0.3, 0.3, 0.5), (0.95, 0.8, 1.0)])
def test_beta_concentration_with_one_bounding_end(mean, low, high):
    kappa = beta_concentration(mean, low, high)[0]
    a, b = mean * kappa, (1 - mean) * kappa
    tail = 1 - betainc(a, b, high) if 0 < high < 1 and high > mean else betainc(a, b, low)
    assert tail == pytest.approx(0.05, abs=1e-6)


def test_zero_width_ranges_stay_fixed(model, dist, values):
    fixed = [p for p in model.priors.parameters if p.low == p.high]
    assert len(fixed) >= 10
    idx = [dist.names.index(p.name) for p in fixed]
    assert np.all(values[:, idx] == np.array([p.value for p in fixed]))
    assert np.all(dist.kind[idx] == FIXED)


def test_impossible_stays_impossible_in_every_draw(model, dist):
    values = dist.sample(300, seed=5)
    tables = dist.tables(model.priors, values)
    for name in structure.NAMES:
        zero = model.priors.nodes[name].table == 0
        assert np.all(tables[name][:, zero] == 0), name
        assert np.all(tables[name][:, ~zero] > 0), name
    adult = posterior_draws(model.priors, model.evidence({"age_group": "adult"}), 200)
    assert np.all(adult["growing_pains"] == 0) and np.all(adult["epiphysiolysis"] == 0)
    no_cyst = posterior_draws(model.priors, model.evidence({"bakers_cyst_present": "no"}), 200)
    assert np.all(no_cyst["bakers_cyst_rupture"] == 0)
    with pytest.raises(ImpossibleEvidence, match="impossible under 200 of 200"):
        posterior_draws(model.priors, model.evidence({"sex": "male", "pregnant_or_postpartum": "yes"}), 200)


def test_vectorised_pass_equals_a_loop_over_single_draws(model, dist):
    evidence = model.evidence({**CASE, "popliteal_swelling": "yes:0.8"})
    likelihoods = evidence.likelihoods()
    values = dist.sample(6, seed=3)
    files = {n: model.priors.nodes[n].table for n in structure.NAMES}
    tables = carry(dist.tables(model.priors, values), files, model.engine.tables)  # moved as the fit moved
    batched, p_e = Engine(tables, batched_tables=True).marginals(likelihoods, structure.TARGETS, batch=6)
    for i in range(6):
        single, p_i = Engine({n: t[i] for n, t in tables.items()}).marginals(likelihoods, structure.TARGETS)
        assert p_e[i] == pytest.approx(p_i[0], rel=1e-12)
        for t in structure.TARGETS:
            np.testing.assert_allclose(batched[t][i], single[t][0], rtol=0, atol=1e-12)
    drawn = posterior_draws(model.priors, evidence, 6, seed=3)
    for t in structure.TARGETS:
        np.testing.assert_allclose(drawn[t], batched[t][:, 0], rtol=0, atol=1e-12)


def test_draw_i_does_not_depend_on_the_number_of_draws(dist):
    # 2100 and 3000 draws split differently into vectorised chunks
    np.testing.assert_array_equal(dist.sample(2100, seed=4), dist.sample(3000, seed=4)[:2100])


def narrow(directory, rel=0.01):
    """Narrow every range of a priors folder to the value +- ``rel`` (relative)."""

    def tight(value, scale_limit):
        return [value * (1 - rel), min(value * (1 + rel), scale_limit)]

    for path in directory.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        if path.stem in ("references", "triage", "advice"):
            continue
        if doc["kind"] == "table":
            for row in doc["rows"]:
                row["range"] = {s: tight(row["probabilities"][s], 1.0) for s in row["range"]}
        elif doc["kind"] == "noisy_or":
            for entry in [doc["leak"], *doc["causes"]]:
                entry["range"] = tight(entry["probability"], 1.0)
            for entry in doc.get("scaled_by", []):
                entry["range"] = tight(entry["factor"], 1.0)
        elif doc["kind"] == "mixture":
            for entry in [doc["leak"], *doc["causes"]]:
                entry["range"] = {s: tight(v, 1.0) for s, v in entry["probabilities"].items()}
            doc["leak"]["weight_range"] = tight(doc["leak"]["weight"], 1.0)
        else:
            doc["baseline"]["range"] = tight(doc["baseline"]["probability"], 1.0)
            for entry in doc["odds_ratios"]:
                entry["range"] = tight(entry["value"], math.inf)
        path.write_text(safeyaml.dump(doc, sort_keys=False, allow_unicode=True))
    return directory


def test_narrow_ranges_give_draws_centred_on_the_point_posterior(tmp_path):
    folder = narrow(shutil.copytree(PRIORS, tmp_path / "priors"))
    narrow_model = popliteal.load(folder, cache=False)
    for case in (CASE, {"popliteal_swelling": "yes", "osteoarthritis": "yes"}, {}):
        evidence = narrow_model.evidence(case)
        point = narrow_model.posterior(evidence).probabilities
        drawn = posterior_draws(narrow_model.priors, evidence, 400, seed=2)
        for t in structure.TARGETS:
            assert drawn[t].mean() == pytest.approx(point[t], abs=2e-3), (case, t)
            assert drawn[t].std() <= 0.02, (case, t)


def test_triage_stability_against_the_one_patient_triage_of_each_draw(model):
    """The draws are triaged at once; each must get the level the one-patient path gives it."""
    from popliteal.clinic.policy import triage
    from popliteal.clinic.uncertainty import triage_stability
    from popliteal.engine.evidence import from_mapping
    from popliteal.engine.inference import Posterior

    cases = [CASE, {"age_group": "child", "night_pain_both_legs": "yes", "limping": "no", "fever": "no",
                    "persistent_pain": "no"},
             {"age_group": "adult", "pain_after_exercise": "yes", "sports_overload": "yes", "recent_trauma": "no",
              "calf_pain": "yes:0.6"}]
    for case in cases:
        evidence = from_mapping(case)
        samples = posterior_draws(model.priors, evidence, 200, seed=3)
        shown = evidence.as_dict()
        counts = dict.fromkeys(LEVELS, 0)
        for i in range(200):
            post = Posterior(evidence=shown, probabilities={t: float(s[i]) for t, s in samples.items()}, digest="x")
            counts[triage(post, model.priors.triage).level] += 1
        assert triage_stability(samples, shown, model.priors.triage) == {lv: c / 200 for lv, c in counts.items()}


def test_model_query_reports_intervals_and_triage_stability(model):
    result = model.query(CASE, uncertainty=300, seed=1)
    point = model.query(CASE)
    assert result.probabilities == point.probabilities
    assert result.triage == point.triage and result.advice == point.advice
    # the point answer's other numbers stay (until 2026-12-02 the incidental section was dropped)
    assert result.posterior.incidental == point.posterior.incidental
    assert result.posterior.outside_model == point.posterior.outside_model is not None
    assert set(result.posterior.intervals) == set(structure.TARGETS)
    for t, (lo, hi) in result.posterior.intervals.items():
        assert 0.0 <= lo <= hi <= 1.0
    assert list(result.triage_stability) == list(LEVELS)
    assert sum(result.triage_stability.values()) == pytest.approx(1.0)
    out = result.to_dict()
    assert out["uncertainty"] == {"draws": 300, "seed": 1}
    assert out["intervals"]["dvt"] == list(result.posterior.intervals["dvt"])
    frame = result.frame
    assert {"low", "high"} <= set(frame.columns)


def test_the_same_seed_gives_the_same_answer_another_seed_does_not(model):
    a = model.query(CASE, uncertainty=200, seed=7).to_dict()
    b = model.query(CASE, uncertainty=200, seed=7).to_dict()
    c = model.query(CASE, uncertainty=200, seed=8).to_dict()
    assert a == b
    assert a["intervals"] != c["intervals"]


@pytest.mark.parametrize("draws", [0, -5, 2.5, "100", True, 100_001])
def test_the_api_refuses_bad_numbers_of_draws(model, draws):
    with pytest.raises(ValueError, match="number of uncertainty draws"):
        model.query(CASE, uncertainty=draws)


def test_plot_draws_each_interval_where_it_is(model):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = model.query(CASE, uncertainty=200)
    ax = result.plot()
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    names = list(reversed(result.ranking))
    drawn = {names[int(round(seg[0][1]))]: (seg[0][0], seg[1][0]) for seg in segments if seg[0][1] == seg[1][1]}
    assert set(drawn) == set(structure.TARGETS)
    for name, (lo, hi) in drawn.items():
        assert (lo, hi) == pytest.approx(result.posterior.intervals[name])
    plt.close(ax.figure)


# --- the command line -------------------------------------------------------------------------


def cli(*args):
    return subprocess.run([sys.executable, "-m", "popliteal", *args], capture_output=True, text=True, timeout=120)


def test_cli_uncertainty_prints_intervals_and_json_has_them():
    args = [f"-e{k}={v}" for k, v in CASE.items()]
    text = cli("query", *args, "--uncertainty", "150")
    assert text.returncode == 0, text.stderr
    assert "over 150 draws" in text.stdout and "Triage across the draws:" in text.stdout
    assert text.stdout.count("% –") == len(structure.TARGETS)
    proc = cli("query", *args, "--uncertainty", "150", "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["uncertainty"] == {"draws": 150, "seed": 3}
    assert set(out["intervals"]) == set(structure.TARGETS)
    assert all(lo <= hi for lo, hi in out["intervals"].values())
    assert set(out["triage_stability"]) == set(LEVELS)
    again = json.loads(cli("query", *args, "--uncertainty", "150", "--seed", "3", "--json").stdout)
    assert again == out


@pytest.mark.parametrize("args", [["--uncertainty", "0"], ["--uncertainty", "-5"], ["--uncertainty", "abc"],
                                  ["--uncertainty", "1.5"], ["--uncertainty", "10", "--seed", "-1"]])
def test_cli_refuses_bad_uncertainty_values(args):
    proc = cli("query", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("popliteal: error: argument --") and args[-1] in lines[0]
    assert proc.stdout == ""


def test_cli_refuses_a_seed_without_draws_to_seed():
    """A seed given without --uncertainty would be ignored silently: one line, status 2 (the contract's bad input)."""
    proc = cli("query", "--seed", "3")
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert "--seed" in proc.stderr and "--uncertainty" in proc.stderr
