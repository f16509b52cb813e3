"""Draw the README's figures into docs/figures/: the network, an example query, one per notebook.

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
from popliteal.present.figures import plot_network, plot_parameters, save  # noqa: E402

OUT = ROOT / "docs" / "figures"
EXAMPLE = {"age": 67, "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}


def notebook_figures(model) -> None:
    """One figure of each notebook, for the README: the same calls as the notebook's cell."""
    # 01-tour: where the numbers of the DVT node come from
    save(plot_parameters(model.parameters("dvt")), OUT / "nb-01-tour.png")
    # 02-thrombosis-risk: P(dvt) with each pair of risk factors
    pairs = model.pairs(
        ["long_travel", "smoking", "overweight", "estrogen_therapy", "thrombophilia",
         "previous_thrombosis", "cancer", "immobilization"],
        cause="dvt",
        base={"age": 65, "sex": "female"},
    )
    save(pairs.plot(), OUT / "nb-02-thrombosis-risk.png")
    # 03-differential: a ruptured Baker's cyst building up, finding by finding
    rupture_path = model.trajectory(
        ["popliteal_swelling=yes", "sudden_severe_pain=yes", "calf_swelling=yes", "redness_warmth=yes"],
        base={"age": 58, "osteoarthritis": "yes"},
    )
    save(rupture_path.plot(), OUT / "nb-03-differential.png")
    # 04-what-if: what each further finding would do for the traveller
    start = {"age_group": "over_60", "long_travel": "yes", "calf_swelling": "yes"}
    what_if = model.compare({
        "as now": start,
        "+ tender calf": {**start, "calf_tenderness": "yes"},
        "+ bump behind the knee": {**start, "popliteal_swelling": "yes"},
        "+ breathlessness": {**start, "breathlessness": "yes"},
    })
    save(what_if.plot(causes=["dvt", "pulmonary_embolism", "bakers_cyst_rupture", "bakers_cyst",
                              "other_calf_condition"]), OUT / "nb-04-what-if.png")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    model = popliteal.load(ROOT / "priors")
    save(plot_network(), OUT / "network.png")
    result = model.query(EXAMPLE)
    save(result.plot(), OUT / "example-query.png")
    save(plot_network(model.marginals(EXAMPLE), title="the example query on the network: every variable's "
                      "posterior"), OUT / "network-example.png")
    notebook_figures(model)
    print(f"wrote figures to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
