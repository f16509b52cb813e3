"""Patients drawn from the network (ancestral sampling), for simulations and tests."""

from __future__ import annotations

import numpy as np

from ..network import structure


def draw_states(model, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Ancestral sampling: ``n`` patients drawn from the network, the state index of every variable."""
    drawn: dict[str, np.ndarray] = {}
    for var in structure.VARIABLES:
        table = model.priors.nodes[var.name].table  # (card, *parent_cards)
        probs = table[(slice(None), *(drawn[p] for p in var.parents))].T if var.parents else \
            np.broadcast_to(table, (n, table.shape[0]))
        cum = np.cumsum(probs, axis=1)
        u = rng.random(n)[:, None] * cum[:, -1:]
        drawn[var.name] = np.minimum((u >= cum).sum(axis=1), len(var.states) - 1)
    return drawn
