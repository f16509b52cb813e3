"""Assemble the validated priors into a pgmpy ``DiscreteBayesianNetwork``.

pgmpy is the reference: it checks the assembled model (``check_model``), runs
the reference inference (``VariableElimination``) in the tests and writes the
export formats. The fast engine in :mod:`popliteal.engine.inference` is compiled
from the same tables and checked against it.
"""

from __future__ import annotations

import warnings

from . import structure
from .priors import Priors, load_priors


def _import_pgmpy():
    # pgmpy 1.1 warns at import time about its own deprecated estimators module,
    # which popliteal never uses.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy\..*")
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.models import DiscreteBayesianNetwork
    return DiscreteBayesianNetwork, TabularCPD


def build_network(priors: Priors | None = None, tables=None):
    """Return the checked pgmpy network built from ``priors``.

    Parameters
    ----------
    priors : Priors, optional
        Validated priors; the default folder is loaded when omitted.
    tables : mapping of str to numpy.ndarray, optional
        The tables to use instead of the files' own: the model passes the tables its
        engine runs, fitted to the complaint (:mod:`popliteal.engine.complaint`).
    """
    priors = priors if priors is not None else load_priors()
    DiscreteBayesianNetwork, TabularCPD = _import_pgmpy()
    model = DiscreteBayesianNetwork(structure.edges())
    model.add_nodes_from(structure.NAMES)
    cpds = []
    for var in structure.VARIABLES:
        table = priors.nodes[var.name].table if tables is None else tables[var.name]
        parents = list(var.parents)
        cpds.append(TabularCPD(
            variable=var.name,
            variable_card=len(var.states),
            values=table.reshape(len(var.states), -1),
            evidence=parents or None,
            evidence_card=[len(structure.BY_NAME[p].states) for p in parents] or None,
            state_names={var.name: list(var.states),
                         **{p: list(structure.BY_NAME[p].states) for p in parents}},
        ))
    model.add_cpds(*cpds)
    model.check_model()
    return model


def reference_query(model, targets, evidence=None, soft=None) -> dict[str, dict[str, float]]:
    """Exact marginals by pgmpy's ``VariableElimination`` (the reference engine).

    Parameters
    ----------
    model : pgmpy DiscreteBayesianNetwork
    targets : list of str
    evidence : dict, optional
        ``{variable: state}``. The complaint (``knee_pain``) is ``yes`` unless given, as in
        every query of the engine.
    soft : dict, optional
        ``{variable: likelihood vector over its states}``, passed to pgmpy as
        virtual evidence.

    Returns ``{target: {state: probability}}``.
    """
    _, TabularCPD = _import_pgmpy()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy\..*")
        from pgmpy.inference import VariableElimination
    engine = VariableElimination(model)
    virtual_evidence = [
        TabularCPD(name, len(lik), [[float(x)] for x in lik],
                   state_names={name: list(structure.BY_NAME[name].states)})
        for name, lik in (soft or {}).items()
    ] or None
    out = {}
    evidence = {structure.COMPLAINT: structure.BY_NAME[structure.COMPLAINT].states[0], **(evidence or {})}
    for target in targets:
        if target in evidence:  # pgmpy refuses a target that is also evidence
            out[target] = {s: float(s == evidence[target]) for s in structure.BY_NAME[target].states}
            continue
        factor = engine.query([target], evidence=evidence or None, virtual_evidence=virtual_evidence,
                              show_progress=False)
        out[target] = {s: float(v) for s, v in zip(factor.state_names[target], factor.values)}
    return out
