"""Batch scoring: posteriors and triage for a file of cases, one case per row.

``popliteal score IN -o OUT`` reads a CSV or Parquet file (by suffix; ``-``
is CSV on standard input) whose columns are named after the model's
variables (``age`` in years is mapped to ``age_group``). A cell holds a state
(``yes``), soft evidence (``yes:0.7``) or nothing (unobserved). OUT (CSV or
Parquet, by suffix; ``-`` is CSV on standard output) holds every input row
and column, in the same order and with the values as they were, plus

- ``p_<name>``: P(name = yes | the row's evidence) for each cause and
  complication;
- ``triage``: the triage level of the row;
- ``error``: empty where the row was fine. Where a cell holds an unknown
  state, a bad likelihood or a bad age, or the row's evidence is impossible
  in the model, it names the problem in one line, and the row's ``p_``
  columns and ``triage`` are empty. No row is dropped or altered.

Columns that are not variables (nor ``age``), such as an ``id``, are passed
through untouched and not used; :attr:`Summary.ignored` names them. A column
whose name is a near miss of a variable (``calf_swellin``, ``Calf_Swelling``)
is refused rather than ignored, because ignoring it would silently change
the answers, and so is a column that collides with an output column, or a
name that appears twice. A cell that is empty or only spaces is unobserved;
nothing else is (``NA`` is an unknown state, not a missing value).

Scoring is vectorised: each chunk of rows (``chunk_size``, 50,000 by
default) becomes one likelihood array per variable column, all ones where a
cell is empty, and one call of :meth:`popliteal.inference.Engine.marginals`
answers the whole chunk (one contraction and its backward pass, see
:mod:`popliteal.contraction`). Chunks are read and written one after the
other (CSV with pandas, Parquet with pyarrow's ``iter_batches`` and
``ParquetWriter``), so a file larger than memory works. The ``dask`` engine
runs the same scoring function over a Dask DataFrame, on whatever scheduler
is active (a ``distributed`` client, if one was created, else threads).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from . import structure
from .evidence import EvidenceError, from_mapping
from .inference import IMPOSSIBLE, PLAN_MIN_BATCH, Posterior, explain_impossible
from .reasoning import triage

#: Rows scored per chunk (and per engine call) unless told otherwise.
DEFAULT_CHUNK_SIZE = 50_000
#: The columns that scoring adds, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (*(f"p_{t}" for t in structure.TARGETS), "triage", "error")
#: Suffixes of the two file formats.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ENGINES = ("pandas", "dask")
_AGE = "age"
_AGE_GROUP = "age_group"


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
        names = {_AGE_GROUP if c == _AGE else c for c in self.evidence}
        return tuple(n for n in structure.NAMES if n in names)


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
    valid = (*structure.NAMES, _AGE)
    evidence, ignored = [], []
    for c in columns:
        if c in valid:
            evidence.append(c)
            continue
        near = difflib.get_close_matches(c.strip().lower(), valid, n=1, cutoff=0.8)
        if near and near[0] not in columns:
            raise BatchError(f"{source}: column {c!r} is not a variable; did you mean {near[0]}? Rename it "
                             "(a column that is not a variable would be passed through unused)")
        ignored.append(c)
    return Layout(columns, tuple(evidence), tuple(ignored))


@dataclass
class Summary:
    """What a scoring run did.

    Attributes
    ----------
    rows : int
        Rows written (every input row).
    errors : int
        Rows with an ``error`` (empty posteriors).
    ignored : tuple of str
        Input columns passed through but not used.
    seconds : float
        Wall-clock time of the run.
    levels : dict of str to int
        How many rows got each triage level.
    """

    rows: int = 0
    errors: int = 0
    ignored: tuple[str, ...] = ()
    seconds: float = 0.0
    levels: dict[str, int] = field(default_factory=dict)


# --- scoring one frame ----------------------------------------------------------------------


def _is_empty(value) -> bool:
    import pandas as pd

    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))  # None, NaN, pandas.NA
    except (TypeError, ValueError):  # a list or another non-scalar cell
        return False


def _parse_column(column: str, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse one evidence column: each distinct cell once.

    Returns the likelihoods ``(n, card)`` (all ones where unobserved or bad),
    the evidence as the contract writes it (``""`` where unobserved) and the
    error message of each cell (``None`` where fine).
    """
    import pandas as pd

    name = _AGE_GROUP if column == _AGE else column
    card = len(structure.BY_NAME[name].states)
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    k = len(uniques)
    table = np.ones((k + 1, card))
    shown = np.full(k + 1, "", dtype=object)
    problems = np.full(k + 1, None, dtype=object)
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
    idx = np.where(codes < 0, k, codes)
    return table[idx], shown[idx], problems[idx]


def _marginals(engine, likelihoods: dict[str, np.ndarray], n: int):
    """``engine.marginals`` for one chunk of ``n`` cases.

    A chunk shorter than :data:`popliteal.inference.PLAN_MIN_BATCH` is padded
    with unobserved cases, so that every chunk runs the same compiled plan and
    the output does not depend on the chunk size, to the last bit.
    """
    if n == 0:
        return {t: np.empty((0, len(structure.BY_NAME[t].states))) for t in structure.TARGETS}, np.empty(0)
    size = max(n, PLAN_MIN_BATCH)
    if size > n:
        likelihoods = {k: np.concatenate([v, np.ones((size - n, v.shape[1]))]) for k, v in likelihoods.items()}
    marg, p_e = engine.marginals(likelihoods, structure.TARGETS, batch=size)
    return {t: m[:n] for t, m in marg.items()}, p_e[:n]


class _RowEvidence(Mapping):
    """The evidence of row ``i`` as a read-only mapping ``{variable: state}`` (built lazily)."""

    __slots__ = ("_shown", "_i")

    def __init__(self, shown: dict[str, np.ndarray], i: int):
        self._shown = shown
        self._i = i

    def __getitem__(self, name: str) -> str:
        column = self._shown.get(name)
        value = column[self._i] if column is not None else ""
        if not value:
            raise KeyError(name)
        return value

    def __iter__(self):
        return (n for n in structure.NAMES if n in self._shown and self._shown[n][self._i])

    def __len__(self) -> int:
        return sum(1 for _ in self)


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
        lik, sh, bad = _parse_column(column, frame[column].to_numpy(dtype=object))
        for i in np.flatnonzero(bad != None):  # noqa: E711 - elementwise comparison
            problems[i].append(bad[i])
        name = _AGE_GROUP if column == _AGE else column
        if name in shown:  # age and age_group both given: they must agree
            other = shown[name]
            clash = np.flatnonzero((other != "") & (sh != "") & (other != sh))
            for i in clash:
                a, b = (frame[_AGE].iloc[i], frame[_AGE_GROUP].iloc[i])
                problems[i].append(f"{name}: given twice with different values (age={a} and age_group={b})")
            likelihoods[name] = np.where((other != "")[:, None], likelihoods[name], lik)
            shown[name] = np.where(other != "", other, sh)
        else:
            likelihoods[name] = lik
            shown[name] = sh
    bad_rows = np.array([bool(p) for p in problems], dtype=bool)
    for lik in likelihoods.values():  # bad rows are scored as if empty, then blanked
        lik[bad_rows] = 1.0
    return Parsed(likelihoods, shown, problems)


def _added_columns(model, frame, lay: Layout):
    """The columns that scoring adds to ``frame`` (same index), as a pandas frame."""
    import pandas as pd

    n = len(frame)
    parsed = parse_frame(frame, lay)
    likelihoods, shown, problems = parsed.likelihoods, parsed.shown, parsed.problems
    bad_rows = np.array([bool(p) for p in problems], dtype=bool)
    observed = lay.observed
    marg, p_e = _marginals(model.engine, {k: likelihoods[k] for k in observed}, n)
    impossible = ~bad_rows & ~(p_e > IMPOSSIBLE)
    for i in np.flatnonzero(impossible):
        pairs = [(c, frame[c].iloc[i]) for c in lay.evidence if not _is_empty(frame[c].iloc[i])]
        problems[i].append("the model holds this evidence impossible: "
                           f"{explain_impossible(model.engine, from_mapping(pairs))}")
    bad_rows |= impossible
    probs = np.column_stack([
        np.clip(marg[t][:, structure.BY_NAME[t].states.index("yes")], 0.0, 1.0) for t in structure.TARGETS])
    probs[bad_rows] = np.nan
    levels = np.full(n, None, dtype=object)
    policy = model.priors.triage
    digest = model.digest
    rows = probs.tolist()
    for i in np.flatnonzero(~bad_rows):
        post = Posterior(evidence=_RowEvidence(shown, i), probabilities=dict(zip(structure.TARGETS, rows[i])),
                         digest=digest)
        levels[i] = triage(post, policy).level
    errors = np.array([" | ".join(p) if p else None for p in problems], dtype=object)
    added = pd.DataFrame({f"p_{t}": probs[:, j] for j, t in enumerate(structure.TARGETS)}, index=frame.index)
    added["triage"] = pd.Series(levels, index=frame.index, dtype=object)
    added["error"] = pd.Series(errors, index=frame.index, dtype=object)
    return added


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
    return pd.concat([frame, _added_columns(model, frame, lay)], axis=1)


def simulate_cases(model, n: int, rng: np.random.Generator, observe: float = 0.3, soft: float = 0.0,
                   columns=None):
    """Synthetic cases drawn from the network, as a frame of text cells (for demos, tests, benchmarks).

    Every variable is drawn from its table given its parents (ancestral
    sampling), so every case is possible in the model; then each cell of
    ``columns`` (default: every risk factor and finding) is kept with
    probability ``observe`` and left empty otherwise. A kept yes/no cell
    becomes soft evidence (``yes:0.83``, the drawn state with a likelihood
    in [0.6, 0.95)) with probability ``soft``.
    """
    import pandas as pd

    columns = tuple(columns) if columns is not None else tuple(
        n_ for n_ in structure.NAMES if n_ not in structure.TARGETS)
    drawn: dict[str, np.ndarray] = {}
    for var in structure.VARIABLES:
        table = model.priors.nodes[var.name].table  # (card, *parent_cards)
        probs = table[(slice(None), *(drawn[p] for p in var.parents))].T if var.parents else \
            np.broadcast_to(table, (n, table.shape[0]))
        cum = np.cumsum(probs, axis=1)
        u = rng.random(n)[:, None] * cum[:, -1:]
        drawn[var.name] = np.minimum((u >= cum).sum(axis=1), len(var.states) - 1)
    frame = {}
    for name in columns:
        states = np.array(structure.BY_NAME[name].states, dtype=object)
        cells = states[drawn[name]]
        if soft and len(states) == 2:
            softened = rng.random(n) < soft
            liks = rng.uniform(0.6, 0.95, n)
            cells = np.where(softened, [f"{c}:{x:.2f}" for c, x in zip(cells, liks)], cells)
        cells = np.where(rng.random(n) < observe, cells, "")
        frame[name] = pd.Series(cells, dtype=str)
    return pd.DataFrame(frame)


# --- reading and writing ----------------------------------------------------------------------


def file_format(path: str, role: str) -> str:
    """``"csv"`` or ``"parquet"`` from the suffix (``-`` is CSV)."""
    if path == "-":
        return "csv"
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise BatchError(f"{role} {path}: the file must end in .csv or .parquet")
    return fmt


def _need_pyarrow(path: str):
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise BatchError(f"{path}: reading or writing Parquet needs pyarrow "
                         "(from a checkout: .venv/bin/pip install -e \".[parquet]\")") from None


def _csv_header(stream, name: str) -> list[str]:
    try:
        header = next(csv.reader(stream))
    except StopIteration:
        raise BatchError(f"{name}: the file is empty (no header row)") from None
    except UnicodeDecodeError as exc:
        raise BatchError(f"{name}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise BatchError(f"{name}: cannot read the header row: {exc}") from None
    return header


def _read_csv(source: str, chunk_size: int) -> tuple[list[str], Iterator, int | None]:
    import pandas as pd

    if source == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        name = "standard input"
    else:
        stream = open(source, encoding="utf-8-sig", newline="")
        name = source
    header = _csv_header(stream, name)

    def chunks():
        try:
            reader = pd.read_csv(stream, header=None, names=header, dtype=str, keep_default_na=False,
                                 na_filter=False, chunksize=chunk_size, skip_blank_lines=True)
            yielded = False
            for chunk in reader:
                yielded = True
                yield chunk
            if not yielded:
                yield pd.DataFrame({c: pd.Series([], dtype=str) for c in header})
        except pd.errors.EmptyDataError:
            yield pd.DataFrame({c: pd.Series([], dtype=str) for c in header})
        except pd.errors.ParserError as exc:
            raise BatchError(f"{name}: cannot read: {' '.join(str(exc).split())}") from None
        except UnicodeDecodeError as exc:
            raise BatchError(f"{name}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
        finally:
            if source != "-":
                stream.close()

    return header, chunks(), None, None


def _read_parquet(source: str, chunk_size: int) -> tuple[list[str], Iterator, int | None]:
    _need_pyarrow(source)
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise BatchError(f"{source}: cannot read as Parquet: {' '.join(str(exc).split())}") from None
    header = list(pf.schema_arrow.names)

    def chunks():
        yielded = False
        try:
            for rb in pf.iter_batches(batch_size=chunk_size):
                yielded = True
                yield rb.to_pandas(types_mapper=pd.ArrowDtype)
            if not yielded:
                yield pf.schema_arrow.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
        except pa.ArrowException as exc:
            raise BatchError(f"{source}: cannot read as Parquet: {' '.join(str(exc).split())}") from None
        finally:
            pf.close()

    return header, chunks(), pf.metadata.num_rows, pf.schema_arrow


class _CsvWriter:
    def __init__(self, target):
        self.target = target
        self.stream = sys.stdout if target == "-" else open(target, "w", encoding="utf-8", newline="")
        self.first = True

    def write(self, frame) -> None:
        frame.to_csv(self.stream, index=False, header=self.first, lineterminator="\n")
        self.first = False

    def close(self) -> None:
        if self.stream is sys.stdout:
            self.stream.flush()
        else:
            self.stream.close()


class _ParquetWriter:
    """Writes the input columns with the input's Arrow types (text for a CSV input), then the scores."""

    def __init__(self, target):
        self.target = target
        self.writer = None
        self.schema = None
        self.source_schema = None  # the input's Arrow schema, when it is a Parquet file

    def write(self, frame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        original = frame.drop(columns=list(OUTPUT_COLUMNS))
        if self.schema is None:
            source = self.source_schema or pa.schema([(c, pa.string()) for c in original.columns])
            added = [pa.field(c, pa.float64() if c.startswith("p_") else pa.string()) for c in OUTPUT_COLUMNS]
            self.schema = pa.schema([*source.remove_metadata(), *added])
            self.writer = pq.ParquetWriter(self.target, self.schema)
        table = pa.Table.from_pandas(original, preserve_index=False)
        arrays = [table.column(f.name).cast(f.type) for f in self.schema if f.name in table.column_names]
        arrays += [pa.array(frame[c].to_numpy(), type=self.schema.field(c).type, from_pandas=True)
                   for c in OUTPUT_COLUMNS]
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class _Progress:
    """Rows scored so far on standard error, only when it is a terminal."""

    def __init__(self, total: int | None, enabled: bool | None = None):
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.rows = 0

    def update(self, rows: int) -> None:
        self.rows += rows
        if not self.enabled:
            return
        rate = self.rows / max(time.perf_counter() - self.start, 1e-9)
        if self.total:
            done = min(1.0, self.rows / self.total)
            bar = "#" * int(done * 30)
            text = f"scoring [{bar:<30}] {self.rows:,}/{self.total:,} rows, {rate:,.0f} rows/s"
        else:
            text = f"scoring: {self.rows:,} rows, {rate:,.0f} rows/s"
        sys.stderr.write("\r" + text)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --- the two engines --------------------------------------------------------------------------


def score(source: str, target: str, model=None, chunk_size: int = DEFAULT_CHUNK_SIZE, engine: str = "pandas",
          progress: bool | None = None, priors_dir: str | None = None) -> Summary:
    """Score every row of ``source`` into ``target`` (see the module's docstring).

    Parameters
    ----------
    source, target : str
        Paths ending in ``.csv`` or ``.parquet``; ``-`` for standard input or output (CSV).
    model : popliteal.api.Model, optional
        Defaults to ``popliteal.load(priors_dir)``.
    chunk_size : int
        Rows per chunk (the pandas engine) or, roughly, per partition (dask).
    engine : {"pandas", "dask"}
    progress : bool, optional
        Show progress on standard error; by default only when it is a terminal.
    priors_dir : str, optional
        The priors folder (also what dask workers load).

    Raises
    ------
    BatchError
        For an unreadable, malformed or colliding input, or an unwritable output.
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise BatchError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise BatchError(f"the chunk size must be a whole number >= 1, got {chunk_size!r}")
    in_fmt = file_format(source, "input")
    out_fmt = file_format(target, "output")
    if source != "-" and not Path(source).is_file():
        raise BatchError(f"input {source}: no such file")
    if target != "-":
        parent = Path(target).resolve().parent
        if not parent.is_dir():
            raise BatchError(f"output {target}: folder {parent} does not exist")
        if source != "-" and Path(source).resolve() == Path(target).resolve():
            raise BatchError(f"output {target}: must not be the input file")
    if "parquet" in (in_fmt, out_fmt):
        _need_pyarrow(source if in_fmt == "parquet" else target)
    if model is None:
        from .api import load

        model = load(priors_dir)
    if priors_dir is None:  # what dask workers load
        priors_dir = str(model.priors.directory)
    partial = target if target == "-" else str(Path(target).with_name(f".{Path(target).name}.partial"))
    writer = _CsvWriter(partial) if out_fmt == "csv" else _ParquetWriter(partial)
    summary = Summary()
    try:
        if engine == "pandas":
            _score_pandas(model, source, in_fmt, chunk_size, writer, summary, progress)
        else:
            _score_dask(model, source, in_fmt, chunk_size, writer, summary, progress, priors_dir)
        writer.close()
        if partial != target:
            os.replace(partial, target)
    except BaseException:
        writer.close()
        if partial != target and os.path.exists(partial):
            os.remove(partial)
        raise
    summary.seconds = time.perf_counter() - started
    return summary


def _tally(summary: Summary, frame) -> None:
    summary.rows += len(frame)
    summary.errors += int(frame["error"].notna().sum())
    for level, count in frame["triage"].value_counts().items():
        summary.levels[level] = summary.levels.get(level, 0) + int(count)


def _score_pandas(model, source, fmt, chunk_size, writer, summary, progress) -> None:
    import pandas as pd

    reader = _read_csv if fmt == "csv" else _read_parquet
    header, chunks, total, schema = reader(source, chunk_size)
    if isinstance(writer, _ParquetWriter):
        writer.source_schema = schema
    lay = layout(header, source if source != "-" else "standard input")
    summary.ignored = lay.ignored
    bar = _Progress(total, progress)
    try:
        for chunk in chunks:
            out = pd.concat([chunk, _added_columns(model, chunk, lay)], axis=1)
            writer.write(out)
            _tally(summary, out)
            bar.update(len(chunk))
    finally:
        bar.close()


@functools.lru_cache(maxsize=4)
def _worker_model(priors_dir: str | None):
    from .api import load

    return load(priors_dir)


def _score_partition(frame, lay: Layout, priors_dir: str | None, model=None):
    """Score one Dask partition (a pandas frame); workers load the model once."""
    import pandas as pd

    model = model if model is not None else _worker_model(priors_dir)
    return pd.concat([frame, _added_columns(model, frame, lay)], axis=1)


class _ParquetPart:
    """Read one row group of a Parquet file as a pandas frame with Arrow types (a Dask partition)."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self, row_group: int):
        import pandas as pd
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.path) as pf:
            return pf.read_row_group(row_group).to_pandas(types_mapper=pd.ArrowDtype)


def _import_dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise BatchError("--engine dask needs Dask: from a checkout, .venv/bin/pip install -e \".[dask]\"") from None
    return dask, dd


def _score_dask(model, source, fmt, chunk_size, writer, summary, progress, priors_dir) -> None:
    import pandas as pd

    if source == "-":
        raise BatchError("--engine dask reads files, not standard input; use --engine pandas")
    dask, dd = _import_dask()
    if fmt == "csv":
        with open(source, encoding="utf-8-sig", newline="") as stream:
            header = _csv_header(stream, source)
            sample = stream.read(1 << 20)
        lay = layout(header, source)
        rows_in_sample = max(1, sample.count("\n"))
        bytes_per_row = max(1, len(sample.encode()) // rows_in_sample)
        blocksize = max(1 << 16, chunk_size * bytes_per_row)
        try:
            ddf = dd.read_csv(source, header=0, names=header, dtype=str, keep_default_na=False, na_filter=False,
                              blocksize=blocksize, encoding="utf-8-sig", skip_blank_lines=True)
        except (ValueError, OSError) as exc:
            raise BatchError(f"{source}: cannot read: {' '.join(str(exc).split())}") from None
        total = None
    else:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(source)
            header, total, groups = list(pf.schema_arrow.names), pf.metadata.num_rows, pf.num_row_groups
            if isinstance(writer, _ParquetWriter):
                writer.source_schema = pf.schema_arrow
            pf.close()
        except Exception as exc:  # pyarrow raises several kinds for a broken file
            raise BatchError(f"{source}: cannot read as Parquet: {' '.join(str(exc).split())}") from None
        lay = layout(header, source)
        # One partition per row group, read as the pandas engine reads its chunks (dask's own
        # read_parquet converts types differently and warns under pandas 3.1).
        ddf = dd.from_map(_ParquetPart(source), range(groups))
    summary.ignored = lay.ignored
    meta = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in ddf.dtypes.items()})
    for c in OUTPUT_COLUMNS:
        meta[c] = pd.Series([], dtype=float if c.startswith("p_") else object)
    scored = ddf.map_partitions(_score_partition, lay, priors_dir, meta=meta)
    parts = scored.to_delayed()
    bar = _Progress(total, progress)
    group = max(1, os.cpu_count() or 1)
    try:
        for start in range(0, len(parts), group):
            try:
                frames = dask.compute(*parts[start:start + group])
            except pd.errors.ParserError as exc:
                raise BatchError(f"{source}: cannot read: {' '.join(str(exc).split())}") from None
            except UnicodeDecodeError as exc:
                raise BatchError(f"{source}: not a UTF-8 text file ({exc.reason})") from None
            for frame in frames:
                writer.write(frame)
                _tally(summary, frame)
                bar.update(len(frame))
    finally:
        bar.close()
