"""Figures from result objects. Never imports pgmpy.

Every function takes a result object and an optional ``ax``, draws on it and
returns it; none calls ``plt.show()``. One style file (``popliteal.mplstyle``)
serves every figure.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..network import structure

STYLE = Path(__file__).with_name("popliteal.mplstyle")

LEVEL_COLOURS = {"emergency": "#b2182b", "urgent": "#ef8a62", "doctor": "#67a9cf", "self_care": "#1a9850"}
DANGEROUS_COLOUR = "#b2182b"
CAUSE_COLOUR = "#4575b4"


#: Words that a plain underscore-to-space does not spell right.
_DISPLAY_WORDS = {"bakers": "Baker's", "dvt": "DVT"}


def display_name(name: str) -> str:
    """A variable, cause or state name as a figure shows it.

    Underscores become spaces and a few words get their spelling:
    ``bakers_cyst_rupture`` is "Baker's cyst rupture", ``dvt`` "DVT". The one
    function every figure and the explorer use for their labels.
    """
    return " ".join(_DISPLAY_WORDS.get(word, word) for word in str(name).split("_"))


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") and \
            not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextlib.contextmanager
def style():
    """A context manager applying the project's matplotlib style.

    matplotlib restores every rcParam when a style context ends, including
    ``interactive``, which Jupyter's inline backend switches on when the first
    figure is made; if that happens inside the context, restoring it would
    stop every later figure from showing. So ``interactive`` keeps the value
    it has when the context ends.
    """
    plt = _pyplot()
    import matplotlib

    with plt.style.context(str(STYLE)):
        try:
            yield
        finally:
            interactive = matplotlib.is_interactive()
    matplotlib.interactive(interactive)


def plot_posteriors(result, ax=None, title: str | None = None):
    """Horizontal bars of ``P(cause = yes | evidence)``, most probable on top.

    Parameters
    ----------
    result : Assessment or Posterior
        Anything with ``probabilities``, ``ranking`` and ``evidence``; when it
        has a ``triage`` the level is shown, when its posterior has intervals
        they are drawn as error bars.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the evidence.
    """
    plt = _pyplot()
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, 4.8))
        names = list(reversed(result.ranking))
        probs = [result.probabilities[n] for n in names]
        colours = [DANGEROUS_COLOUR if n in structure.DANGEROUS else CAUSE_COLOUR for n in names]
        posterior = getattr(result, "posterior", result)
        intervals = getattr(posterior, "intervals", None)
        ax.barh([display_name(n) for n in names], probs, color=colours)
        ends = probs
        if intervals:  # drawn from the interval itself: the point need not lie at its centre
            lows = [intervals[n][0] for n in names]
            highs = [intervals[n][1] for n in names]
            ax.errorbar([(a + b) / 2 for a, b in zip(lows, highs)], range(len(names)),
                        xerr=[(b - a) / 2 for a, b in zip(lows, highs)], fmt="none", ecolor="#333333",
                        capsize=3, lw=1)
            ends = [max(p, h) for p, h in zip(probs, highs)]
        for y, (p, end) in enumerate(zip(probs, ends)):
            ax.text(min(end + 0.01, 0.9), y, f"{p:.0%}", va="center", fontsize=8)
        ax.set_xlim(0, 1)
        draws = getattr(result, "draws", None)
        ax.set_xlabel("posterior probability P(cause | evidence)"
                      + (f"; 90% interval over {draws} draws of the priors" if intervals and draws else ""))
        if title is None:
            ev = result.evidence
            title = ", ".join(f"{k}={v}" for k, v in ev.items()) if ev else "no evidence (prior)"
            if len(title) > 90:
                title = title[:87] + "..."
        ax.set_title(title, fontsize=9)
        triage = getattr(result, "triage", None)
        if triage is not None:
            ax.text(0.98, 0.02, f"triage: {triage.level}", transform=ax.transAxes, ha="right", va="bottom",
                    fontsize=10, color="white",
                    bbox={"boxstyle": "round", "fc": LEVEL_COLOURS[triage.level], "ec": "none"})
        ax.figure.tight_layout()
    return ax


#: Colours of the states of a variable in :func:`plot_marginals`: the first state darkest.
STATE_COLOURS = ("#2166ac", "#92c5de", "#f4a582", "#b2abd2", "#d9d9d9", "#a6dba0")


def plot_marginals(marginals, ax=None, title: str | None = None):
    """One stacked bar per variable: the probability of each of its states.

    Parameters
    ----------
    marginals : Marginals
        From ``model.marginals(evidence, targets)``.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the evidence.

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    names = list(marginals.marginals)
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, 0.9 + 0.45 * max(len(names), 1)))
        ys = list(range(len(names) - 1, -1, -1))
        for y, name in zip(ys, names):
            left = 0.0
            for k, (state, p) in enumerate(marginals.marginals[name].items()):
                colour = STATE_COLOURS[k % len(STATE_COLOURS)]
                ax.barh(y, p, left=left, height=0.7, color=colour, edgecolor="white", lw=0.8)
                if p >= 0.08:
                    ink = "white" if k == 0 else "#222222"
                    ax.text(left + p / 2, y, f"{display_name(state)} {p:.0%}", ha="center", va="center",
                            fontsize=7.5, color=ink)
                left += p
        labels = [display_name(n) + (" (observed)" if n in marginals.evidence else "") for n in names]
        ax.set_yticks(ys, labels)
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.set_xlim(0, 1)
        ax.set_axisbelow(True)
        ax.set_xlabel("P(state | evidence), every state of each variable")
        ax.set_title(title or _evidence_title(marginals.evidence, "other variables; evidence: ", limit=90),
                     fontsize=9)
        ax.figure.tight_layout()
    return ax


def plot_query(result, marginals, title: str | None = None):
    """The posteriors of the causes above the marginals of other variables (``query --target``).

    Returns the Axes of the posteriors; both share one figure.
    """
    plt = _pyplot()
    n = len(marginals.marginals)
    with style():
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 5.2 + 0.45 * n),
                                          gridspec_kw={"height_ratios": [4.8, 0.9 + 0.45 * n]})
    plot_posteriors(result, ax=top, title=title)
    plot_marginals(marginals, ax=bottom, title="other variables")
    fig.tight_layout()
    return top


def save(ax, path: str | Path) -> Path:
    """Write the figure of ``ax`` to ``path`` (PNG or SVG by the suffix), atomically.

    The figure goes to a unique temporary file in the same folder, which then
    replaces ``path`` (:mod:`popliteal.common.atomic`): a full disk or an interrupt
    leaves the old file or none, never a truncated one.
    """
    from ..common.atomic import atomic_path

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"{path}: the plot file must end in .png or .svg")
    try:
        with atomic_path(path) as tmp:
            ax.figure.savefig(tmp, dpi=150, bbox_inches="tight", format=path.suffix.lower()[1:])
    finally:
        _pyplot().close(ax.figure)
    return path


def _layers():
    """Rows of the drawing: risk factors, causes (with intermediate findings), complications and the
    complaint, findings.

    A finding with children (such as a knee effusion, which leads to a cyst) sits
    among the causes. Each row is ordered by the mean position of its neighbours
    (the barycentre heuristic, a few sweeps), so that edges cross less.
    """
    intermediate = [v.name for v in structure.VARIABLES if v.kind == "finding" and structure.children(v.name)]
    rows = {
        0: [v.name for v in structure.VARIABLES if v.kind == "risk_factor"],
        1: [v.name for v in structure.VARIABLES if v.kind in ("presence", "cause")] + intermediate,
        2: [v.name for v in structure.VARIABLES if v.kind in ("complication", "complaint")],
        3: [v.name for v in structure.VARIABLES if v.kind == "finding" and v.name not in intermediate],
    }
    pos = {n: i / max(len(r) - 1, 1) for r in rows.values() for i, n in enumerate(r)}
    neighbours = {n: set(structure.BY_NAME[n].parents) | set(structure.children(n)) for n in structure.NAMES}
    for _ in range(6):
        for key in (1, 2, 3, 0):
            row = rows[key]
            row.sort(key=lambda n: sum(pos[m] for m in neighbours[n]) / max(len(neighbours[n]), 1))
            for i, n in enumerate(row):
                pos[n] = i / max(len(row) - 1, 1)
    return rows


def _wrap(text: str, width: int = 13) -> str:
    """Break a label into lines of about ``width`` characters, at spaces."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False)) or text


#: The network figure: its width in inches, the most boxes in one line, and the label size.
NETWORK_WIDTH = 12.0
NETWORK_PER_LINE = 8
NETWORK_FONT = 8.5
#: Box colours by kind (no result), and the colour maps that shade a node by its probability.
KIND_COLOURS = {"risk_factor": "#fee08b", "presence": "#f0f0f0", "cause": "#d9ef8b", "complication": "#fdae61",
                "finding": "#e0ecf4", "complaint": "#fdd0a2"}
KIND_CMAPS = {"risk_factor": "YlOrBr", "presence": "Greys", "cause": "Reds", "complication": "Reds",
              "finding": "Blues", "complaint": "Oranges"}


def _node_probability(result, name):
    """What a node shows: ``(text, shade)``, or ``None`` when the result says nothing about it.

    ``shade`` is ``P(yes)`` for a yes/no variable, else the probability of its most probable state.
    """
    marginals = getattr(result, "marginals", None)
    if isinstance(marginals, dict) and name in marginals:
        states = marginals[name]
        if set(states) == set(structure.YES_NO):
            return f"{states['yes']:.0%}", states["yes"]
        state = max(states, key=states.get)
        return f"{display_name(state)} {states[state]:.0%}", states[state]
    probs = getattr(result, "probabilities", None) or {}
    if name in probs:
        return f"{probs[name]:.0%}", probs[name]
    return None


def plot_network(result=None, ax=None, title: str | None = None):
    """Draw the network: risk factors on top, causes in the middle, findings below.

    Parameters
    ----------
    result : Marginals, Assessment or Posterior, optional
        ``model.marginals(evidence)`` labels and shades *every* node by its
        posterior (``P(yes)``, or the most probable state of a multi-state
        variable), as pyAgrum's ``showInference`` does; an Assessment or a
        Posterior does so for the causes. Variables with evidence, and their
        edges, are drawn in dark blue and show their state.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    rows = _layers()
    evidence = getattr(result, "evidence", {}) if result is not None else {}
    # each row of a kind is split into lines of at most NETWORK_PER_LINE boxes, staggered
    lines: list[tuple[int, list[str]]] = []
    for key, row in rows.items():
        n_lines = max(1, -(-len(row) // NETWORK_PER_LINE))
        for k in range(n_lines):
            lines.append((key, row[k::n_lines]))
    gap_line, gap_kind = 0.85, 0.55
    y, ys, first_y = 0.0, [], {}
    previous = None
    for key, names in lines:
        if previous is not None:
            y -= gap_line + (gap_kind if key != previous else 0.0)
        ys.append(y)
        first_y.setdefault(key, [])
        first_y[key].append(y)
        previous = key
    width = NETWORK_WIDTH
    xy = {}
    for (key, names), line_y in zip(lines, ys):
        n_lines = len(first_y[key])
        k = first_y[key].index(line_y)
        slots = max(len(names), 1)
        step = (width - 1.6) / max(-(-len(rows[key]) // n_lines), 1)
        offset = (k - (n_lines - 1) / 2) * step / max(n_lines, 1)
        start = 1.6 + (width - 1.6 - step * slots) / 2 + step / 2 + offset
        for i, name in enumerate(names):
            xy[name] = (start + i * step, line_y)
    height = -min(ys) + 1.2
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(width, height + 0.4))
        for parent, child in structure.edges():
            (x0, y0), (x1, y1) = xy[parent], xy[child]
            touches = parent in evidence or child in evidence
            props = {"arrowstyle": "-|>", "color": "#08306b" if touches else "#9aa5b1",
                     "lw": 1.0 if touches else 0.5, "alpha": 0.85 if touches else 0.55, "shrinkA": 14,
                     "shrinkB": 14, "mutation_scale": 7}
            if abs(y0 - y1) < 1e-9:  # within one line: an arc above it
                props["connectionstyle"] = "arc3,rad=-0.25"
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=props, zorder=1)
        for name, (x, y0) in xy.items():
            var = structure.BY_NAME[name]
            label = _wrap(display_name(name))
            face = KIND_COLOURS[var.kind]
            shown = _node_probability(result, name) if result is not None else None
            if name in evidence:
                label += f"\n= {display_name(evidence[name])}"
            elif shown is not None:
                text, shade = shown
                face = plt.get_cmap(KIND_CMAPS[var.kind])(0.08 + 0.6 * shade)
                label += f"\n{text}"
            edge, lw = ("#08306b", 2.2) if name in evidence else ("#555555", 0.6)
            ax.text(x, y0, label, ha="center", va="center", fontsize=NETWORK_FONT, zorder=3,
                    bbox={"boxstyle": "round,pad=0.3", "fc": face, "ec": edge, "lw": lw})
        for key, text in ((0, "risk factors"), (1, "causes"), (2, "complications,\nthe complaint"), (3, "findings")):
            if first_y.get(key):
                ax.text(0.05, sum(first_y[key]) / len(first_y[key]), text, ha="left", va="center",
                        fontsize=NETWORK_FONT + 1, style="italic")
        ax.set_xlim(0, width)
        ax.set_ylim(min(ys) - 0.6, 0.6)
        ax.set_aspect("equal")
        ax.axis("off")
        if title is None:
            title = "popliteal: risk factors → causes → findings"
            if result is not None:
                title += " (shading and %: posterior, P(yes) or the most probable state)"
        ax.set_title(title, fontsize=NETWORK_FONT + 2.5)
    return ax


# --- figures for exploring scenarios (results of popliteal.explore.scenarios) ---------------------------

#: Colours of the scenarios in a comparison: none of them near a triage colour (LEVEL_COLOURS),
#: since a comparison shows both; red is kept for the dangerous causes.
PALETTE = ("#253494", "#984ea3", "#543005", "#e7298a", "#c7a500", "#666666", "#4d004b", "#000000")
_DANGEROUS_LINES = ("#b2182b", "#e34a33", "#fc8d59")
_OTHER_LINES = ("#253494", "#542788", "#984ea3", "#a65628", "#35978f", "#666666", "#c51b7d", "#b8860b",
                "#f781bf", "#01665e")
#: One colour per cause in every sweep and trajectory: reds for the dangerous causes.
CAUSE_LINE_COLOURS = {
    **{c: _OTHER_LINES[i % len(_OTHER_LINES)]
       for i, c in enumerate(c for c in structure.TARGETS if c not in structure.DANGEROUS)},
    **{c: _DANGEROUS_LINES[i % len(_DANGEROUS_LINES)] for i, c in enumerate(structure.DANGEROUS)},
}
#: The label of a case the model holds impossible (as in ``popliteal.explore.scenarios``).
IMPOSSIBLE = "impossible"


def _pretty(name: str) -> str:
    return display_name(name)


def _evidence_title(evidence, prefix: str = "", limit: int = 100) -> str:
    text = ", ".join(f"{k}={v}" for k, v in evidence.items()) if evidence else "no evidence"
    text = prefix + text
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _colour_dangerous_labels(labels, names) -> None:
    for label, name in zip(labels, names):
        if name in structure.DANGEROUS:
            label.set_color(DANGEROUS_COLOUR)


def _top_causes(probabilities, top: int):
    """The ``top`` causes with the highest maximum over the cases (NaN ignored)."""
    import numpy as np

    def peak(c):
        values = np.asarray(probabilities[c], dtype=float)
        return -np.nanmax(values) if np.isfinite(values).any() else 0.0

    return sorted(structure.TARGETS, key=peak)[:top]


def _triage_strip(ax, xs, levels) -> list:
    """Draw a row of squares above the axes, coloured by each case's triage level.

    Returns the legend handles of the levels present.
    """
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    ax.scatter(xs, [1.03] * len(xs), c=[LEVEL_COLOURS.get(lv, "#bbbbbb") for lv in levels], marker="s", s=70,
               transform=trans, clip_on=False, zorder=5)
    ax.text(0.0, 1.03, "triage ", transform=ax.transAxes, ha="right", va="center", fontsize=7, style="italic")
    present = [lv for lv in LEVEL_COLOURS if lv in set(levels)]
    return [Line2D([], [], marker="s", linestyle="none", color=LEVEL_COLOURS[lv], label=f"triage: {lv}")
            for lv in present]


def _legend_with_triage(ax, triage_handles, **kwargs) -> None:
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles + triage_handles, labels + [h.get_label() for h in triage_handles], **kwargs)


def plot_comparison(comparison, ax=None, causes=None, title: str | None = None, marks=None):
    """Side-by-side horizontal bars: each cause, one bar per scenario.

    Parameters
    ----------
    comparison : Comparison
        From ``model.compare({...})``.
    ax : matplotlib Axes, optional
    causes : sequence of str, optional
        The causes to show, top to bottom; defaults to every cause, the highest
        (over the scenarios) on top. With one cause, each scenario gets one bar,
        coloured by its triage level.
    title : str, optional
    marks : mapping of str to float, optional
        Reference probabilities drawn as labelled dotted vertical lines
        (a triage threshold, a published prevalence).

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    names, results = comparison.names, comparison.results
    if causes is None:
        causes = _top_causes({c: [r.probabilities[c] for r in results] for c in structure.TARGETS},
                             len(structure.TARGETS))
    causes = list(causes)
    n = len(names)
    with style():
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles: list = []
        if len(causes) == 1:  # one cause: a bar per scenario, coloured by its triage level
            (cause,) = causes
            if ax is None:
                _, ax = plt.subplots(figsize=(8.5, 1.3 + 0.38 * n))
            ys = list(range(n - 1, -1, -1))
            probs = [r.probabilities[cause] for r in results]
            ax.barh(ys, probs, height=0.7, color=[LEVEL_COLOURS[r.triage.level] for r in results])
            for y, p in zip(ys, probs):
                _bar_label(ax, p, y, f"{p:.1%}", 7.5)
            ax.set_yticks(ys, list(names))
            ax.set_ylim(-0.6, n - 0.4)
            present = [lv for lv in LEVEL_COLOURS if any(r.triage.level == lv for r in results)]
            handles = [Patch(color=LEVEL_COLOURS[lv], label=f"triage: {lv}") for lv in present]
            shown = display_name(cause)
            xlabel, default_title = f"P({shown} = yes | scenario)", f"P({shown}) in each scenario"
        else:
            if ax is None:
                _, ax = plt.subplots(figsize=(8.5, 1.4 + 0.22 * len(causes) * max(n, 2)))
            height = 0.8 / n
            ys = list(range(len(causes) - 1, -1, -1))
            for i, (name, result) in enumerate(zip(names, results)):
                offsets = [y + 0.4 - height * (i + 0.5) for y in ys]
                probs = [result.probabilities[c] for c in causes]
                bars = ax.barh(offsets, probs, height=height * 0.92, color=PALETTE[i % len(PALETTE)])
                handles.append(Patch(color=bars.patches[0].get_facecolor(),
                                     label=f"{name} (triage: {result.triage.level})"))
                if n <= 4:
                    for y, p in zip(offsets, probs):
                        if p >= 0.005:
                            _bar_label(ax, p, y, f"{p:.0%}", 6.5)
            ax.set_yticks(ys, [_pretty(c) for c in causes])
            _colour_dangerous_labels(ax.get_yticklabels(), causes)
            ax.set_ylim(-0.6, len(causes) - 0.4)
            xlabel, default_title = "posterior probability P(cause | scenario)", \
                "scenarios side by side (dangerous causes in red)"
        ax.set_xlim(0, 1)
        for k, (label, x) in enumerate((marks or {}).items()):
            dash = (":", "--", "-.")[k % 3]
            ax.axvline(x, color="#333333", linestyle=dash, lw=1.2)
            handles.append(Line2D([], [], color="#333333", linestyle=dash, lw=1.2, label=label))
        if len(causes) == 1:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        else:  # scenario names can be long: below the axes, under the x label
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09), fontsize=8, frameon=False,
                      ncol=2 if len(handles) > 3 else 1)
        ax.set_xlabel(xlabel)
        ax.set_title(title or default_title, fontsize=10)
        ax.figure.tight_layout()
    return ax


def _bar_label(ax, p: float, y: float, text: str, size: float) -> None:
    """Write a bar's value after its end, or inside it when the bar nearly fills the axes."""
    if p > 0.85:
        ax.text(p - 0.01, y, text, va="center", ha="right", fontsize=size, color="white")
    else:
        ax.text(p + 0.01, y, text, va="center", fontsize=size)


def plot_sweep(sweep, ax=None, causes=None, top: int = 6, title: str | None = None):
    """Lines of ``P(cause | evidence)`` as one variable takes each value.

    Parameters
    ----------
    sweep : Sweep
        From ``model.sweep(variable, ...)``.
    ax : matplotlib Axes, optional
    causes : sequence of str, optional
        Defaults to the ``top`` causes with the highest maximum.
    top : int
    title : str, optional
        Defaults to the base evidence.

    Returns
    -------
    matplotlib Axes
    """
    import numbers

    plt = _pyplot()
    probs = sweep.probabilities
    causes = list(causes) if causes is not None else _top_causes(probs, top)
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in sweep.values)
    xs = list(sweep.values) if numeric else list(range(len(sweep.values)))
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5))
        _cause_lines(ax, xs, probs, causes, steps=_age_step if sweep.variable == "age" and numeric else None)
        top_y = _scale_to_data(ax, probs, causes, getattr(sweep, "thresholds", ()))
        for x, value in zip(xs, sweep.values):
            if value in sweep.impossible:
                ax.text(x, 0.02 * top_y, "impossible", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="#777777")
        if len(xs) > 1:  # every value on the axis, also those the model holds impossible (no line reaches them)
            pad = 0.5 if not numeric else 0.05 * (max(xs) - min(xs))
            ax.set_xlim(min(xs) - pad, max(xs) + pad)
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in sweep.values])
        ax.set_xlabel("age in years (the model is stepwise in age groups)" if sweep.variable == "age"
                      else _pretty(sweep.variable))
        ax.set_ylabel("P(cause | evidence)")
        ax.grid(True, axis="both")
        strip = _triage_strip(ax, xs, [IMPOSSIBLE if r is None else r.triage.level for r in sweep.results])
        _legend_with_triage(ax, strip, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.set_title(title or _evidence_title(sweep.base, "base: "), fontsize=9, pad=16)
        ax.figure.tight_layout()
    return ax


def _cause_lines(ax, xs, probs, causes, steps=None) -> None:
    """One line per cause; dangerous causes solid and thicker.

    ``steps(a, b)``, when given, returns where between two neighbouring x
    values the model's answer jumps (or ``None`` when it does not): the line
    is then drawn as steps there, with markers only at the computed values.
    """
    for cause in causes:
        dangerous = cause in structure.DANGEROUS
        line_x, line_y, marks = list(xs), list(probs[cause]), None
        if steps is not None and len(xs) > 1:
            line_x, line_y, marks = [xs[0]], [probs[cause][0]], [0]
            for (a, ya), (b, yb) in zip(zip(xs, probs[cause]), zip(xs[1:], probs[cause][1:])):
                at = steps(a, b)
                if at is not None:
                    line_x += [at, at]
                    line_y += [ya, yb]
                line_x.append(b)
                line_y.append(yb)
                marks.append(len(line_x) - 1)
        ax.plot(line_x, line_y, marker="o", markersize=4, markevery=marks, lw=2.2 if dangerous else 1.4,
                linestyle="-" if dangerous else "--", color=CAUSE_LINE_COLOURS[cause], label=_pretty(cause))


def _age_step(a: float, b: float) -> float | None:
    """Where between ages ``a`` < ``b`` the age group changes (``None`` if it does not)."""
    age_to_group = structure.age_to_group
    try:
        lo_group, hi_group = age_to_group(a), age_to_group(b)
    except ValueError:
        return None
    if lo_group == hi_group:
        return None
    lo, hi = float(a), float(b)
    for _ in range(40):  # bisection to the first age of the next group
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if age_to_group(mid) == lo_group else (lo, mid)
    return hi


def _scale_to_data(ax, probs, causes, thresholds) -> float:
    """Fit the y axis to the drawn lines and draw the triage thresholds that bear on them.

    ``thresholds`` are ``(rule, cause, value)`` of the policy's probability thresholds
    whose evidence conditions hold in some case of the plot (the result object finds
    them, :func:`popliteal.clinic.policy.thresholds_in_play`). One is drawn when its
    cause is on the plot and it lies within twice the cause's highest value, so that a
    line crossing it, or nearing it, shows against it. Returns the top of the y axis.
    """
    import numpy as np

    peak = {c: float(np.nanmax(probs[c])) if np.isfinite(np.asarray(probs[c], float)).any() else 0.0
            for c in causes}
    top = max(peak.values(), default=0.0)
    drawn = []  # (rule, cause, threshold) of each probability threshold that bears on the plot
    for rule, cause, threshold in thresholds:
        if cause in peak and threshold <= 2 * peak[cause]:
            drawn.append((rule, cause, threshold))
            top = max(top, threshold)
    top = min(1.0, max(0.02, top * 1.15))
    ax.set_ylim(0, top)
    lines: dict[float, list] = {}  # one line per threshold value, naming every rule at it
    for item in drawn:
        lines.setdefault(item[2], []).append(item)
    for value, items in lines.items():
        causes_at = list(dict.fromkeys(cause for _, cause, _ in items))
        colour = CAUSE_LINE_COLOURS[causes_at[0]] if len(causes_at) == 1 else "#555555"
        ax.axhline(value, color=colour, linestyle=(0, (1, 2)), lw=1.2, zorder=1)
        groups: dict[str, list[str]] = {}  # "urgent threshold 5% (dvt_probable)" -> the causes it applies to
        for rule, cause, _ in items:
            groups.setdefault(f"{rule.level} threshold {value:.0%} ({rule.id})", []).append(_pretty(cause))
        text = "; ".join(f"{head}: {', '.join(dict.fromkeys(names))}" for head, names in groups.items())
        ax.annotate(text, (0.005, value),
                    xycoords=("axes fraction", "data"), xytext=(2, 2), textcoords="offset points", fontsize=7,
                    color=colour, va="bottom")
    return top


def plot_trajectory(trajectory, ax=None, causes=None, top: int = 6, title: str | None = None):
    """How the posteriors move as findings are added one by one (a line per cause).

    Parameters
    ----------
    trajectory : Trajectory
        From ``model.trajectory([...])``.
    ax : matplotlib Axes, optional
    causes : sequence of str, optional
        Defaults to the ``top`` causes with the highest maximum along the way.
    top : int
    title : str, optional
        Defaults to the evidence at the start.

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    probs = trajectory.probabilities
    causes = list(causes) if causes is not None else _top_causes(probs, top)
    xs = list(range(len(trajectory.steps)))
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.8))
        _cause_lines(ax, xs, probs, causes)
        _scale_to_data(ax, probs, causes, getattr(trajectory, "thresholds", ()))
        labels = ["start"] + [f"+ {_pretty(s)}" for s in trajectory.steps[1:]]
        ax.set_xticks(xs, labels, rotation=30, ha="right")
        ax.set_ylabel("P(cause | evidence so far)")
        ax.grid(True, axis="both")
        strip = _triage_strip(ax, xs, [r.triage.level for r in trajectory.results])
        _legend_with_triage(ax, strip, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.set_title(title or _evidence_title(trajectory.base, "start: "), fontsize=9, pad=16)
        ax.figure.tight_layout()
    return ax


def plot_heatmap(grid, ax=None, cmap: str = "Reds", vmax: float | None = None, title: str | None = None):
    """Annotated heat map of ``P(cause = yes)`` over a grid of cases.

    Parameters
    ----------
    grid : Grid
        From ``model.grid(var_a, var_b)`` or ``model.pairs([...])``. Cells the
        model holds impossible are grey and say so.
    ax : matplotlib Axes, optional
    cmap : str
    vmax : float, optional
        Top of the colour scale; defaults to the largest cell.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import numpy as np

    plt = _pyplot()
    values = grid.matrix
    finite = values[np.isfinite(values)]
    top = vmax if vmax is not None else (float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(1.6 + 0.75 * len(grid.columns), 1.2 + 0.55 * len(grid.rows)))
        colours = plt.get_cmap(cmap).with_extremes(bad="#e6e6e6")
        image = ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=0.0, vmax=top, aspect="auto")
        for i in range(len(grid.rows)):
            for j in range(len(grid.columns)):
                p = values[i, j]
                if np.isfinite(p):
                    text = f"{p:.0%}" if p >= 0.095 else f"{p:.1%}"
                    colour = "white" if p > 0.6 * top else "black"
                else:
                    text, colour = IMPOSSIBLE, "#777777"
                ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)
        ax.set_xticks(range(len(grid.columns)), [_pretty(c) for c in grid.columns], rotation=35, ha="right")
        ax.set_yticks(range(len(grid.rows)), [_pretty(r) for r in grid.rows])
        ax.grid(False)
        if grid.row_title != grid.column_title:
            ax.set_ylabel(_pretty(grid.row_title))
            ax.set_xlabel(_pretty(grid.column_title))
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label=f"P({display_name(grid.cause)} = yes)")
        base = _evidence_title(grid.base, "base: ", limit=70)
        ax.set_title(title or f"P({display_name(grid.cause)}) — {base} (alone {grid.baseline:.1%})", fontsize=9)
        ax.figure.tight_layout()
    return ax


#: Colours of the kinds of evidence behind a number.
EVIDENCE_COLOURS = {"study": "#1a9850", "guideline": "#4575b4", "seed": "#984ea3", "estimate": "#f46d43"}


def plot_parameters(parameters, ax=None, scale: str | None = None, title: str | None = None):
    """Each number with its plausible range, its source and the kind of evidence behind it.

    The source key and the kind of evidence (``study``, ``guideline``, ``seed``,
    ``estimate``) are written at the right, in the kind's colour.

    Parameters
    ----------
    parameters : pandas.DataFrame
        From ``model.parameters(node)``: columns ``parameter, value, low, high,
        scale, evidence, source``.
    ax : matplotlib Axes, optional
    scale : {"odds_ratio", "probability"}, optional
        Which numbers to draw; defaults to the odds ratios when there are
        any (on a log axis, with a line at 1), else the probabilities.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    plt = _pyplot()
    if scale is None:
        scale = "odds_ratio" if (parameters["scale"] == "odds_ratio").any() else "probability"
    rows = parameters[parameters["scale"] == scale]
    if rows.empty:
        raise ValueError(f"no parameters on the {scale} scale to draw")
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 1.2 + 0.32 * len(rows)))
        ys = list(range(len(rows) - 1, -1, -1))
        for y, (_, row) in zip(ys, rows.iterrows()):
            colour = EVIDENCE_COLOURS.get(row["evidence"], "#666666")
            ax.errorbar([row["value"]], [y], xerr=[[row["value"] - row["low"]], [row["high"] - row["value"]]],
                        fmt="o", color=colour, ecolor=colour, capsize=3, lw=1.4, markersize=5)
            ax.annotate(f"{row['source']} · {row['evidence']}", (1.0, y), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=7, color=colour)
        ax.set_yticks(ys, [str(p).split(".", 1)[-1] for p in rows["parameter"]])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        if scale == "odds_ratio":
            ax.set_xscale("log")
            ax.axvline(1.0, color="#333333", lw=0.8)
            ax.set_xlabel("odds ratio (dot) and plausible range (bar); log scale")
        else:
            ax.set_xlim(0, 1)
            ax.set_xlabel("probability (dot) and plausible range (bar)")
        nodes = sorted(set(rows["node"])) if "node" in rows else []
        ax.set_title(title or f"where the numbers of {', '.join(nodes) or 'the model'} come from", fontsize=10)
        ax.figure.tight_layout()
    return ax


FOR_COLOUR = "#1a9850"
AGAINST_COLOUR = "#d73027"


def plot_explanation(explanation, ax=None, title: str | None = None):
    """Diverging bars of the evidence's weights, one block per explained cause.

    Each piece of evidence is a bar: to the right (green) when it raises the
    cause, to the left (red) when it lowers it; its length is the change in
    the cause's log-odds when the piece is removed. A decisive piece (the
    posterior is exactly 0 or 1) is drawn to the axis edge and marked.

    Parameters
    ----------
    explanation : Explanation
        From :func:`popliteal.clinic.explain.explain` (or ``model.explain``).
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the evidence.
    """
    plt = _pyplot()
    blocks = []
    for c in explanation.causes:
        pieces = list(c.for_) + list(c.against)
        blocks.append((c, pieces))
    n_rows = sum(len(p) + 1 for _, p in blocks)
    finite = [abs(p.weight) for _, ps in blocks for p in ps if p.weight is not None]
    edge = max(finite + [0.5]) * 1.15
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 1.0 + 0.28 * max(n_rows, 3)))
        y = n_rows
        ticks, labels = [], []
        for cause, pieces in blocks:
            y -= 1
            colour = DANGEROUS_COLOUR if cause.cause in structure.DANGEROUS else "#222222"
            ax.text(-edge, y, f"{_pretty(cause.cause)}  {cause.posterior:.0%}", va="center", ha="left",
                    fontsize=9, fontweight="bold", color=colour)
            ax.axhline(y + 0.5, color="#bbbbbb", lw=0.6)
            for piece in pieces:
                y -= 1
                weight = piece.weight
                raises = piece in cause.for_
                width = (edge if raises else -edge) if weight is None else weight
                ax.barh(y, width, color=FOR_COLOUR if raises else AGAINST_COLOUR, height=0.7)
                text = "decisive" if weight is None else f"{weight:+.2f}"
                ax.text(width + (0.02 if width >= 0 else -0.02) * edge, y, text, va="center",
                        ha="left" if width >= 0 else "right", fontsize=7)
                ticks.append(y)
                labels.append(piece.label)
            if not pieces:
                y -= 1
                ax.text(0, y, "no evidence", ha="center", va="center", fontsize=7, style="italic")
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_yticks(ticks, labels)
        ax.set_ylim(y - 0.6, n_rows - 0.4)
        ax.set_xlim(-edge * 1.25, edge * 1.25)
        ax.set_xlabel("weight: change in log-odds of the cause when the piece is removed "
                      "(right raises, left lowers)")
        if title is None:
            title = _evidence_title(explanation.evidence, "why: ")
        ax.set_title(title, fontsize=9)
        ax.figure.tight_layout()
    return ax


def plot_frame(result, ax=None, title: str | None = None):
    """Horizontal bars of the first numeric column of ``result.frame``, one per row, labelled by its first column.

    The figure of a result that has no figure of its own (the next questions by score,
    the most probable combinations, the conflict measure).
    """
    import pandas as pd

    frame = result.frame
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c]) and c != "rank"]
    if not numeric:
        raise ValueError(f"{type(result).__name__}: its frame has no numeric column to draw")
    value, label = numeric[0], frame.columns[0] if frame.columns[0] != "rank" else frame.columns[1]
    plt = _pyplot()
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, max(2.0, 0.35 * len(frame) + 1.2)))
        labels = [_wrap(str(x), 40) for x in frame[label]][::-1]
        ax.barh(labels, frame[value].to_numpy(dtype=float)[::-1], color=CAUSE_COLOUR)
        ax.set_xlabel(value.replace("_", " "))
        ax.set_title(title if title is not None else type(result).__name__, fontsize=9)
        ax.figure.tight_layout()
    return ax
