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

A CSV row with more or fewer fields than the header keeps its cells in
their columns (never shifted), is not scored and gets an ``error``. The CSV
separator is sniffed from the header (``, ; tab |``) unless given, and a
file whose header names no variable is refused.

Scoring is vectorised: each chunk of rows (``chunk_size``, 50,000 by
default) is reduced to its distinct rows (the same cells in every evidence
column), which become one likelihood array per variable, all ones where a
cell is empty; one call of :meth:`popliteal.engine.inference.Engine.marginals`
answers them all (one contraction and its backward pass, see
:mod:`popliteal.engine.contraction`), :func:`triage_rows` triages them, and the
answers are copied back to every row, in order. Impossible rows are those
with P(evidence) = 0 in that call; their clashing items are named by one
batched check per chunk (cached per engine). Chunks are read and written one
after the other (CSV with Python's ``csv`` reader, Parquet with pyarrow's
``iter_batches`` and ``ParquetWriter``), so a file larger than memory works
in constant memory. CSV lines that hold no quote are split in Python instead
(what the ``csv`` reader would read) and written as they came with each
distinct row's answers formatted once: the same bytes, faster. The output
goes to a unique temporary file in the output's folder, replaced atomically
at the end and removed on any error or signal. The ``dask`` engine runs the
same scoring over a Dask DataFrame (a CSV file split between records, a
Parquet file by row group), on whatever scheduler is active (a
``distributed`` client, if one was created, else threads).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import itertools
import operator
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .api import load
from .common.interrupts import handlers, interrupts_held, raise_if_interrupted
from .common.messages import shorten
from .clinic.scoring import (DEFAULT_CHUNK_SIZE, EVIDENCE_COLUMNS, OUTPUT_COLUMNS, BatchError, Layout, Parsed,
                             _added_columns, _score_chunk, layout, no_evidence_column, parse_frame, score_frame,
                             triage_rows)
from .engine.sampling import draw_states
from .network import structure

__all__ = ["DEFAULT_CHUNK_SIZE", "OUTPUT_COLUMNS", "FORMATS", "ENGINES", "BatchError", "Interrupted", "Layout",
           "Parsed", "Summary", "draw_states", "escape_formulas", "file_format", "impossible_pairs", "layout",
           "parse_frame", "score", "score_frame", "simulate_cases", "triage_rows"]
#: Suffixes of the two file formats.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ENGINES = ("pandas", "dask")
#: CSV separators tried, in order, when none is given.
SEPARATORS = (",", ";", "\t", "|")


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




def impossible_pairs(model, limit: int = 4) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Pairs of risk-factor states the model holds impossible (a pregnant man, ...), found by asking it.

    Each state alone is possible and the pair is not; for messy test files and benchmarks, so
    that no impossible combination is hard-coded.
    """
    from .engine.inference import ImpossibleEvidence

    items = [(v.name, s) for v in structure.VARIABLES if v.kind == structure.RISK_FACTOR for s in v.states]
    found = []
    for (a, sa), (b, sb) in itertools.combinations(items, 2):
        if a == b:
            continue
        try:
            model.posterior({a: sa})
            model.posterior({b: sb})
            model.posterior({a: sa, b: sb})
        except ImpossibleEvidence:
            found.append(((a, sa), (b, sb)))
            if len(found) == limit:
                break
    return found


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
        n_ for n_ in structure.EVIDENCE_NAMES if n_ not in structure.TARGETS)
    drawn = draw_states(model, n, rng)
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


# --- reading ----------------------------------------------------------------------------------


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


def _sniff(sample: str, name: str, sep: str | None) -> tuple[str, list[str]]:
    """The separator and the header row of a CSV file, from the start of its text.

    With ``sep`` given, that one; else the one of :data:`SEPARATORS` whose
    header names the most variables. A header that names no variable with any
    of them is refused: every row would be scored as the prior.
    """
    if not sample.strip():
        raise BatchError(f"{name}: the file is empty (no header row)")
    best = None
    for candidate in ((sep,) if sep else SEPARATORS):
        try:
            header = next((row for row in csv.reader(io.StringIO(sample, newline=""), delimiter=candidate) if row),
                          [])
        except csv.Error as exc:
            raise BatchError(f"{name}: cannot read the header row: {exc}") from None
        hits = sum(c in EVIDENCE_COLUMNS for c in header)
        if best is None or hits > best[0]:
            best = (hits, candidate, header)
    hits, chosen, header = best
    if not header:
        raise BatchError(f"{name}: the file is empty (no header row)")
    return chosen, header


def _layout_of(reader) -> Layout:
    """The layout of an input's header; refused when no column is named after a variable.

    Such a file would score every row as the prior: most often a CSV file
    separated by another character than the one read.
    """
    if any(str(c) in EVIDENCE_COLUMNS for c in reader.header):
        return layout(reader.header, reader.name)
    sep = getattr(reader, "sep", None)
    if sep is None:
        hint = ""
    elif reader.sep_given:
        hint = f" (read as separated by {sep!r}; is that the separator?)"
    else:
        hint = " (tried the separators , ; tab |; name another with --sep)"
    header = reader.header
    shown = shorten(repr(header[0]) if len(header) == 1 else ", ".join(header))
    raise no_evidence_column(reader.name, f"header: {shown}", hint)


def _ragged(line: int, fields: list[str], width: int) -> str:
    """The error of a row with more or fewer fields than the header."""
    extra = f"; extra: {shorten(', '.join(map(repr, fields[width:])), 60)}" if len(fields) > width else ""
    return (f"line {line}: {len(fields)} fields but the header has {width} "
            f"(a missing or extra separator); the row is not scored{extra}")


def _split_lines(lines: list[str], sep: str, width: int, line0: int):
    """Rows of CSV lines that hold no quote, split at ``sep``: what the ``csv`` module reads, faster.

    Returns ``(rows, ragged, texts)``, where ``texts`` are the rows as the
    ``csv`` module writes them with ``,`` (None when a cell holds a ``,``), or
    None when the lines need the ``csv`` module: a quote, a carriage return
    other than in a line's ``\\r\\n``, a NUL or a very long line.
    """
    text = "".join(lines)
    if '"' in text or "\0" in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":  # after the last newline
        lines.pop()
    if lines and max(map(len, lines)) >= csv.field_size_limit():
        return None
    numbers = range(len(lines))  # each record's line, counted from line0
    if width != 1 and not all(lines):  # a blank line is no record (the csv module skips it)
        numbers = [k for k, line in enumerate(lines) if line]
        lines = [lines[k] for k in numbers]
    rows = [line.split(sep) for line in lines]
    texts = None
    if sep == "," or "," not in text:
        texts = list(lines) if sep == "," else [line.replace(sep, ",") for line in lines]
    ragged: dict[int, str] = {}
    wrong = [i for i, fields in enumerate(rows) if len(fields) != width]
    if wrong:
        for i in wrong:
            ragged[i] = _ragged(line0 + numbers[i] + 1, rows[i], width)
            rows[i] = (rows[i] + [""] * width)[:width]
            if texts is not None:
                texts[i] = ",".join(rows[i])
    return rows, ragged, texts


def _frames_from_rows(reader, header: list[str], chunk_size: int, line0: int = 0):
    """Chunks of rows as text frames, with the ragged rows of each (``{position: error}``).

    A row with more or fewer fields than the header keeps its cells in their
    columns (missing ones empty), is not scored, and its error says so.
    """
    import pandas as pd

    width = len(header)
    rows: list[list[str]] = []
    ragged: dict[int, str] = {}
    for fields in reader:
        if not fields:  # a blank line: no record, but an empty cell in a one-column file
            if width != 1:
                continue
            fields = [""]
        if len(fields) != width:
            ragged[len(rows)] = _ragged(line0 + reader.line_num, fields, width)
            fields = (fields + [""] * width)[:width]
        rows.append(fields)
        if len(rows) == chunk_size:
            yield pd.DataFrame(rows, columns=header, dtype=object), ragged
            rows, ragged = [], {}
    if rows:
        yield pd.DataFrame(rows, columns=header, dtype=object), ragged


class _CsvInput:
    """A CSV file (or standard input) read in chunks of rows with Python's C ``csv`` reader."""

    SAMPLE = 1 << 16

    def __init__(self, source: str, sep: str | None, chunk_size: int):
        self.source = source
        self.name = "standard input" if source == "-" else source
        self.chunk_size = chunk_size
        self.raw = sys.stdin.buffer if source == "-" else open(source, "rb")
        self.text = io.TextIOWrapper(self.raw, encoding="utf-8-sig", newline="")
        try:
            self.total = os.fstat(self.raw.fileno()).st_size if source != "-" else None
        except (OSError, ValueError):
            self.total = None
        try:
            sample = self.text.read(self.SAMPLE)
            sample += self.text.readline()
        except UnicodeDecodeError as exc:
            self.close()
            raise BatchError(f"{self.name}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
        except BaseException:
            self.close()
            raise
        try:
            self.sep, self.header = _sniff(sample, self.name, sep)
            self.sep_given = sep is not None
        except BaseException:
            self.close()
            raise
        self.lines = itertools.chain(io.StringIO(sample, newline=""), self.text)
        self.reader = csv.reader(self.lines, delimiter=self.sep)
        next(row for row in self.reader if row)  # the header row

    def position(self) -> int | None:
        """Bytes read so far (for the progress bar), if the input is a file."""
        try:
            return self.raw.tell() if self.total is not None else None
        except OSError:
            return None

    def chunks(self):
        """Yield ``(frame, ragged, texts)`` per chunk; at least one (maybe empty) frame.

        ``texts`` are the rows as the output writes their cells, when known
        (see :func:`_split_lines`), else None. Lines are split in Python while
        they hold no quote; from the first chunk that does, the ``csv`` module
        reads the rest.
        """
        import pandas as pd

        yielded = False
        width = len(self.header)
        self.line0 = self.reader.line_num
        self.reader = None
        try:
            while self.reader is None:
                block = list(itertools.islice(self.lines, self.chunk_size))
                if not block:
                    break
                split = _split_lines(block, self.sep, width, self.line0)
                if split is None:
                    self.reader = csv.reader(itertools.chain(block, self.lines), delimiter=self.sep)
                    break
                self.line0 += len(block)
                rows, ragged, texts = split
                if rows:
                    yielded = True
                    yield pd.DataFrame(rows, columns=self.header, dtype=object), ragged, texts
            if self.reader is not None:
                for frame, ragged in _frames_from_rows(self.reader, self.header, self.chunk_size, self.line0):
                    yielded = True
                    yield frame, ragged, None
        except UnicodeDecodeError as exc:
            raise BatchError(f"{self.name}: not a UTF-8 text file ({exc.reason})") from None
        except csv.Error as exc:
            raise BatchError(f"{self.name}: cannot read line {self.line0 + self.reader.line_num}: {exc}") from None
        if not yielded:
            yield pd.DataFrame({c: pd.Series([], dtype=object) for c in self.header}), {}, None

    def close(self) -> None:
        if self.source == "-":
            self.text.detach()  # leave standard input open
        else:
            self.text.close()


class _ParquetInput:
    """A Parquet file read in batches of rows with pyarrow."""

    def __init__(self, source: str, chunk_size: int):
        _need_pyarrow(source)
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.name = source
        self.chunk_size = chunk_size
        try:
            self.file = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as exc:
            raise BatchError(f"{source}: cannot read as Parquet: {' '.join(str(exc).split())}") from None
        self.schema = self.file.schema_arrow
        self.header = list(self.schema.names)
        self.total = self.file.metadata.num_rows
        _check_parquet_schema(self.schema, source)

    def position(self) -> None:
        return None

    def chunks(self):
        import pandas as pd
        import pyarrow as pa

        yielded = False
        try:
            for rb in self.file.iter_batches(batch_size=self.chunk_size):
                yielded = True
                yield rb.to_pandas(types_mapper=pd.ArrowDtype), {}, None
            if not yielded:
                yield self.schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype), {}, None
        except pa.ArrowException as exc:
            raise BatchError(f"{self.name}: cannot read as Parquet: {' '.join(str(exc).split())}") from None

    def close(self) -> None:
        self.file.close()


def _check_parquet_schema(schema, source: str) -> None:
    """Refuse nested columns (list, struct, map): a cell must be one value."""
    import pyarrow as pa

    for f in schema:
        if pa.types.is_nested(f.type):
            raise BatchError(f"{source}: column {f.name!r} holds {shorten(str(f.type), 60)} values; "
                             "popliteal score reads plain columns only (text, numbers, booleans)")


# --- writing ----------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formulas(frame, columns=None):
    """Prefix text cells that a spreadsheet would run as a formula with ``'`` (``--safe-csv``).

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return becomes ``'=...``; other cells and non-text columns are unchanged.
    """
    frame = frame.copy()
    for c in (columns if columns is not None else frame.columns):
        values = frame[c]
        if values.dtype != object and str(values.dtype) not in ("str", "string"):
            continue
        text = values.astype(object)
        mask = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)).to_numpy(dtype=bool)
        if mask.any():
            text = text.copy()
            text[mask] = "'" + text[mask]
            frame[c] = text
    return frame


class _Target:
    """The output file, written to a unique temporary file in its folder and replaced atomically.

    Two runs to one output each write their own temporary file; the last to
    finish replaces the output whole. Errors name the output, not the
    temporary file; :meth:`discard` removes the temporary file.
    """

    def __init__(self, target: str):
        self.target = target
        self.where = "standard output" if target == "-" else target
        self.temp = None

    def create(self) -> None:
        """Create the temporary file (call it once the caller holds this object, to discard it)."""
        if self.target == "-":
            return
        folder = os.path.dirname(os.path.abspath(self.target))
        try:
            with interrupts_held():  # the file and self.temp together: a Ctrl-C in between would leave the file behind
                fd, self.temp = tempfile.mkstemp(prefix=f".{Path(self.target).name}.", suffix=".partial", dir=folder)
                os.close(fd)
        except OSError as exc:
            raise BatchError(f"output {self.target}: cannot write in {folder}: {exc.strerror or exc}") from None

    @property
    def path(self) -> str:
        return self.temp if self.temp is not None else "-"

    def fail(self, exc: OSError) -> BatchError:
        return BatchError(f"output {self.where}: {exc.strerror or exc}")

    def commit(self) -> None:
        if self.temp is None:
            return
        umask = os.umask(0)
        os.umask(umask)
        try:
            os.chmod(self.temp, 0o666 & ~umask)  # as a file the user creates, not mkstemp's 0600
            os.replace(self.temp, self.target)
        except OSError as exc:
            raise self.fail(exc) from None
        self.temp = None

    def discard(self) -> None:
        if self.temp is not None:
            try:
                os.remove(self.temp)
            except FileNotFoundError:
                pass
            self.temp = None


_CSV_SPECIAL = (",", '"', "\r", "\n")


def _added_texts(scored) -> list[str]:
    """Each row's added cells as the ``csv`` module writes them (as :meth:`_CsvWriter.write` does), each
    after a ``,``; each distinct answer formatted once."""
    levels, errors = scored.levels.tolist(), scored.errors.tolist()
    plain_levels = {v for v in set(levels) if isinstance(v, str) and not any(c in v for c in _CSV_SPECIAL)}
    finite = (~np.isnan(scored.probs).any(axis=1)).tolist()
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")

    def quoted(p, level, error):  # errors, and anything a quote might be needed for
        buffer.seek(0)
        buffer.truncate()
        out.writerow([repr(v) if v == v else "" for v in p] + [level, error])
        return "," + buffer.getvalue()[:-1]

    texts = [f",{','.join(map(repr, p))},{v}," if ok and e is None and v in plain_levels else quoted(p, v, e)
             for p, v, e, ok in zip(scored.probs.tolist(), levels, errors, finite)]
    return np.array(texts, dtype=object)[scored.inverse].tolist()


class _CsvWriter:
    def __init__(self, target: _Target, safe: bool = False):
        self.target = target
        self.safe = safe
        self.first = True
        try:
            self.stream = sys.stdout if target.path == "-" else open(target.path, "w", encoding="utf-8",
                                                                      newline="")
        except OSError as exc:
            raise target.fail(exc) from None

    def write(self, frame) -> None:
        if self.safe:
            frame = escape_formulas(frame)
        # The posteriors as text by Python's float repr (shortest round trip, the same digits pandas
        # writes, ~3 times faster); NaN as an empty cell.
        scores = {c: [repr(v) if v == v else "" for v in frame[c].tolist()] for c in OUTPUT_COLUMNS
                  if c.startswith("p_")}
        text = all(frame[c].dtype == object for c in frame.columns if c not in scores)
        with self._stream_errors():
            if text:  # cells read from a CSV file: the csv module writes what pandas would, faster
                out = csv.writer(self.stream, lineterminator="\n")
                if self.first:
                    out.writerow(frame.columns)
                out.writerows(zip(*(scores[c] if c in scores else frame[c].tolist() for c in frame.columns)))
            else:
                frame.assign(**scores).to_csv(self.stream, index=False, header=self.first, lineterminator="\n")
        self.first = False

    def write_scored(self, chunk, scored, texts=None) -> None:
        """Write a chunk of input rows and their answers; ``texts`` are the input rows as written, if known.

        With ``texts``, each line is the row's text and its added cells, each
        distinct answer formatted once: the same bytes as :meth:`write`, faster.
        """
        if texts is None or self.safe:
            self.write(_joined(chunk, scored))
            return
        with self._stream_errors():
            if self.first:
                csv.writer(self.stream, lineterminator="\n").writerow([*chunk.columns, *OUTPUT_COLUMNS])
            if len(texts):
                self.stream.write("\n".join(map(operator.add, texts, _added_texts(scored))) + "\n")
        self.first = False

    def close(self) -> None:
        with self._stream_errors():
            if self.stream is sys.stdout:
                self.stream.flush()
            else:
                self.stream.close()

    @contextlib.contextmanager
    def _stream_errors(self):
        """An ``OSError`` of the output stream as the target's one-line error (a broken pipe stays one)."""
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self.target.fail(exc) from None


class _ParquetWriter:
    """Writes the input columns with the input's Arrow types (text for a CSV input), then the scores."""

    def __init__(self, target: _Target, safe: bool = False):
        self.target = target
        self.writer = None
        self.schema = None
        self.source_schema = None  # the input's Arrow schema, when it is a Parquet file

    def write(self, frame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        original = frame.drop(columns=list(OUTPUT_COLUMNS))
        try:
            if self.schema is None:
                source = self.source_schema or pa.schema([(c, pa.string()) for c in original.columns])
                added = [pa.field(c, pa.float64() if c.startswith("p_") else pa.string()) for c in OUTPUT_COLUMNS]
                self.schema = pa.schema([*source.remove_metadata(), *added])
                self.writer = pq.ParquetWriter(self.target.path, self.schema)
            table = pa.Table.from_pandas(original, preserve_index=False)
            arrays = [table.column(f.name).cast(f.type) for f in self.schema if f.name in table.column_names]
            arrays += [pa.array(frame[c].to_numpy(), type=self.schema.field(c).type, from_pandas=True)
                       for c in OUTPUT_COLUMNS]
            self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        except OSError as exc:
            raise self.target.fail(exc) from None

    def write_scored(self, chunk, scored, texts=None) -> None:
        """Write a chunk of input rows and their answers."""
        self.write(_joined(chunk, scored))

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except OSError as exc:
                raise self.target.fail(exc) from None
            self.writer = None


class _Progress:
    """A ``tqdm`` bar on standard error (only on a terminal): percent done and time left.

    For a CSV file the bar counts the bytes read (so a percentage and a time
    left are known before the rows are); for Parquet the rows; for standard
    input only the rows and the rate.
    """

    def __init__(self, total: int | None, unit: str, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.rows = 0
        self.bytes = unit == "B" and total is not None
        self.bar = None
        if self.enabled:
            from tqdm import tqdm

            try:  # a terminal of unknown size (0 x 0, as some ptys report) would hide the bar
                size = os.get_terminal_size(sys.stderr.fileno())
                known = size.columns > 0 and size.lines > 0
            except (OSError, ValueError, AttributeError):
                known = False
            sizes = {"dynamic_ncols": True} if known else {"ncols": 100, "nrows": 24}
            self.bar = tqdm(total=total, unit=unit if self.bytes else "rows", unit_scale=True, desc="scoring",
                            file=sys.stderr, mininterval=0.5, **sizes)

    def update(self, rows: int, position: int | None = None) -> None:
        self.rows += rows
        if self.bar is None:
            return
        if self.bytes and position is not None:
            self.bar.update(max(0, position - self.bar.n))
            self.bar.set_postfix_str(f"{self.rows:,} rows", refresh=False)
        else:
            self.bar.update(rows)

    def close(self, done: bool = False) -> None:
        if self.bar is not None:
            if done and self.bytes and self.bar.total:
                self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()
            self.bar = None


# --- interruptions ----------------------------------------------------------------------------


class Interrupted(BaseException):
    """The run was stopped by a signal (SIGTERM, SIGHUP); the output was not written."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_clean_up():
    """While scoring: SIGTERM and SIGHUP raise :class:`Interrupted` (so the temporary file is
    removed), and SIGXFSZ (``ulimit -f``) is ignored so that the write fails with an error."""
    import signal

    def stop(signum, frame):
        raise Interrupted(signum)

    wanted = {getattr(signal, s): stop for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s)}
    if hasattr(signal, "SIGXFSZ"):
        wanted[signal.SIGXFSZ] = signal.SIG_IGN
    with handlers(wanted):
        yield


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic garbage collector off within (on again after, if it was on).

    A chunk makes and keeps some 100,000 lists and strings, which would set off
    hundreds of collections that find nothing to free (about a tenth of the
    time of a CSV file's scoring outside the engine).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _same_file(a: os.stat_result, path: str) -> bool:
    try:
        b = os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _check_not_input(source: str, target: str) -> None:
    """Refuse an output that is the input (by name, link or standard input's file)."""
    if target == "-":
        return
    if source == "-":
        try:
            stdin = os.fstat(sys.stdin.fileno())
        except (OSError, ValueError, AttributeError):
            return
        import stat

        if stat.S_ISREG(stdin.st_mode) and _same_file(stdin, target):
            raise BatchError(f"output {target}: is the file read on standard input; "
                             "writing it would replace the input (choose another output)")
        return
    try:
        same = os.path.samefile(source, target)
    except OSError:
        same = Path(source).resolve() == Path(target).resolve()
    if same:
        raise BatchError(f"output {target}: must not be the input file (writing it would replace the input)")


# --- the two engines --------------------------------------------------------------------------


def score(source: str, target: str, model=None, chunk_size: int = DEFAULT_CHUNK_SIZE, engine: str = "pandas",
          progress: bool | None = None, priors_dir: str | None = None, sep: str | None = None,
          safe_csv: bool = False) -> Summary:
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
        Show a progress bar on standard error; by default only when it is a terminal.
    priors_dir : str, optional
        The priors folder (also what dask workers load).
    sep : str, optional
        The CSV separator; by default the one of ``, ; tab |`` whose header names the most variables.
    safe_csv : bool
        Escape text cells that a spreadsheet would run as formulas (see :func:`escape_formulas`).

    Raises
    ------
    BatchError
        For an unreadable, malformed or colliding input, or an unwritable output.
    Interrupted
        On SIGTERM or SIGHUP (the output is then not written).
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise BatchError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise BatchError(f"the chunk size must be a whole number >= 1, got {chunk_size!r}")
    if sep is not None and len(sep) != 1:
        raise BatchError(f"the separator must be one character, got {sep!r}")
    in_fmt = file_format(source, "input")
    out_fmt = file_format(target, "output")
    if source != "-" and not Path(source).is_file():
        raise BatchError(f"input {source}: no such file")
    if target != "-":
        parent = Path(target).resolve().parent
        if not parent.is_dir():
            raise BatchError(f"output {target}: folder {parent} does not exist")
        if Path(target).is_dir():
            raise BatchError(f"output {target}: is a folder, not a file")
    _check_not_input(source, target)
    if "parquet" in (in_fmt, out_fmt):
        _need_pyarrow(source if in_fmt == "parquet" else target)
    if model is None:
        model = load(priors_dir)
    if priors_dir is None:  # what dask workers load
        priors_dir = str(model.priors.directory)
    summary = Summary()
    with _signals_clean_up():
        out = writer = None
        try:
            out = _Target(target)
            out.create()
            writer = _CsvWriter(out, safe_csv) if out_fmt == "csv" else _ParquetWriter(out)
            if engine == "pandas":
                _score_pandas(model, source, in_fmt, chunk_size, writer, summary, progress, sep)
            else:
                _score_dask(model, source, in_fmt, chunk_size, writer, summary, progress, priors_dir, sep)
            writer.close()
            raise_if_interrupted()  # a Ctrl-C that something swallowed still means: do not write
            out.commit()
        except BaseException:
            try:
                if writer is not None:
                    writer.close()
            except (OSError, BatchError):
                pass
            if out is not None:
                out.discard()
            raise
    summary.seconds = time.perf_counter() - started
    return summary


def _joined(chunk, scored):
    """The input rows of a chunk with their added columns."""
    import pandas as pd

    return pd.concat([chunk, scored.frame(chunk.index)], axis=1)


def _tally(summary: Summary, levels, errors) -> None:
    """Count the rows, errors and triage levels of a chunk (each row's ``triage`` and ``error``)."""
    import pandas as pd

    summary.rows += len(levels)
    summary.errors += int(pd.Series(errors, dtype=object).notna().sum())
    for level, count in pd.Series(levels, dtype=object).value_counts().items():
        summary.levels[level] = summary.levels.get(level, 0) + int(count)


def _open(source: str, fmt: str, chunk_size: int, sep: str | None):
    return _CsvInput(source, sep, chunk_size) if fmt == "csv" else _ParquetInput(source, chunk_size)


def _score_pandas(model, source, fmt, chunk_size, writer, summary, progress, sep) -> None:
    reader = _open(source, fmt, chunk_size, sep)
    try:
        if isinstance(writer, _ParquetWriter) and fmt == "parquet":
            writer.source_schema = reader.schema
        lay = _layout_of(reader)
        summary.ignored = lay.ignored
        bar = _Progress(reader.total, "B" if fmt == "csv" else "rows", progress)
        done = False
        try:
            chunks = reader.chunks()
            while True:
                with _gc_paused():
                    item = next(chunks, None)
                    if item is None:
                        break
                    chunk, ragged, texts = item
                    scored = _score_chunk(model, chunk, lay, ragged)
                    writer.write_scored(chunk, scored, texts)
                    _tally(summary, scored.levels[scored.inverse], scored.errors[scored.inverse])
                bar.update(len(chunk), reader.position())
                raise_if_interrupted()
            done = True
        finally:
            bar.close(done)
    finally:
        reader.close()


@functools.lru_cache(maxsize=4)
def _worker_model(priors_dir: str | None):
    return load(priors_dir)


class _ParquetPart:
    """Score one row group of a Parquet file (a Dask partition); workers load the model once."""

    def __init__(self, path: str, lay: Layout, priors_dir: str | None):
        self.path, self.lay, self.priors_dir = path, lay, priors_dir

    def __call__(self, row_group: int):
        import pandas as pd
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.path) as pf:
            frame = pf.read_row_group(row_group).to_pandas(types_mapper=pd.ArrowDtype)
        return pd.concat([frame, _added_columns(_worker_model(self.priors_dir), frame, self.lay)], axis=1)


class _CsvPart:
    """Score one byte range of a CSV file that starts and ends between records (a Dask partition)."""

    def __init__(self, path: str, sep: str, header: list[str], lay: Layout, priors_dir: str | None):
        self.path, self.sep, self.header, self.lay, self.priors_dir = path, sep, header, lay, priors_dir

    def __call__(self, part: tuple[int, int, int]):
        import pandas as pd

        start, stop, line0 = part
        with open(self.path, "rb") as stream:
            stream.seek(start)
            data = stream.read(stop - start)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BatchError(f"{self.path}: not a UTF-8 text file ({exc.reason} at byte {start + exc.start})") \
                from None
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.sep)
        model = _worker_model(self.priors_dir)
        try:
            frames = [pd.concat([f, _added_columns(model, f, self.lay, ragged)], axis=1)
                      for f, ragged in _frames_from_rows(reader, self.header, max(1, len(text)), line0)]
        except csv.Error as exc:
            raise BatchError(f"{self.path}: cannot read line {line0 + reader.line_num}: {exc}") from None
        if not frames:
            empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in self.header})
            frames = [pd.concat([empty, _added_columns(model, empty, self.lay)], axis=1)]
        return pd.concat(frames, ignore_index=True)


def csv_ranges(path: str, blocksize: int, block: int = 1 << 24) -> list[tuple[int, int, int]]:
    """Split a CSV file after its header into byte ranges of about ``blocksize`` that end between records.

    A newline ends a record only outside quotes: where the count of ``"``
    before it is even (a quote inside a quoted field is doubled). Returns
    ``(start, stop, lines before start)`` per range.
    """
    cuts: list[tuple[int, int]] = []  # (byte after a record's newline, newlines up to it)
    header_end = None
    carry = 0
    lines = 0
    offset = 0
    next_cut = 0
    with open(path, "rb") as stream:
        while True:
            data = stream.read(block)
            if not data:
                break
            b = np.frombuffer(data, dtype=np.uint8)
            parity = (np.cumsum(b == 34) + carry) & 1
            newline = b == 10
            ends = np.flatnonzero(newline & (parity == 0))
            counts = np.cumsum(newline)
            if header_end is None and len(ends):
                header_end = (offset + int(ends[0]) + 1, lines + int(counts[ends[0]]))
                next_cut = header_end[0] + blocksize
                ends = ends[1:]
            if header_end is not None and len(ends):
                absolute = offset + ends + 1
                while True:
                    k = int(np.searchsorted(absolute, next_cut))
                    if k >= len(absolute):
                        break
                    cuts.append((int(absolute[k]), lines + int(counts[ends[k]])))
                    next_cut = int(absolute[k]) + blocksize
            carry = int(parity[-1])
            lines += int(counts[-1])
            offset += len(data)
    if header_end is None:
        return []
    starts = [header_end, *cuts]
    stops = [c[0] for c in cuts] + [offset]
    return [(s, e, n) for (s, n), e in zip(starts, stops) if e > s]


def _import_dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise BatchError("--engine dask needs Dask: from a checkout, .venv/bin/pip install -e \".[dask]\"") from None
    return dask, dd


def _score_dask(model, source, fmt, chunk_size, writer, summary, progress, priors_dir, sep) -> None:
    import pandas as pd

    if source == "-":
        raise BatchError("--engine dask reads files, not standard input; use --engine pandas")
    dask, dd = _import_dask()
    reader = _open(source, fmt, chunk_size, sep)  # checks the header (and Parquet schema) as the pandas engine does
    reader.close()
    lay = _layout_of(reader)
    summary.ignored = lay.ignored
    if fmt == "csv":
        with open(source, "rb") as stream:
            sample = stream.read(1 << 20)
        bytes_per_row = max(1, len(sample) // max(1, sample.count(b"\n")))
        ranges = csv_ranges(source, max(1 << 16, chunk_size * bytes_per_row))
        part, items, total = _CsvPart(source, reader.sep, reader.header, lay, priors_dir), ranges, None
        dtypes = {c: object for c in reader.header}
    else:
        import pyarrow.parquet as pq

        with pq.ParquetFile(source) as pf:
            groups = pf.num_row_groups
        if isinstance(writer, _ParquetWriter):
            writer.source_schema = reader.schema
        part, items, total = _ParquetPart(source, lay, priors_dir), list(range(groups)), reader.total
        empty = reader.schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
        dtypes = dict(empty.dtypes.items())
    meta = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    for c in OUTPUT_COLUMNS:
        meta[c] = pd.Series([], dtype=float if c.startswith("p_") else object)
    if not items:  # a header and no rows
        writer.write(meta)
        return
    parts = dd.from_map(part, items, meta=meta, enforce_metadata=False).to_delayed()
    bar = _Progress(total, "rows", progress)
    group = max(1, os.cpu_count() or 1)
    try:
        for start in range(0, len(parts), group):
            for frame in dask.compute(*parts[start:start + group]):
                writer.write(frame)
                _tally(summary, frame["triage"].to_numpy(dtype=object), frame["error"].to_numpy(dtype=object))
                bar.update(len(frame))
            raise_if_interrupted()
    finally:
        bar.close()
