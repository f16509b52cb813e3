"""What the commands of the CLI share: their common options, validators, loading and output.

One place for ``-e``, ``--json``, ``--priors``, ``--scenario`` and the whole-number
validators, for loading the model, printing JSON, writing a plot and reporting bad
input (:class:`UsageError`, exit status 2). Imports nothing heavy at import time.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_BAD_INPUT = 2
#: Longest error line printed (characters): a huge input is cut, never echoed whole.
MAX_MESSAGE = 500
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: Help of ``-e``, shared by every command that takes evidence.
EVIDENCE_HELP = (
    "evidence, repeatable: NAME=STATE; age=YEARS (mapped to age_group); NAME=STATE:L for soft "
    "(virtual) evidence, a finding reported with confidence L: P(report | STATE) = L and "
    "P(report | the other state) = 1 - L, so :0.5 changes nothing and :1 is a sure finding "
    "(L is not the probability of the finding)")

SCENARIO_HELP = ("read evidence (and a title and notes) from a YAML scenario file (- for standard input); -e "
                 "adds to it, and a variable given in both with different values is an error")



class UsageError(Exception):
    """Bad input: reported as one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line with exit status 2, naming the subcommand's help."""

    def error(self, message: str):  # one line, status 2, no usage dump
        raise UsageError(f"{message} (see 'popliteal {self._sub_name()}--help')")

    def _sub_name(self) -> str:
        parts = self.prog.split()[1:]
        return " ".join(parts) + " " if parts else ""


def common(p: argparse.ArgumentParser, evidence: bool = True, json_flag: bool = True) -> None:
    """Add ``-e``, ``--json`` and ``--priors`` (each command says which it takes)."""
    if evidence:
        p.add_argument("-e", "--evidence", action="append", default=[], metavar="NAME=STATE",
                       help=EVIDENCE_HELP)
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--priors", metavar="DIR", default=None,
                   help="load the network from another priors folder (default: $POPLITEAL_PRIORS or the bundled one)")


def add_scenario_option(p: argparse.ArgumentParser) -> None:
    """``--scenario FILE``."""
    p.add_argument("--scenario", metavar="FILE", default=None, help=SCENARIO_HELP)


def whole_number(minimum: int, maximum: int | None = None, what: str = ""):
    """An argparse type: a whole number from ``minimum`` (to ``maximum``), else one line naming the range."""
    unit = f" of {what}" if what else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"must be a whole number{unit} {bound}, got {text!r}")
        return value

    return parse


def load_model(priors: str | None):
    """The model of ``--priors`` (or the default), through the compiled-model cache."""
    from ..api import load

    return load(priors, cache=True)


def print_json(obj) -> None:
    """One JSON object on standard output."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def plot_target(path: str):
    """The checked ``--plot`` file: not empty, not a folder, in an existing folder, .png or .svg."""
    from ..common.atomic import TargetError, check_target

    if not path.strip():
        raise UsageError("--plot: an empty file name (give a .png or .svg file)")
    try:
        target = check_target(path)
    except TargetError as exc:
        raise UsageError(f"--plot {exc}") from None
    if target.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--plot {path}: the file must end in .png or .svg")
    return target


def write_plot(result, path: str, draw=None) -> None:
    """Draw ``result`` (or what ``draw()`` returns) into ``path`` atomically (see :mod:`popliteal.common.atomic`)."""
    target = plot_target(path)
    from ..present.figures import save

    try:
        save(draw() if draw is not None else result.plot(), target)
    except OSError as exc:
        raise UsageError(f"--plot {path}: cannot write: {exc.strerror or exc}") from None


def evidence_from_args(args):
    """The evidence of ``-e`` merged with ``--scenario``; returns ``(Evidence, Scenario or None)``."""
    from ..engine.evidence import parse_items

    evidence = parse_items(args.evidence)
    scenario = None
    if getattr(args, "scenario", None):
        from ..explore.scenario_file import load_scenario, merge

        scenario = load_scenario(args.scenario)
        evidence = merge(scenario, evidence)
    return evidence, scenario


def decorate(out: dict, scenario=None, mpe=None) -> dict:
    """Add ``scenario`` and ``mpe`` to a JSON object when they were asked for."""
    if scenario is not None:
        out["scenario"] = scenario.to_dict()
    if mpe is not None:
        out["mpe"] = mpe.to_dict()
    return out


def scenario_header(scenario) -> str | None:
    """A line naming the scenario for the text output."""
    if scenario is None:
        return None
    title = f": {scenario.title}" if scenario.title else ""
    notes = f"\nNotes: {scenario.notes}" if scenario.notes else ""
    return f"Scenario {scenario.path}{title}{notes}"
