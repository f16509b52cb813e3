"""A per-user cache of the compiled model, so that a query does not parse 46 YAML files.

Loading the priors (reading, validating and building every table) costs more
than answering a query. The result — the validated tables, every parameter
with its provenance, the triage policy, the references and the digest — is
stored as a numpy ``.npz`` file (tables only, read with ``allow_pickle=False``)
and a small JSON sidecar (everything else), in

1. ``$POPLITEAL_CACHE_DIR``, else
2. the user cache folder of the platform (``platformdirs.user_cache_dir``:
   ``$XDG_CACHE_HOME/popliteal`` or ``~/.cache/popliteal`` on Linux,
   ``~/Library/Caches/popliteal`` on macOS, ``%LOCALAPPDATA%\\popliteal\\Cache``
   on Windows),

one entry per priors folder. The entry is keyed by the SHA-256 of the
*content* of every ``*.yaml`` file of the folder (they are small: reading and
hashing them costs about a millisecond, against tens for parsing them) and of
the code that builds the tables; sizes and timestamps are not trusted. The
loaded priors are stored only when their digest equals the digest of the
bytes that were hashed, so an edit during the load cannot store numbers
under the wrong key.

The cache never fails a query: a missing, stale, corrupt or unreadable entry
— or anything but a regular file in its place, such as a FIFO, which is never
opened blocking — is rebuilt from the YAML, and an unwritable cache folder is
simply not written. Entries are written atomically (:mod:`popliteal.common.atomic`)
and checked on reading: the sidecar carries the SHA-256 of its own content
and of the ``.npz``, every table must have the shape the structure gives it,
be finite, non-negative and sum to one, and every field is decoded by the
type annotations of its dataclass (so a new field of a supported type needs
no change here).

``popliteal validate-priors`` never uses the cache.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import types
import typing
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..common.version import __version__
from . import structure
from ..common.atomic import UnreadableFile, atomic_write_bytes, read_regular
from .priors import (ADVICE_FILE, KINDS, SUM_TOLERANCE, TRIAGE_FILE, NodePrior, Parameter, Priors, PriorsError,
                     TriagePolicy, content_digest, default_priors_dir, load_priors, policy_from_documents)

#: Version of the cache layout; a different version is a miss.
FORMAT = 2
ENV_VAR = "POPLITEAL_CACHE_DIR"
#: Source files whose change changes how tables are built or entries are read.
_CODE = ("network/priors.py", "network/structure.py", "network/cache.py", "common/safeyaml.py")


def cache_dir() -> Path:
    """The per-user cache folder (it may not exist yet)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("popliteal", appauthor=False))


def fingerprint(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The content of a priors folder, hashed: it changes whenever a byte of a file does.

    The absolute path, the SHA-256 of every ``*.yaml`` file (by name), the
    digest those bytes give (:func:`popliteal.network.priors.content_digest`) and the
    SHA-256 of the code that builds the tables.

    Raises
    ------
    OSError, UnreadableFile
        When a file cannot be read as a regular file (the caller then loads
        the YAML, which names the problem).
    """
    directory = Path(directory).absolute()
    here = Path(__file__).resolve().parents[1]  # popliteal/
    raw = {p.stem: read_regular(p) for p in sorted(directory.glob("*.yaml"))}
    try:
        digest = content_digest(raw)
    except KeyError:  # a file is missing: load_priors names it
        digest = None
    return {
        "format": FORMAT,
        "version": __version__,
        "directory": str(directory),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in raw.items()},
        "digest": digest,
        "code": {name: hashlib.sha256(read_regular(here / name)).hexdigest() for name in _CODE},
    }


def _entry(directory: Path) -> tuple[Path, Path]:
    key = hashlib.sha256(str(directory.absolute()).encode()).hexdigest()[:20]
    base = cache_dir() / f"model-{key}"
    return base.with_suffix(".npz"), base.with_suffix(".json")


def load_priors_cached(directory: str | os.PathLike[str] | None = None) -> Priors:
    """Like :func:`popliteal.network.priors.load_priors`, through the cache.

    The returned :class:`~popliteal.network.priors.Priors` is complete; only
    :meth:`~popliteal.network.priors.NodePrior.rebuild` (used by the uncertainty
    analysis) reads the YAML files, on its first call.

    Raises
    ------
    PriorsError
        As :func:`~popliteal.network.priors.load_priors`, when the folder is invalid.
    """
    if directory is not None and not os.fspath(directory).strip():
        return load_priors(directory)  # refused there, with one line
    directory = Path(directory) if directory is not None else default_priors_dir()
    try:
        fp = fingerprint(directory)
        npz_path, json_path = _entry(directory)
    except (OSError, RuntimeError, UnreadableFile):  # unreadable folder or file (load_priors names it), no home
        return load_priors(directory)
    if fp["digest"] is None:
        return load_priors(directory)
    cached = read_entry(npz_path, json_path, fp, directory)
    if cached is not None:
        return cached
    priors = load_priors(directory)
    if priors.digest != fp["digest"]:  # a file changed while it was loaded: do not store it under fp
        return priors
    try:
        write_entry(priors, npz_path, json_path, fp)
    except Exception:  # noqa: BLE001 - unwritable or full cache folder: the query goes on without it
        pass
    return priors


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _canonical(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def write_entry(priors: Priors, npz_path: Path, json_path: Path, fp: dict[str, Any]) -> None:
    """Write the cache entry of ``priors`` (the ``.npz`` first, then its sidecar with their checksums)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.ascontiguousarray(priors.nodes[name].table, dtype=np.float64)
                        for name in structure.NAMES})
    npz = buffer.getvalue()
    body = {
        "fingerprint": fp,
        "npz_sha256": hashlib.sha256(npz).hexdigest(),
        "digest": priors.digest,
        "nodes": [{"node": n.node, "kind": n.kind, "file": n.file, "description": n.description,
                   "parameters": [asdict(p) for p in n.parameters]}
                  for n in (priors.nodes[name] for name in structure.NAMES)],
        # the policy is stored as its two parsed documents and validated again on reading
        "triage": priors.policy_documents,
        "references": priors.references,
    }
    sidecar = {"sha256": hashlib.sha256(_canonical(body)).hexdigest(), "body": body}
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(npz_path, npz)
    atomic_write_bytes(json_path, json.dumps(sidecar, allow_nan=False).encode())


# ---------------------------------------------------------------------------
# Reading and checking
# ---------------------------------------------------------------------------


#: Largest cache file read (bytes); an entry is about 200 kB.
_MAX_ENTRY = 64 * 2**20


class _Invalid(Exception):
    """The cache entry is stale or malformed."""


def _require(condition: bool) -> None:
    if not condition:
        raise _Invalid


def read_entry(npz_path: Path, json_path: Path, fp: dict[str, Any], directory: Path) -> Priors | None:
    """The cached priors, or None when the entry is missing, stale, tampered with or malformed.

    Both files are read with :func:`popliteal.common.atomic.read_regular`: a FIFO,
    folder or device in their place is a miss, never a hang.
    """
    try:
        outer = json.loads(read_regular(json_path, _MAX_ENTRY))
        _require(isinstance(outer, dict) and isinstance(outer.get("body"), dict))
        sidecar = outer["body"]
        _require(hashlib.sha256(_canonical(sidecar)).hexdigest() == outer.get("sha256"))
        _require(sidecar.get("fingerprint") == fp)
        npz = read_regular(npz_path, _MAX_ENTRY)
        _require(hashlib.sha256(npz).hexdigest() == sidecar.get("npz_sha256"))
        with np.load(io.BytesIO(npz), allow_pickle=False) as arrays:
            tables = _check_tables(arrays)
        return _priors(sidecar, tables, directory)
    except Exception:  # noqa: BLE001 - whatever is wrong with an entry, the YAML is the truth
        return None


def _check_tables(arrays) -> dict[str, np.ndarray]:
    _require(sorted(arrays.files) == sorted(structure.NAMES))
    tables = {}
    for var in structure.VARIABLES:
        table = arrays[var.name]
        shape = (len(var.states), *(len(structure.BY_NAME[p].states) for p in var.parents))
        _require(table.dtype == np.float64 and table.shape == shape)
        _require(bool(np.all(np.isfinite(table))) and bool(np.all(table >= 0)))
        _require(bool(np.all(np.abs(table.sum(axis=0) - 1.0) <= SUM_TOLERANCE)))
        tables[var.name] = table
    return tables


def _text(value: Any) -> str:
    _require(isinstance(value, str))
    return value


def _float(value: Any) -> float:
    _require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
    return float(value)


@functools.lru_cache(maxsize=None)
def _fields(kind: type) -> tuple[dict[str, Any], frozenset[str]]:
    """The resolved annotations and the init field names of a dataclass."""
    return typing.get_type_hints(kind), frozenset(f.name for f in dataclasses.fields(kind) if f.init)


def decode(kind: Any, value: Any) -> Any:
    """Rebuild a value of type ``kind`` from its JSON form (as :func:`dataclasses.asdict` wrote it).

    Driven by the resolved type annotations: dataclasses (every field, no
    other key), ``str``, ``float``, ``int``, ``bool``, ``None`` and unions of
    them (``str | None``), ``tuple[X, ...]``, ``list[X]``, ``dict[K, V]``.

    Raises
    ------
    TypeError
        For a type this decoder does not know (a field added with a new kind of
        type; ``tests/test_cache.py`` decodes every field of the cached classes).
    _Invalid
        When ``value`` does not have that type.
    """
    if dataclasses.is_dataclass(kind):
        hints, names = _fields(kind)
        _require(isinstance(value, dict) and value.keys() == names)
        return kind(**{n: decode(hints[n], value[n]) for n in names})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return decode(option, value)
            except _Invalid:
                continue
        raise _Invalid
    if kind is type(None):
        _require(value is None)
        return None
    if kind is str:
        return _text(value)
    if kind is float:
        return _float(value)
    if kind is bool:
        _require(isinstance(value, bool))
        return value
    if kind is int:
        _require(isinstance(value, int) and not isinstance(value, bool))
        return value
    if origin is tuple:
        _require(isinstance(value, list))
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in value)
        _require(len(value) == len(args))
        return tuple(decode(a, v) for a, v in zip(args, value))
    if origin is list:
        _require(isinstance(value, list))
        return [decode(args[0], v) for v in value]
    if origin is dict:
        _require(isinstance(value, dict))
        return {decode(args[0], k): decode(args[1], v) for k, v in value.items()}
    raise TypeError(f"popliteal.network.cache cannot store a value of type {kind!r}")


def _parameter(raw: Any) -> Parameter:
    p = decode(Parameter, raw)
    _require(p.scale in ("probability", "odds_ratio") and p.low <= p.value <= p.high)
    return p


def _triage(raw: Any, references: dict[str, dict[str, str]]) -> tuple[TriagePolicy, dict[str, Any]]:
    _require(isinstance(raw, dict) and set(raw) == {TRIAGE_FILE, ADVICE_FILE})
    try:
        return policy_from_documents(raw[TRIAGE_FILE], raw[ADVICE_FILE], references), raw
    except PriorsError:
        raise _Invalid from None


def _priors(sidecar: dict[str, Any], tables: dict[str, np.ndarray], directory: Path) -> Priors:
    digest = _text(sidecar["digest"])
    _require(digest == sidecar["fingerprint"]["digest"])
    raw_nodes = sidecar["nodes"]
    _require(isinstance(raw_nodes, list) and [n.get("node") for n in raw_nodes] == list(structure.NAMES))
    full = _FullPriors(directory, digest)
    nodes = {}
    for raw in raw_nodes:
        _require(raw["kind"] in KINDS)
        name = raw["node"]
        nodes[name] = NodePrior(node=name, kind=raw["kind"], file=_text(raw["file"]),
                                description=_text(raw["description"]), table=tables[name],
                                parameters=tuple(_parameter(p) for p in raw["parameters"]),
                                _builder=full.builder(name))
    references = sidecar["references"]
    _require(isinstance(references, dict) and all(
        isinstance(ref, dict) and all(isinstance(v, str) for v in ref.values()) for ref in references.values()))
    policy, documents = _triage(sidecar["triage"], references)
    return Priors(directory=directory, nodes=nodes, references=references, digest=digest,
                  triage=policy, policy_documents=documents)


class _FullPriors:
    """Loads the YAML of a cached folder on first need (only ``rebuild`` needs it)."""

    def __init__(self, directory: Path, digest: str):
        self.directory = directory
        self.digest = digest
        self._priors: Priors | None = None

    def get(self) -> Priors:
        if self._priors is None:
            priors = load_priors(self.directory)
            if priors.digest != self.digest:
                raise PriorsError(f"{self.directory}: the priors changed since the model was loaded; load it again")
            self._priors = priors
        return self._priors

    def builder(self, name: str):
        return lambda values: self.get().nodes[name].rebuild(values)
