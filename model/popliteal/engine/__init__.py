"""Exact inference: evidence in, posteriors out.

Owns ``evidence`` (parsing and validating what is known about a patient), ``contraction``
(the planned tensor contraction and its backward pass), ``inference`` (the engine, the
:class:`~popliteal.engine.inference.Posterior` result), ``marginals`` (every variable's
marginal), ``complaint`` (the tables fitted so that, with the pain every user has, each
row equals its file's) and ``sampling`` (patients drawn from the network). It may import
:mod:`popliteal.common`, :mod:`popliteal.network` and :mod:`popliteal.present`; never
pgmpy or matplotlib (tests/test_architecture.py checks it, inside functions too).
"""
