"""Write the network in the formats other tools read (BIF, XMLBIF, UAI).

pgmpy's writers format BIF and XMLBIF; the files open in pyAgrum, GeNIe and
SamIam. UAI is written here: pgmpy's UAI writer lists each table with the
child varying slowest although the format (and pyAgrum's reader) wants the
last variable of a function's scope, the child, to vary fastest, and it does
not put the table of variable ``i`` in position ``i``, so pyAgrum refuses the
file. The tests load each export in pyAgrum and compare posteriors
(``tests/test_export_against_pyagrum.py``). Every file is written atomically
(:mod:`popliteal.common.atomic`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..common.atomic import atomic_path, atomic_write_bytes
from .bayesnet import build_network
from .priors import Priors

FORMATS = ("bif", "xmlbif", "uai")


def export(priors: Priors, fmt: str, path: str | Path, tables=None) -> Path:
    """Write the network built from ``priors`` to ``path`` in format ``fmt``.

    ``tables`` replaces the files' tables: the model exports the tables its engine runs
    (fitted to the complaint, which the other tool must then set to ``yes``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "uai":
        return write_uai(priors, path, tables)
    model = build_network(priors, tables)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy\..*")
        from pgmpy.readwrite import BIFWriter, UAIWriter, XMLBIFWriter
    writer = {"bif": BIFWriter, "xmlbif": XMLBIFWriter, "uai": UAIWriter}[fmt](model)
    path = Path(path)
    # pgmpy 1.1 names the method write() and deprecates write_bif/write_xmlbif/write_uai.
    write = getattr(writer, "write", None) or getattr(writer, f"write_{fmt}")
    with atomic_path(path) as tmp:  # a complete file or none
        write(str(tmp))
    return path


def write_uai(priors: Priors, path: str | Path, tables=None) -> Path:
    """Write the network in the UAI format (``BAYES``), as the UAI competitions define it.

    Variable ``i`` is ``structure.NAMES[i]`` and state ``j`` its ``j``-th state
    (UAI keeps no names). Function ``i`` is the table of variable ``i`` with
    the scope ``parents..., child``; its entries run over the scope with the
    last variable (the child) fastest. Numbers are written in full precision.
    """
    from . import structure

    index = {n: i for i, n in enumerate(structure.NAMES)}
    lines = ["BAYES", str(len(structure.NAMES)),
             " ".join(str(len(v.states)) for v in structure.VARIABLES), str(len(structure.NAMES))]
    for var in structure.VARIABLES:
        scope = [index[p] for p in var.parents] + [index[var.name]]
        lines.append(" ".join(str(x) for x in [len(scope), *scope]))
    lines.append("")
    for var in structure.VARIABLES:
        table = priors.nodes[var.name].table if tables is None else tables[var.name]  # (child, *parents)
        values = table.transpose(*range(1, table.ndim), 0).ravel()  # parents..., child fastest
        lines.append(str(values.size))
        lines.append(" ".join(repr(float(x)) for x in values))
        lines.append("")
    return atomic_write_bytes(path, "\n".join(lines).encode("ascii"))
