"""Patients drawn from the network (ancestral sampling), for simulations and tests."""

from __future__ import annotations

import numpy as np

from ..network import structure


def draw_states(model, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` patients drawn from the network, the state index of every variable.

    Ancestral sampling from the tables the engine runs, keeping only those who have the
    complaint (``knee_pain`` yes, as every user has): rejection sampling, in rounds.
    """
    parts: list[dict[str, np.ndarray]] = []
    kept = 0
    while kept < n:
        drawn = _ancestral(model.engine.tables, max(2 * (n - kept), 64), rng)
        yes = drawn[structure.COMPLAINT] == 0
        parts.append({k: v[yes] for k, v in drawn.items()})
        kept += int(yes.sum())
    return {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}


def _ancestral(tables, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    drawn: dict[str, np.ndarray] = {}
    for var in structure.VARIABLES:
        table = tables[var.name]  # (card, *parent_cards)
        probs = table[(slice(None), *(drawn[p] for p in var.parents))].T if var.parents else \
            np.broadcast_to(table, (n, table.shape[0]))
        cum = np.cumsum(probs, axis=1)
        u = rng.random(n)[:, None] * cum[:, -1:]
        drawn[var.name] = np.minimum((u >= cum).sum(axis=1), len(var.states) - 1)
    return drawn
