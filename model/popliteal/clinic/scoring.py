"""Scoring a table of cases: posteriors, triage and an error column for every row.

The core of ``popliteal score`` and ``model.score``: a frame's evidence columns
(named after variables, or ``age`` in years) are checked (:func:`layout`),
parsed each distinct cell once, reduced to the frame's distinct rows, scored
by one call of :meth:`popliteal.engine.inference.Engine.marginals` and triaged
by :func:`popliteal.clinic.policy.triage_many` over the whole chunk; the
answers are copied back to every row, in order. Impossible rows (P(evidence) =
0 in that call) get an ``error`` naming their clashing items, found by one
batched check per chunk. Reading and writing files is :mod:`popliteal.batch`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..engine.evidence import AGE, EvidenceError, from_mapping
from ..engine.inference import IMPOSSIBLE, batch_marginals, impossible_search
from ..network import structure
from .policy import triage_many

#: Rows scored per chunk (and per engine call) unless told otherwise.
DEFAULT_CHUNK_SIZE = 50_000
#: The columns that scoring adds, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (*(f"p_{t}" for t in structure.TARGETS), "triage", "error")
#: The names an evidence column may have: a variable, ``age`` (in years) or an alias.
EVIDENCE_COLUMNS: tuple[str, ...] = (*structure.NAMES, AGE, *structure.ALIASES)

class BatchError(ValueError):
    """A problem with the input or output file as a whole (the CLI exits with status 2)."""


@dataclass(frozen=True)
class Layout:
    """Which columns of a file are evidence and which are passed through.

    Attributes
    ----------
    columns : tuple of str
        Every input column, in order.
    evidence : tuple of str
        The columns read as evidence: variable names and ``age``.
    ignored : tuple of str
        The columns passed through untouched and not used.
    """

    columns: tuple[str, ...]
    evidence: tuple[str, ...]
    ignored: tuple[str, ...]

    @property
    def observed(self) -> tuple[str, ...]:
        """The variables that the evidence columns speak about, in structure order."""
        names = {_column_variable(c) for c in self.evidence}
        return tuple(n for n in structure.NAMES if n in names)


def no_evidence_column(source: str, shown: str, hint: str = "") -> BatchError:
    """The refusal of columns of which none is an evidence column: every row would score as the prior.

    ``shown`` names the columns as the caller shows them (a file's ``header: ...``, a frame's
    ``columns: ...``); ``hint`` says what may have gone wrong (a CSV file read with the wrong separator).
    """
    return BatchError(f"{source}: no column is named after a variable of the model (or age), so every row would "
                      f"score as the prior; {shown}{hint}")


def layout(columns, source: str = "input") -> Layout:
    """Check a file's column names and sort them into evidence and pass-through.

    Raises
    ------
    BatchError
        For a name that appears twice, collides with an output column, or is
        a near miss of a variable name.
    """
    columns = tuple(str(c) for c in columns)
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise BatchError(f"{source}: column {c!r} appears twice")
        seen.add(c)
    clash = [c for c in columns if c in OUTPUT_COLUMNS]
    if clash:
        raise BatchError(f"{source}: column {clash[0]!r} collides with an output column of the same name; "
                         f"rename it (the output adds {', '.join(OUTPUT_COLUMNS[-2:])} and p_<cause> columns)")
    evidence, ignored = [], []
    for c in columns:
        if c in EVIDENCE_COLUMNS:
            evidence.append(c)
            continue
        near = difflib.get_close_matches(c.strip().lower(), EVIDENCE_COLUMNS, n=1, cutoff=0.8)
        if near and near[0] not in columns:
            raise BatchError(f"{source}: column {c!r} is not a variable; did you mean {near[0]}? Rename it "
                             "(a column that is not a variable would be passed through unused)")
        ignored.append(c)
    return Layout(columns, tuple(evidence), tuple(ignored))


# --- scoring one frame ----------------------------------------------------------------------


def _is_empty(value) -> bool:
    import pandas as pd

    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))  # None, NaN, pandas.NA
    except (TypeError, ValueError):  # a list or another non-scalar cell
        return False


def _column_variable(column: str) -> str:
    """The variable an evidence column speaks about (``age`` and compatibility names map to theirs)."""
    if column == AGE:
        return "age_group"
    return structure.ALIASES[column][0] if column in structure.ALIASES else column


@dataclass
class _Column:
    """One evidence column, each distinct cell parsed once.

    ``codes`` maps each row to a distinct cell (the last one, ``k``, is an
    empty cell); ``table``, ``shown`` and ``problems`` are per distinct cell,
    and so is ``years`` for the ``age`` column (the age in years as text, which
    the triage policy reads beside ``age_group``).
    """

    name: str
    codes: np.ndarray
    table: np.ndarray
    shown: np.ndarray
    problems: np.ndarray
    years: np.ndarray | None = None


def _parse_column(column: str, values) -> _Column:
    """Parse one evidence column: each distinct cell once."""
    import pandas as pd

    name = _column_variable(column)
    card = len(structure.BY_NAME[name].states)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    k = len(uniques)
    table = np.ones((k + 1, card))
    if name == structure.COMPLAINT:  # always known (every case has the pain): an empty cell is that, not unknown
        table[:] = from_mapping({name: "yes"}).likelihoods()[name]
    shown = np.full(k + 1, "", dtype=object)
    problems = np.full(k + 1, None, dtype=object)
    years = np.full(k + 1, "", dtype=object) if column == AGE else None
    for i, raw in enumerate(uniques):
        value = raw.item() if isinstance(raw, np.generic) else raw
        if _is_empty(value):
            continue
        try:
            ev = from_mapping({column: value})
        except EvidenceError as exc:
            problems[i] = str(exc)
            continue
        table[i] = ev.likelihoods()[name]
        shown[i] = ev.as_dict()[name]
        if years is not None:
            years[i] = repr(ev.years)
    return _Column(name, np.where(codes < 0, k, codes), table, shown, problems, years)


def _unique_rows(columns: list[_Column], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct combination of cells, and each row's combination.

    Exact (no hash collisions): the per-column codes are combined as mixed-radix
    integers, re-numbered whenever the next column could overflow 64 bits.
    """
    import pandas as pd

    key = np.zeros(n, dtype=np.int64)
    span = 1
    for col in columns:
        radix = len(col.table)
        if span * radix >= 2**62:
            key, uniques = pd.factorize(key)
            span = max(1, len(uniques))
        key = key * radix + col.codes
        span *= radix
    inverse, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # the last write wins: the first row of each
    return first, inverse


def triage_rows(probs: np.ndarray, shown: Mapping[str, np.ndarray], policy, with_rules: bool = True):
    """Triage a chunk of cases: the one place where batch scoring triages.

    Parameters
    ----------
    probs : numpy.ndarray
        ``(n, len(structure.TARGETS))``: ``P(target = yes | evidence)`` per case.
    shown : mapping of str to numpy.ndarray
        The evidence per variable, as the contract writes it (``""`` where unobserved), and
        under ``"age"`` the age in years as text where it was given.
    policy : popliteal.network.priors.TriagePolicy
    with_rules : bool
        Also name the rules behind each level (the CSV output does not show them).

    Returns
    -------
    levels : numpy.ndarray of str, shape (n,)
    rules : list of tuple of str, or None
        The ids of the rules that set each level (``("default",)`` when none fired), as
        :func:`popliteal.clinic.policy.triage` gives them in ``Triage.rules``; None without
        ``with_rules``.

    Notes
    -----
    The policy is evaluated as array operations over the whole chunk
    (:func:`popliteal.clinic.policy.triage_many`); the levels and rules are exactly those of the
    one-patient path (a property test compares them on random patients).
    """
    levels, fired = triage_many(probs, shown, policy)
    if not with_rules:
        return levels, None
    ids = np.array([r.id for r in policy.rules], dtype=object)
    if not len(levels) or not len(ids):
        return levels, [(policy.default.id,)] * len(levels)
    rule_levels = np.array([r.level for r in policy.rules], dtype=object)
    chosen = np.asarray(fired, dtype=bool) & (np.asarray(levels, dtype=object)[:, None] == rule_levels[None, :])
    # each distinct pattern of chosen rules once (a chunk has few), then one tuple per row
    keys = np.zeros(len(levels), dtype=object if len(ids) > 62 else np.int64)
    for j in range(len(ids)):
        keys = keys * 2 + chosen[:, j]
    patterns, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    named = [tuple(ids[chosen[i]]) or (policy.default.id,) for i in first]
    return levels, [named[k] for k in np.ravel(inverse)]


@dataclass
class _Scored:
    """The answers for one chunk of ``n`` rows, each distinct answer once.

    Entries are the chunk's distinct rows, then one per row not scored
    (``row_problems``); ``inverse`` gives each row its entry.

    Attributes
    ----------
    probs : numpy.ndarray
        ``(entries, len(structure.TARGETS))``: ``P(target = yes)``, NaN where not scored.
    levels : numpy.ndarray of object
        The triage level per entry, None where not scored.
    errors : numpy.ndarray of object
        The error per entry, None where the row was fine.
    inverse : numpy.ndarray of int
        ``(n,)``: each row's entry.
    """

    probs: np.ndarray
    levels: np.ndarray
    errors: np.ndarray
    inverse: np.ndarray

    def frame(self, index):
        """The added columns, one row per row of the chunk, on ``index``."""
        import pandas as pd

        probs, levels, errors = self.probs[self.inverse], self.levels[self.inverse], self.errors[self.inverse]
        added = pd.DataFrame({f"p_{t}": probs[:, j] for j, t in enumerate(structure.TARGETS)}, index=index)
        added["triage"] = pd.Series(levels, index=index, dtype=object)
        added["error"] = pd.Series(errors, index=index, dtype=object)
        return added


def _score_chunk(model, frame, lay: Layout, row_problems: Mapping[int, str] | None = None) -> _Scored:
    """Score, triage and check every row of ``frame``, each distinct row once.

    Each distinct row (the same cells in every evidence column) is parsed,
    scored and triaged once. ``row_problems`` are errors found before parsing
    (a ragged CSV row, by position): such a row is not scored.
    """
    n = len(frame)
    columns = [_parse_column(c, frame[c].to_numpy(dtype=object)) for c in lay.evidence]
    first, inverse = _unique_rows(columns, n)
    u = len(first)
    # Per distinct row: evidence, likelihoods and problems (only the rows that have some).
    likelihoods: dict[str, np.ndarray] = {}
    shown: dict[str, np.ndarray] = {}
    problems: dict[int, list[str]] = {}
    for col in columns:
        codes = col.codes[first]
        lik, sh, bad = col.table[codes], col.shown[codes], col.problems[codes]
        for i in np.flatnonzero(bad != None).tolist():  # noqa: E711 - elementwise comparison
            problems.setdefault(i, []).append(bad[i])
        if col.years is not None:
            shown[AGE] = col.years[codes]
        if col.name in shown:  # age and age_group both given: they must agree
            other = shown[col.name]
            given_by = [c for c in lay.evidence if _column_variable(c) == col.name]
            for i in np.flatnonzero((other != "") & (sh != "") & (other != sh)).tolist():
                given = " and ".join(f"{c}={frame[c].iloc[first[i]]}" for c in given_by)
                problems.setdefault(i, []).append(f"{col.name}: given twice with different values ({given})")
            likelihoods[col.name] = np.where((other != "")[:, None], likelihoods[col.name], lik)
            shown[col.name] = np.where(other != "", other, sh)
        else:
            likelihoods[col.name] = lik
            shown[col.name] = sh
    bad = np.zeros(u, dtype=bool)
    bad[list(problems)] = True
    good = np.flatnonzero(~bad)
    observed = lay.observed
    marg, p_e = batch_marginals(model.engine, {k: likelihoods[k][good] for k in observed}, len(good))
    probs_good = np.column_stack([
        np.clip(marg[t][:, structure.BY_NAME[t].states.index("yes")], 0.0, 1.0) for t in structure.TARGETS]) \
        if len(good) else np.empty((0, len(structure.TARGETS)))
    impossible = ~(p_e > IMPOSSIBLE)
    if impossible.any():
        rows = good[impossible]
        items = [[(name, shown[name][i]) for name in structure.NAMES if name in shown and shown[name][i]]
                 for i in rows]
        for i, text in zip(rows.tolist(), impossible_search(model.engine).explain(items, observed)):
            problems.setdefault(i, []).append(f"the model holds this evidence impossible: {text}")
    possible = good[~impossible]
    extra = len(row_problems) if row_problems else 0
    probs = np.full((u + extra, len(structure.TARGETS)), np.nan)
    probs[possible] = probs_good[~impossible]
    levels = np.full(u + extra, None, dtype=object)
    levels[possible], _ = triage_rows(probs[possible], {k: v[possible] for k, v in shown.items()},
                                      model.priors.triage, with_rules=False)
    errors = np.full(u + extra, None, dtype=object)
    for i, p in problems.items():
        errors[i] = " | ".join(p)
    inverse = np.asarray(inverse, dtype=np.int64)
    if extra:  # each row not scored gets an entry of its own
        at = np.fromiter(row_problems, dtype=np.int64, count=extra)
        inverse = inverse.copy()
        inverse[at] = np.arange(u, u + extra)
        errors[u:] = list(row_problems.values())
    return _Scored(probs, levels, errors, inverse)


def _added_columns(model, frame, lay: Layout, row_problems: Mapping[int, str] | None = None):
    """The columns that scoring adds to ``frame`` (same index), as a pandas frame.

    Each distinct row is scored once (:func:`_score_chunk`) and the answers
    are copied to every row like it, in order.
    """
    return _score_chunk(model, frame, lay, row_problems).frame(frame.index)


@dataclass
class Parsed:
    """The evidence of a frame of cases, one array per variable.

    Attributes
    ----------
    likelihoods : dict of str to numpy.ndarray
        ``(n, card)`` for every variable with an evidence column: one-hot for a
        state, ``[L, 1 - L]`` for soft evidence, all ones where the cell is
        empty or bad.
    shown : dict of str to numpy.ndarray
        The evidence as the contract writes it (``"yes"``, ``"yes:0.7"``), ``""`` where unobserved.
    problems : list of list of str
        For each row, what is wrong with its cells (empty when nothing is).
    """

    likelihoods: dict[str, np.ndarray]
    shown: dict[str, np.ndarray]
    problems: list[list[str]]


def parse_frame(frame, lay: Layout | None = None) -> Parsed:
    """Parse the evidence columns of ``frame``, each distinct cell once (vectorised)."""
    lay = lay if lay is not None else layout(frame.columns, "frame")
    n = len(frame)
    likelihoods: dict[str, np.ndarray] = {}
    shown: dict[str, np.ndarray] = {}
    problems: list[list[str]] = [[] for _ in range(n)]
    for column in lay.evidence:
        col = _parse_column(column, frame[column].to_numpy(dtype=object))
        lik, sh, bad = col.table[col.codes], col.shown[col.codes], col.problems[col.codes]
        for i in np.flatnonzero(bad != None):  # noqa: E711 - elementwise comparison
            problems[i].append(bad[i])
        if col.name in shown:  # age and age_group both given: the first given wins here
            other = shown[col.name]
            likelihoods[col.name] = np.where((other != "")[:, None], likelihoods[col.name], lik)
            shown[col.name] = np.where(other != "", other, sh)
        else:
            likelihoods[col.name], shown[col.name] = lik, sh
    bad_rows = np.array([bool(p) for p in problems], dtype=bool)
    for lik in likelihoods.values():  # bad rows are scored as if empty
        lik[bad_rows] = 1.0
    return Parsed(likelihoods, shown, problems)


def score_frame(model, frame):
    """Return ``frame`` with the scoring columns added (see the module's docstring).

    Parameters
    ----------
    model : popliteal.api.Model
    frame : pandas.DataFrame
        One case per row; columns named after variables (or ``age``); cells
        as text, ``yes:0.7`` for soft evidence, empty or missing where unobserved.
    """
    import pandas as pd

    lay = layout(frame.columns, "frame")
    plain = frame.reset_index(drop=True)  # any index, even with repeated labels, is kept as it was
    added = pd.concat([_added_columns(model, plain.iloc[i:i + DEFAULT_CHUNK_SIZE], lay)  # bounded memory
                       for i in range(0, max(len(plain), 1), DEFAULT_CHUNK_SIZE)])
    out = pd.concat([plain, added], axis=1)
    out.index = frame.index
    return out

