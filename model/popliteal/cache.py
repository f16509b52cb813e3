"""A per-user cache of the compiled model, so that a query does not parse 46 YAML files.

Loading the priors (reading, validating and building every table) costs more
than answering a query. The result — the validated tables, every parameter
with its provenance, the triage policy, the references and the digest — is
stored as a numpy ``.npz`` file (tables only, read with ``allow_pickle=False``)
and a small JSON sidecar (everything else), in

1. ``$POPLITEAL_CACHE_DIR``, else
2. ``$XDG_CACHE_HOME/popliteal``, else
3. ``~/.cache/popliteal``,

one entry per priors folder. The entry is keyed by a cheap fingerprint of the
folder, computed without reading any file: its absolute path and each
``*.yaml`` file's name, size and modification time (plus the same of the code
that builds the tables). Any change of a priors file changes the fingerprint,
and the next load rebuilds the entry. A file changed within
:data:`RACY_SECONDS` of the entry being built could keep its size and
timestamp (file-system timestamps are coarse), so such an entry is not
trusted and is rebuilt on its next use (as git does with its index).

The cache never fails a query: a missing, stale, corrupt or unreadable entry
is rebuilt from the YAML, and an unwritable cache folder is simply not
written. Entries are written atomically (a temporary file, then
``os.replace``) and checked on reading: the sidecar names the SHA-256 of the
``.npz``, every table must have the shape the structure gives it, be finite,
non-negative and sum to one, and every field must have its type.

``popliteal validate-priors`` never uses the cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, structure
from .priors import (ADVICE_FILE, KINDS, SUM_TOLERANCE, TRIAGE_FILE, NodePrior, Parameter, Priors, PriorsError,
                     TriagePolicy, default_priors_dir, load_priors, policy_from_documents)

#: Version of the cache layout; a different version is a miss.
FORMAT = 1
ENV_VAR = "POPLITEAL_CACHE_DIR"
#: Files modified this close to the build of an entry make the entry untrusted.
RACY_SECONDS = 2.0
#: Source files whose change changes how tables are built.
_CODE = ("priors.py", "structure.py", "cache.py")
_PARAMETER_FIELDS = tuple(f.name for f in fields(Parameter))


def cache_dir() -> Path:
    """The per-user cache folder (it may not exist yet)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "popliteal"
    return Path.home() / ".cache" / "popliteal"


def fingerprint(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """A cheap description of a priors folder that changes whenever a file does.

    Only ``stat`` calls: the absolute path, and the name, size and
    modification time (ns) of every ``*.yaml`` file and of the code that
    builds the tables.
    """
    directory = Path(directory).absolute()
    here = Path(__file__).resolve().parent

    def stat(path: Path) -> list:
        st = path.stat()
        return [path.name, st.st_size, st.st_mtime_ns]

    return {
        "format": FORMAT,
        "version": __version__,
        "directory": str(directory),
        "files": [stat(p) for p in sorted(directory.glob("*.yaml"))],
        "code": [stat(here / name) for name in _CODE],
    }


def _entry(directory: Path) -> tuple[Path, Path]:
    key = hashlib.sha256(str(directory.absolute()).encode()).hexdigest()[:20]
    base = cache_dir() / f"model-{key}"
    return base.with_suffix(".npz"), base.with_suffix(".json")


def load_priors_cached(directory: str | os.PathLike[str] | None = None) -> Priors:
    """Like :func:`popliteal.priors.load_priors`, through the cache.

    The returned :class:`~popliteal.priors.Priors` is complete; only
    :meth:`~popliteal.priors.NodePrior.rebuild` (used by the uncertainty
    analysis) reads the YAML files, on its first call.

    Raises
    ------
    PriorsError
        As :func:`~popliteal.priors.load_priors`, when the folder is invalid.
    """
    directory = Path(directory) if directory is not None else default_priors_dir()
    try:
        started = time.time_ns()
        fp = fingerprint(directory)
        npz_path, json_path = _entry(directory)
    except (OSError, RuntimeError):  # unreadable folder (load_priors names the problem), no home folder
        return load_priors(directory)
    cached = read_entry(npz_path, json_path, fp, directory)
    if cached is not None:
        return cached
    priors = load_priors(directory)
    try:
        write_entry(priors, npz_path, json_path, fp, started)
    except Exception:  # noqa: BLE001 - unwritable or full cache folder: the query goes on without it
        pass
    return priors


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_entry(priors: Priors, npz_path: Path, json_path: Path, fp: dict[str, Any], built_ns: int) -> None:
    """Write the cache entry of ``priors`` (the ``.npz`` first, then its sidecar)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.ascontiguousarray(priors.nodes[name].table, dtype=np.float64)
                        for name in structure.NAMES})
    npz = buffer.getvalue()
    sidecar = {
        "fingerprint": fp,
        "built_ns": built_ns,
        "npz_sha256": hashlib.sha256(npz).hexdigest(),
        "digest": priors.digest,
        "nodes": [{"node": n.node, "kind": n.kind, "file": n.file, "description": n.description,
                   "parameters": [asdict(p) for p in n.parameters]}
                  for n in (priors.nodes[name] for name in structure.NAMES)],
        # the policy is stored as its two parsed documents and validated again on reading
        "triage": priors.policy_documents,
        "references": priors.references,
    }
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(npz_path, npz)
    _atomic_write(json_path, json.dumps(sidecar, allow_nan=False).encode())


# ---------------------------------------------------------------------------
# Reading and checking
# ---------------------------------------------------------------------------


class _Invalid(Exception):
    """The cache entry is stale or malformed."""


def _require(condition: bool) -> None:
    if not condition:
        raise _Invalid


def read_entry(npz_path: Path, json_path: Path, fp: dict[str, Any], directory: Path) -> Priors | None:
    """The cached priors, or None when the entry is missing, stale, untrusted or malformed."""
    try:
        sidecar = json.loads(json_path.read_bytes())
        _require(isinstance(sidecar, dict) and sidecar.get("fingerprint") == fp)
        built = sidecar.get("built_ns")
        _require(isinstance(built, int))
        newest = max((f[2] for f in fp["files"]), default=0)
        _require(newest < built - RACY_SECONDS * 1e9)
        npz = npz_path.read_bytes()
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


def _text(value: Any, optional: bool = False) -> str | None:
    _require(isinstance(value, str) or (optional and value is None))
    return value


def _float(value: Any) -> float:
    _require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
    return float(value)


def _parameter(raw: Any) -> Parameter:
    _require(isinstance(raw, dict) and tuple(raw) == _PARAMETER_FIELDS)
    p = Parameter(name=_text(raw["name"]), value=_float(raw["value"]), low=_float(raw["low"]),
                  high=_float(raw["high"]), scale=_text(raw["scale"]), source=_text(raw["source"]),
                  evidence=_text(raw["evidence"]), locator=_text(raw["locator"], True),
                  reasoning=_text(raw["reasoning"], True), derivation=_text(raw["derivation"], True))
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
