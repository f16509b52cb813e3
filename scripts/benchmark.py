"""How fast popliteal answers, against pgmpy and pyAgrum, measured side by side in one run.

Prints the machine and ONE Markdown table:

- the command line from start to answer (``popliteal query ... --json``, a
  subprocess, median of several runs, compiled-model cache warm) against the
  time Python needs just to ``import pgmpy.inference``;
- the latency of one query for every cause: the compiled engine (a repeated
  evidence pattern, and the first query of a new one), pyAgrum's
  LazyPropagation on our BIF export, and pgmpy's VariableElimination;
- batch throughput on random cases drawn from the network (each risk factor
  and finding observed with probability 0.3, 5% of them as soft evidence):
  the compiled engine's posteriors for the whole batch (and, beside it, the
  same engine with its noisy-OR findings factorised too, off by default), ``popliteal score``
  from CSV to CSV (parsing, posteriors, triage, writing) on a clean file and
  on a messy one (impossible rows, bad values, duplicates, ragged rows),
  pyAgrum's per-case loop and pgmpy's, each timed on fewer cases and
  extrapolated to rows per second (the table says on how many);
- the peak memory (RSS) of ``popliteal score`` on a 1,000,000-row CSV file,
  run as a subprocess;

and the targets of issues 5 and 11, shown, not asserted. Nothing here is a test:
``tests/test_benchmark_script.py`` only checks that ``--quick`` prints the
table.

Usage: ``python scripts/benchmark.py [--quick]`` (``make benchmark``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = {"age": "67", "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"}

FULL = dict(cli_runs=7, import_runs=7, latency_repeats=50, pgmpy_repeats=5, cases=100_000, pyagrum_cases=2_000,
            pgmpy_cases=300, memory_rows=1_000_000)
QUICK = dict(cli_runs=2, import_runs=2, latency_repeats=5, pgmpy_repeats=2, cases=3_000, pyagrum_cases=100,
             pgmpy_cases=10, memory_rows=5_000)
#: The messy file: shares of rows that are impossible, hold a bad value, repeat another row, or are ragged.
MESSY = dict(impossible=0.036, bad=0.01, duplicate=0.3, ragged=0.001)


def machine() -> list[str]:
    """What the numbers were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy
    import pandas

    versions = [f"numpy {numpy.__version__}", f"pandas {pandas.__version__}"]
    for name in ("pgmpy", "pyagrum"):
        try:
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
        except Exception:  # not installed
            versions.append(f"{name} missing")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [f"machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
            f"python {platform.python_version()}; {'; '.join(versions)}",
            f"load average before the run: {load}"]


def popliteal_command() -> list[str]:
    exe = Path(sys.executable).with_name("popliteal")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "popliteal"]


def median_subprocess(cmd: list[str], runs: int) -> float:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    subprocess.run(cmd, capture_output=True, env=env, check=True)  # warm-up (disk cache, compiled-model cache)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_call(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_pyagrum():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SWIG's import-time warnings
        try:
            import pyagrum as gum
        except ImportError:
            import pyAgrum as gum
    return gum


class PgmpyEngine:
    """pgmpy's VariableElimination, reused across queries with hard evidence only.

    A query with virtual (soft) evidence changes the engine's own copy of the
    network in pgmpy 1.1, so such a query gets a fresh engine, as
    :func:`popliteal.network.bayesnet.reference_query` does.
    """

    def __init__(self, model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from pgmpy.inference import VariableElimination
        self.network = model.network()
        self.engine_class = VariableElimination
        self.engine = VariableElimination(self.network)

    def query(self, evidence: dict, targets) -> None:
        """Every target's marginal (hard evidence; soft cells as virtual evidence)."""
        from popliteal.network import structure
        from popliteal.engine.evidence import from_mapping
        from popliteal.network.bayesnet import _import_pgmpy

        ev = from_mapping(evidence)
        _, tabular = _import_pgmpy()
        virtual = [tabular(n, 2, [[lik[0]], [lik[1]]], state_names={n: list(structure.BY_NAME[n].states)})
                   for n, lik in ev.likelihoods().items() if n in ev.soft] or None
        engine = self.engine_class(self.network) if virtual else self.engine
        wanted = [t for t in targets if t not in ev.hard]
        hard = {structure.COMPLAINT: "yes", **ev.hard}  # the complaint every query of the model knows
        engine.query(wanted, evidence=hard, virtual_evidence=virtual, joint=False, show_progress=False)


def pyagrum_query(gum, ie, evidence: dict, targets) -> list[float]:
    from popliteal.engine.evidence import from_mapping

    from popliteal.network import structure

    ev = from_mapping(evidence)
    ie.eraseAllEvidence()
    ie.addEvidence(structure.COMPLAINT, "yes")  # the complaint every query of the model knows
    for name, state in ev.hard.items():
        ie.addEvidence(name, state)
    for name, lik in ev.likelihoods().items():
        if name in ev.soft:
            ie.addEvidence(name, [float(lik[0]), float(lik[1])])
    ie.makeInference()
    return [ie.posterior(t)[0] for t in targets]


def messy_csv(model, cases, path: Path, rng: np.random.Generator) -> dict[str, int]:
    """Write ``cases`` to ``path`` as messy real files are: impossible rows, bad values, duplicates, ragged rows."""
    from popliteal import batch

    frame = cases.copy()
    n = len(frame)
    counts = {}
    pairs = batch.impossible_pairs(model)
    rows = rng.choice(n, int(n * MESSY["impossible"]), replace=False)
    for k, i in enumerate(rows):
        (a, sa), (b, sb) = pairs[k % len(pairs)]
        frame.iat[i, frame.columns.get_loc(a)] = sa
        frame.iat[i, frame.columns.get_loc(b)] = sb
    counts["impossible"] = len(rows) if pairs else 0
    bad_values = ["maybe", "yes:1.5", "NA", "Yes"]
    rows = rng.choice(n, int(n * MESSY["bad"]), replace=False)
    columns = rng.integers(0, frame.shape[1], len(rows))
    for k, (i, j) in enumerate(zip(rows, columns)):
        frame.iat[i, j] = bad_values[k % len(bad_values)]
    counts["bad value"] = len(rows)
    copies = rng.choice(n, int(n * MESSY["duplicate"]), replace=False)
    frame.iloc[copies] = frame.iloc[rng.choice(n, len(copies))].to_numpy()
    counts["duplicate"] = len(copies)
    lines = frame.to_csv(index=False).split("\n")
    ragged = rng.choice(np.arange(1, n + 1), int(n * MESSY["ragged"]), replace=False)
    for i in ragged:
        lines[i] += ","
    counts["ragged"] = len(ragged)
    path.write_text("\n".join(lines))
    return counts


def score_peak_memory(model, rows: int, folder: Path) -> tuple[float, float]:
    """``popliteal score`` of a CSV file of ``rows`` cases in a subprocess: rows per second and peak RSS (MiB)."""
    from popliteal import batch

    source, target = folder / "big.csv", folder / "big-scored.csv"
    rng = np.random.default_rng(7)
    step = 100_000
    with open(source, "w", encoding="utf-8", newline="") as out:
        for start in range(0, rows, step):
            part = batch.simulate_cases(model, min(step, rows - start), rng, observe=0.3, soft=0.05)
            part.to_csv(out, index=False, header=start == 0, lineterminator="\n")
    # The peak RSS of the scoring process itself: Linux's VmHWM (ru_maxrss would count the benchmark's own
    # memory, which a child inherits at fork and keeps across exec); ru_maxrss elsewhere.
    code = ("import resource, sys, time; from pathlib import Path; from popliteal.cli.main import main; "
            "t = time.perf_counter(); rc = main(sys.argv[1:]); t = time.perf_counter() - t; "
            "status = Path('/proc/self/status'); "
            "hwm = [line.split()[1] for line in status.read_text().splitlines() if line.startswith('VmHWM')] "
            "if status.exists() else []; "
            "kib = int(hwm[0]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // "
            "(1024 if sys.platform == 'darwin' else 1); "
            "print(kib, t, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "score", str(source), "-o", str(target)],
                          capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"}, check=True)
    kib, seconds = proc.stderr.split()[-2:]
    return rows / float(seconds), int(kib) / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run with few repeats and cases")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    header = machine()

    import popliteal
    from popliteal import batch
    from popliteal.engine.inference import Engine
    from popliteal.network import structure
    from popliteal.network.export import export

    targets = list(structure.TARGETS)
    model = popliteal.load()
    rows: list[tuple[str, str, str]] = []  # (measurement, value, note)

    # --- start to answer --------------------------------------------------------------------------
    cli = [*popliteal_command(), "query", *(f"-e{k}={v}" for k, v in EVIDENCE.items()), "--json"]
    t_cli = median_subprocess(cli, cfg["cli_runs"])
    t_import = median_subprocess([sys.executable, "-W", "ignore", "-c", "import pgmpy.inference"], cfg["import_runs"])
    rows.append(("`popliteal query ... --json`, start to answer", f"{t_cli * 1e3:.0f} ms",
                 f"subprocess, median of {cfg['cli_runs']}, compiled-model cache warm"))
    rows.append(("`python -c 'import pgmpy.inference'`", f"{t_import * 1e3:.0f} ms",
                 f"subprocess, median of {cfg['import_runs']}"))

    # --- one query, every cause -------------------------------------------------------------------
    gum = import_pyagrum()
    with tempfile.TemporaryDirectory() as tmp:
        bif = export(model.priors, "bif", Path(tmp) / "popliteal.bif", model.engine.tables)
        bn = gum.loadBN(str(bif))
    ie = gum.LazyPropagation(bn)
    ie.setTargets(set(targets))
    pgmpy = PgmpyEngine(model)
    t_ours = median_call(lambda: model.posterior(EVIDENCE), cfg["latency_repeats"])
    fresh = batch.simulate_cases(model, 12, np.random.default_rng(1), observe=0.5)
    first = []
    for case in fresh.to_dict("records"):  # patterns not seen before: the contraction is planned first
        start = time.perf_counter()
        model.posterior({k: v for k, v in case.items() if v})
        first.append(time.perf_counter() - start)
    t_first = statistics.median(first)
    t_gum = median_call(lambda: pyagrum_query(gum, ie, EVIDENCE, targets), cfg["latency_repeats"])
    t_pgmpy = median_call(lambda: pgmpy.query(EVIDENCE, targets), cfg["pgmpy_repeats"])
    rows.append(("one query, compiled engine (evidence pattern seen before)", f"{t_ours * 1e3:.2f} ms",
                 f"median of {cfg['latency_repeats']}; the README's DVT example"))
    rows.append(("one query, compiled engine (first query of a new evidence pattern)", f"{t_first * 1e3:.2f} ms",
                 "median of 12 new patterns; no per-pattern planning for single cases"))
    rows.append(("one query, pyAgrum LazyPropagation (our BIF export)", f"{t_gum * 1e3:.2f} ms",
                 f"median of {cfg['latency_repeats']}; one engine reused, targets set to the causes"))
    rows.append(("one query, pgmpy VariableElimination", f"{t_pgmpy * 1e3:.1f} ms",
                 f"median of {cfg['pgmpy_repeats']}; one engine reused, all causes in one call"))

    # --- uncertainty: 1,000 draws of the priors within their ranges, one vectorised pass ----------
    unc_repeats = 2 if args.quick else 7
    t_unc = median_call(lambda: model.query(EVIDENCE, uncertainty=1000), unc_repeats)  # the first call is not timed
    rows.append(("uncertainty: 1,000 draws of the priors for one case", f"{t_unc * 1e3:.0f} ms",
                 f"median of {unc_repeats}; `query --uncertainty 1000`: draws, tables, engine, triage"))

    # --- batches ----------------------------------------------------------------------------------
    n = cfg["cases"]
    cases = batch.simulate_cases(model, n, np.random.default_rng(20261125), observe=0.3, soft=0.05)
    records = [{k: v for k, v in case.items() if v} for case in cases.to_dict("records")]
    parsed = batch.parse_frame(cases)
    lay = batch.layout(cases.columns)
    likelihoods = {k: parsed.likelihoods[k] for k in lay.observed}
    model.engine.marginals({k: v[:64] for k, v in likelihoods.items()}, targets, batch=64)  # plan once
    start = time.perf_counter()
    model.engine.marginals(likelihoods, targets, batch=n)
    rate_engine = n / (time.perf_counter() - start)
    factorised = Engine(model.engine.tables, factorise=True)  # the noisy-OR findings as sums of products
    factorised.marginals({k: v[:64] for k, v in likelihoods.items()}, targets, batch=64)
    start = time.perf_counter()
    factorised.marginals(likelihoods, targets, batch=n)
    rate_factorised = n / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "cases.csv", Path(tmp) / "scored.csv"
        cases.to_csv(source, index=False)
        start = time.perf_counter()
        batch.score(str(source), str(target), model=model, progress=False)
        rate_score = n / (time.perf_counter() - start)
        messy = Path(tmp) / "messy.csv"
        mess = messy_csv(model, cases, messy, np.random.default_rng(20261130))
        start = time.perf_counter()
        messy_summary = batch.score(str(messy), str(target), model=model, progress=False)
        rate_messy = n / (time.perf_counter() - start)
        rate_big, peak_mib = score_peak_memory(model, cfg["memory_rows"], Path(tmp))
    k_gum = min(cfg["pyagrum_cases"], n)
    start = time.perf_counter()
    for case in records[:k_gum]:
        pyagrum_query(gum, ie, case, targets)
    rate_gum = k_gum / (time.perf_counter() - start)
    k_pgmpy = min(cfg["pgmpy_cases"], n)
    start = time.perf_counter()
    for case in records[:k_pgmpy]:
        pgmpy.query(case, targets)
    rate_pgmpy = k_pgmpy / (time.perf_counter() - start)
    rows.append((f"batch, compiled engine: posteriors of {n:,} cases", f"{rate_engine:,.0f} rows/s",
                 "one `Engine.marginals` call (forward and backward pass)"))
    rows.append((f"batch, compiled engine, noisy-ORs factorised: {n:,} cases", f"{rate_factorised:,.0f} rows/s",
                 f"the same call with {', '.join(factorised.factorised())} as sums of products "
                 "(the findings off by default, the complaint on)"))
    rows.append((f"batch, `popliteal score` CSV to CSV, {n:,} cases, clean file", f"{rate_score:,.0f} rows/s",
                 "read, parse, posteriors, triage per distinct row, write"))
    shares = ", ".join(f"{v:,} {k}" for k, v in mess.items())
    rows.append((f"batch, `popliteal score` CSV to CSV, {n:,} cases, messy file", f"{rate_messy:,.0f} rows/s",
                 f"the same cases with {shares} rows; {messy_summary.errors:,} rows got an error"))
    rows.append((f"batch, `popliteal score` of {cfg['memory_rows']:,} rows: peak memory", f"{peak_mib:,.0f} MiB",
                 f"the CLI in a subprocess, peak RSS; {rate_big:,.0f} rows/s; issue target < 1 GiB at 1M rows: "
                 f"{'target met' if peak_mib < 1024 else 'target missed'}"
                 + ("" if cfg["memory_rows"] >= 1_000_000 else " (quick run: fewer rows)")))
    rows.append(("batch, pyAgrum LazyPropagation per-case loop", f"{rate_gum:,.0f} rows/s",
                 f"timed on {k_gum:,} of the cases, extrapolated"))
    rows.append(("batch, pgmpy VariableElimination per-case loop", f"{rate_pgmpy:,.1f} rows/s",
                 f"timed on {k_pgmpy:,} of the cases, extrapolated; a fresh engine for soft evidence"))

    # --- ratios and the targets -----------------------------------------------------------
    def verdict(ok: bool) -> str:
        return "target met" if ok else "target missed"

    rows.append(("ratio: compiled batch / pyAgrum loop", f"{rate_engine / rate_gum:,.0f}x",
                 f"issue 11 target >= 300x: {verdict(rate_engine / rate_gum >= 300)}"))
    rows.append(("ratio: `popliteal score`, clean file / pyAgrum loop", f"{rate_score / rate_gum:,.0f}x",
                 f"issue target >= 100x: {verdict(rate_score / rate_gum >= 100)}"))
    rows.append(("ratio: `popliteal score`, messy file / pyAgrum loop", f"{rate_messy / rate_gum:,.0f}x",
                 f"issue target >= 100x: {verdict(rate_messy / rate_gum >= 100)}"))
    rows.append(("ratio: compiled batch / pgmpy loop", f"{rate_engine / rate_pgmpy:,.0f}x", ""))
    rows.append(("ratio: one query, compiled (seen pattern) / pyAgrum", f"{t_ours / t_gum:.2f}",
                 f"issue target <= 1: {verdict(t_ours <= t_gum)}"))
    rows.append(("ratio: one query, compiled (new pattern) / pyAgrum", f"{t_first / t_gum:.2f}", ""))
    rows.append(("ratio: `popliteal query --json` / `import pgmpy.inference`", f"{t_cli / t_import:.2f}",
                 f"issue target < 0.5: {verdict(t_cli / t_import < 0.5)}"))
    rows.append(("1,000 uncertainty draws for one case", f"{t_unc:.2f} s",
                 f"issue target < 1 s: {verdict(t_unc < 1.0)}"))

    print("\n".join(header))
    if args.quick:
        print("quick run: few repeats and cases, for a smoke test only")
    print()
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"| {'measurement':<{width}} | {'value':>{vwidth}} | note |")
    print(f"| {'-' * width} | {'-' * (vwidth - 1)}: | --- |")
    for name, value, note in rows:
        print(f"| {name:<{width}} | {value:>{vwidth}} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
