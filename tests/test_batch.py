"""Batch scoring (``popliteal score``, :mod:`popliteal.batch`).

Oracle: one query per row through ``model.query`` (the single-case engine
path, itself checked against pgmpy in ``test_inference_exact.py``): every
posterior to 1e-12 and the same triage level. Around it: every row and
column kept, in order, with its original text; bad rows flagged and blanked
without touching the others; CSV and Parquet round trips; output that does
not depend on the chunk size or the engine (pandas, Dask threads, a local
Dask cluster); and the command line's one-line errors with exit status 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from popliteal import batch

from popliteal.network import structure
from popliteal.engine.evidence import from_mapping
from budget import examples

EXE = [sys.executable, "-m", "popliteal"]
P_COLUMNS = [f"p_{t}" for t in structure.TARGETS]


def read_csv_text(path) -> pd.DataFrame:
    """Every cell as the text in the file (empty cells as '')."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def row_evidence(row: pd.Series, columns) -> dict:
    return {c: row[c] for c in columns if str(row[c]).strip() != ""}


@pytest.fixture(scope="module")
def cases(model) -> pd.DataFrame:
    """Cases drawn from the network with mixed hard, soft and missing cells, plus bad rows."""
    rng = np.random.default_rng(11)
    frame = batch.simulate_cases(model, 120, rng, observe=0.35, soft=0.2)
    frame.insert(0, "id", [f"case-{i:03d}" for i in range(len(frame))])
    frame["comment"] = ["plain", "with, comma", 'with "quotes"', "  padded  ", "ünïcödé", ""] * 20
    frame["age"] = ""
    frame.loc[3, "age"] = "67"
    frame.loc[3, "age_group"] = ""
    frame.loc[4, "age"] = "9"
    frame.loc[4, "age_group"] = "child"  # agrees with the age
    bad = {
        10: ("calf_swelling", "maybe"),  # unknown state
        20: ("calf_tenderness", "yes:1.5"),  # likelihood out of range
        30: ("age", "150"),  # outside the model's ages
        40: ("age", "old"),  # not a number
    }
    for i, (column, value) in bad.items():
        frame.loc[i, column] = value
    frame.loc[50, ["sex", "pregnancy", "age_group"]] = ["male", "pregnant", "adult"]  # impossible, by the sex alone
    frame.loc[60, ["age", "age_group"]] = ["30", "child"]  # age and age_group disagree
    return frame


BAD_ROWS = {10: "unknown state 'maybe'", 20: "must be in (0, 1]", 30: "ages 2 to 120",
            40: "age must be a number", 50: "impossible: sex=male with pregnancy=pregnant",
            60: "given twice with different values"}


@pytest.fixture(scope="module")
def scored(model, cases, tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    source = folder / "cases.csv"
    cases.to_csv(source, index=False)
    target = folder / "scored.csv"
    summary = batch.score(str(source), str(target), model=model)
    return source, target, summary


def test_scores_equal_one_by_one_queries(model, cases, scored):
    _, target, summary = scored
    out = read_csv_text(target)
    evidence_columns = [c for c in cases.columns if c in structure.BY_NAME or c == "age"]
    checked = 0
    for i, row in out.iterrows():
        if i in BAD_ROWS:
            continue
        assert row["error"] == "", (i, row["error"])
        result = model.query(row_evidence(cases.loc[i], evidence_columns))
        for t in structure.TARGETS:
            assert float(row[f"p_{t}"]) == pytest.approx(result.probabilities[t], abs=1e-12), (i, t)
        assert row["triage"] == result.triage.level, i
        checked += 1
    assert checked == len(cases) - len(BAD_ROWS)
    assert summary.rows == len(cases) and summary.errors == len(BAD_ROWS)
    assert sum(summary.levels.values()) == checked


def test_every_row_and_column_kept_in_order_with_original_values(cases, scored):
    _, target, summary = scored
    out = read_csv_text(target)
    assert list(out.columns) == [*cases.columns, *batch.OUTPUT_COLUMNS]
    assert len(out) == len(cases)
    pd.testing.assert_frame_equal(out[list(cases.columns)], cases.astype(str).reset_index(drop=True),
                                  check_dtype=False)
    assert summary.ignored == ("id", "comment")


def test_bad_rows_get_an_error_and_empty_posteriors_and_leave_good_rows_alone(model, cases, scored, tmp_path):
    _, target, _ = scored
    out = read_csv_text(target)
    for i, fragment in BAD_ROWS.items():
        assert fragment in out.loc[i, "error"], (i, out.loc[i, "error"])
        assert "\n" not in out.loc[i, "error"]
        assert (out.loc[i, P_COLUMNS] == "").all() and out.loc[i, "triage"] == ""
    good = cases.drop(index=list(BAD_ROWS))
    good.to_csv(tmp_path / "good.csv", index=False)
    batch.score(str(tmp_path / "good.csv"), str(tmp_path / "good-out.csv"), model=model)
    alone = read_csv_text(tmp_path / "good-out.csv")
    pd.testing.assert_frame_equal(alone, out.drop(index=list(BAD_ROWS)).reset_index(drop=True))


def test_tiny_chunks_give_identical_output(model, scored, tmp_path):
    source, target, _ = scored
    for size in (1, 7):
        batch.score(str(source), str(tmp_path / f"c{size}.csv"), model=model, chunk_size=size)
        assert (tmp_path / f"c{size}.csv").read_bytes() == target.read_bytes(), size


@pytest.mark.parametrize("in_fmt,out_fmt", [("csv", "parquet"), ("parquet", "csv"), ("parquet", "parquet")])
def test_csv_and_parquet_round_trips(model, cases, scored, tmp_path, in_fmt, out_fmt):
    _, reference, _ = scored
    source = tmp_path / f"cases.{in_fmt}"
    typed = cases.copy()
    typed["id"] = np.arange(len(cases), dtype=np.int64)  # a typed column a Parquet file keeps
    if in_fmt == "csv":
        typed.to_csv(source, index=False)
    else:
        typed.to_parquet(source, index=False)
    target = tmp_path / f"scored.{out_fmt}"
    batch.score(str(source), str(target), model=model, chunk_size=50)
    out = read_csv_text(target) if out_fmt == "csv" else pd.read_parquet(target)
    ref = read_csv_text(reference)
    assert list(out.columns) == list(ref.columns) and len(out) == len(ref)
    for c in P_COLUMNS:
        got = pd.to_numeric(out[c]).to_numpy(dtype=float)
        np.testing.assert_array_equal(got, pd.to_numeric(ref[c]).to_numpy(dtype=float))
    assert out["triage"].fillna("").tolist() == ref["triage"].tolist()
    assert out["error"].fillna("").tolist() == ref["error"].tolist()
    assert [str(x) for x in out["id"]] == [str(i) for i in range(len(cases))]
    text_columns = [c for c in cases.columns if c != "id"]
    assert out[text_columns].astype(str).values.tolist() == cases[text_columns].values.tolist()
    if in_fmt == out_fmt == "parquet":
        assert str(pd.read_parquet(target)["id"].dtype) == "int64"  # the input's types are kept


def test_dask_engine_gives_identical_output(model, scored, tmp_path):
    pytest.importorskip("dask.dataframe")
    source, target, _ = scored
    batch.score(str(source), str(tmp_path / "dask.csv"), model=model, chunk_size=40, engine="dask")
    assert (tmp_path / "dask.csv").read_bytes() == target.read_bytes()


def test_dask_on_a_local_cluster_gives_identical_output(model, cases, tmp_path):
    distributed = pytest.importorskip("distributed")
    source = tmp_path / "cases.parquet"
    pd.concat([cases] * 3, ignore_index=True).to_parquet(source, index=False, row_group_size=100)
    batch.score(str(source), str(tmp_path / "pandas.parquet"), model=model)
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=2,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        batch.score(str(source), str(tmp_path / "dask.parquet"), model=model, engine="dask")
    left = pd.read_parquet(tmp_path / "pandas.parquet")
    pd.testing.assert_frame_equal(left, pd.read_parquet(tmp_path / "dask.parquet"))
    assert len(left) == 3 * len(cases)


def test_age_in_years_maps_to_age_group(model):
    frame = pd.DataFrame({"age": ["8", "15", "40", "75", ""], "calf_swelling": ["yes"] * 5})
    out = batch.score_frame(model, frame)
    for years, (_, row) in zip([8, 15, 40, 75, None], out.iterrows()):
        evidence = {"calf_swelling": "yes", **({"age": years} if years else {})}
        assert row["p_dvt"] == pytest.approx(model.posterior(evidence).probabilities["dvt"], abs=1e-12)


def test_empty_and_space_cells_are_unobserved_but_na_is_an_error(model):
    frame = pd.DataFrame({"calf_swelling": ["", "   ", "NA"]})
    out = batch.score_frame(model, frame)
    prior = model.posterior({}).probabilities["dvt"]
    assert out.loc[0, "p_dvt"] == pytest.approx(prior, abs=1e-12)
    assert out.loc[1, "p_dvt"] == pytest.approx(prior, abs=1e-12)
    assert "unknown state 'NA'" in out.loc[2, "error"] and np.isnan(out.loc[2, "p_dvt"])


def test_header_only_file_gives_header_only_output(model, tmp_path):
    (tmp_path / "empty.csv").write_text("id,calf_swelling\n")
    summary = batch.score(str(tmp_path / "empty.csv"), str(tmp_path / "out.csv"), model=model)
    assert summary.rows == 0
    assert (tmp_path / "out.csv").read_text().strip() == ",".join(["id", "calf_swelling", *batch.OUTPUT_COLUMNS])


def test_scored_rows_match_evidence_parsed_the_usual_way(model):
    """A soft cell means what ``NAME=STATE:L`` means on the command line."""
    frame = pd.DataFrame({"calf_swelling": ["yes:0.7"], "breathlessness": ["no"]})
    out = batch.score_frame(model, frame)
    post = model.posterior(from_mapping({"calf_swelling": "yes:0.7", "breathlessness": "no"}))
    assert out.loc[0, "p_pulmonary_embolism"] == pytest.approx(post.probabilities["pulmonary_embolism"], abs=1e-12)


@pytest.mark.parametrize("columns,fragment", [
    (["id", "error"], "column 'error' collides with an output column"),
    (["p_dvt"], "column 'p_dvt' collides"),
    (["calf_swellin"], "did you mean calf_swelling"),
    (["Calf_Swelling"], "did you mean calf_swelling"),
    (["sex", "sex"], "column 'sex' appears twice"),
])
def test_layout_refuses_columns_that_would_mislead(columns, fragment):
    with pytest.raises(batch.BatchError, match=fragment):
        batch.layout(columns)


def test_layout_passes_unknown_columns_through():
    lay = batch.layout(["id", "sex", "age", "notes"])
    assert lay.evidence == ("sex", "age") and lay.ignored == ("id", "notes")
    assert lay.observed == ("age_group", "sex")


# --- the command line -----------------------------------------------------------------------------


def run(*args, stdin=None, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("POPLITEAL_PRIORS", None)
    return subprocess.run([*EXE, *args], capture_output=True, text=True, input=stdin, env=env, cwd=cwd,
                          timeout=120)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("popliteal: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_cli_score_writes_every_row_and_says_so(scored, tmp_path):
    source, target, _ = scored
    proc = run("score", str(source), "-o", str(tmp_path / "cli.csv"), "--chunk-size", "50")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    assert f"{len(read_csv_text(source))} rows, {len(BAD_ROWS)} with an error" in proc.stdout
    assert "passed through, not used: id, comment" in proc.stdout
    assert (tmp_path / "cli.csv").read_bytes() == target.read_bytes()


def test_cli_score_reads_stdin_and_writes_stdout(model):
    proc = run("score", "-", "-o", "-", stdin="id,calf_swelling,age\nA,yes,70\nB,,\n")
    assert proc.returncode == 0, proc.stderr
    from io import StringIO

    out = pd.read_csv(StringIO(proc.stdout), dtype=str, keep_default_na=False)
    assert out["id"].tolist() == ["A", "B"]
    expected = model.posterior({"calf_swelling": "yes", "age": 70}).probabilities["dvt"]
    assert float(out.loc[0, "p_dvt"]) == pytest.approx(expected, abs=1e-12)
    assert "wrote standard output: 2 rows" in proc.stderr


def test_cli_score_bad_input_exits_2_with_one_line(tmp_path):
    (tmp_path / "error.csv").write_text("id,error,calf_swelling\n1,x,yes\n")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ok.csv").write_text("calf_swelling\nyes\n")
    (tmp_path / "folder.csv").mkdir()
    cases = [
        (["score", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv")], ["no such file"]),
        (["score", str(tmp_path / "binary.csv"), "-o", str(tmp_path / "o.csv")], ["not a UTF-8 text file"]),
        (["score", str(tmp_path / "broken.parquet"), "-o", str(tmp_path / "o.csv")], ["cannot read as Parquet"]),
        (["score", str(tmp_path / "empty.csv"), "-o", str(tmp_path / "o.csv")], ["no header row"]),
        (["score", str(tmp_path / "error.csv"), "-o", str(tmp_path / "o.csv")], ["'error' collides"]),
        (["score", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "o.xlsx")], ["must end in .csv or .parquet"]),
        (["score", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "nowhere" / "o.csv")], ["does not exist"]),
        (["score", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "folder.csv")], ["is a folder"]),
        (["score", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "ok.csv")], ["must not be the input"]),
        (["score", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "o.csv"), "--chunk-size", "0"], ["--chunk-size"]),
        (["score", "-", "-o", str(tmp_path / "o.csv"), "--engine", "dask"], ["standard input"]),
    ]
    for args, fragments in cases:
        assert_one_line_error(run(*args, stdin=""), *fragments)
    assert not (tmp_path / "o.csv").exists()  # nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --- duplicates, impossible rows, the triage seam (issue 11) --------------------------------------


class _CountingEngine:
    """Wraps the model's engine and records the batch size of every call."""

    def __init__(self, engine):
        self.engine, self.batches = engine, []

    def marginals(self, likelihoods, targets, batch=None, **options):
        self.batches.append(batch)
        return self.engine.marginals(likelihoods, targets, batch=batch, **options)

    def __getattr__(self, name):  # every other engine method, uncounted
        return getattr(self.engine, name)


def test_duplicate_rows_are_scored_once_and_scattered_back_in_order(model, monkeypatch):
    rng = np.random.default_rng(5)
    distinct = batch.simulate_cases(model, 40, rng, observe=0.4, soft=0.2)
    picks = rng.integers(0, len(distinct), 400)
    frame = distinct.iloc[picks].reset_index(drop=True)
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    expected = batch.score_frame(model, frame)
    counting = _CountingEngine(model.engine)
    monkeypatch.setattr(model, "engine", counting)
    out = batch.score_frame(model, frame)
    unique = len(frame.drop(columns="id").drop_duplicates())
    assert counting.batches == [max(unique, 16)]  # one engine call for the distinct rows only
    pd.testing.assert_frame_equal(out, expected)
    assert out["id"].tolist() == frame["id"].tolist()
    for i in rng.choice(len(frame), 25, replace=False):  # every copy has its row's own answer
        row = frame.loc[i]
        post = model.posterior({c: row[c] for c in distinct.columns if row[c]})
        assert out.loc[i, "p_dvt"] == pytest.approx(post.probabilities["dvt"], abs=1e-12)


def test_impossible_rows_named_as_query_names_them_without_a_per_row_path(model, monkeypatch):
    from popliteal.engine.inference import ImpossibleEvidence

    pairs = batch.impossible_pairs(model)
    assert pairs, "the model holds no pair of risk-factor states impossible"
    rng = np.random.default_rng(8)
    frame = batch.simulate_cases(model, 300, rng, observe=0.3, soft=0.1)
    bad = rng.choice(len(frame), 60, replace=False)
    for k, i in enumerate(bad):
        (a, sa), (b, sb) = pairs[k % len(pairs)]
        frame.loc[i, [a, b]] = [sa, sb]
    counting = _CountingEngine(model.engine)
    monkeypatch.setattr(model, "engine", counting)
    out = batch.score_frame(model, frame)
    assert len(counting.batches) <= 2  # scoring, then one batched check of the clashing items
    monkeypatch.undo()
    for i in bad:
        row = frame.loc[i]
        with pytest.raises(ImpossibleEvidence) as exc:
            model.posterior({c: row[c] for c in frame.columns if row[c]})
        assert out.loc[i, "error"] == str(exc.value)  # the same text as `popliteal query`
        assert np.isnan(out.loc[i, "p_dvt"]) and out.loc[i, "triage"] is None
    assert out["error"].notna().sum() == len(bad)


def _one_call_per_subset(engine, evidence) -> str:
    """The search as ``explain_impossible`` did it before it was batched: one engine call per item and pair."""
    import itertools

    from popliteal.engine.evidence import Evidence

    items = list(evidence.as_dict().items())
    for size in (1, 2):
        for combo in itertools.combinations(items, size):
            sub = Evidence({k: v for k, v in combo if ":" not in v}, {k: evidence.soft[k] for k, v in combo if ":" in v})
            _, p_e = engine.marginals(sub.likelihoods(), ("age_group",))
            if p_e[0] <= 0.0:
                return " with ".join(f"{k}={v}" for k, v in combo)
    return ", ".join(f"{k}={v}" for k, v in items)


def test_query_names_the_clash_as_the_one_call_per_item_and_pair_search_does_in_one_call(model, monkeypatch):
    from popliteal.engine.evidence import Evidence
    from popliteal.engine.inference import ImpossibleEvidence

    pairs = batch.impossible_pairs(model)
    rng = np.random.default_rng(11)
    frame = batch.simulate_cases(model, 12, rng, observe=0.9, soft=0.3)  # about 50 items a case
    sets = 0
    for k, (_, row) in enumerate(frame.iterrows()):
        (a, sa), (b, sb) = pairs[k % len(pairs)]
        evidence = from_mapping({**row_evidence(row, frame.columns), a: sa, b: sb})
        if k % 3 == 1:  # a soft item of likelihood 1 can clash too
            evidence = Evidence({n: v for n, v in evidence.hard.items() if n != b}, {**evidence.soft, b: (sb, 1.0)})
        if k % 3 == 2 and b == "pregnancy":  # and a set of states
            evidence = evidence.with_state(b, "pregnant|postpartum")
            sets += 1
        expected = _one_call_per_subset(model.engine, evidence)
        counting = _CountingEngine(model.engine)
        monkeypatch.setattr(model, "engine", counting)
        with pytest.raises(ImpossibleEvidence) as exc:
            model.posterior(evidence)
        monkeypatch.undo()
        assert str(exc.value) == f"the model holds this evidence impossible: {expected}"
        assert len(counting.batches) <= 1  # every item and pair in one call (none when already known)
    assert sets


def test_an_impossible_row_with_a_set_of_states_is_named_as_query_names_it(model):
    from popliteal.engine.inference import ImpossibleEvidence

    frame = pd.DataFrame({"age": ["8", "8", "30"], "pregnancy": ["pregnant|postpartum", "", "no"],
                          "pregnant_or_postpartum": ["", "yes", ""]})
    out = batch.score_frame(model, frame)
    for i in (0, 1):
        with pytest.raises(ImpossibleEvidence) as exc:
            model.posterior(row_evidence(frame.loc[i], frame.columns))
        assert out.loc[i, "error"] == str(exc.value)
    assert out.loc[2, "error"] is None


def test_triage_rows_is_the_one_triage_seam_of_batch(model, monkeypatch):
    """Batch scoring triages through ``scoring.triage_rows`` only, once per distinct row."""
    from popliteal.clinic import scoring

    frame = pd.DataFrame({"calf_swelling": ["yes", "no", "yes", "", "yes"], "age": ["70", "30", "70", "", "70"]})
    calls = []
    real = scoring.triage_rows

    def spy(probs, shown, policy, with_rules=True):
        calls.append(len(probs))
        return real(probs, shown, policy, with_rules)

    monkeypatch.setattr(scoring, "triage_rows", spy)
    out = batch.score_frame(model, frame)
    assert calls == [3]
    for i, row in frame.iterrows():
        result = model.query({k: v for k, v in row.items() if v})
        assert out.loc[i, "triage"] == result.triage.level
    levels, reasons = real(np.array([[result.probabilities[t] for t in structure.TARGETS]]),  # rule ids
                           {"calf_swelling": np.array(["yes"]), "age_group": np.array(["over_60"])},
                           model.priors.triage)
    assert levels.tolist() == [result.triage.level] and reasons[0] == result.triage.rules


# --- messy files and safe outputs: regression tests of issue 13 -----------------------------------


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_ragged_csv_rows_get_an_error_and_keep_their_cells_unshifted(model, tmp_path, engine):
    if engine == "dask":
        pytest.importorskip("dask.dataframe")
    source = tmp_path / "ragged.csv"
    source.write_text("id,calf_swelling,calf_tenderness\nA-1,yes,yes,\nA-2,yes\nA-3,yes,yes\nA-4,no,no,x,y\n")
    batch.score(str(source), str(tmp_path / "out.csv"), model=model, engine=engine)
    out = read_csv_text(tmp_path / "out.csv")
    assert out["id"].tolist() == ["A-1", "A-2", "A-3", "A-4"]  # never shifted into another column
    assert out["calf_swelling"].tolist() == ["yes", "yes", "yes", "no"]
    assert out["calf_tenderness"].tolist() == ["yes", "", "yes", "no"]
    for i, line, fields in [(0, 2, 4), (1, 3, 2), (3, 5, 5)]:
        assert out.loc[i, "error"].startswith(f"line {line}: {fields} fields but the header has 3"), out.loc[i, "error"]
        assert out.loc[i, "p_dvt"] == "" and out.loc[i, "triage"] == ""
    assert "extra: 'x', 'y'" in out.loc[3, "error"]
    expected = model.posterior({"calf_swelling": "yes", "calf_tenderness": "yes"}).probabilities["dvt"]
    assert out.loc[2, "error"] == "" and float(out.loc[2, "p_dvt"]) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("engine", ["pandas", "dask"])
@pytest.mark.parametrize("body", ["yes\n\nno\n", '"yes"\n\nno\n', "yes\r\n\r\nno\r\n"])
def test_blank_line_of_a_one_column_file_is_an_unobserved_row_not_dropped(model, tmp_path, engine, body):
    """In a one-column CSV an empty cell is a blank line (RFC 4180: each line a record); fast and csv-module paths."""
    if engine == "dask":
        pytest.importorskip("dask.dataframe")
    source = tmp_path / "one.csv"
    source.write_bytes(("calf_swelling\r\n" if "\r" in body else "calf_swelling\n").encode() + body.encode())
    summary = batch.score(str(source), str(tmp_path / "out.csv"), model=model, engine=engine)
    out = read_csv_text(tmp_path / "out.csv")
    assert out["calf_swelling"].tolist() == ["yes", "", "no"] and summary.rows == 3
    prior = model.posterior({}).probabilities["dvt"]
    assert float(out.loc[1, "p_dvt"]) == pytest.approx(prior, abs=1e-12) and out.loc[1, "error"] == ""


def test_dask_engine_gives_a_one_line_error_on_an_oversized_field(tmp_path):
    pytest.importorskip("dask.dataframe")
    (tmp_path / "big.csv").write_text("id,calf_swelling\n" + "x" * 200_000 + ",yes\nA,no\n")
    for engine in ("pandas", "dask"):
        assert_one_line_error(run("score", str(tmp_path / "big.csv"), "-o", str(tmp_path / f"{engine}.csv"),
                                  "--engine", engine), "field larger than field limit")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_semicolon_or_tab_separated_csv_is_sniffed_not_scored_as_the_prior(model, tmp_path, sep):
    source = tmp_path / "cases.csv"
    source.write_text(sep.join(["id", "calf_swelling", "age"]) + "\n" + sep.join(["A", "yes", "70"]) + "\n")
    batch.score(str(source), str(tmp_path / "out.csv"), model=model)
    out = read_csv_text(tmp_path / "out.csv")
    expected = model.posterior({"calf_swelling": "yes", "age": 70}).probabilities["dvt"]
    assert out["id"].tolist() == ["A"] and float(out.loc[0, "p_dvt"]) == pytest.approx(expected, abs=1e-12)


def test_header_naming_no_variable_is_refused_not_scored_as_the_prior(tmp_path):
    (tmp_path / "colon.csv").write_text("id:calf_swelling\nA:yes\n")
    assert_one_line_error(run("score", str(tmp_path / "colon.csv"), "-o", str(tmp_path / "o.csv")),
                          "no column is named after a variable", "--sep")
    proc = run("score", str(tmp_path / "colon.csv"), "-o", str(tmp_path / "o.csv"), "--sep", ":")
    assert proc.returncode == 0, proc.stderr
    assert read_csv_text(tmp_path / "o.csv")["triage"].tolist() != [""]
    assert_one_line_error(run("score", str(tmp_path / "colon.csv"), "-o", str(tmp_path / "o2.csv"), "--sep", ";"),
                          "no column is named after a variable", "separated by ';'")


def test_header_cell_with_a_newline_gives_a_one_line_error_to_api_callers(tmp_path, model):
    (tmp_path / "in.csv").write_text('"id\nx",note\n1,2\n')
    with pytest.raises(batch.BatchError, match="no column is named after a variable") as info:
        batch.score(str(tmp_path / "in.csv"), str(tmp_path / "out.csv"), model=model)
    assert "\n" not in str(info.value) and "header: id\\nx, note" in str(info.value)


def test_parquet_list_or_struct_column_is_a_one_line_error(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"calf_swelling": ["yes"], "tags": pa.array([["a", "b"]]),
                      "where": pa.array([{"x": 1}])})
    pq.write_table(table, tmp_path / "nested.parquet")
    assert_one_line_error(run("score", str(tmp_path / "nested.parquet"), "-o", str(tmp_path / "o.csv")),
                          "column 'tags' holds list")
    assert list(tmp_path.iterdir()) == [tmp_path / "nested.parquet"]


def test_dask_engine_reads_quoted_newlines_like_the_pandas_engine(model, tmp_path):
    pytest.importorskip("dask.dataframe")
    frame = batch.simulate_cases(model, 300, np.random.default_rng(3), observe=0.3)
    frame.insert(0, "note", [f'line one\nline "two", {i}' if i % 7 == 0 else f"n{i}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "quoted.csv", index=False)
    batch.score(str(tmp_path / "quoted.csv"), str(tmp_path / "pandas.csv"), model=model)
    batch.score(str(tmp_path / "quoted.csv"), str(tmp_path / "dask.csv"), model=model, engine="dask", chunk_size=40)
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert read_csv_text(tmp_path / "dask.csv")["note"].tolist() == frame["note"].tolist()


def test_csv_ranges_end_between_records_only(tmp_path):
    text = 'a,b\n1,"x\ny"\n2,"p""\nq"\n3,z\n' * 50
    (tmp_path / "q.csv").write_text(text)
    ranges = batch.csv_ranges(str(tmp_path / "q.csv"), blocksize=7, block=11)
    data = text.encode()
    assert ranges[0][0] == 4 and ranges[-1][1] == len(data)
    for (start, stop, lines), nxt in zip(ranges, ranges[1:] + [None]):
        assert data[start - 1:start] == b"\n" and data[:start].count(b'"') % 2 == 0
        assert lines == data[:start].count(b"\n")
        if nxt:
            assert nxt[0] == stop


def test_two_concurrent_runs_to_one_output_never_corrupt_it(model, tmp_path):
    frame = batch.simulate_cases(model, 3000, np.random.default_rng(4), observe=0.3)
    frame.to_csv(tmp_path / "cases.csv", index=False)
    batch.score(str(tmp_path / "cases.csv"), str(tmp_path / "reference.csv"), model=model)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    procs = [subprocess.Popen([*EXE, "score", str(tmp_path / "cases.csv"), "-o", str(tmp_path / "out.csv"),
                               "--chunk-size", "500"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "reference.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "out.csv", "reference.csv"]


def _wait_for_partial(folder, proc, timeout=60.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(p.name.endswith(".partial") for p in folder.iterdir()):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no temporary file appeared")


@pytest.mark.parametrize("signame,status,words", [("SIGTERM", 143, "stopped by SIGTERM"),
                                                   ("SIGHUP", 129, "stopped by SIGHUP"),
                                                   ("SIGINT", 130, "interrupted (Ctrl-C)")])
def test_signal_during_score_leaves_no_partial_file_and_one_line(tmp_path, signame, status, words):
    import signal

    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([*EXE, "score", "-", "-o", str(tmp_path / "out.csv")], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(b"id,calf_swelling\nA,yes\n")  # and then nothing: the run waits for more input
    proc.stdin.flush()
    _wait_for_partial(tmp_path, proc)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    lines = err.decode().strip().splitlines()
    prefix = "popliteal: " if signame == "SIGINT" else "popliteal: error: "  # Ctrl-C is not an error (exit 130)
    assert len(lines) == 1 and lines[0] == f"{prefix}{words}; {tmp_path / 'out.csv'} not written", err
    assert list(tmp_path.iterdir()) == []


def test_file_size_limit_leaves_no_partial_file_and_names_the_output(model, tmp_path):
    import resource

    batch.simulate_cases(model, 400, np.random.default_rng(6), observe=0.3).to_csv(tmp_path / "cases.csv",
                                                                                    index=False)
    assert run("score", str(tmp_path / "cases.csv"), "-o", str(tmp_path / "warm.csv")).returncode == 0
    limit = (tmp_path / "cases.csv").stat().st_size + 1000  # room for the input, not for the output

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([*EXE, "score", str(tmp_path / "cases.csv"), "-o", str(tmp_path / "out.csv")], env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=small_files)
    assert_one_line_error(proc, f"output {tmp_path / 'out.csv'}: File too large")
    assert ".partial" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "warm.csv"]


def test_score_to_stdout_piped_into_head_exits_quietly(tmp_path, model):
    batch.simulate_cases(model, 3000, np.random.default_rng(7), observe=0.3).to_csv(tmp_path / "cases.csv",
                                                                                     index=False)
    cmd = f"{' '.join(EXE)} score {tmp_path / 'cases.csv'} -o - --chunk-size 100 | head -n 2"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and len(proc.stdout.splitlines()) == 2


def test_formula_like_cells_are_escaped_with_safe_csv(tmp_path):
    (tmp_path / "in.csv").write_text('id,note,calf_swelling\n=1+2,+cmd,yes\n@SUM(A1),-3,no\nplain,x,\n')
    assert run("score", str(tmp_path / "in.csv"), "-o", str(tmp_path / "raw.csv")).returncode == 0
    assert read_csv_text(tmp_path / "raw.csv")["id"].tolist() == ["=1+2", "@SUM(A1)", "plain"]  # as given
    proc = run("score", str(tmp_path / "in.csv"), "-o", str(tmp_path / "safe.csv"), "--safe-csv")
    assert proc.returncode == 0, proc.stderr
    safe, raw = read_csv_text(tmp_path / "safe.csv"), read_csv_text(tmp_path / "raw.csv")
    assert safe["id"].tolist() == ["'=1+2", "'@SUM(A1)", "plain"]
    assert safe["note"].tolist() == ["'+cmd", "'-3", "x"]
    pd.testing.assert_frame_equal(safe[[*P_COLUMNS, "triage", "error"]], raw[[*P_COLUMNS, "triage", "error"]])


def test_score_refuses_to_replace_its_own_input(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,calf_swelling\nA,yes\n")
    os.link(source, tmp_path / "link.csv")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with open(source, "rb") as stdin:
        proc = subprocess.run([*EXE, "score", "-", "-o", str(source)], stdin=stdin, capture_output=True, text=True,
                              env=env, timeout=120)
    assert_one_line_error(proc, "read on standard input", "would replace the input")
    assert_one_line_error(run("score", str(source), "-o", str(tmp_path / "link.csv")), "must not be the input")
    assert source.read_text() == "id,calf_swelling\nA,yes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "link.csv"]


def test_progress_bar_shows_percent_done_and_time_left(model, tmp_path, capsys):
    batch.simulate_cases(model, 500, np.random.default_rng(9), observe=0.3).to_csv(tmp_path / "cases.csv",
                                                                                   index=False)
    batch.score(str(tmp_path / "cases.csv"), str(tmp_path / "out.csv"), model=model, chunk_size=100, progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "500 rows" in err, err  # percent of the file read, rows so far
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", err), err  # time spent < time left


def test_score_frame_keeps_any_index_and_every_row(model):
    frame = pd.DataFrame({"calf_swelling": ["yes", "no", "yes"]}, index=["b", "a", "b"])
    out = batch.score_frame(model, frame)
    assert list(out.index) == ["b", "a", "b"] and out["calf_swelling"].tolist() == ["yes", "no", "yes"]
    assert out["p_dvt"].iloc[0] == out["p_dvt"].iloc[2] != out["p_dvt"].iloc[1]
    assert len(batch.score_frame(model, frame.iloc[:0])) == 0


@settings(max_examples=examples(15))
@given(picks=st.lists(st.integers(0, 11), min_size=1, max_size=12))
def test_dedupe_gives_each_row_its_own_answer_to_the_last_bit(model, pool, picks):
    """Scoring a frame with repeated rows equals scoring each row alone (hypothesis over repeats)."""
    frame = pool.iloc[picks].reset_index(drop=True)
    together = batch.score_frame(model, frame)
    alone = pd.concat([batch.score_frame(model, frame.iloc[[i]]) for i in range(len(frame))], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone, check_exact=True)


@pytest.fixture(scope="module")
def pool(model):
    """Twelve rows: hard, soft, empty, a bad cell and an impossible pair (found by asking the model)."""
    frame = batch.simulate_cases(model, 12, np.random.default_rng(12), observe=0.4, soft=0.3)
    frame.iloc[3] = ""
    frame.iloc[5, 0] = "maybe"
    (a, sa), (b, sb) = batch.impossible_pairs(model, limit=1)[0]
    frame.loc[7, [a, b]] = [sa, sb]
    return frame


# --- the fast CSV path: the same bytes as the csv module's (issue 11) ------------------------------


def _messy_csv_text(model, n: int, seed: int, sep: str = ",", newline: str = "\n") -> str:
    """A seeded messy file: soft cells, bad values, an age column, impossible, repeated, ragged and blank rows."""
    rng = np.random.default_rng(seed)
    frame = batch.simulate_cases(model, n, rng, observe=0.3, soft=0.1)
    frame.insert(0, "id", [f"r{i}" for i in range(n)])
    frame["age"] = ""
    frame.loc[rng.choice(n, n // 10, replace=False), "age"] = [str(a) for a in rng.integers(1, 130, n // 10)]
    pairs = batch.impossible_pairs(model, limit=2)
    for k, i in enumerate(rng.choice(n, n // 20, replace=False)):
        (a, sa), (b, sb) = pairs[k % len(pairs)]
        frame.loc[i, [a, b]] = [sa, sb]
    for k, i in enumerate(rng.choice(n, n // 20, replace=False)):
        frame.iat[i, int(rng.integers(1, frame.shape[1]))] = ["maybe", "yes:1.5", "NA", "Yes", " yes ", "  "][k % 6]
    copies = rng.choice(n, n // 4, replace=False)
    frame.iloc[copies] = frame.iloc[rng.choice(n, len(copies))].to_numpy()
    lines = [sep.join(frame.columns)] + [sep.join(row) for row in frame.to_numpy(dtype=object).tolist()]
    for k, i in enumerate(rng.choice(np.arange(1, n + 1), n // 50, replace=False)):
        lines[i] = lines[i] + sep + "extra" if k % 2 else lines[i].rpartition(sep)[0]
    for i in sorted(rng.choice(np.arange(1, n + 1), 5, replace=False), reverse=True):
        lines.insert(i, "")
    return newline.join(lines) + newline


@pytest.mark.parametrize("sep,newline,chunk_size,late_quote", [
    (",", "\n", 50_000, False), (",", "\n", 97, False), (",", "\r\n", 50_000, False), (";", "\n", 97, False),
    ("\t", "\n", 50_000, False), (",", "\n", 97, True)])
def test_fast_csv_path_writes_the_bytes_of_the_csv_module_path(model, tmp_path, monkeypatch, sep, newline,
                                                                 chunk_size, late_quote):
    """Lines without quotes are split in Python and written with each distinct answer formatted once; the
    output is byte for byte that of the ``csv`` module's reader and the per-cell writer."""
    text = _messy_csv_text(model, 1500, 21, sep, newline)
    if late_quote:  # a quoted cell with a separator and a newline after the first chunks: the csv module from there
        lines = text.split(newline)
        lines[1200] = f'"a{sep}""b""\nc"' + lines[1200].partition(sep)[1:][0] + lines[1200].partition(sep)[2]
        text = newline.join(lines)
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode())
    real, split = batch._split_lines, []

    def spy(*args):
        split.append(real(*args) is not None)
        return real(*args)

    monkeypatch.setattr(batch, "_split_lines", spy)
    fast = batch.score(str(source), str(tmp_path / "fast.csv"), model=model, chunk_size=chunk_size)
    assert split[0] and split[-1] is not late_quote  # the fast path ran (and gave way at the quote)
    monkeypatch.setattr(batch, "_split_lines", lambda *args: None)  # the csv module reads every line
    slow = batch.score(str(source), str(tmp_path / "slow.csv"), model=model, chunk_size=chunk_size)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "slow.csv").read_bytes()
    assert (fast.rows, fast.errors, fast.levels) == (slow.rows, slow.errors, slow.levels)
    assert fast.errors > 0 and "fields but the header has" in (tmp_path / "fast.csv").read_text()


def test_fast_csv_path_matches_a_plain_reference_writer(model, tmp_path):
    """The output against a reference written here: csv reader, ``score_frame``, ``repr`` per cell, csv writer."""
    import csv
    import io

    lines = _messy_csv_text(model, 2000, 22).split("\n")
    text = "\n".join(line for line in lines if line.count(",") == lines[0].count(","))  # no ragged rows
    source = tmp_path / "in.csv"
    source.write_text(text + "\n")
    batch.score(str(source), str(tmp_path / "out.csv"), model=model)
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    frame = batch.score_frame(model, pd.DataFrame(rows[1:], columns=rows[0], dtype=object))
    expected = io.StringIO()
    out = csv.writer(expected, lineterminator="\n")
    out.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        out.writerow([repr(v) if isinstance(v, float) and v == v else "" if isinstance(v, float) else v
                      for v in row])
    assert (tmp_path / "out.csv").read_text() == expected.getvalue()


def test_added_texts_quote_as_the_csv_module_does():
    """Odd values (tiny, zero, NaN) and errors or levels that need quotes: as ``csv.writer`` writes them."""
    import csv
    import io

    from popliteal.clinic.scoring import _Scored

    k = len(structure.TARGETS)
    probs = np.array([np.linspace(0, 1, k), np.full(k, np.nan), [5e-324, 1e-300, 1e-5, 1e-4, -0.0, 1.0]
                      + [0.1 + 0.2] * (k - 6), np.full(k, 0.25), np.full(k, 1 / 3)])
    levels = np.array(["doctor", None, 'we"ird', "a,b", "urgent"], dtype=object)
    errors = np.array([None, 'line 3: "x", y\nz', None, None, "\r"], dtype=object)
    inverse = np.array([0, 1, 2, 3, 4, 2, 0])
    texts = batch._added_texts(_Scored(probs, levels, errors, inverse))
    expected = []
    for i in inverse:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            ["x", *(repr(v) if v == v else "" for v in probs[i].tolist()), levels[i], errors[i]])
        expected.append(buffer.getvalue()[1:-1])
    assert texts == expected


def test_a_complaint_column_with_empty_cells_changes_nothing(model):
    """The contract: knee_pain is always known, and knee_pain=yes changes nothing. An empty knee_pain cell is that
    known pain (as a query without it), not an unknown one, and one case that names it leaves the others alone."""
    alone = model.query_many([{"age": 91}, {"age": 34, "pregnancy": "postpartum"}])
    mixed = model.query_many([{"age": 91}, {"age": 34, "pregnancy": "postpartum"}, {"age": 91, "knee_pain": "yes"}])
    cols = [f"p_{t}" for t in structure.TARGETS]
    assert np.allclose(mixed.loc[:1, cols].to_numpy(float), alone[cols].to_numpy(float), rtol=0, atol=1e-12)
    assert (mixed.loc[:1, "triage"] == alone["triage"]).all()
    assert np.allclose(mixed.loc[2, cols].to_numpy(float), alone.loc[0, cols].to_numpy(float), rtol=0, atol=1e-12)
    framed = model.score(pd.DataFrame({"age": ["34", "34"], "pregnancy": ["postpartum"] * 2, "knee_pain": ["", "yes"]}))
    assert framed.loc[0, "p_dvt"] == pytest.approx(framed.loc[1, "p_dvt"], abs=1e-12)
    assert framed.loc[0, "p_dvt"] == pytest.approx(model.query({"age": 34, "pregnancy": "postpartum"})
                                                   .probabilities["dvt"], abs=1e-12)
