"""Scenarios for notebooks and the command line: compare, sweep, grid, trajectory, the explorer.

Owns ``scenarios`` (what-if studies over a model, each a result object), ``scenario_file``
(named scenarios in YAML) and ``explorer`` (the ipywidgets explorer). It may import the
clinic and everything below it; it receives a model object, it never loads one.
"""
