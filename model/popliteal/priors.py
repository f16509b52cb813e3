"""Read, validate and build the network's conditional probability tables.

Every number of the model lives in ``priors/`` as one YAML file per node (see
``priors/README.md``). This module reads those files with a safe loader,
checks them against :mod:`popliteal.structure` and turns each into a numpy
table of shape ``(card, *parent_cards)``: axis 0 is the node's own state,
the other axes follow the node's parents in the order of the structure.

Each node keeps its *parameters* (a probability, a leak, an odds ratio) with
their plausible ranges, and can rebuild its table from other values of them,
vectorised over a leading axis of draws: that is what the uncertainty
analysis uses.

Errors are raised as :class:`PriorsError` with a one-line message of the form
``file: field: problem``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import structure
from .structure import Variable

#: Rows of a table must sum to one within this tolerance (pgmpy itself allows 0.01).
SUM_TOLERANCE = 1e-9
EVIDENCE_TYPES = ("study", "guideline", "seed", "estimate")
KINDS = ("table", "noisy_or", "logistic")
ENV_VAR = "POPLITEAL_PRIORS"
REFERENCES_FILE = "references.yaml"
TRIAGE_FILE = "triage.yaml"
LEVELS = ("emergency", "urgent", "doctor", "self_care")

_SOURCE_FIELDS = {"source", "evidence", "locator", "range", "reasoning", "derivation"}


class PriorsError(ValueError):
    """A priors folder or file is missing, unreadable or invalid."""


def default_priors_dir() -> Path:
    """Return the priors folder used when none is given.

    ``$POPLITEAL_PRIORS`` wins; then the copy shipped inside the installed
    package; then ``priors/`` at the root of a source checkout.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parent / "priors"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "priors"


# ---------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One sourced number of the model.

    ``value`` lies inside ``[low, high]``. ``scale`` is ``"probability"``
    (a number in [0, 1]) or ``"odds_ratio"`` (a positive number).
    """

    name: str
    value: float
    low: float
    high: float
    scale: str
    source: str
    evidence: str
    locator: str | None = None
    reasoning: str | None = None
    derivation: str | None = None


@dataclass(frozen=True)
class NodePrior:
    """The validated priors of one node.

    Attributes
    ----------
    table : numpy.ndarray
        ``P(node | parents)`` with shape ``(card, *parent_cards)``.
    parameters : tuple of Parameter
        The numbers the table is built from, in the order ``rebuild`` expects.
    """

    node: str
    kind: str
    file: str
    description: str
    table: np.ndarray
    parameters: tuple[Parameter, ...]
    _builder: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)

    def rebuild(self, values: np.ndarray) -> np.ndarray:
        """Build the table from other parameter values.

        Parameters
        ----------
        values : array of shape ``(..., len(parameters))``
            Leading axes (draws) are carried through.

        Returns
        -------
        numpy.ndarray of shape ``(..., card, *parent_cards)``
        """
        return self._builder(np.asarray(values, dtype=float))


@dataclass(frozen=True)
class Priors:
    """All validated priors of a folder, with the references and a digest."""

    directory: Path
    nodes: dict[str, NodePrior]
    references: dict[str, dict[str, str]]
    digest: str
    triage: "TriagePolicy"

    @property
    def parameters(self) -> list[Parameter]:
        """Every parameter of every node, in structure order."""
        return [p for v in structure.VARIABLES for p in self.nodes[v.name].parameters]


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def load_priors(directory: str | os.PathLike[str] | None = None) -> Priors:
    """Read and validate every priors file of ``directory``.

    Raises
    ------
    PriorsError
        With a ``file: field: problem`` message for the first problem found.
    """
    if directory is not None and not os.fspath(directory).strip():
        raise PriorsError("priors folder: an empty name (give a folder, or leave the option out)")
    directory = Path(directory) if directory is not None else default_priors_dir()
    try:
        if not directory.is_dir():
            raise PriorsError(f"{directory}: not a readable priors folder")
        files = {p.stem: p for p in sorted(directory.glob("*.yaml"))}
    except OSError as exc:  # a symlink loop, a name too long, ...
        raise PriorsError(f"{directory}: not a readable priors folder ({exc.strerror or exc})") from None
    raw: dict[str, bytes] = {}
    for stem in (Path(REFERENCES_FILE).stem, Path(TRIAGE_FILE).stem):
        if stem not in files:
            raise PriorsError(f"{directory / (stem + '.yaml')}: file missing")
    unknown = sorted(set(files) - set(structure.NAMES) - {Path(REFERENCES_FILE).stem, Path(TRIAGE_FILE).stem})
    if unknown:
        raise PriorsError(
            f"{files[unknown[0]].name}: node: no variable called {unknown[0]!r} in the structure"
        )
    for var in structure.VARIABLES:
        if var.name not in files:
            raise PriorsError(f"{var.name}.yaml: file missing from {directory}")
    for stem, path in files.items():  # each file read once: what is validated is what is digested
        raw[stem] = _read_file(path)
    ref_stem, triage_stem = Path(REFERENCES_FILE).stem, Path(TRIAGE_FILE).stem
    try:
        references = _load_references(files[ref_stem].name, raw[ref_stem])
        triage = _load_triage(files[triage_stem].name, raw[triage_stem], references)
        nodes: dict[str, NodePrior] = {}
        for var in structure.VARIABLES:
            nodes[var.name] = _load_node(files[var.name].name, raw[var.name], var, references)
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        # a shape the checks above did not foresee: still one line naming the file
        raise PriorsError(f"{_where(exc)}: file: malformed ({type(exc).__name__}: {_short(exc)})") from None
    return Priors(directory=directory, nodes=nodes, references=references, digest=content_digest(raw),
                  triage=triage)


def content_digest(raw: dict[str, Any]) -> str:
    """The digest of a priors folder from the bytes of its files, ``{file stem: bytes}``.

    SHA-256 over the references, the triage policy and every node's file (its
    name, a NUL, its bytes) in structure order; the first 16 hex digits.

    Raises
    ------
    KeyError
        When a file of the structure is missing from ``raw``.
    """
    digest = hashlib.sha256()
    digest.update(raw[Path(REFERENCES_FILE).stem])
    digest.update(raw[Path(TRIAGE_FILE).stem])
    for var in structure.VARIABLES:
        digest.update(var.name.encode() + b"\0" + raw[var.name])
    return digest.hexdigest()[:16]


def _short(exc: BaseException) -> str:
    from .messages import shorten

    return shorten(exc, 120)


def _where(exc: BaseException) -> str:
    """The priors file whose loading raised ``exc`` (from the traceback), else 'priors'."""
    tb = exc.__traceback__
    name = "priors"
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, _Ctx):
            name = ctx.file
        tb = tb.tb_next
    return name


def _read_yaml(name: str, raw: bytes) -> Any:
    from .safeyaml import YamlError, load_text

    try:
        return load_text(raw, name)
    except YamlError as exc:
        raise PriorsError(str(exc)) from None


def _read_file(path: Path) -> bytes:
    """The bytes of one priors file: a regular file, never a FIFO, folder or loop (one-line errors)."""
    from .atomic import UnreadableFile, read_regular

    try:
        return read_regular(path)
    except UnreadableFile as exc:
        raise PriorsError(str(exc).replace(f"{path}: ", f"{path.name}: ", 1)) from None


def _load_references(name: str | Path, raw: bytes | None = None) -> dict[str, dict[str, str]]:
    if raw is None:  # a path: read it
        raw, name = _read_file(Path(name)), Path(name).name
    name = str(name)
    data = _read_yaml(name, raw)
    if not isinstance(data, dict) or not data:
        raise PriorsError(f"{name}: file: must map source keys to references")
    refs: dict[str, dict[str, str]] = {}
    for key, ref in data.items():
        if not isinstance(ref, dict) or not isinstance(ref.get("citation"), str) or not ref["citation"].strip():
            raise PriorsError(f"{name}: {key}.citation: must be a non-empty text")
        refs[str(key)] = {k: str(v) for k, v in ref.items()}
    return refs


class _Ctx:
    """Carries the file name and references for error messages."""

    def __init__(self, file: str, var: Variable, references: dict[str, Any]):
        self.file = file
        self.var = var
        self.references = references

    def fail(self, where: str, problem: str) -> PriorsError:
        from .messages import shorten

        return PriorsError(f"{self.file}: {shorten(where, 120)}: {shorten(problem, 240)}")


def _state(value: Any) -> str:
    """Turn YAML 1.1 booleans back into the states ``yes``/``no``."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _mapping(ctx: _Ctx, obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ctx.fail(where, f"must be a mapping, got {type(obj).__name__}")
    return {_state(k): v for k, v in obj.items()}


def _number(ctx: _Ctx, obj: Any, where: str) -> float:
    if isinstance(obj, bool) or not isinstance(obj, (int, float)):
        raise ctx.fail(where, f"must be a number, got {obj!r}")
    value = float(obj)
    if not math.isfinite(value):
        raise ctx.fail(where, f"must be a finite number, got {obj!r}")
    return value


def _probability(ctx: _Ctx, obj: Any, where: str) -> float:
    value = _number(ctx, obj, where)
    if not 0.0 <= value <= 1.0:
        raise ctx.fail(where, f"must be a probability in [0, 1], got {value!r}")
    return value


def _check_keys(ctx: _Ctx, obj: dict[str, Any], where: str, required: set[str], allowed: set[str]) -> None:
    prefix = f"{where}." if where else ""
    for key in sorted(required - set(obj)):
        raise ctx.fail(f"{prefix}{key}", "missing")
    for key in sorted(set(obj) - allowed - required):
        raise ctx.fail(f"{prefix}{key}", "unknown field")


def _sourced(ctx: _Ctx, obj: dict[str, Any], where: str, name: str, value: float, scale: str,
             low_high: Any) -> Parameter:
    """Validate the provenance fields of one entry and return its Parameter."""
    source = obj.get("source")
    if not isinstance(source, str) or not source:
        raise ctx.fail(f"{where}.source", "missing")
    if source not in ctx.references:
        raise ctx.fail(f"{where}.source", f"{source!r} is not a key of {REFERENCES_FILE}")
    evidence = obj.get("evidence")
    if evidence not in EVIDENCE_TYPES:
        raise ctx.fail(f"{where}.evidence", f"must be one of {', '.join(EVIDENCE_TYPES)}, got {evidence!r}")
    texts: dict[str, str | None] = {}
    for key in ("locator", "reasoning", "derivation"):
        text = obj.get(key)
        if text is not None and (not isinstance(text, (str, int, float)) or not str(text).strip()):
            raise ctx.fail(f"{where}.{key}", "must be a non-empty text")
        texts[key] = None if text is None else str(text)
    if evidence == "estimate" and texts["reasoning"] is None:
        raise ctx.fail(f"{where}.reasoning", "missing (required for an estimate)")
    if evidence != "estimate" and texts["locator"] is None:
        raise ctx.fail(f"{where}.locator", "missing (where in the source?)")
    if low_high is None:
        raise ctx.fail(f"{where}.range", "missing")
    if not isinstance(low_high, list) or len(low_high) != 2:
        raise ctx.fail(f"{where}.range", f"must be [low, high], got {low_high!r}")
    check = _probability if scale == "probability" else _number
    low = check(ctx, low_high[0], f"{where}.range")
    high = check(ctx, low_high[1], f"{where}.range")
    if scale == "odds_ratio" and low <= 0:
        raise ctx.fail(f"{where}.range", f"odds ratios must be > 0, got {low!r}")
    if not low <= value <= high:
        raise ctx.fail(f"{where}.range", f"[{low}, {high}] does not contain the value {value}")
    return Parameter(name=name, value=value, low=low, high=high, scale=scale, source=source,
                     evidence=evidence, **texts)


def _load_node(file: str, raw: bytes, var: Variable, references: dict[str, Any]) -> NodePrior:
    ctx = _Ctx(file, var, references)
    data = _read_yaml(file, raw)
    data = _mapping(ctx, data, "file")
    _check_keys(ctx, data, "", {"node", "kind"},
                {"description", "population", "notes", "rows", "leak", "causes", "baseline", "odds_ratios"})
    if data["node"] != var.name:
        raise ctx.fail("node", f"must be {var.name!r} (the file name), got {data['node']!r}")
    kind = data["kind"]
    if kind not in KINDS:
        raise ctx.fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    loader = {"table": _load_table, "noisy_or": _load_noisy_or, "logistic": _load_logistic}[kind]
    parameters, builder = loader(ctx, data)
    table = builder(np.array([p.value for p in parameters]))
    _check_table(ctx, table)
    return NodePrior(node=var.name, kind=kind, file=file, description=str(data.get("description", "")),
                     table=table, parameters=tuple(parameters), _builder=builder)


def _check_table(ctx: _Ctx, table: np.ndarray) -> None:
    sums = table.sum(axis=0)
    bad = np.argwhere(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if bad.size:
        raise ctx.fail("rows", f"a row sums to {sums[tuple(bad[0])]!r}, not 1 within {SUM_TOLERANCE}")
    if np.any(table < 0) or np.any(~np.isfinite(table)):
        raise ctx.fail("rows", "a probability is negative or not finite")


def _parent_combos(var: Variable) -> list[tuple[str, ...]]:
    states = [structure.BY_NAME[p].states for p in var.parents]
    return list(itertools.product(*states))


def _shape(var: Variable) -> tuple[int, ...]:
    return (len(var.states), *(len(structure.BY_NAME[p].states) for p in var.parents))


def _load_table(ctx: _Ctx, data: dict[str, Any]):
    var = ctx.var
    _forbid(ctx, data, ("leak", "causes", "baseline", "odds_ratios"), "table")
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        raise ctx.fail("rows", "missing or empty")
    combos = _parent_combos(var)
    by_combo: dict[tuple[str, ...], int] = {}
    parameters: list[Parameter] = []
    # per combo: slice into ``parameters`` and the list of states they cover
    layout: dict[tuple[str, ...], tuple[int, list[int]]] = {}
    binary = var.states == structure.YES_NO
    for i, row in enumerate(rows):
        where = f"rows[{i}]"
        row = _mapping(ctx, row, where)
        _check_keys(ctx, row, where, {"given", "probabilities"}, {"given", "probabilities"} | _SOURCE_FIELDS)
        given = _mapping(ctx, row["given"] if row["given"] is not None else {}, f"{where}.given")
        given = {k: _state(v) for k, v in given.items()}
        if set(given) != set(var.parents):
            missing = sorted(set(var.parents) - set(given))
            extra = sorted(set(given) - set(var.parents))
            problem = f"missing parent {missing[0]!r}" if missing else f"{extra[0]!r} is not a parent of {var.name}"
            raise ctx.fail(f"{where}.given", problem)
        for parent, state in given.items():
            if state not in structure.BY_NAME[parent].states:
                raise ctx.fail(f"{where}.given.{parent}",
                               f"unknown state {state!r}; states are {', '.join(structure.BY_NAME[parent].states)}")
        combo = tuple(given[p] for p in var.parents)
        if combo in by_combo:
            raise ctx.fail(f"{where}.given", f"duplicate of rows[{by_combo[combo]}]")
        by_combo[combo] = i
        probs = _mapping(ctx, row["probabilities"], f"{where}.probabilities")
        if set(probs) != set(var.states):
            raise ctx.fail(f"{where}.probabilities", f"must give exactly the states {', '.join(var.states)}")
        values = {s: _probability(ctx, probs[s], f"{where}.probabilities.{s}") for s in var.states}
        total = sum(values.values())
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise ctx.fail(f"{where}.probabilities", f"sums to {total!r}, not 1 within {SUM_TOLERANCE}")
        ranges = _mapping(ctx, row.get("range"), f"{where}.range") if row.get("range") is not None else None
        if ranges is None:
            raise ctx.fail(f"{where}.range", "missing")
        label = ",".join(f"{p}={s}" for p, s in given.items()) or "prior"
        covered = ["yes"] if binary else list(var.states)
        start = len(parameters)
        for state in covered:
            if state not in ranges:
                raise ctx.fail(f"{where}.range.{state}", "missing")
            parameters.append(_sourced(ctx, row, where, f"{var.name}[{label}]={state}", values[state],
                                       "probability", ranges[state]))
        extra = sorted(set(ranges) - set(covered))
        if extra:
            raise ctx.fail(f"{where}.range.{extra[0]}", "not needed: it follows from the other states")
        layout[combo] = (start, [var.states.index(s) for s in covered])
    missing = [c for c in combos if c not in by_combo]
    if missing:
        label = ", ".join(f"{p}={s}" for p, s in zip(var.parents, missing[0]))
        raise ctx.fail("rows", f"no row for {label}")
    shape = _shape(var)
    index_of = {c: np.unravel_index(k, shape[1:]) if shape[1:] else () for k, c in enumerate(combos)}

    def build(values: np.ndarray) -> np.ndarray:
        lead = values.shape[:-1]
        table = np.zeros(lead + shape)
        for combo, (start, states) in layout.items():
            idx = (Ellipsis, slice(None), *index_of[combo])
            if binary:
                p = values[..., start]
                col = np.stack([p, 1.0 - p], axis=-1)
            else:
                v = values[..., start:start + len(states)]
                col = v / v.sum(axis=-1, keepdims=True)
            table[idx] = col
        return table

    return parameters, build


def _forbid(ctx: _Ctx, data: dict[str, Any], keys: tuple[str, ...], kind: str) -> None:
    for key in keys:
        if key in data:
            raise ctx.fail(key, f"not used by kind {kind}")


def _binary_parents(ctx: _Ctx, kind: str) -> None:
    for parent in ctx.var.parents:
        if structure.BY_NAME[parent].states != structure.YES_NO:
            raise ctx.fail("kind", f"{kind} needs yes/no parents; {parent} is not")


def _load_noisy_or(ctx: _Ctx, data: dict[str, Any]):
    var = ctx.var
    _forbid(ctx, data, ("rows", "baseline", "odds_ratios"), "noisy_or")
    if var.states != structure.YES_NO:
        raise ctx.fail("kind", "noisy_or needs a yes/no node")
    _binary_parents(ctx, "noisy_or")
    leak = _mapping(ctx, data.get("leak"), "leak") if "leak" in data else None
    if leak is None:
        raise ctx.fail("leak", "missing")
    _check_keys(ctx, leak, "leak", {"probability"}, {"probability"} | _SOURCE_FIELDS)
    parameters = [_sourced(ctx, leak, "leak", f"{var.name}.leak",
                           _probability(ctx, leak["probability"], "leak.probability"), "probability",
                           leak.get("range"))]
    causes = data.get("causes")
    if not isinstance(causes, list):
        raise ctx.fail("causes", "missing or not a list")
    seen: dict[str, int] = {}
    for i, cause in enumerate(causes):
        where = f"causes[{i}]"
        cause = _mapping(ctx, cause, where)
        _check_keys(ctx, cause, where, {"parent", "probability"}, {"parent", "probability"} | _SOURCE_FIELDS)
        parent = cause["parent"]
        if parent not in var.parents:
            raise ctx.fail(f"{where}.parent", f"{parent!r} is not a parent of {var.name}")
        if parent in seen:
            raise ctx.fail(f"{where}.parent", f"{parent!r} repeats causes[{seen[parent]}]")
        seen[parent] = i
        value = _probability(ctx, cause["probability"], f"{where}.probability")
        parameters.append(_sourced(ctx, cause, where, f"{var.name}.cause[{parent}]", value, "probability",
                                   cause.get("range")))
    missing = [p for p in var.parents if p not in seen]
    if missing:
        raise ctx.fail("causes", f"no entry for parent {missing[0]!r}")
    order = [seen[p] for p in var.parents]  # parameter index (minus leak) of each parent axis
    shape = _shape(var)

    def build(values: np.ndarray) -> np.ndarray:
        lead = values.shape[:-1]
        p_no = np.broadcast_to((1.0 - values[..., 0]).reshape(lead + (1,) * len(var.parents)),
                               lead + shape[1:]).copy()
        for axis, k in enumerate(order):
            q = 1.0 - values[..., 1 + k]
            # parent state index 0 is "yes": only then does the cause act
            factor = np.stack([q, np.ones_like(q)], axis=-1)
            bshape = lead + tuple(2 if a == axis else 1 for a in range(len(var.parents)))
            p_no = p_no * factor.reshape(bshape)
        return np.stack([1.0 - p_no, p_no], axis=len(lead))

    return parameters, build


def _load_logistic(ctx: _Ctx, data: dict[str, Any]):
    var = ctx.var
    _forbid(ctx, data, ("rows", "leak", "causes"), "logistic")
    if var.states != structure.YES_NO:
        raise ctx.fail("kind", "logistic needs a yes/no node")
    if "baseline" not in data:
        raise ctx.fail("baseline", "missing")
    base = _mapping(ctx, data["baseline"], "baseline")
    _check_keys(ctx, base, "baseline", {"probability", "reference"},
                {"probability", "reference"} | _SOURCE_FIELDS)
    reference = {k: _state(v) for k, v in _mapping(ctx, base["reference"], "baseline.reference").items()}
    for parent in var.parents:
        if parent not in reference:
            raise ctx.fail("baseline.reference", f"missing parent {parent!r}")
        if reference[parent] not in structure.BY_NAME[parent].states:
            raise ctx.fail(f"baseline.reference.{parent}", f"unknown state {reference[parent]!r}")
    extra = sorted(set(reference) - set(var.parents))
    if extra:
        raise ctx.fail("baseline.reference", f"{extra[0]!r} is not a parent of {var.name}")
    p0 = _probability(ctx, base["probability"], "baseline.probability")
    if not 0.0 < p0 < 1.0:
        raise ctx.fail("baseline.probability", f"must lie strictly between 0 and 1, got {p0!r}")
    parameters = [_sourced(ctx, base, "baseline", f"{var.name}.baseline", p0, "probability", base.get("range"))]
    odds = data.get("odds_ratios")
    if not isinstance(odds, list):
        raise ctx.fail("odds_ratios", "missing or not a list")
    slots: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(odds):
        where = f"odds_ratios[{i}]"
        entry = _mapping(ctx, entry, where)
        _check_keys(ctx, entry, where, {"parent", "state", "value"}, {"parent", "state", "value"} | _SOURCE_FIELDS)
        parent, state = entry["parent"], _state(entry["state"])
        if parent not in var.parents:
            raise ctx.fail(f"{where}.parent", f"{parent!r} is not a parent of {var.name}")
        if state not in structure.BY_NAME[parent].states:
            raise ctx.fail(f"{where}.state", f"unknown state {state!r} of {parent}")
        if state == reference[parent]:
            raise ctx.fail(f"{where}.state", f"{state!r} is the reference state of {parent}")
        if (parent, state) in slots:
            raise ctx.fail(where, f"repeats odds_ratios[{slots[(parent, state)]}]")
        value = _number(ctx, entry["value"], f"{where}.value")
        if value <= 0:
            raise ctx.fail(f"{where}.value", f"must be > 0, got {value!r}")
        slots[(parent, state)] = len(parameters)
        parameters.append(_sourced(ctx, entry, where, f"{var.name}.or[{parent}={state}]", value, "odds_ratio",
                                   entry.get("range")))
    for parent in var.parents:
        for state in structure.BY_NAME[parent].states:
            if state != reference[parent] and (parent, state) not in slots:
                raise ctx.fail("odds_ratios", f"no odds ratio for {parent}={state}")
    shape = _shape(var)
    # per parent axis: for each state, the parameter index of its OR (None at the reference)
    axes = [[slots.get((p, s)) for s in structure.BY_NAME[p].states] for p in var.parents]

    def build(values: np.ndarray) -> np.ndarray:
        lead = values.shape[:-1]
        b = values[..., 0]
        logit = (np.log(b) - np.log1p(-b)).reshape(lead + (1,) * len(var.parents))
        for axis, idx in enumerate(axes):
            col = np.stack([np.zeros(lead) if k is None else np.log(values[..., k]) for k in idx], axis=-1)
            bshape = lead + tuple(len(idx) if a == axis else 1 for a in range(len(var.parents)))
            logit = logit + col.reshape(bshape)
        p_yes = 1.0 / (1.0 + np.exp(-logit))
        p_yes = np.broadcast_to(p_yes, lead + shape[1:])
        return np.stack([p_yes, 1.0 - p_yes], axis=len(lead))

    return parameters, build


# ---------------------------------------------------------------------------
# Triage policy
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TriageRule:
    """Raise the triage to ``level`` when ``P(cause = yes)`` reaches ``threshold``.

    A rule with ``when`` applies only while the evidence holds every state of it
    (a lower threshold for a symptomatic patient, say).
    """

    level: str
    cause: str
    threshold: float
    reasoning: str
    when: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceRule:
    """Raise the triage to ``level`` when the evidence holds every state of ``when``."""

    when: dict[str, str]
    level: str
    reason: str


@dataclass(frozen=True)
class TriagePolicy:
    """The thresholds of ``triage.yaml`` (see that file for the reasoning)."""

    rules: tuple[TriageRule, ...]
    evidence_rules: tuple["EvidenceRule", ...]
    self_care_causes: tuple[str, ...]
    self_care_threshold: float
    advice_threshold: float
    dvt_safety_net: float
    #: Red-flag questions are asked first while a dangerous cause is at least this probable.
    red_flag_threshold: float


def _sourced_text(ctx: _Ctx, obj: dict[str, Any], where: str) -> None:
    """Check the provenance of an entry that carries no number."""
    _sourced(ctx, {**obj, "range": [0.0, 0.0]}, where, where, 0.0, "probability", [0.0, 0.0])


def _load_triage(name: str, raw: bytes, references: dict[str, Any]) -> TriagePolicy:
    var = structure.Variable("triage", "policy", "")
    ctx = _Ctx(name, var, references)
    data = _mapping(ctx, _read_yaml(name, raw), "file")
    _check_keys(ctx, data, "", {"rules", "evidence_rules", "self_care", "advice_threshold", "dvt_safety_net",
                                "red_flag_threshold"}, {"population", "notes"})
    if not isinstance(data["rules"], list) or not data["rules"]:
        raise ctx.fail("rules", "must be a non-empty list")
    rules = []
    for i, rule in enumerate(data["rules"]):
        where = f"rules[{i}]"
        rule = _mapping(ctx, rule, where)
        _check_keys(ctx, rule, where, {"level", "cause", "threshold"},
                    {"level", "cause", "threshold", "when"} | _SOURCE_FIELDS)
        when = {k: _state(v) for k, v in _mapping(ctx, rule.get("when") or {}, f"{where}.when").items()}
        for name, state in when.items():
            if name not in structure.BY_NAME or state not in structure.BY_NAME[name].states:
                raise ctx.fail(f"{where}.when.{name}", f"no variable {name!r} with state {state!r}")
        if rule["level"] not in LEVELS[:-1]:
            raise ctx.fail(f"{where}.level", f"must be one of {', '.join(LEVELS[:-1])}, got {rule['level']!r}")
        if rule["cause"] not in structure.TARGETS:
            raise ctx.fail(f"{where}.cause", f"{rule['cause']!r} is not a cause or complication")
        value = _probability(ctx, rule["threshold"], f"{where}.threshold")
        param = _sourced(ctx, rule, where, f"triage.{rule['cause']}", value, "probability", rule.get("range"))
        rules.append(TriageRule(rule["level"], rule["cause"], value, param.reasoning or "", when))
    evidence_rules = []
    if not isinstance(data["evidence_rules"] or [], list):
        raise ctx.fail("evidence_rules", f"must be a list, got {type(data['evidence_rules']).__name__}")
    for i, rule in enumerate(data["evidence_rules"] or []):
        where = f"evidence_rules[{i}]"
        rule = _mapping(ctx, rule, where)
        _check_keys(ctx, rule, where, {"when", "level", "reason"}, {"when", "level", "reason"} | _SOURCE_FIELDS)
        when = {k: _state(v) for k, v in _mapping(ctx, rule["when"], f"{where}.when").items()}
        for name, state in when.items():
            if name not in structure.BY_NAME or state not in structure.BY_NAME[name].states:
                raise ctx.fail(f"{where}.when.{name}", f"no variable {name!r} with state {state!r}")
        if rule["level"] not in LEVELS:
            raise ctx.fail(f"{where}.level", f"must be one of {', '.join(LEVELS)}, got {rule['level']!r}")
        _sourced_text(ctx, rule, where)
        evidence_rules.append(EvidenceRule(when, rule["level"], str(rule["reason"])))
    sc = _mapping(ctx, data["self_care"], "self_care")
    _check_keys(ctx, sc, "self_care", {"causes", "threshold"}, {"causes", "threshold"} | _SOURCE_FIELDS)
    if not isinstance(sc["causes"], list) or any(c not in structure.TARGETS for c in sc["causes"]):
        raise ctx.fail("self_care.causes", "must be a list of causes")
    threshold = _probability(ctx, sc["threshold"], "self_care.threshold")
    _sourced(ctx, sc, "self_care", "triage.self_care", threshold, "probability", sc.get("range"))
    return TriagePolicy(
        rules=tuple(rules),
        evidence_rules=tuple(evidence_rules),
        self_care_causes=tuple(sc["causes"]),
        self_care_threshold=threshold,
        advice_threshold=_probability(ctx, data["advice_threshold"], "advice_threshold"),
        dvt_safety_net=_probability(ctx, data["dvt_safety_net"], "dvt_safety_net"),
        red_flag_threshold=_red_flag_threshold(ctx, data["red_flag_threshold"]),
    )


def _red_flag_threshold(ctx: _Ctx, raw: Any) -> float:
    """The sourced ``red_flag_threshold`` entry of ``triage.yaml``."""
    entry = _mapping(ctx, raw, "red_flag_threshold")
    _check_keys(ctx, entry, "red_flag_threshold", {"threshold"}, {"threshold"} | _SOURCE_FIELDS)
    value = _probability(ctx, entry["threshold"], "red_flag_threshold.threshold")
    _sourced(ctx, entry, "red_flag_threshold", "triage.red_flag_threshold", value, "probability",
             entry.get("range"))
    return value
