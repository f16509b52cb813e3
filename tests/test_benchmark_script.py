"""``scripts/benchmark.py --quick`` runs and prints its one table (no timing is asserted).

Oracle: the rows the issues ask the benchmark to show, side by side in one
run: the CLI against the pgmpy import, one query in each engine, batch rows
per second in each engine, ``popliteal score`` on a clean and a messy file,
its peak memory, the ratios with the issues' targets, and the machine the
numbers come from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_ROWS = [
    "`popliteal query ... --json`, start to answer",
    "`python -c 'import pgmpy.inference'`",
    "one query, compiled engine (evidence pattern seen before)",
    "one query, compiled engine (first query of a new evidence pattern)",
    "one query, pyAgrum LazyPropagation (our BIF export)",
    "one query, pgmpy VariableElimination",
    "batch, compiled engine: posteriors of",
    "batch, compiled engine, noisy-ORs factorised",
    "batch, `popliteal score` CSV to CSV",
    "batch, `popliteal score` CSV to CSV, 3,000 cases, messy file",
    "batch, `popliteal score` of 5,000 rows: peak memory",
    "batch, pyAgrum LazyPropagation per-case loop",
    "batch, pgmpy VariableElimination per-case loop",
    "ratio: compiled batch / pyAgrum loop",
    "ratio: compiled batch / pgmpy loop",
    "ratio: `popliteal score`, clean file / pyAgrum loop",
    "ratio: `popliteal score`, messy file / pyAgrum loop",
    "ratio: one query, compiled (seen pattern) / pyAgrum",
    "ratio: `popliteal query --json` / `import pgmpy.inference`",
]


@pytest.mark.slow
def test_quick_benchmark_prints_the_table():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--quick"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(r"machine: \d+ CPUs \(.+\)", lines[0]), lines[0]
    assert lines[1].startswith("python 3.")
    table = [line for line in lines if line.startswith("| ")]
    names = [line.split("|")[1].strip() for line in table[2:]]
    for expected in EXPECTED_ROWS:
        assert any(name.startswith(expected) for name in names), expected
    for line in table[2:]:
        value = line.split("|")[2].strip()
        assert re.fullmatch(r"[\d,.]+ ?(ms|s|rows/s|x|MiB)?", value), line  # a number with its unit
    assert "extrapolated" in proc.stdout  # the per-case loops say they are extrapolated
    assert sum("issue target" in line for line in table) >= 3
