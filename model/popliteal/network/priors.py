"""Read, validate and build the network's conditional probability tables.

Every number of the model lives in ``priors/`` as one YAML file per node (see
``priors/README.md``). This module reads those files with a safe loader,
checks them against :mod:`popliteal.network.structure` and turns each into a numpy
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
KINDS = ("table", "noisy_or", "logistic", "mixture")
ENV_VAR = "POPLITEAL_PRIORS"
REFERENCES_FILE = "references.yaml"
TRIAGE_FILE = "triage.yaml"
ADVICE_FILE = "advice.yaml"
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
    package = Path(__file__).resolve().parents[1]  # popliteal/, this file is popliteal/network/priors.py
    packaged = package / "priors"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "priors"


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
    #: The parsed documents of triage.yaml and advice.yaml, which the cache stores as JSON.
    policy_documents: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tables(self) -> dict[str, np.ndarray]:
        """Every node's table as its file gives it, ``{node: (card, *parent_cards)}``."""
        return {n: self.nodes[n].table for n in structure.NAMES}

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
    policy_stems = {Path(name).stem for name in (REFERENCES_FILE, TRIAGE_FILE, ADVICE_FILE)}
    for stem in sorted(policy_stems):
        if stem not in files:
            raise PriorsError(f"{directory / (stem + '.yaml')}: file missing")
    unknown = sorted(set(files) - set(structure.NAMES) - policy_stems)
    if unknown:
        raise PriorsError(
            f"{files[unknown[0]].name}: node: no variable called {unknown[0]!r} in the structure"
        )
    for var in structure.VARIABLES:
        if var.name not in files:
            raise PriorsError(f"{var.name}.yaml: file missing from {directory}")
    for stem, path in files.items():  # each file read once: what is validated is what is digested
        raw[stem] = _read_file(path)
    ref_stem, triage_stem, advice_stem = (Path(n).stem for n in (REFERENCES_FILE, TRIAGE_FILE, ADVICE_FILE))
    try:
        references = _load_references(files[ref_stem].name, raw[ref_stem])
        policy_documents = {TRIAGE_FILE: _read_yaml(TRIAGE_FILE, raw[triage_stem]),
                            ADVICE_FILE: _read_yaml(ADVICE_FILE, raw[advice_stem])}
        triage = policy_from_documents(policy_documents[TRIAGE_FILE], policy_documents[ADVICE_FILE], references)
        nodes: dict[str, NodePrior] = {}
        for var in structure.VARIABLES:
            nodes[var.name] = _load_node(files[var.name].name, raw[var.name], var, references)
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        # a shape the checks above did not foresee: still one line naming the file
        raise PriorsError(f"{_where(exc)}: file: malformed ({type(exc).__name__}: {_short(exc)})") from None
    return Priors(directory=directory, nodes=nodes, references=references, digest=content_digest(raw),
                  triage=triage, policy_documents=policy_documents)


def content_digest(raw: dict[str, Any]) -> str:
    """The digest of a priors folder from the bytes of its files, ``{file stem: bytes}``.

    SHA-256 over the references, the triage and advice policy and every node's file (its
    name, a NUL, its bytes) in structure order; the first 16 hex digits.

    Raises
    ------
    KeyError
        When a file of the structure is missing from ``raw``.
    """
    digest = hashlib.sha256()
    digest.update(raw[Path(REFERENCES_FILE).stem])
    digest.update(raw[Path(TRIAGE_FILE).stem])
    digest.update(raw[Path(ADVICE_FILE).stem])
    for var in structure.VARIABLES:
        digest.update(var.name.encode() + b"\0" + raw[var.name])
    return digest.hexdigest()[:16]


def _short(exc: BaseException) -> str:
    from ..common.messages import shorten

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
    from ..common.safeyaml import YamlError, load_text

    try:
        return load_text(raw, name)
    except YamlError as exc:
        raise PriorsError(str(exc)) from None


def _read_file(path: Path) -> bytes:
    """The bytes of one priors file: a regular file, never a FIFO, folder or loop (one-line errors)."""
    from ..common.atomic import UnreadableFile, read_regular

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
        from ..common.messages import shorten

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
                {"description", "population", "notes", "rows", "leak", "causes", "baseline", "odds_ratios",
                 "scaled_by"})
    if data["node"] != var.name:
        raise ctx.fail("node", f"must be {var.name!r} (the file name), got {data['node']!r}")
    kind = data["kind"]
    if kind not in KINDS:
        raise ctx.fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    loader = {"table": _load_table, "noisy_or": _load_noisy_or, "logistic": _load_logistic,
              "mixture": _load_mixture}[kind]
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


def _distribution(ctx: _Ctx, entry: dict[str, Any], where: str) -> tuple[dict[str, float], dict[str, Any]]:
    """The ``probabilities`` of every state of the node (summing to 1) and the ``range`` mapping."""
    var = ctx.var
    probs = _mapping(ctx, entry["probabilities"], f"{where}.probabilities")
    if set(probs) != set(var.states):
        raise ctx.fail(f"{where}.probabilities", f"must give exactly the states {', '.join(var.states)}")
    values = {s: _probability(ctx, probs[s], f"{where}.probabilities.{s}") for s in var.states}
    total = sum(values.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ctx.fail(f"{where}.probabilities", f"sums to {total!r}, not 1 within {SUM_TOLERANCE}")
    ranges = _mapping(ctx, entry.get("range"), f"{where}.range") if entry.get("range") is not None else None
    if ranges is None:
        raise ctx.fail(f"{where}.range", "missing")
    return values, ranges


def _load_table(ctx: _Ctx, data: dict[str, Any]):
    var = ctx.var
    _forbid(ctx, data, ("leak", "causes", "baseline", "odds_ratios", "scaled_by"), "table")
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
        values, ranges = _distribution(ctx, row, where)
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
    """Noisy-OR with a leak; a parent may instead scale the whole probability (``scaled_by``).

    ``P(yes | parents) = prod f_j * (1 - (1 - leak) * prod (1 - p_i))`` over the active causes ``i``
    and the active scaling parents ``j``. A yes/no cause is active in ``yes``; a cause with more
    states (``pregnancy``) has one entry, with its own ``p``, for each ``state`` that causes the
    finding, and is inactive in the states it does not list. A scaling parent is active in its
    ``state`` (``yes`` unless listed: a
    finding that needs an injury is scaled by ``recent_trauma`` in state ``no``). A factor ``f_j``
    below 1 is an exclusion criterion: growing
    pains, a diagnosis of exclusion, are not diagnosed in a child who limps or has a swollen joint
    (the Peterson criteria), so with them the finding is ``f_j`` times as likely as without (a
    likelihood ratio of about ``f_j``).
    """
    var = ctx.var
    _forbid(ctx, data, ("rows", "baseline", "odds_ratios"), "noisy_or")
    if var.states != structure.YES_NO:
        raise ctx.fail("kind", "noisy_or needs a yes/no node")
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
    seen: dict[str, str] = {}
    slots = _read_causes(ctx, causes, parameters, seen)
    scalers = _read_scalers(ctx, data, parameters, seen)
    missing = [p for p in var.parents if p not in seen]
    if missing:
        raise ctx.fail("causes", f"no entry for parent {missing[0]!r}")
    shape = _shape(var)
    n_par = len(var.parents)

    def build(values: np.ndarray) -> np.ndarray:
        lead = values.shape[:-1]
        p_no = np.broadcast_to((1.0 - values[..., 0]).reshape(lead + (1,) * n_par), lead + shape[1:]).copy()
        for axis, parent in enumerate(var.parents):
            if parent in slots:
                q = np.ones(lead + (shape[1 + axis],))
                for state, index in slots[parent].items():
                    q[..., state] = 1.0 - values[..., index]
                p_no = p_no * q.reshape(lead + tuple(q.shape[-1] if a == axis else 1 for a in range(n_par)))
        p_yes = _scale(values, var, scalers) * (1.0 - p_no)
        return np.stack([p_yes, 1.0 - p_yes], axis=len(lead))

    return parameters, build


def _read_causes(ctx: _Ctx, causes: list[Any], parameters: list[Parameter],
                 seen: dict[str, str]) -> dict[str, dict[int, int]]:
    """The ``causes`` of a noisy-OR: for each parent, the parameter slot of each state that causes the finding.

    A yes/no parent has one entry, active in ``yes`` (its parameter keeps the name
    ``node.cause[parent]``); a parent with more states has one entry per causing ``state``
    (``node.cause[parent=state]``), and the states it does not list leave the finding to the others.
    """
    var = ctx.var
    slots: dict[str, dict[int, int]] = {}
    for i, entry in enumerate(causes):
        where = f"causes[{i}]"
        listed = isinstance(entry, dict) and entry.get("parent") in slots
        entry, parent, value = _parent_entry(ctx, entry, where, "probability", {} if listed else seen,
                                             optional=frozenset({"state"}))
        states = structure.BY_NAME[parent].states
        if states == structure.YES_NO:
            if listed:
                raise ctx.fail(f"{where}.parent", f"{parent!r} repeats {seen[parent]}")
            if _state(entry.get("state", "yes")) != "yes":
                raise ctx.fail(f"{where}.state", f"a yes/no cause acts in 'yes', got {entry['state']!r}")
            name = f"{var.name}.cause[{parent}]"
            state = 0
        else:
            if "state" not in entry:
                raise ctx.fail(f"{where}.state", f"missing: {parent} has the states {', '.join(states)}")
            label = _state(entry["state"])
            if label not in states:
                raise ctx.fail(f"{where}.state", f"unknown state {label!r} of {parent}")
            state = states.index(label)
            if state in slots.get(parent, {}):
                raise ctx.fail(f"{where}.state", f"{parent}={label} repeats an earlier entry")
            name = f"{var.name}.cause[{parent}={label}]"
        slots.setdefault(parent, {})[state] = len(parameters)
        parameters.append(_sourced(ctx, entry, where, name, value, "probability", entry.get("range")))
    for parent, states in slots.items():
        if len(states) == len(structure.BY_NAME[parent].states):
            raise ctx.fail("causes", f"every state of {parent} is listed: at least one must leave the finding "
                                     "to the other causes")
    return slots


def _parent_entry(ctx: _Ctx, entry: Any, where: str, value_key: str, seen: dict[str, str],
                  optional: frozenset[str] = frozenset()) -> tuple[dict[str, Any], str, float]:
    """One ``causes`` or ``scaled_by`` entry: its mapping, its parent (recorded in ``seen``) and its value."""
    entry = _mapping(ctx, entry, where)
    _check_keys(ctx, entry, where, {"parent", value_key}, {"parent", value_key} | set(optional) | _SOURCE_FIELDS)
    parent = entry["parent"]
    if parent not in ctx.var.parents:
        raise ctx.fail(f"{where}.parent", f"{parent!r} is not a parent of {ctx.var.name}")
    if parent in seen:
        raise ctx.fail(f"{where}.parent", f"{parent!r} repeats {seen[parent]}")
    seen[parent] = where
    return entry, parent, _probability(ctx, entry[value_key], f"{where}.{value_key}")


def _read_scalers(ctx: _Ctx, data: dict[str, Any], parameters: list[Parameter],
                  seen: dict[str, str]) -> dict[str, tuple[int, int]]:
    """The ``scaled_by`` entries: for each scaling parent, its parameter slot and the state it acts in.

    A scaling parent multiplies the whole probability of ``yes`` by its ``factor`` while it is in
    its listed ``state`` (``yes`` unless given): an exclusion criterion (a factor below 1) or a
    gate (a factor 0: a tear that is not there causes no pain).
    """
    var = ctx.var
    entries = data.get("scaled_by", [])
    if not isinstance(entries, list):
        raise ctx.fail("scaled_by", "must be a list")
    scalers: dict[str, tuple[int, int]] = {}
    for i, entry in enumerate(entries):
        where = f"scaled_by[{i}]"
        entry, parent, value = _parent_entry(ctx, entry, where, "factor", seen, optional=frozenset({"state"}))
        if structure.BY_NAME[parent].states != structure.YES_NO:
            raise ctx.fail(f"{where}.parent", f"a scaling parent must be yes/no; {parent} is not")
        state = _state(entry.get("state", "yes"))
        if state not in structure.YES_NO:
            raise ctx.fail(f"{where}.state", f"must be 'yes' or 'no', got {state!r}")
        scalers[parent] = (len(parameters), structure.YES_NO.index(state))
        parameters.append(_sourced(ctx, entry, where, f"{var.name}.factor[{parent}]", value, "probability",
                                   entry.get("range")))
    return scalers


def _on_axis(lead: tuple[int, ...], n_par: int, axis: int, value: np.ndarray, state: int) -> np.ndarray:
    """``value`` in the given state of the parent on ``axis`` and 1 in its other state, broadcastable."""
    ones = np.ones_like(value)
    col = np.stack([value, ones] if state == 0 else [ones, value], axis=-1)
    return col.reshape(lead + tuple(2 if a == axis else 1 for a in range(n_par)))


def _scale(values: np.ndarray, var: Variable, scalers: dict[str, tuple[int, int]]) -> np.ndarray:
    """The product of the factors of the scaling parents, broadcastable over the node's parent states.

    It has a full axis only for the scaling parents (a scalar 1 without any), so a node without
    ``scaled_by`` pays nothing for it when its table is rebuilt for each uncertainty draw.
    """
    lead = values.shape[:-1]
    n_par = len(var.parents)
    scale = np.ones(())
    for axis, parent in enumerate(var.parents):
        if parent in scalers:
            index, state = scalers[parent]
            scale = scale * _on_axis(lead, n_par, axis, values[..., index], state)
    return scale


def _load_mixture(ctx: _Ctx, data: dict[str, Any]):
    """A multi-state finding shared by several causes: the mixture of their state distributions.

    ``P(state | parents) = (w d_leak(state) + sum_i d_i(state)) / (w + n_active)`` over the active
    (``yes``) parents ``i``: the finding reports one of the conditions present, each equally likely to
    set it, or a cause outside the model (the leak) with weight ``w`` (``leak.weight``, below 1: an
    unmodelled cause sets the finding less often than a modelled one that is present). Each ``d``
    lists every state with its range; with no cause present the finding follows ``d_leak``.
    """
    var = ctx.var
    _forbid(ctx, data, ("rows", "baseline", "odds_ratios", "scaled_by"), "mixture")
    if var.states == structure.YES_NO:
        raise ctx.fail("kind", "mixture is for a node with more states than yes/no")
    _binary_parents(ctx, "mixture")
    k = len(var.states)
    parameters: list[Parameter] = []

    def distribution(entry: Any, where: str, label: str) -> None:
        entry = _mapping(ctx, entry, where)
        required = {"probabilities"} | ({"parent"} if label != "leak" else {"weight", "weight_range"})
        _check_keys(ctx, entry, where, required, required | _SOURCE_FIELDS)
        values, ranges = _distribution(ctx, entry, where)
        for state in var.states:
            if state not in ranges:
                raise ctx.fail(f"{where}.range.{state}", "missing")
            parameters.append(_sourced(ctx, entry, where, f"{var.name}.{label}={state}", values[state],
                                       "probability", ranges[state]))

    if "leak" not in data:
        raise ctx.fail("leak", "missing")
    distribution(data["leak"], "leak", "leak")
    leak = _mapping(ctx, data["leak"], "leak")
    weight = _probability(ctx, leak["weight"], "leak.weight")
    if weight <= 0:
        raise ctx.fail("leak.weight", f"must be > 0, got {weight!r}")
    causes = data.get("causes")
    if not isinstance(causes, list):
        raise ctx.fail("causes", "missing or not a list")
    slot: dict[str, int] = {}
    for i, entry in enumerate(causes):
        where = f"causes[{i}]"
        parent = entry.get("parent") if isinstance(entry, dict) else None
        if parent not in var.parents:
            raise ctx.fail(f"{where}.parent", f"{parent!r} is not a parent of {var.name}")
        if parent in slot:
            raise ctx.fail(f"{where}.parent", f"{parent!r} repeats an earlier entry")
        slot[parent] = len(parameters)
        distribution(entry, where, f"cause[{parent}]")
    parameters.append(_sourced(ctx, {**leak, "range": leak["weight_range"]}, "leak", f"{var.name}.leak_weight",
                               weight, "probability", leak["weight_range"]))
    missing = [p for p in var.parents if p not in slot]
    if missing:
        raise ctx.fail("causes", f"no entry for parent {missing[0]!r}")
    shape = _shape(var)
    n_par = len(var.parents)

    def build(values: np.ndarray) -> np.ndarray:
        lead = values.shape[:-1]

        def dist(start: int) -> np.ndarray:
            d = values[..., start:start + k]
            return d / d.sum(axis=-1, keepdims=True)

        w = values[..., -1].reshape(lead + (1,) * (n_par + 1))
        total = np.broadcast_to(w * dist(0).reshape(lead + (k,) + (1,) * n_par), lead + shape).copy()
        count = np.broadcast_to(w, lead + (1,) + shape[1:]).copy()
        for axis, parent in enumerate(var.parents):
            on = np.zeros(2)
            on[0] = 1.0  # parent state index 0 is "yes"
            on = on.reshape((1,) * (len(lead) + 1) + tuple(2 if a == axis else 1 for a in range(n_par)))
            total = total + dist(slot[parent]).reshape(lead + (k,) + (1,) * n_par) * on
            count = count + on
        return total / count

    return parameters, build


def _load_logistic(ctx: _Ctx, data: dict[str, Any]):
    """Log-odds from a baseline probability and odds ratios; a yes/no parent may instead scale it.

    ``P(yes | parents) = prod f_j * expit(logit(p0) + sum log OR)`` over the parents' states away
    from the ``reference`` and the active ``scaled_by`` parents ``j`` (as in the noisy-OR): a cause
    that needs a condition to be present is gated by it (factor 0 while it is absent).
    """
    var = ctx.var
    _forbid(ctx, data, ("rows", "leak", "causes"), "logistic")
    if var.states != structure.YES_NO:
        raise ctx.fail("kind", "logistic needs a yes/no node")
    if "baseline" not in data:
        raise ctx.fail("baseline", "missing")
    base = _mapping(ctx, data["baseline"], "baseline")
    _check_keys(ctx, base, "baseline", {"probability", "reference"},
                {"probability", "reference"} | _SOURCE_FIELDS)
    p0 = _probability(ctx, base["probability"], "baseline.probability")
    if not 0.0 < p0 < 1.0:
        raise ctx.fail("baseline.probability", f"must lie strictly between 0 and 1, got {p0!r}")
    parameters = [_sourced(ctx, base, "baseline", f"{var.name}.baseline", p0, "probability", base.get("range"))]
    scalers = _read_scalers(ctx, data, parameters, {})
    graded = [p for p in var.parents if p not in scalers]
    reference = {k: _state(v) for k, v in _mapping(ctx, base["reference"], "baseline.reference").items()}
    for parent in graded:
        if parent not in reference:
            raise ctx.fail("baseline.reference", f"missing parent {parent!r}")
        if reference[parent] not in structure.BY_NAME[parent].states:
            raise ctx.fail(f"baseline.reference.{parent}", f"unknown state {reference[parent]!r}")
    extra = sorted(set(reference) - set(graded))
    if extra:
        raise ctx.fail("baseline.reference", f"{extra[0]!r} is not a parent of {var.name} graded by odds ratios")
    odds = data.get("odds_ratios")
    if not isinstance(odds, list):
        raise ctx.fail("odds_ratios", "missing or not a list")
    slots: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(odds):
        where = f"odds_ratios[{i}]"
        entry = _mapping(ctx, entry, where)
        _check_keys(ctx, entry, where, {"parent", "state", "value"}, {"parent", "state", "value"} | _SOURCE_FIELDS)
        parent, state = entry["parent"], _state(entry["state"])
        if parent not in graded:
            raise ctx.fail(f"{where}.parent", f"{parent!r} is not a parent of {var.name} graded by odds ratios")
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
    for parent in graded:
        for state in structure.BY_NAME[parent].states:
            if state != reference[parent] and (parent, state) not in slots:
                raise ctx.fail("odds_ratios", f"no odds ratio for {parent}={state}")
    shape = _shape(var)
    # per parent axis: for each state, the parameter index of its OR (None at the reference and for a scaler)
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
        p_yes = _scale(values, var, scalers) * np.broadcast_to(p_yes, lead + shape[1:])
        return np.stack([p_yes, 1.0 - p_yes], axis=len(lead))

    return parameters, build


# ---------------------------------------------------------------------------
# Triage and advice policy (triage.yaml, advice.yaml)
# ---------------------------------------------------------------------------

#: The condition kinds of triage.yaml and advice.yaml (see the head of triage.yaml).
EVIDENCE_CONDITIONS = ("evidence", "evidence_any", "no_evidence_of")
POSTERIOR_CONDITIONS = ("posterior_at_least", "posterior_any_at_least", "posterior_below", "posterior_sum_at_least")
#: Joins the causes whose probabilities a ``posterior_sum_at_least`` condition adds up.
SUM_JOIN = "+"
#: ``age_at_least: YEARS``: the age given in years reaches YEARS (with only ``age_group`` known:
#: every reported group starts at or above YEARS, see ``structure.AGE_GROUP_FROM``); ``age_below: YEARS``:
#: the age is known to be below YEARS (every reported group ends below it).
AGE_CONDITIONS = ("age_at_least", "age_below")
CONDITIONS = EVIDENCE_CONDITIONS + POSTERIOR_CONDITIONS + ("unanswered", "leading") + AGE_CONDITIONS


@dataclass(frozen=True)
class Condition:
    """One condition of a rule or an advice entry.

    ``items`` holds ``(variable, states)`` pairs for the evidence kinds, ``(cause, threshold)``
    pairs for the posterior kinds (``(tuple of causes, threshold)`` for ``posterior_sum_at_least``),
    names for ``unanswered`` and ``leading``, and ``(years,)`` for ``age_at_least`` and ``age_below``.
    """

    kind: str
    items: tuple


@dataclass(frozen=True)
class RedFlag:
    """A question ``next`` and the interview ask first (``red_flag_questions`` of ``triage.yaml``).

    It is a red flag while one of the causes it ``screens_for`` is at least ``red_flag_threshold``
    probable, or once everything in ``after`` is reported (``recent_trauma: yes``).
    """

    question: str
    screens_for: tuple[str, ...]
    after: tuple[tuple[str, frozenset[str]], ...]
    reason: str


@dataclass(frozen=True)
class Rule:
    """A triage rule: when every condition holds, the triage reaches ``level`` and shows ``advice``."""

    id: str
    level: str
    when: tuple[Condition, ...]
    reason: str
    advice: tuple[str, ...]


@dataclass(frozen=True)
class AdviceItem:
    """An advice text with the levels it may appear at and the conditions that show or hide it."""

    id: str
    text: str
    levels: tuple[str, ...]
    show_when: tuple[Condition, ...] | None
    hide_when: tuple[Condition, ...]
    signs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TriagePolicy:
    """The rules of ``triage.yaml`` and the texts of ``advice.yaml`` (see those files)."""

    rules: tuple[Rule, ...]
    default: Rule
    advice: tuple[AdviceItem, ...]
    #: A soft report counts as reporting a state when that state's likelihood reaches this.
    soft_evidence_threshold: float
    #: Red-flag questions are asked first while a dangerous cause is at least this probable.
    red_flag_threshold: float
    #: The red-flag questions, in file order.
    red_flags: tuple[RedFlag, ...] = ()
    #: What each level asks the patient to do (``levels.words``), keyed by level.
    level_words: tuple[tuple[str, str], ...] = ()
    #: The text table lists incidental conditions from this probability on, under this heading.
    incidental_shown: float = 0.2
    incidental_heading: str = ""

    def advice_by_id(self) -> dict[str, AdviceItem]:
        """The advice entries keyed by id."""
        return {a.id: a for a in self.advice}

    def threshold(self, rule_id: str, cause: str) -> float:
        """The threshold a rule sets on ``P(cause)``, for plots and tests."""
        rule = next(r for r in self.rules if r.id == rule_id)
        for cond in rule.when:
            for name, value in cond.items if cond.kind in POSTERIOR_CONDITIONS else ():
                if name == cause or (isinstance(name, tuple) and cause in name):
                    return value
        raise KeyError(f"rule {rule_id} sets no threshold on {cause}")


def _sourced_text(ctx: _Ctx, obj: dict[str, Any], where: str) -> None:
    """Check the provenance of an entry that carries no number."""
    _sourced(ctx, {**obj, "range": [0.0, 0.0]}, where, where, 0.0, "probability", [0.0, 0.0])


def _states_of(ctx: _Ctx, where: str, name: Any, raw: Any) -> tuple[str, frozenset[str]]:
    if name not in structure.BY_NAME:
        raise ctx.fail(where, f"no variable called {name!r}")
    values = raw if isinstance(raw, list) else [raw]
    states = frozenset(_state(v) for v in values)
    for state in sorted(states):
        if state not in structure.BY_NAME[name].states:
            raise ctx.fail(f"{where}", f"{name} has no state {state!r}; states are "
                                       f"{', '.join(structure.BY_NAME[name].states)}")
    if not states:
        raise ctx.fail(where, "must name at least one state")
    return name, states


def _conditions(ctx: _Ctx, raw: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(raw, list):
        raise ctx.fail(where, f"must be a list of conditions, got {type(raw).__name__}")
    out = []
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        entry = _mapping(ctx, entry, here)
        if len(entry) != 1:
            raise ctx.fail(here, f"must hold exactly one condition, one of {', '.join(CONDITIONS)}")
        kind, body = next(iter(entry.items()))
        if kind not in CONDITIONS:
            raise ctx.fail(f"{here}.{kind}", f"unknown condition; conditions are {', '.join(CONDITIONS)}")
        if kind in EVIDENCE_CONDITIONS:
            body = _mapping(ctx, body, f"{here}.{kind}")
            items = tuple(_states_of(ctx, f"{here}.{kind}.{k}", k, v) for k, v in body.items())
        elif kind in POSTERIOR_CONDITIONS:
            body = _mapping(ctx, body, f"{here}.{kind}")
            keys = {}
            for k in body:
                names = tuple(str(k).split(SUM_JOIN)) if kind == "posterior_sum_at_least" else (k,)
                for name in names:
                    if name not in structure.TARGETS:
                        raise ctx.fail(f"{here}.{kind}.{k}", f"{name!r} is not a cause or complication")
                if kind == "posterior_sum_at_least" and (len(names) < 2 or len(set(names)) < len(names)):
                    raise ctx.fail(f"{here}.{kind}.{k}", f"must join two or more different causes with "
                                                          f"{SUM_JOIN!r}, such as hamstring_tendinopathy"
                                                          f"{SUM_JOIN}popliteus_tendinopathy")
                keys[k] = names if kind == "posterior_sum_at_least" else k
            items = tuple((keys[k], _probability(ctx, v, f"{here}.{kind}.{k}")) for k, v in body.items())
        elif kind in AGE_CONDITIONS:
            if isinstance(body, bool) or not isinstance(body, (int, float)) or not 2 <= body <= 120:
                raise ctx.fail(f"{here}.{kind}", f"must be an age in years from 2 to 120, got {body!r}")
            items = (float(body),)
        else:
            if not isinstance(body, list) or not body:
                raise ctx.fail(f"{here}.{kind}", "must be a non-empty list of names")
            allowed = structure.TARGETS if kind == "leading" else structure.NAMES
            for k in body:
                if k not in allowed:
                    raise ctx.fail(f"{here}.{kind}", f"{k!r} is not a {'cause' if kind == 'leading' else 'variable'}")
            items = tuple(body)
        if not items:
            raise ctx.fail(f"{here}.{kind}", "is empty")
        out.append(Condition(kind, items))
    return tuple(out)


def policy_from_documents(triage_doc: Any, advice_doc: Any, references: dict[str, Any]) -> TriagePolicy:
    """Validate the parsed documents of ``triage.yaml`` and ``advice.yaml`` (also used by the cache)."""
    advice = _load_advice(ADVICE_FILE, advice_doc, references)
    known = {a.id for a in advice}
    var = structure.Variable("triage", "policy", "")
    ctx = _Ctx(TRIAGE_FILE, var, references)
    data = _mapping(ctx, triage_doc, "file")
    _check_keys(ctx, data, "", {"rules", "default", "soft_evidence_threshold", "red_flag_threshold",
                                "red_flag_questions", "levels", "incidental"}, {"population", "notes"})
    if not isinstance(data["rules"], list) or not data["rules"]:
        raise ctx.fail("rules", "must be a non-empty list")
    rules = []
    seen: dict[str, str] = {}
    for i, rule in enumerate(data["rules"]):
        where = f"rules[{i}]"
        rule = _mapping(ctx, rule, where)
        _check_keys(ctx, rule, where, {"id", "level", "when", "reason", "advice"},
                    {"threshold_range", "compatible_findings"} | _SOURCE_FIELDS)
        rid = rule["id"]
        if not isinstance(rid, str) or not rid.isidentifier():
            raise ctx.fail(f"{where}.id", f"must be a name such as calf_sign, got {rid!r}")
        if rid in seen:
            raise ctx.fail(f"{where}.id", f"{rid!r} repeats {seen[rid]}")
        seen[rid] = where
        if rule["level"] not in LEVELS:
            raise ctx.fail(f"{where}.level", f"must be one of {', '.join(LEVELS)}, got {rule['level']!r}")
        when = _conditions(ctx, rule["when"], f"{where}.when")
        if not when:
            raise ctx.fail(f"{where}.when", "must hold at least one condition")
        _compatible_findings(ctx, rule, where, when)
        reason = rule["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise ctx.fail(f"{where}.reason", "must be a non-empty text")
        ids = _advice_ids(ctx, rule["advice"], f"{where}.advice", known)
        thresholds = [v for c in when if c.kind in POSTERIOR_CONDITIONS for _, v in c.items]
        if thresholds:
            if "threshold_range" not in rule:
                raise ctx.fail(f"{where}.threshold_range", "missing (the plausible range of its threshold)")
            for k, value in enumerate(thresholds[:1]):
                _sourced(ctx, {**rule, "range": rule["threshold_range"]}, where, f"triage.{rid}", value,
                         "probability", rule["threshold_range"])
        else:
            if "threshold_range" in rule:
                raise ctx.fail(f"{where}.threshold_range", "not used: the rule sets no probability threshold")
            _sourced_text(ctx, rule, where)
        rules.append(Rule(rid, rule["level"], when, reason.strip(), ids))
    default = _mapping(ctx, data["default"], "default")
    _check_keys(ctx, default, "default", {"level", "reason", "advice"}, set())
    if default["level"] not in LEVELS:
        raise ctx.fail("default.level", f"must be one of {', '.join(LEVELS)}, got {default['level']!r}")
    default_rule = Rule("default", default["level"], (), str(default["reason"]),
                        _advice_ids(ctx, default["advice"], "default.advice", known))
    soft = _probability(ctx, data["soft_evidence_threshold"], "soft_evidence_threshold")
    if not 0.0 < soft < 1.0:
        raise ctx.fail("soft_evidence_threshold", f"must lie strictly between 0 and 1, got {soft!r}")
    shown_from, heading = _incidental(ctx, data["incidental"])
    return TriagePolicy(rules=tuple(rules), default=default_rule, advice=advice, soft_evidence_threshold=soft,
                        red_flag_threshold=_red_flag_threshold(ctx, data["red_flag_threshold"]),
                        red_flags=_red_flags(ctx, data["red_flag_questions"]),
                        level_words=_level_words(ctx, data["levels"]), incidental_shown=shown_from,
                        incidental_heading=heading)


def _compatible_findings(ctx: _Ctx, rule: dict[str, Any], where: str, when: tuple[Condition, ...]) -> None:
    """A self-care rule must decide about every finding: required, excluded, or compatible with it.

    A rule that sends a patient home must not let a finding through because nobody thought of
    it (a lump behind a child's knee, a knee that gives way after sport): each finding is named
    in its ``evidence`` (the pattern), in its ``no_evidence_of`` (a warning sign), or in its
    ``compatible_findings`` (may be reported, and the patient may still be sent home). A finding
    added to the network thus fails here until someone has decided.
    """
    key = f"{where}.compatible_findings"
    if rule["level"] != "self_care":
        if "compatible_findings" in rule:
            raise ctx.fail(key, "only a self_care rule lists the findings it lets through")
        return
    if "compatible_findings" not in rule:
        raise ctx.fail(key, "missing (a self_care rule names the findings that do not block it)")
    raw = rule["compatible_findings"]
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise ctx.fail(key, "must be a list of finding names")
    named = {name for c in when if c.kind in ("evidence", "no_evidence_of") for name, _ in c.items}
    for name in raw:
        if name not in structure.FINDINGS:
            raise ctx.fail(key, f"{name!r} is not a finding")
        if name in named:
            raise ctx.fail(key, f"{name!r} is already a condition of the rule (evidence or no_evidence_of)")
    for name in structure.FINDINGS:
        if name not in named and name not in raw:
            raise ctx.fail(key, f"the finding {name!r} is neither required (evidence), excluded "
                                f"(no_evidence_of) nor listed here: decide whether a patient who reports "
                                f"it may still be sent home")


def _level_words(ctx: _Ctx, raw: Any) -> tuple[tuple[str, str], ...]:
    """The sourced ``levels`` entry of ``triage.yaml``: a text for every level, most urgent first."""
    entry = _mapping(ctx, raw, "levels")
    _check_keys(ctx, entry, "levels", {"words"}, _SOURCE_FIELDS)
    words = _mapping(ctx, entry["words"], "levels.words")
    _check_keys(ctx, words, "levels.words", set(LEVELS), set())
    for level in LEVELS:
        if not isinstance(words[level], str) or not words[level].strip():
            raise ctx.fail(f"levels.words.{level}", "must be a non-empty text")
    _sourced_text(ctx, entry, "levels")
    return tuple((level, words[level].strip()) for level in LEVELS)


def _incidental(ctx: _Ctx, raw: Any) -> tuple[float, str]:
    """The sourced ``incidental`` entry of ``triage.yaml``: from which probability, under which heading."""
    entry = _mapping(ctx, raw, "incidental")
    _check_keys(ctx, entry, "incidental", {"shown_from", "heading"}, _SOURCE_FIELDS)
    value = _probability(ctx, entry["shown_from"], "incidental.shown_from")
    heading = entry["heading"]
    if not isinstance(heading, str) or not heading.strip():
        raise ctx.fail("incidental.heading", "must be a non-empty text")
    _sourced_text(ctx, entry, "incidental")
    return value, heading.strip()


def _advice_ids(ctx: _Ctx, raw: Any, where: str, known: set[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise ctx.fail(where, "must be a list of advice ids")
    for a in raw:
        if a not in known:
            raise ctx.fail(where, f"{a!r} is not an id of {ADVICE_FILE}")
    return tuple(raw)


def _load_advice(name: str, doc: Any, references: dict[str, Any]) -> tuple[AdviceItem, ...]:
    ctx = _Ctx(name, structure.Variable("advice", "policy", ""), references)
    data = _mapping(ctx, doc, "file")
    _check_keys(ctx, data, "", {"advice"}, {"notes"})
    if not isinstance(data["advice"], list) or not data["advice"]:
        raise ctx.fail("advice", "must be a non-empty list")
    items = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(data["advice"]):
        where = f"advice[{i}]"
        entry = _mapping(ctx, entry, where)
        _check_keys(ctx, entry, where, {"id", "text"}, {"levels", "show_when", "hide_when", "signs"} | _SOURCE_FIELDS)
        aid = entry["id"]
        if not isinstance(aid, str) or not aid.isidentifier():
            raise ctx.fail(f"{where}.id", f"must be a name such as pech, got {aid!r}")
        if aid in seen:
            raise ctx.fail(f"{where}.id", f"{aid!r} repeats {seen[aid]}")
        seen[aid] = where
        text = entry["text"]
        if not isinstance(text, str) or not text.strip():
            raise ctx.fail(f"{where}.text", "must be a non-empty text")
        levels = entry.get("levels", list(LEVELS))
        if not isinstance(levels, list) or not levels or any(lv not in LEVELS for lv in levels):
            raise ctx.fail(f"{where}.levels", f"must be a list of levels ({', '.join(LEVELS)})")
        show = _conditions(ctx, entry["show_when"], f"{where}.show_when") if "show_when" in entry else None
        hide = _conditions(ctx, entry.get("hide_when", []), f"{where}.hide_when")
        signs_raw = _mapping(ctx, entry.get("signs", {}), f"{where}.signs")
        for k, v in signs_raw.items():
            if k not in structure.BY_NAME or not isinstance(v, str):
                raise ctx.fail(f"{where}.signs.{k}", "must map a variable to a text")
        if ("{signs}" in text) != bool(signs_raw):
            raise ctx.fail(f"{where}.signs", "a text with {signs} needs signs, and signs need {signs} in the text")
        _sourced_text(ctx, entry, where)
        items.append(AdviceItem(aid, text.strip(), tuple(levels), show, hide, tuple(signs_raw.items())))
    return tuple(items)


def _red_flags(ctx: _Ctx, raw: Any) -> tuple[RedFlag, ...]:
    """The sourced ``red_flag_questions`` of ``triage.yaml``: each a risk factor or finding one can ask."""
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("red_flag_questions", "must be a non-empty list")
    flags, seen = [], {}
    for i, entry in enumerate(raw):
        where = f"red_flag_questions[{i}]"
        entry = _mapping(ctx, entry, where)
        _check_keys(ctx, entry, where, {"question", "reason"}, {"question", "reason", "screens_for", "after"}
                    | _SOURCE_FIELDS)
        name = entry["question"]
        var = structure.BY_NAME.get(name)
        if var is None or var.kind not in (structure.RISK_FACTOR, structure.FINDING):
            raise ctx.fail(f"{where}.question", f"must be a risk factor or finding one can ask, got {name!r}")
        if name in seen:
            raise ctx.fail(f"{where}.question", f"{name!r} repeats {seen[name]}")
        seen[name] = where
        screens = entry.get("screens_for", [])
        if not isinstance(screens, list) or not all(c in structure.TARGETS for c in screens):
            raise ctx.fail(f"{where}.screens_for", f"must be a list of causes, got {screens!r}")
        after = entry.get("after", {})
        if not isinstance(after, dict):
            raise ctx.fail(f"{where}.after", f"must be a mapping of variable to state, got {after!r}")
        after_items = tuple(_states_of(ctx, f"{where}.after.{k}", k, v) for k, v in after.items())
        if not screens and not after_items:
            raise ctx.fail(where, "needs screens_for (dangerous causes) or after (evidence), or both")
        reason = entry["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise ctx.fail(f"{where}.reason", "must be a non-empty text")
        _sourced_text(ctx, entry, where)
        flags.append(RedFlag(name, tuple(screens), after_items, reason.strip()))
    return tuple(flags)


def _red_flag_threshold(ctx: _Ctx, raw: Any) -> float:
    """The sourced ``red_flag_threshold`` entry of ``triage.yaml``."""
    entry = _mapping(ctx, raw, "red_flag_threshold")
    _check_keys(ctx, entry, "red_flag_threshold", {"threshold"}, {"threshold"} | _SOURCE_FIELDS)
    value = _probability(ctx, entry["threshold"], "red_flag_threshold.threshold")
    _sourced(ctx, entry, "red_flag_threshold", "triage.red_flag_threshold", value, "probability",
             entry.get("range"))
    return value
