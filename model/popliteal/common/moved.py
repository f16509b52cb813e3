"""Old module paths of popliteal 0.1 that still import, with a DeprecationWarning, for one release.

Version 0.2 moved the modules into sub-packages that read as the pipeline (see
``docs/architecture.md``). ``import popliteal.scenarios`` or ``from popliteal.plotting
import plot_network`` still work: a finder on ``sys.meta_path`` answers the old name
with the module at its new place (the same module object, so ``isinstance`` and
monkeypatching behave) and warns once per name. Nothing here imports popliteal code
by statement; modules are found by name, when an old path is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings

_PACKAGE = __package__.rpartition(".")[0]  # popliteal
#: Old module (under ``popliteal.``) -> its new place. Removed in the release after 0.2.
MOVED = {
    "atomic": "common.atomic",
    "messages": "common.messages",
    "safeyaml": "common.safeyaml",
    "structure": "network.structure",
    "priors": "network.priors",
    "cache": "network.cache",
    "export": "network.export",
    "plotting": "present.figures",
    "evidence": "engine.evidence",
    "contraction": "engine.contraction",
    "inference": "engine.inference",
    "marginals": "engine.marginals",
    "reasoning": "clinic.policy",
    "explain": "clinic.explain",
    "uncertainty": "clinic.uncertainty",
    "interview": "clinic.interview",
    "validation": "clinic.validation",
    "scenarios": "explore.scenarios",
    "scenario_file": "explore.scenario_file",
    "explorer": "explore.explorer",
    "cli_reasoning": "cli.reasoning",
    "completion": "cli.completion",
}


def warn_moved(old: str, new: str, stacklevel: int) -> None:
    """The one deprecation message of a moved name."""
    warnings.warn(f"{old} has moved to {new}; the old path is deprecated and will be removed in the "
                  "next release", DeprecationWarning, stacklevel=stacklevel)


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answer ``popliteal.<old>`` with the module at its new place."""

    def __init__(self) -> None:
        # old name -> the moved module's own spec, which the import machinery overwrites between
        # create_module and exec_module; keyed by name so that two old paths imported at once
        # (from two threads) cannot swap their specs
        self._specs: dict[str, importlib.machinery.ModuleSpec] = {}

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == _PACKAGE and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = f"{_PACKAGE}.{MOVED[spec.name.rpartition('.')[2]]}"
        module = importlib.import_module(new)
        self._specs[spec.name] = module.__spec__
        # 3: past warn_moved and this method to the importing line (warnings skips importlib's frames)
        warn_moved(spec.name, new, stacklevel=3)
        return module

    def exec_module(self, module) -> None:
        """Nothing to run (the module at the new place is loaded); keep its own ``__spec__``."""
        module.__spec__ = self._specs.pop(module.__spec__.name)


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``popliteal/__init__`` calls it)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
