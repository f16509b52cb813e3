"""The command line, ``popliteal``: one face of the model, beside the Python API and the batch.

Owns ``main`` (the parser and the query, variables, export and score commands),
``reasoning`` (explain, next, interview, compare, sweep and the other reasoning commands),
``options`` (the options and validators they share) and ``completion`` (shell completion
scripts). Imports are lazy so that ``popliteal --help`` and ``--version`` stay fast.
"""

from .main import main

__all__ = ["main"]
