"""Figures from result objects. Never imports pgmpy.

Every function takes a result object and an optional ``ax``, draws on it and
returns it; none calls ``plt.show()``. One style file (``popliteal.mplstyle``)
serves every figure.
"""

from __future__ import annotations

from pathlib import Path

from . import structure

STYLE = Path(__file__).with_name("popliteal.mplstyle")

LEVEL_COLOURS = {"emergency": "#b2182b", "urgent": "#ef8a62", "doctor": "#67a9cf", "self_care": "#1a9850"}
DANGEROUS_COLOUR = "#b2182b"
CAUSE_COLOUR = "#4575b4"


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


def style():
    """A context manager applying the project's matplotlib style."""
    plt = _pyplot()
    return plt.style.context(str(STYLE))


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
        xerr = None
        if getattr(posterior, "intervals", None):
            lo = [result.probabilities[n] - posterior.intervals[n][0] for n in names]
            hi = [posterior.intervals[n][1] - result.probabilities[n] for n in names]
            xerr = [lo, hi]
        ax.barh([n.replace("_", " ") for n in names], probs, color=colours, xerr=xerr,
                error_kw={"ecolor": "#333333", "capsize": 3, "lw": 1})
        for y, p in enumerate(probs):
            ax.text(min(p + 0.01, 0.9), y, f"{p:.0%}", va="center", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("posterior probability P(cause | evidence)")
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


def save(ax, path: str | Path) -> Path:
    """Write the figure of ``ax`` to ``path`` (PNG or SVG by the suffix)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"{path}: the plot file must end in .png or .svg")
    ax.figure.savefig(path, dpi=150)
    _pyplot().close(ax.figure)
    return path


def _layers():
    """Rows of the drawing: risk factors, causes, complications, findings."""
    rows = {
        0: [v.name for v in structure.VARIABLES if v.kind == "risk_factor"],
        1: [v.name for v in structure.VARIABLES if v.kind == "cause"] + ["knee_effusion"],
        2: [v.name for v in structure.VARIABLES if v.kind == "complication"],
        3: [v.name for v in structure.VARIABLES if v.kind == "finding" and v.name != "knee_effusion"],
    }
    # order each row by the mean position of its neighbours (barycentre heuristic, a few sweeps)
    pos = {n: i / max(len(r) - 1, 1) for r in rows.values() for i, n in enumerate(r)}
    neighbours = {n: set(structure.BY_NAME[n].parents) | set(structure.children(n)) for n in structure.NAMES}
    for _ in range(6):
        for key in (1, 2, 3, 0):
            row = rows[key]
            row.sort(key=lambda n: sum(pos[m] for m in neighbours[n]) / max(len(neighbours[n]), 1))
            for i, n in enumerate(row):
                pos[n] = i / max(len(row) - 1, 1)
    return rows


def plot_network(result=None, ax=None, title: str | None = None):
    """Draw the network: risk factors on top, causes in the middle, findings below.

    Parameters
    ----------
    result : Assessment or Posterior, optional
        When given, each cause is labelled with its posterior and shaded by
        it, and variables with evidence are outlined.
    ax : matplotlib Axes, optional
    """
    plt = _pyplot()
    with style():
        if ax is None:
            _, ax = plt.subplots(figsize=(16, 8))
        rows = _layers()
        y_of = {0: 3.0, 1: 2.0, 2: 1.35, 3: 0.0}
        xy = {}
        for key, row in rows.items():
            for i, name in enumerate(row):
                xy[name] = ((i + 0.5) / len(row), y_of[key])
        for parent, child in structure.edges():
            (x0, y0), (x1, y1) = xy[parent], xy[child]
            ax.annotate("", xy=(x1, y1 + 0.08), xytext=(x0, y0 - 0.08),
                        arrowprops={"arrowstyle": "-|>", "color": "#9aa5b1", "lw": 0.5, "alpha": 0.6,
                                    "shrinkA": 0, "shrinkB": 0})
        probs = getattr(result, "probabilities", {}) if result is not None else {}
        evidence = getattr(result, "evidence", {}) if result is not None else {}
        colours = {"risk_factor": "#fee08b", "cause": "#d9ef8b", "complication": "#fdae61", "finding": "#e0ecf4"}
        cmap = plt.get_cmap("Reds")
        for name, (x, y) in xy.items():
            var = structure.BY_NAME[name]
            face = colours[var.kind]
            label = name.replace("_", "\n", 1) if len(name) > 12 else name
            if name in probs:
                face = cmap(0.15 + 0.75 * probs[name])
                label = f"{label}\n{probs[name]:.0%}"
            edge, lw = ("#08306b", 2.2) if name in evidence else ("#555555", 0.6)
            if name in evidence:
                label = f"{label}\n={evidence[name]}"
            ax.text(x, y, label, ha="center", va="center", fontsize=6.3,
                    bbox={"boxstyle": "round,pad=0.3", "fc": face, "ec": edge, "lw": lw})
        for key, text in ((0, "risk factors"), (1, "causes"), (2, "complications"), (3, "findings")):
            ax.text(-0.01, y_of[key], text, ha="right", va="center", fontsize=9, style="italic")
        ax.set_xlim(-0.09, 1.0)
        ax.set_ylim(-0.45, 3.45)
        ax.axis("off")
        ax.set_title(title or "popliteal: risk factors → causes → findings", fontsize=11)
    return ax
