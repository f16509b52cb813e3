"""The house rules of the code: imports point down the pipeline, and nothing imports in a circle.

Every ``import`` of every module of ``model/popliteal`` counts, also those inside functions
(lazy imports are still dependencies). The layer order is written here, once;
``scripts/make_architecture.py`` reads it to draw ``docs/figures/architecture.png``.
"""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "model" / "popliteal"

#: The pipeline, lowest first. A module may import from its own layer and the layers before it.
LAYERS = ("common", "network", "present", "engine", "clinic", "explore", "faces")
#: Modules directly under popliteal/ (and the cli package) are the faces a user touches.
FACES = ("__init__", "__main__", "api", "batch", "cli")


def module_name(path: Path) -> str:
    """``popliteal.engine.inference`` for ``model/popliteal/engine/inference.py``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    """The layer a module belongs to."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in FACES:
        return "faces"
    return parts[1]


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The popliteal modules ``path`` imports, anywhere in it (``from .x import y`` -> ``x.y`` when a module)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # popliteal.x.y.Class -> popliteal.x.y
                name = name.rpartition(".")[0]
            if name and name != me:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` over the whole package."""
    known = modules()
    return {name: imports_of(path, known) for name, path in known.items()}


def test_every_module_belongs_to_a_layer():
    for name in modules():
        assert layer(name) in LAYERS, f"{name}: in no layer of {LAYERS} (add its folder to the pipeline)"


def test_imports_only_point_down_the_pipeline():
    graph = import_graph()
    upward = [f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, targets in graph.items() for b in sorted(targets)
              if LAYERS.index(layer(b)) > LAYERS.index(layer(a))
              and b != "popliteal"]  # the package itself: its __init__ only (checked below)
    assert not upward, "imports up the pipeline:\n" + "\n".join(upward)


def test_only_the_faces_import_the_package_root():
    graph = import_graph()
    offenders = [a for a, targets in graph.items() if "popliteal" in targets and layer(a) != "faces"]
    assert not offenders, f"modules below the faces import popliteal/__init__: {offenders}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_anywhere_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_against_a_known_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_import_walker_sees_imports_inside_functions(tmp_path):
    graph = import_graph()
    # popliteal.api imports the scenarios only inside Model.compare: still an edge
    assert "popliteal.explore.scenarios" in graph["popliteal.api"]
    assert "popliteal.network.structure" in graph["popliteal.engine.inference"]


#: What a layer never imports, anywhere in it, as docs/architecture.md says: matplotlib only in
#: ``present`` ("figures holds every matplotlib drawing"), pgmpy only in ``network`` (``bayesnet``
#: builds the pgmpy model, ``export`` writes its formats; "the engine never imports pgmpy"), and
#: ``explore`` "never loads a model" (it is handed one).
DENIED = {
    "common": ("matplotlib", "pgmpy"),
    "network": ("matplotlib",),
    "present": ("pgmpy",),
    "engine": ("matplotlib", "pgmpy"),
    "clinic": ("matplotlib", "pgmpy"),
    "explore": ("matplotlib", "pgmpy", "popliteal.network.priors.load_priors", "popliteal.network.cache",
                "popliteal.network.bayesnet", "popliteal.api"),
}


def imported_names(path: Path) -> dict[str, int]:
    """Every dotted name ``path`` imports, anywhere in it, with a line (``from m import x`` -> ``m`` and ``m.x``)."""
    me = module_name(path) if path.is_relative_to(PACKAGE) else "popliteal._"
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            stem = node.module or ""
            if node.level:
                base = package.split(".")
                stem = ".".join(base[:len(base) - node.level + 1] + ([stem] if stem else []))
            names = [stem] + [f"{stem}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            found.setdefault(name, node.lineno)
    return found


def denied_imports(path: Path, denied: tuple[str, ...]) -> list[str]:
    """``module:line imports name`` for each import of ``path`` that ``denied`` (names and their sub-modules) forbids."""
    return [f"{module_name(path) if path.is_relative_to(PACKAGE) else path.name}:{line} imports {name}"
            for name, line in sorted(imported_names(path).items())
            if any(name == d or name.startswith(d + ".") for d in denied)]


def test_no_layer_imports_what_the_architecture_doc_says_it_never_imports():
    assert set(DENIED) <= set(LAYERS)
    found = [hit for name, path in modules().items() for hit in denied_imports(path, DENIED.get(layer(name), ()))]
    assert not found, "imports docs/architecture.md rules out:\n" + "\n".join(found)


def test_the_deny_list_sees_imports_inside_functions_and_from_imports(tmp_path):
    lazy = tmp_path / "lazy.py"
    lazy.write_text("import numpy\n\ndef draw():\n    import matplotlib.pyplot as plt\n\n"
                    "def build():\n    from pgmpy.models import DiscreteBayesianNetwork\n")
    assert denied_imports(lazy, DENIED["engine"]) == ["lazy.py:4 imports matplotlib.pyplot",
                                                      "lazy.py:7 imports pgmpy.models",
                                                      "lazy.py:7 imports pgmpy.models.DiscreteBayesianNetwork"]
    assert denied_imports(lazy, ("matplotlib_extra",)) == []
    loads = tmp_path / "loads.py"
    loads.write_text("def f():\n    from popliteal.network.priors import Priors, load_priors\n")
    assert denied_imports(loads, DENIED["explore"]) == ["loads.py:2 imports popliteal.network.priors.load_priors"]


def _imported(node: ast.Import | ast.ImportFrom) -> set[tuple[str, str | None]]:
    """What an import statement binds: ``(module or 'from-module:name', alias)`` pairs."""
    if isinstance(node, ast.Import):
        return {(a.name, a.asname) for a in node.names}
    return {(f"{'.' * node.level}{node.module or ''}:{a.name}", a.asname) for a in node.names}


def test_no_import_inside_a_loop_nor_again_inside_a_function():
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(), str(path))
        top = set().union(*(_imported(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))))
        for node in ast.walk(tree):
            inner = [m for m in ast.walk(node) if isinstance(m, (ast.Import, ast.ImportFrom))]
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                found += [f"{name}:{m.lineno}: import inside a loop" for m in inner]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [f"{name}:{m.lineno}: imports again {sorted(_imported(m) & top)}" for m in inner
                          if _imported(m) & top]
    assert not found, "\n".join(sorted(set(found)))


def test_every_sub_package_says_what_it_owns_and_may_import():
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"{folder.name}/__init__.py: a paragraph on what it owns and may import"


MOVED_PUBLIC = [("popliteal.scenarios", "compare"), ("popliteal.plotting", "plot_network"),
                ("popliteal.explorer", "Explorer"), ("popliteal.explain", "explain"),
                ("popliteal.inference", "Posterior"), ("popliteal.reasoning", "Assessment"),
                ("popliteal.evidence", "EvidenceError"), ("popliteal.structure", "TARGETS")]


@pytest.mark.parametrize(("old", "name"), MOVED_PUBLIC)
def test_old_import_paths_still_work_with_a_deprecation_warning(old, name):
    import sys

    from popliteal.common.moved import MOVED

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} has moved to popliteal.{MOVED[old.split('.')[1]]}"):
        module = importlib.import_module(old)
    new = importlib.import_module(f"popliteal.{MOVED[old.split('.')[1]]}")
    assert getattr(module, name) is getattr(new, name)
    assert new.__spec__.name == new.__name__  # the new module keeps its own identity


def test_the_old_network_module_name_still_gives_build_network():
    import popliteal.network as network
    from popliteal.network.bayesnet import build_network

    network.__dict__.pop("build_network", None)
    with pytest.warns(DeprecationWarning, match="popliteal.network.bayesnet.build_network"):
        assert network.build_network is build_network


def test_new_paths_import_without_any_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in modules():
            if not name.endswith("__main__"):
                importlib.import_module(name)


def test_architecture_doc_has_a_paragraph_per_layer_and_the_drawn_picture():
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    for name in LAYERS:
        folder = "api.py" if name == "faces" else f"`{name}/`"
        assert folder in doc, f"docs/architecture.md: no paragraph on {name}"
    assert "](figures/architecture.png)" in doc
    assert (PACKAGE.parents[1] / "docs" / "figures" / "architecture.png").stat().st_size > 10_000
