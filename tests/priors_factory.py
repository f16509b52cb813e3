"""Write valid priors folders with random numbers, for engine and loader tests.

The random folders exercise all three kinds of file: roots become tables,
nodes whose parents are all yes/no become noisy-OR, the rest logistic.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from popliteal import safeyaml, structure

BUNDLED = Path(__file__).resolve().parents[1] / "priors"
_PROVENANCE = {"source": "team_estimate", "evidence": "estimate", "reasoning": "random test value"}


def _prob(rng: np.random.Generator, low: float = 0.02, high: float = 0.98) -> float:
    return float(np.round(rng.uniform(low, high), 6))


def random_node(var: structure.Variable, rng: np.random.Generator) -> dict:
    """A random, valid priors document for ``var``."""
    doc: dict = {"node": var.name, "description": "random", "population": "test"}
    parents = [structure.BY_NAME[p] for p in var.parents]
    if not parents:
        doc["kind"] = "table"
        weights = rng.dirichlet(np.ones(len(var.states)))
        weights = np.round(weights, 6)
        weights[-1] = 1.0 - weights[:-1].sum()
        probs = {s: float(w) for s, w in zip(var.states, weights)}
        covered = ["yes"] if var.states == structure.YES_NO else list(var.states)
        doc["rows"] = [{"given": {}, "probabilities": probs,
                        "range": {s: [0.0, 1.0] for s in covered}, **_PROVENANCE}]
    elif var.states == structure.YES_NO and all(p.states == structure.YES_NO for p in parents):
        doc["kind"] = "noisy_or"
        doc["leak"] = {"probability": _prob(rng, 0.01, 0.3), "range": [0.0, 1.0], **_PROVENANCE}
        doc["causes"] = [{"parent": p.name, "probability": _prob(rng), "range": [0.0, 1.0], **_PROVENANCE}
                         for p in parents]
    else:
        doc["kind"] = "logistic"
        doc["baseline"] = {"probability": _prob(rng, 0.05, 0.95),
                           "reference": {p.name: p.states[-1] for p in parents},
                           "range": [0.0, 1.0], **_PROVENANCE}
        doc["odds_ratios"] = [
            {"parent": p.name, "state": s, "value": float(np.round(np.exp(rng.normal(0, 1.2)), 6)),
             "range": [1e-6, 1e6], **_PROVENANCE}
            for p in parents for s in p.states[:-1]
        ]
    return doc


def write_random_priors(directory: Path, seed: int) -> Path:
    """Write a complete random priors folder into ``directory`` and return it."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    # the bundled references and triage policy, so that only the network's numbers are random
    for name in ("references.yaml", "triage.yaml"):
        shutil.copy(BUNDLED / name, directory / name)
    for var in structure.VARIABLES:
        (directory / f"{var.name}.yaml").write_text(safeyaml.dump(random_node(var, rng), sort_keys=False))
    return directory
