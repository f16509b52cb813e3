"""Write the network in the formats other tools read (BIF, XMLBIF, UAI).

pgmpy's writers do the formatting; the files open in pyAgrum, GeNIe and
SamIam. The tests load each export in pyAgrum and compare posteriors.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .network import build_network
from .priors import Priors

FORMATS = ("bif", "xmlbif", "uai")


def export(priors: Priors, fmt: str, path: str | Path) -> Path:
    """Write the network built from ``priors`` to ``path`` in format ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    model = build_network(priors)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy\..*")
        from pgmpy.readwrite import BIFWriter, UAIWriter, XMLBIFWriter
    writer = {"bif": BIFWriter, "xmlbif": XMLBIFWriter, "uai": UAIWriter}[fmt](model)
    path = Path(path)
    getattr(writer, f"write_{fmt}")(str(path))  # write_bif, write_xmlbif, write_uai
    return path
