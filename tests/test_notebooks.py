"""The notebooks in notebooks/: executed, stored clean, free of model logic.

The ``.ipynb`` files are their own source (edit them in Jupyter, save, clear the outputs).
Oracles: nbclient running each notebook top to bottom in a fresh ``python3``
kernel of this environment (``MPLBACKEND=Agg``, working folder ``notebooks/``)
without an error or anything on stderr; and the stored files themselves (valid
nbformat 4 with cell ids, no outputs, no execution counts).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = ["01-tour.ipynb", "02-thrombosis-risk.ipynb", "03-differential.ipynb", "04-what-if.ipynb"]
#: What a notebook may import: the public API (and sys, for running the CLI with this Python).
ALLOWED_IMPORTS = {"popliteal.present", "popliteal", "popliteal.explore.explorer", "sys"}


def _execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb`` in this environment's own ``python3`` kernel (ipykernel), in notebooks/."""
    client = NotebookClient(nb, kernel_name="python3", timeout=180, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    return client.execute()


@pytest.fixture(autouse=True)
def _this_environments_kernel(monkeypatch):
    """Find the ``python3`` kernel spec of this venv first, before any user-wide one of another Python."""
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))


def test_the_four_notebooks_are_there():
    assert [p.name for p in PATHS] == EXPECTED


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_without_errors(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("POPLITEAL_PRIORS", raising=False)
    nb = _execute(nbformat.read(path, as_version=4))
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", (path.name, cell.source, out)
            assert out.get("name") != "stderr", (path.name, cell.source, out.get("text"))


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], (path.name, cell.source[:60])
            assert cell.execution_count is None, (path.name, cell.source[:60])
    assert set(nb.metadata) <= {"kernelspec", "language_info"}


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_imports_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("!"))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert {a.name for a in node.names} <= ALLOWED_IMPORTS, (path.name, cell.source)
            elif isinstance(node, ast.ImportFrom):
                assert node.module in ALLOWED_IMPORTS, (path.name, cell.source)
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda)), (path.name, cell.source)


def test_notebooks_are_their_own_source():
    """No generator writes them: the stored files are valid nbformat 4 with a unique id per cell."""
    assert not (ROOT / "scripts" / "make_notebooks.py").exists()
    assert [p.name for p in PATHS] == EXPECTED
    for path in PATHS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        ids = [c.id for c in nb.cells]
        assert len(set(ids)) == len(ids), path.name


@pytest.mark.slow
def test_every_figure_shows_inline_in_jupyter(monkeypatch):
    """With Jupyter's own inline backend, each plotting cell shows its figure (not just the first)."""
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import popliteal\nmodel = popliteal.load()",
        "model.query({'age': 67}).plot();",
        "model.compare({'a': {}, 'b': {'cancer': 'yes'}}).plot();",
        "model.sweep('age', [10, 70]).plot();",
    )]
    nb = _execute(nb)
    images = [sum("image/png" in out.get("data", {}) for out in cell.outputs) for cell in nb.cells]
    assert images == [0, 1, 1, 1]
