"""Figures on the Agg backend: every plot function over random evidence.

Oracle: the result object drawn. A plot must not raise, must return its Axes,
and must draw exactly what the result holds: one bar per cause (and per
scenario), one annotated cell per grid cell, one line per cause, one tick per
step, one box per node. And plotting never imports pgmpy.
"""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import pytest
from hypothesis import assume, given, settings, strategies as st

from popliteal.present import figures as plotting

from popliteal.network import structure
from popliteal.engine.inference import ImpossibleEvidence
from test_inference_exact import evidence_strategy
from budget import examples

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FEW = settings(max_examples=examples(8))
BINARY_RISKS = [n for n in structure.RISK_FACTORS if structure.BY_NAME[n].states == ("yes", "no")]


def _close(ax):
    assert isinstance(ax, matplotlib.axes.Axes)
    plt.close(ax.figure)


def _bars(ax):
    return [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]


@FEW
@given(ev=evidence_strategy(max_size=5))
def test_posterior_bars_one_per_cause_with_the_evidence_in_the_title(model, ev):
    try:
        result = model.query(ev)
    except ImpossibleEvidence:
        assume(False)
    ax = plotting.plot_posteriors(result)
    assert len(_bars(ax)) == len(structure.TARGETS)
    shown = sorted(round(b.get_width(), 12) for b in _bars(ax))
    assert shown == sorted(round(p, 12) for p in result.probabilities.values())
    for name, state in list(result.evidence.items())[:2]:
        assert f"{name}={state}" in ax.get_title()
    _close(ax)


@FEW
@given(cases=st.lists(evidence_strategy(max_size=4), min_size=1, max_size=4),
       n_causes=st.sampled_from([1, 2, 5, len(structure.TARGETS)]))
def test_comparison_bars_one_per_cause_and_scenario(model, cases, n_causes):
    try:
        comparison = model.compare({f"case {i}": ev for i, ev in enumerate(cases)})
    except ImpossibleEvidence:
        assume(False)
    causes = list(structure.TARGETS[:n_causes])
    ax = plotting.plot_comparison(comparison, causes=causes)
    bars = _bars(ax)
    assert len(bars) == len(cases) * n_causes
    assert sorted(round(b.get_width(), 12) for b in bars) == sorted(
        round(r.probabilities[c], 12) for r in comparison.results for c in causes)
    if n_causes > 1:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            f"{n} (triage: {r.triage.level})" for n, r in zip(comparison.names, comparison.results)]
    else:  # one bar per scenario, labelled by name, coloured by triage level
        assert [t.get_text() for t in ax.get_yticklabels()] == list(comparison.names)
        assert {t.get_text() for t in ax.get_legend().get_texts()} == {
            f"triage: {r.triage.level}" for r in comparison.results}
    _close(ax)
    ax = comparison.plot()  # every cause by default
    assert len(_bars(ax)) == len(cases) * len(structure.TARGETS)
    _close(ax)


@FEW
@given(factors=st.lists(st.sampled_from(BINARY_RISKS), min_size=2, max_size=5, unique=True),
       base=evidence_strategy(max_size=2, soft=False), cause=st.sampled_from(structure.TARGETS))
def test_heatmap_one_annotated_cell_per_pair(model, factors, base, cause):
    base = base.without("sex").without("pregnancy")
    for f in factors:
        base = base.without(f)
    try:
        grid = model.pairs(factors, cause=cause, base=base)
    except ImpossibleEvidence:
        assume(False)
    ax = plotting.plot_heatmap(grid)
    assert ax.images[0].get_array().shape == (len(factors), len(factors))
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(factors) ** 2
    assert all(t.endswith("%") or t == "impossible" for t in texts)
    _close(ax)


def test_heatmap_marks_impossible_cells(model):
    grid = model.grid("sex", "pregnancy")
    ax = grid.plot()
    assert [t.get_text() for t in ax.texts].count("impossible") == 2  # a pregnant or postpartum man
    assert bool(ax.images[0].get_array().mask[1, 1]) and bool(ax.images[0].get_array().mask[1, 2])
    _close(ax)


@FEW
@given(variable=st.sampled_from([*structure.RISK_FACTORS, "age"]), base=evidence_strategy(max_size=3),
       top=st.integers(1, 8))
def test_sweep_one_line_per_cause(model, variable, base, top):
    try:
        sweep = model.sweep(variable, base=base)
    except ImpossibleEvidence:
        assume(False)
    ax = plotting.plot_sweep(sweep, top=top)
    lines = [line for line in ax.get_lines() if line.get_label() in
             {plotting.display_name(c) for c in structure.TARGETS}]
    assert len(lines) == top
    for line in lines:
        marks = line.get_markevery()
        xs = line.get_xdata() if marks is None else [line.get_xdata()[i] for i in marks]
        assert list(xs) == (list(sweep.values) if variable == "age" else list(range(len(sweep.values))))
    assert sum(t.get_text() == "impossible" for t in ax.texts) == len(sweep.impossible)
    drawn = [max((y for y in line.get_ydata() if y == y), default=0.0) for line in lines]
    assert max(drawn) <= ax.get_ylim()[1] <= max(0.02, 1.15 * max(drawn + _thresholds_drawn(ax))) + 1e-12
    _close(ax)


def _thresholds_drawn(ax):
    return [line.get_ydata()[0] for line in ax.get_lines() if line.get_label().startswith("_child")
            and len(set(line.get_ydata())) == 1 and line.get_xdata()[0] == 0 and line.get_xdata()[1] == 1]


def test_sweep_draws_the_policy_threshold_the_line_crosses_and_fits_the_axis(model):
    """A DVT moving across the urgent threshold: the axis fits the data and the threshold is drawn."""
    policy = model.priors.triage
    threshold = policy.threshold("dvt_probable", "dvt")
    sweep = model.sweep("calf_swelling", ["no", "yes:0.6", "yes:0.8", "yes"],
                        base={"age": 40, "calf_tenderness": "no"})
    p = sweep.probabilities["dvt"]
    assert min(p) < threshold < max(p)  # the premise: the line crosses the threshold
    ax = sweep.plot(causes=["dvt"])
    assert threshold in _thresholds_drawn(ax)
    assert max(p) <= ax.get_ylim()[1] < 1.0
    assert any(f"urgent threshold {threshold:.0%} (dvt_probable)" in t.get_text() for t in ax.texts)
    _close(ax)


def test_age_sweep_is_drawn_as_steps_at_the_age_groups(model):
    from popliteal.engine.evidence import age_to_group

    ages = [5, 10, 15, 30, 70]
    sweep = model.sweep("age", ages, base={"long_travel": "yes"})
    ax = sweep.plot(causes=["dvt"])
    (line,) = [line for line in ax.get_lines() if line.get_label() == plotting.display_name("dvt")]
    xs, ys = list(line.get_xdata()), list(line.get_ydata())
    jumps = [xs[i] for i in range(1, len(xs)) if xs[i] == xs[i - 1]]  # vertical segments
    changes = [b for a, b in zip(ages, ages[1:]) if age_to_group(a) != age_to_group(b)]
    assert len(jumps) == len(changes)
    for at, a, b in zip(jumps, [a for a, b in zip(ages, ages[1:]) if age_to_group(a) != age_to_group(b)], changes):
        assert a < at <= b and age_to_group(at) == age_to_group(b) and age_to_group(at - 0.01) == age_to_group(a)
    # between the steps the line is flat: the model answers by age group
    for i in range(1, len(xs)):
        if xs[i] != xs[i - 1]:
            assert ys[i] == ys[i - 1]
    _close(ax)


def test_scenario_colours_are_not_triage_colours():
    from matplotlib.colors import to_rgb

    for scenario in plotting.PALETTE:
        for level, colour in plotting.LEVEL_COLOURS.items():
            distance = sum((a - b) ** 2 for a, b in zip(to_rgb(scenario), to_rgb(colour))) ** 0.5
            assert distance > 0.25, (scenario, level)


def test_display_names_spell_words_out():
    assert plotting.display_name("bakers_cyst_rupture") == "Baker's cyst rupture"
    for name in structure.NAMES:
        assert "_" not in plotting.display_name(name)


@FEW
@given(findings=st.lists(st.sampled_from([f for f in structure.FINDINGS if structure.BY_NAME[f].states == ("yes", "no")]),
                         min_size=1, max_size=5, unique=True),
       states=st.lists(st.sampled_from(["yes", "no"]), min_size=5, max_size=5),
       causes=st.lists(st.sampled_from(structure.TARGETS), min_size=1, max_size=4, unique=True))
def test_trajectory_one_line_per_cause_and_one_tick_per_step(model, findings, states, causes):
    items = [f"{f}={s}" for f, s in zip(findings, states)]
    try:
        path = model.trajectory(items, base={"age": 40})
    except ImpossibleEvidence:
        assume(False)
    ax = plotting.plot_trajectory(path, causes=causes)
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]  # not the thresholds
    assert [line.get_label() for line in lines] == [plotting.display_name(c) for c in causes]
    for line, cause in zip(lines, causes):
        assert list(line.get_ydata()) == path.probabilities[cause]
    assert len(ax.get_xticks()) == len(items) + 1
    _close(ax)


@pytest.mark.parametrize("evidence", [None, {"age": 67, "long_travel": "yes", "calf_swelling": "yes"}])
def test_network_draws_every_node_and_highlights_the_evidence(model, evidence):
    result = None if evidence is None else model.query(evidence)
    ax = plotting.plot_network(result)
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == len(structure.NAMES)
    highlighted = [t for t in boxes if t.get_bbox_patch().get_linewidth() > 1.5]
    assert len(highlighted) == (0 if result is None else len(result.evidence))
    if result is not None:
        (dvt,) = [t.get_text() for t in boxes if t.get_text().startswith(plotting.display_name("dvt") + "\n")]
        assert f"{result.probabilities['dvt']:.0%}" in dvt
    _close(ax)


def _boxes(ax):
    return [t for t in ax.texts if t.get_bbox_patch() is not None]


def test_network_shows_every_node_posterior_with_readable_separate_labels(model):
    """Given the marginals, every unobserved node shows its posterior; no two boxes touch."""
    evidence = {"age": 67, "long_travel": "yes", "calf_swelling": "yes"}
    marginals = model.marginals(evidence)
    ax = plotting.plot_network(marginals)
    boxes = _boxes(ax)
    assert len(boxes) == len(structure.NAMES)
    by_name = {}
    for name in structure.NAMES:
        head = plotting._wrap(plotting.display_name(name)).splitlines()
        (box,) = [t for t in boxes if t.get_text().splitlines()[:-1] == head]
        by_name[name] = box
    for name, box in by_name.items():
        last = box.get_text().splitlines()[-1]
        if name in marginals.evidence:
            assert last.startswith("= ")
        else:
            states = marginals.marginals[name]
            p = states["yes"] if "yes" in states else max(states.values())
            assert last.endswith(f"{p:.0%}"), (name, last)
        assert "_" not in box.get_text()
        assert box.get_fontsize() >= 8
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    extents = [b.get_bbox_patch().get_window_extent(renderer).expanded(1.02, 1.06) for b in boxes]
    touching = [(boxes[i].get_text(), boxes[j].get_text()) for i in range(len(boxes))
                for j in range(i + 1, len(boxes)) if extents[i].overlaps(extents[j])]
    assert touching == []
    assert "Baker's cyst\n" in "\n".join(b.get_text() + "\n" for b in boxes)
    _close(ax)


@pytest.mark.parametrize("node", ["dvt", "calf_swelling", "age_group"])
def test_parameters_one_range_per_number_with_its_source(model, node):
    frame = model.parameters(node)
    ax = plotting.plot_parameters(frame)
    scale = "odds_ratio" if (frame["scale"] == "odds_ratio").any() else "probability"
    rows = frame[frame["scale"] == scale]
    assert len(ax.containers) == len(rows)
    for container, (_, row) in zip(ax.containers, rows.iterrows()):
        (x,), _ = container.lines[0].get_data()
        assert x == row["value"]
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"{r.source} · {r.evidence}" for r in rows.itertuples()]
    assert ax.get_xscale() == ("log" if scale == "odds_ratio" else "linear")
    _close(ax)
    with pytest.raises(ValueError, match="no parameters on the odds_ratio scale"):
        plotting.plot_parameters(model.parameters("sex"), scale="odds_ratio")


def test_plotting_never_imports_pgmpy():
    code = (
        "import sys, matplotlib; matplotlib.use('Agg'); import popliteal\n"
        "m = popliteal.load()\n"
        "m.compare({'a': {'age': 70}, 'b': {}}).plot(); m.sweep('age', [10, 70]).plot()\n"
        "m.pairs(['cancer', 'smoking']).plot(); m.trajectory(['calf_swelling=yes']).plot()\n"
        "from popliteal.present.figures import plot_network; plot_network(m.query({'age': 70}))\n"
        "print('pgmpy' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_sweep_with_impossible_values_keeps_them_on_the_axis(model):
    """The README: a sweep keeps an impossible value as an explicit row; its plot shows it (labelled) on the x axis,
    without a layout warning (pytest turns warnings into errors)."""
    sweep = model.sweep("pregnancy", base={"sex": "male"})
    assert set(sweep.impossible) == {"pregnant", "postpartum"}
    ax = sweep.plot()
    low, high = ax.get_xlim()
    assert low < 0 and high > 2 and [t.get_text() for t in ax.get_xticklabels()] == ["no", "pregnant", "postpartum"]
    assert sum(t.get_text() == "impossible" for t in ax.texts) == 2
