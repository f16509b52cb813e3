"""Draw docs/figures/architecture.png: popliteal's modules in their layers, with every import between them.

The layers and the import graph come from ``tests/test_architecture.py`` (the layer order is
written once, there), so the picture shows what the code does, not what it was meant to do.
Run with ``.venv/bin/python scripts/make_architecture.py`` after moving or adding a module.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_architecture import LAYERS, import_graph, layer  # noqa: E402

OUT = ROOT / "docs" / "figures" / "architecture.png"
COLOURS = {"common": "#f0f0f0", "network": "#fee08b", "present": "#e0f3f8", "engine": "#d9ef8b",
           "clinic": "#fdae61", "explore": "#abd9e9", "faces": "#fbb4ae"}


def short(module: str) -> str:
    """``engine/inference`` for ``popliteal.engine.inference``; ``popliteal`` for the package."""
    parts = module.split(".")[1:]
    if not parts:
        return "popliteal/__init__"
    return "/".join(parts) + ("/__init__" if (ROOT / "model" / module.replace(".", "/") / "__init__.py").is_file()
                              else "")


def main() -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = import_graph()
    by_layer = {name: sorted(m for m in graph if layer(m) == name and not m.endswith("__main__"))
                for name in LAYERS}
    width = max(len(v) for v in by_layer.values())
    fig, ax = plt.subplots(figsize=(max(12, 1.75 * width), 1.35 * len(LAYERS) + 1))
    where = {}
    for row, name in enumerate(LAYERS):
        mods = by_layer[name]
        for i, m in enumerate(mods):
            x = (i + 0.5) * width / len(mods)
            where[m] = (x, row)
        ax.text(-0.35, row, name, ha="right", va="center", fontsize=11, weight="bold")
    for a, targets in graph.items():
        for b in targets:
            if a in where and b in where:
                (xa, ya), (xb, yb) = where[a], where[b]
                same = ya == yb
                ax.annotate("", xy=(xb, yb + (0.17 if yb < ya else -0.17 if yb > ya else 0)),
                            xytext=(xa, ya - (0.17 if yb < ya else -0.17 if yb > ya else 0)),
                            arrowprops={"arrowstyle": "-|>", "lw": 0.5, "alpha": 0.35, "color": "#333333",
                                        "connectionstyle": "arc3,rad=0.35" if same else "arc3,rad=0.05",
                                        "shrinkA": 2, "shrinkB": 2})
    for m, (x, y) in where.items():
        ax.text(x, y, short(m).split("/", 1)[-1] if layer(m) != "faces" else short(m), ha="center", va="center",
                fontsize=8, bbox={"boxstyle": "round,pad=0.3", "fc": COLOURS[layer(m)], "ec": "#555555", "lw": 0.6})
    ax.set_xlim(-1.6, width + 0.2)
    ax.set_ylim(-0.6, len(LAYERS) - 0.4)
    ax.axis("off")
    ax.set_title("popliteal: modules by layer (lowest at the bottom); arrows are imports, "
                 "also those inside functions. Every arrow points down or within a layer.", fontsize=10)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    return OUT


if __name__ == "__main__":
    print(main())
