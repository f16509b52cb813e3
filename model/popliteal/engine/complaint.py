"""The tables the engine runs, fitted to the complaint that every user has.

Every table of ``priors/`` describes people who seek help for pain in the back of the knee:
``P(node | parents)`` in that population. The network also has the complaint itself
(:data:`popliteal.network.structure.COMPLAINT`, a noisy-OR of the causes that is always
known), so that the causes compete for the one pain: a cause that explains it makes the others
less likely. Conditioning on the complaint would change the row of every ancestor of it, so the
engine does not run the files' tables as they are: :func:`fit` finds the tables under which,
once the pain is known, every row of every ancestor equals the row of its file,
``P(node | parents, pain) = file``. What the conditioning changes is only what no file gives: how
the causes go together.

The fit is iterative proportional fitting: node by node, the row is multiplied by the ratio of
its file's row to the row the current tables give once the pain is known. For a node whose only
path to the complaint is through itself that step is exact (its odds become the file's odds
times ``P(pain | parents, node absent)``); sweeps repeat until no row is off by more than
``tol``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from ..common.atomic import atomic_write_bytes
from ..network import structure
from .inference import Engine

#: No fitted row may differ from its file's row by more than this, once the pain is known.
FIT_TOLERANCE = 1e-11
#: A fit that has not met the tolerance after this many sweeps fails loudly.
MAX_SWEEPS = 500


class FitError(RuntimeError):
    """The tables could not be fitted to the complaint."""


@dataclass(frozen=True)
class Fit:
    """Fitted tables and how the fit went."""

    tables: Mapping[str, np.ndarray]
    sweeps: int
    max_error: float


def ancestors(name: str = structure.COMPLAINT) -> tuple[str, ...]:
    """The ancestors of ``name``, parents before children."""
    keep: set[str] = set()
    frontier = list(structure.BY_NAME[name].parents)
    while frontier:
        n = frontier.pop()
        if n not in keep:
            keep.add(n)
            frontier.extend(structure.BY_NAME[n].parents)
    return tuple(n for n in structure.NAMES if n in keep)


def _rows(var: structure.Variable) -> tuple[dict[str, np.ndarray], int]:
    """One-hot likelihoods for every combination of the parents' states, in table order."""
    if not var.parents:
        return {}, 1
    cards = [len(structure.BY_NAME[p].states) for p in var.parents]
    combos = np.array(list(itertools.product(*(range(c) for c in cards))), dtype=int).reshape(-1, len(cards))
    return {p: np.eye(c)[combos[:, k]] for k, (p, c) in enumerate(zip(var.parents, cards))}, len(combos)


def fit(tables: Mapping[str, np.ndarray], tol: float = FIT_TOLERANCE, max_sweeps: int = MAX_SWEEPS) -> Fit:
    """The tables under which, given the complaint, every ancestor's row equals its file's.

    Parameters
    ----------
    tables : mapping of str to numpy.ndarray
        The files' tables, ``P(node | parents)`` of shape ``(card, *parent_cards)``.
    tol : float
        Largest difference allowed between a row given the pain and its file's row.
    max_sweeps : int
        Sweeps over every ancestor before giving up (:class:`FitError`).

    Returns
    -------
    Fit
        Every table; those of the complaint's ancestors fitted, the others as given.
    """
    engine = Engine(tables, complaint=True)
    targets = {n: np.asarray(tables[n], dtype=float) for n in structure.NAMES}
    nodes = ancestors()
    rows = {n: _rows(structure.BY_NAME[n]) for n in nodes}
    worst = np.inf
    for sweep in range(1, max_sweeps + 1):
        worst = 0.0
        for n in nodes:
            likelihoods, batch = rows[n]
            marg, p_e = engine.marginals(likelihoods, (n,), batch=batch)
            table = engine.tables[n]
            now = marg[n].T.reshape(table.shape)  # P(node | parents, pain), in the table's layout
            possible = (p_e > 0).reshape(table.shape[1:])
            target = targets[n]
            off = np.abs(now - target)[:, possible]
            worst = max(worst, float(off.max()) if off.size else 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(now > 0, target / now, 0.0)
            new = np.where(possible, table * step, target)
            new = new / new.sum(axis=0, keepdims=True)
            engine = engine.replaced(n, new)
        if worst <= tol:
            return Fit(dict(engine.tables), sweep, worst)
    raise FitError(f"{structure.COMPLAINT}: the tables did not fit within {tol:g} after {max_sweeps} sweeps "
                   f"(largest difference {worst:.2e})")


def carry(draws: Mapping[str, np.ndarray], files: Mapping[str, np.ndarray], fitted: Mapping[str, np.ndarray],
          lead: int = 1) -> dict[str, np.ndarray]:
    """Tables drawn around the files' (a leading axis of draws), moved as the fit moved the files'.

    Each entry of a complaint ancestor's drawn table is multiplied by the ratio of its fitted
    to its file value, and the row normalised. At the files' own values this is the fit
    exactly; for draws within the priors' ranges it is an approximation, which spares a fit
    per draw (the uncertainty analysis draws hundreds).
    """
    out = dict(draws)
    for n in ancestors():
        file = np.asarray(files[n], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(file > 0, np.asarray(fitted[n], dtype=float) / file, 1.0)
        moved = np.asarray(draws[n], dtype=float) * ratio
        out[n] = moved / moved.sum(axis=lead, keepdims=True)
    return out


_FITTED: dict[str, Mapping[str, np.ndarray]] = {}
#: The code whose change changes a fit: a fit on disk is keyed by it and the priors' digest.
_CODE = ("engine/complaint.py", "engine/contraction.py", "engine/inference.py", "network/structure.py",
         "network/priors.py")


def _key(digest: str) -> str:
    here = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(digest.encode())
    for name in _CODE:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:24]


def fitted_tables(files: Mapping[str, np.ndarray], digest: str | None = None) -> Mapping[str, np.ndarray]:
    """:func:`fit` of ``files``, remembered by the priors' ``digest`` in memory and in the cache folder.

    The fit takes seconds; a query should not pay it again. Without a digest nothing is kept.
    """
    if digest is None:
        return fit(files).tables
    key = _key(digest)
    found = _FITTED.get(key)
    if found is not None:
        return found
    path = None
    try:
        from ..network.cache import cache_dir

        path = cache_dir() / f"fit-{key}.npz"
        with np.load(path, allow_pickle=False) as data:
            found = {n: np.asarray(data[n], dtype=float) for n in structure.NAMES}
        if not all(found[n].shape == np.shape(files[n]) and np.all(np.isfinite(found[n]))
                   and np.allclose(found[n].sum(axis=0), 1.0, rtol=0, atol=1e-9) for n in structure.NAMES):
            found = None
    except (OSError, KeyError, ValueError, RuntimeError):
        found = None
    if found is None:
        found = dict(fit(files).tables)
        if path is not None:
            try:
                buffer = io.BytesIO()
                np.savez(buffer, **found)
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, buffer.getvalue())
            except OSError:  # unwritable cache folder: the next load fits again
                pass
    _FITTED[key] = found
    return found
