"""The network: its variables and states, the sourced priors, and the Bayesian network built from them.

Owns ``structure`` (names, states, kinds, edges), ``priors`` (loading and validating every
file of ``priors/``, the triage and advice policy included, into tables), ``cache`` (the
content-hashed cache of loaded priors), ``bayesnet`` (the pgmpy model, for export and
cross-checks) and ``export``. It may import only :mod:`popliteal.common`.
"""


def __getattr__(name):
    # popliteal 0.1 had a module popliteal.network with build_network; it is now popliteal.network.bayesnet
    if name == "build_network":
        from ..common.moved import warn_moved
        from .bayesnet import build_network

        warn_moved("popliteal.network.build_network", "popliteal.network.bayesnet.build_network", stacklevel=3)
        globals()["build_network"] = build_network  # warn once
        return build_network
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
