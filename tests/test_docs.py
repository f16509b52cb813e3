"""The repository's own documents are self-contained and true to the code.

Oracles: ``popliteal.network.structure`` (every variable and its states must be in
``docs/contract.md``, whose tables are generated from it) and the rule that
nothing in the repository points at a build machine.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from popliteal.network import structure

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "docs" / "contract.md"


def _make_contract():
    spec = importlib.util.spec_from_file_location("make_contract", ROOT / "scripts" / "make_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_contract_tables_are_generated_from_the_structure():
    text = CONTRACT.read_text(encoding="utf-8")
    assert _make_contract().render(text) == text, "docs/contract.md is stale: run scripts/make_contract.py"


@pytest.mark.parametrize("name", structure.NAMES)
def test_every_variable_is_in_the_contract_with_its_states(name):
    text = CONTRACT.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"{name} is not in docs/contract.md (run scripts/make_contract.py)"
    states = structure.BY_NAME[name].states
    cell = rows[0].split("|")[2]
    if states == structure.YES_NO:
        assert cell.strip() == "yes/no"
    else:
        assert re.findall(r"`([^`]+)`", cell) == list(states)


def test_the_generator_fails_on_a_new_variable(monkeypatch):
    """The guard can fail: a variable added to the structure makes the file stale."""
    text = CONTRACT.read_text(encoding="utf-8")
    extra = structure.Variable("made_up_sign", structure.FINDING, "a sign that does not exist",
                               states=("left", "right"))
    monkeypatch.setattr(structure, "VARIABLES", (*structure.VARIABLES, extra))
    rendered = _make_contract().render(text)
    assert rendered != text
    assert "| `made_up_sign` | `left`, `right` | a sign that does not exist |" in rendered


def test_readme_links_the_contract():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/contract.md)" in readme


#: Written in pieces so that this file does not match itself.
BUILD_PATHS = ("file:" + "///", "/" + "work/", "shared" + "/spec", "shared" + "/seed")


def test_no_path_of_a_build_machine_in_the_repository():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".parquet", ".npz"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            found += [f"{name}:{number}: {mark}" for mark in BUILD_PATHS if mark in line]
    assert found == []


def test_make_notebooks_passes_jupyterlab_options():
    if shutil.which("make") is None:  # pragma: no cover
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "-W", "pyproject.toml", "notebooks", 'ARGS=--no-browser --port 8899'],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (line,) = [line for line in proc.stdout.splitlines() if "-m jupyterlab" in line]
    assert line.rstrip().endswith("--no-browser --port 8899 notebooks/")
