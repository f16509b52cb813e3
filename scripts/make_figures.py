"""Draw the README's figures into docs/figures/: the network and an example query.

Run with ``make figures``. The figures are made from the bundled priors, so
they always show real output of the current model.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "model"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import popliteal  # noqa: E402
from popliteal.plotting import plot_network, save  # noqa: E402

OUT = ROOT / "docs" / "figures"
EXAMPLE = {"age": 67, "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    model = popliteal.load(ROOT / "priors")
    save(plot_network(), OUT / "network.png")
    result = model.query(EXAMPLE)
    save(result.plot(), OUT / "example-query.png")
    save(plot_network(result, title="the example query on the network"), OUT / "network-example.png")
    print(f"wrote figures to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
