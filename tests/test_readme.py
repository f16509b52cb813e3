"""The README shows real output.

Oracle: running the command of every complete ``console`` example in
README.md (a block whose first line is ``$ .venv/bin/popliteal …``) must print
exactly what the README shows. Skipped: output abridged on purpose (``...``,
``…``, ``(as above)``) and commands that read a file the README only shows
(not in the repository). Run times (``0.3 s``) and the checkout's path are
normalised. When a prior changes, the README example must be refreshed.
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


def examples():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in BLOCK.findall(text):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("$ .venv/bin/popliteal "):
            continue
        commands = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for k, start in enumerate(commands):
            stop = commands[k + 1] if k + 1 < len(commands) else len(lines)
            shown = lines[start + 1:stop]
            if any(mark in line for line in shown for mark in ("...", "…", "(as above)")):
                continue  # abridged on purpose
            if not lines[start].startswith("$ .venv/bin/popliteal "):
                continue
            files = [a for a in shlex.split(lines[start][2:]) if a.endswith((".yaml", ".csv", ".parquet"))]
            if any(not (ROOT / a).exists() for a in files[:1]):
                continue  # reads a file the README only shows
            out.append((lines[start][2:], "\n".join(shown)))
    return out


EXAMPLES = examples()


def test_readme_has_complete_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("command,shown", EXAMPLES, ids=[c[:60] for c, _ in EXAMPLES])
def test_readme_example_output_is_real(command, shown, tmp_path):
    argv = shlex.split(command)
    argv = [sys.executable, "-m", "popliteal", *argv[1:]]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("POPLITEAL_PRIORS", None)
    work = tmp_path / "checkout"
    shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    printed = (proc.stdout + proc.stderr).rstrip("\n").replace(str(ROOT), "/work/main")

    def normal(text):
        return "\n".join(re.sub(r"\b\d+(\.\d+)? s\b", "<t> s", line.rstrip()) for line in text.splitlines())

    assert normal(printed) == normal(shown)
