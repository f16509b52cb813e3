"""Write valid priors folders with random numbers, for engine and loader tests.

The random folders exercise every kind of file: roots and multi-state nodes
with a multi-state parent become tables, multi-state nodes with yes/no parents
mixtures, yes/no nodes whose parents are all yes/no and yes/no findings noisy-OR
(every other one with its last parent scaling it; a multi-state parent causes the
finding in every state but its first), the rest logistic.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np

from popliteal.common import safeyaml

from popliteal.network import structure

BUNDLED = Path(__file__).resolve().parents[1] / "priors"
_PROVENANCE = {"source": "team_estimate", "evidence": "estimate", "reasoning": "random test value"}


def _prob(rng: np.random.Generator, low: float = 0.02, high: float = 0.98) -> float:
    return float(np.round(rng.uniform(low, high), 6))


def _distribution(var: structure.Variable, rng: np.random.Generator) -> dict:
    weights = rng.dirichlet(np.ones(len(var.states)))
    weights = np.round(weights, 6)
    weights[-1] = 1.0 - weights[:-1].sum()
    probs = {s: float(w) for s, w in zip(var.states, weights)}
    covered = ["yes"] if var.states == structure.YES_NO else list(var.states)
    return {"probabilities": probs, "range": {s: [0.0, 1.0] for s in covered}, **_PROVENANCE}


def random_node(var: structure.Variable, rng: np.random.Generator) -> dict:
    """A random, valid priors document for ``var``."""
    doc: dict = {"node": var.name, "description": "random", "population": "test"}
    parents = [structure.BY_NAME[p] for p in var.parents]
    binary_parents = all(p.states == structure.YES_NO for p in parents)
    if not parents or (var.states != structure.YES_NO and not binary_parents):
        doc["kind"] = "table"
        combos = itertools.product(*(p.states for p in parents))
        doc["rows"] = [{"given": dict(zip(var.parents, combo)), **_distribution(var, rng)} for combo in combos]
    elif var.states != structure.YES_NO:
        doc["kind"] = "mixture"
        doc["leak"] = {**_distribution(var, rng), "weight": _prob(rng, 0.05, 1.0), "weight_range": [0.0, 1.0]}
        doc["causes"] = [{"parent": p.name, **_distribution(var, rng)} for p in parents]
    elif binary_parents or var.kind == structure.FINDING:
        doc["kind"] = "noisy_or"
        doc["leak"] = {"probability": _prob(rng, 0.01, 0.3), "range": [0.0, 1.0], **_PROVENANCE}
        last = parents[-1]
        scaled = [last] if len(parents) > 1 and len(var.name) % 2 and last.states == structure.YES_NO else []
        doc["causes"] = [{"parent": p.name, "probability": _prob(rng), "range": [0.0, 1.0], **_PROVENANCE}
                         for p in parents if p not in scaled and p.states == structure.YES_NO]
        doc["causes"] += [{"parent": p.name, "state": s, "probability": _prob(rng), "range": [0.0, 1.0],
                           **_PROVENANCE} for p in parents if p.states != structure.YES_NO for s in p.states[1:]]
        if scaled:
            doc["scaled_by"] = [{"parent": p.name, "factor": _prob(rng), "range": [0.0, 1.0], **_PROVENANCE}
                                for p in scaled]
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
    for name in ("references.yaml", "triage.yaml", "advice.yaml"):
        shutil.copy(BUNDLED / name, directory / name)
    for var in structure.VARIABLES:
        (directory / f"{var.name}.yaml").write_text(safeyaml.dump(random_node(var, rng), sort_keys=False))
    return directory
