"""The README shows real output.

Oracle: running the command of every complete ``console`` example in
README.md (a line ``$ .venv/bin/popliteal …``) must print exactly what the README
shows. Output abridged on purpose (``...``, ``…``, ``(as above)``) is run
too, and must exit as shown. Every file an example reads is in the
repository (``docs/examples/``). Run times (``0.3 s``) are normalised. When a prior changes, the README example must be refreshed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def commands():
    """Every ``$ .venv/bin/popliteal`` line of a console block with the lines it shows."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in BLOCK.findall(text):
        lines = block.splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for k, start in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
            if lines[start].startswith("$ .venv/bin/popliteal "):
                out.append((lines[start][2:], lines[start + 1:stop]))
    return out


def abridged(shown) -> bool:
    return any(mark in line for line in shown for mark in ("...", "…", "(as above)"))


def examples():
    """The complete examples: their output must be printed exactly."""
    return [(command, "\n".join(shown)) for command, shown in commands() if not abridged(shown)]


EXAMPLES = examples()


def test_readme_has_complete_examples():
    assert len(EXAMPLES) >= 3


def _run(command, tmp_path):
    argv = shlex.split(command)
    argv = [sys.executable, "-m", "popliteal", *argv[1:]]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("POPLITEAL_PRIORS", None)
    work = tmp_path / "checkout"  # a copy of what the examples read: nothing is written into the repository
    shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
    shutil.copytree(ROOT / "priors", work / "priors")
    return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command,shown", EXAMPLES, ids=[c[:60] for c, _ in EXAMPLES])
def test_readme_example_output_is_real(command, shown, tmp_path):
    proc = _run(command, tmp_path)
    printed = (proc.stdout + proc.stderr).rstrip("\n")

    def normal(text):
        return "\n".join(re.sub(r"\b\d+(\.\d+)? s\b", "<t> s", line.rstrip()) for line in text.splitlines())

    assert normal(printed) == normal(shown)


ABRIDGED = [(c, s) for c, s in commands() if abridged(s)]


@pytest.mark.parametrize("command,shown", ABRIDGED, ids=[c[:60] for c, _ in ABRIDGED])
def test_readme_abridged_example_runs(command, shown, tmp_path):
    """An abridged example still runs as shown: same exit status, its first line among those printed."""
    proc = _run(command, tmp_path)
    failing = any(line.startswith("popliteal: error:") for line in shown)
    assert proc.returncode == (2 if failing else 0), proc.stderr
    printed = [line.rstrip() for line in (proc.stdout + proc.stderr).splitlines()]
    assert abridged(shown[:1]) or shown[0].rstrip() in printed


def test_readme_examples_read_files_of_the_repository():
    """Every file an example reads is shipped; nothing is written into the checkout."""
    for command, _ in commands():
        argv = shlex.split(command)
        outputs = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--output", "--plot")}
        if "export" in argv:
            outputs.add(argv[-1])
        for arg in argv[1:]:
            if arg in outputs:
                assert arg.startswith("/tmp/"), f"{command}: writes {arg} into the checkout"
            elif arg.endswith((".yaml", ".csv", ".parquet")):
                assert (ROOT / arg).is_file(), f"{command}: {arg} is not in the repository"
