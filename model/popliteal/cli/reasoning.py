"""The clinical-reasoning commands of the CLI: ``explain``, ``next``, ``interview``.

Also the options these share with ``query``: ``--scenario FILE`` (evidence
from a YAML file, see :mod:`popliteal.explore.scenario_file`) and ``query --mpe``.
Kept apart from :mod:`popliteal.cli.main` so that the parser stays readable; like
it, this module imports nothing heavy until a command runs.
"""

from __future__ import annotations

import argparse
import sys

from .options import (UsageError, add_scenario_option, common, decorate, evidence_from_args, load_model, print_json,
                      scenario_header, whole_number, write_plot)

EXPLAIN_DESCRIPTION = """\
For each leading cause (the three most probable and any other at 5% or more):
every piece of evidence for and against it, with its weight, the change in
the cause's log-odds (natural log) when that piece is left out. exp(weight)
is the likelihood ratio of the piece given the rest of the evidence. Also
the unasked questions whose answers would move the cause most."""

NEXT_DESCRIPTION = """\
The unobserved findings and risk factors, best first, scored by the expected
reduction (in bits) of the summed binary entropies of the causes' posteriors.
Red-flag questions (breathlessness, calf swelling, calf tenderness) come first
while a dangerous cause they screen for is at least red_flag_threshold
(priors/triage.yaml) probable."""

INTERVIEW_DESCRIPTION = """\
Asks the most informative question, one at a time, and shows the three
leading causes after each answer. Answers: yes, no (or a state name; an age
in years for age_group); yes? / no? for a leaning answer (soft evidence with
likelihood 0.7); unsure (or don't know), the same as yes?; skip (never ask again); back (undo
the last answer); quit. Stops when no red flag is pending and no answer with
a probability of at least 5% to any remaining question would change the
leading cause or the triage,
when nothing is left worth asking, or after --max-questions; then prints the
result. Answers may be piped on stdin (the end of the input stops it). With
--json the questions go to stderr and stdout holds one JSON object."""


def add_query_options(p: argparse.ArgumentParser) -> None:
    """``--scenario`` and ``--mpe`` of ``popliteal query``."""
    add_scenario_option(p)
    p.add_argument("--mpe", action="store_true",
                   help="also show the most probable joint combination of causes and complications "
                        "(not the same as the per-cause probabilities)")


def add_parsers(sub) -> None:
    """Add ``explain``, ``next`` and ``interview`` to the subcommands ``sub``.

    Each takes ``-e``, ``--json`` and ``--priors`` (:func:`popliteal.cli.options.common`).
    """
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("explain", help="the evidence for and against each leading cause, with weights",
                       description=EXPLAIN_DESCRIPTION, formatter_class=raw)
    common(p)
    add_scenario_option(p)
    p.add_argument("--plot", metavar="FILE", help="write a diverging bar chart of the weights (.png or .svg)")

    p = sub.add_parser("next", help="the questions worth asking next, best first",
                       description=NEXT_DESCRIPTION, formatter_class=raw)
    common(p)
    add_scenario_option(p)
    p.add_argument("--limit", metavar="N", type=whole_number(1), default=10,
                   help="questions shown in the table (default 10; --json lists all)")

    p = sub.add_parser("interview", help="ask the most informative question, one at a time",
                       description=INTERVIEW_DESCRIPTION, formatter_class=raw)
    common(p)
    add_scenario_option(p)
    p.add_argument("--max-questions", metavar="N", type=whole_number(1), default=None,
                   help="stop after N questions answered or skipped")


def _print_header(scenario) -> None:
    header = scenario_header(scenario)
    if header:
        print(header)


def cmd_explain(args) -> int:

    evidence, scenario = evidence_from_args(args)
    model = load_model(args.priors)
    result = model.explain(evidence)
    if args.plot is not None:
        write_plot(result, args.plot)
    return _emit(args, model, evidence, scenario, result, result.table())


def cmd_next(args) -> int:

    evidence, scenario = evidence_from_args(args)
    model = load_model(args.priors)
    result = model.next_questions(evidence)
    return _emit(args, model, evidence, scenario, result, result.table(limit=args.limit))


def _emit(args, model, evidence, scenario, result, table: str) -> int:
    """Print a result of explain/next as JSON or as its table, with any conflict warning."""

    warning = model.conflict(evidence).warning()
    if args.json:
        out = decorate(result.to_dict(), scenario)
        if warning:
            out["warnings"] = [warning]
        print_json(out)
    else:
        _print_header(scenario)
        print(table)
        if warning:
            print(f"\nWarning: {warning}")
        print(f"\npriors digest: {model.digest}")
    return 0


def cmd_interview(args) -> int:
    from ..clinic.interview import run

    if getattr(args, "scenario", None) == "-":
        raise UsageError("interview --scenario -: standard input holds the answers; give the scenario as a file")
    evidence, scenario = evidence_from_args(args)
    model = load_model(args.priors)
    model.posterior(evidence)  # impossible starting evidence: exit 2 before the first question
    stream = sys.stderr if args.json else sys.stdout
    header = scenario_header(scenario)
    if header:
        stream.write(header + "\n")
    inp = sys.stdin
    if sys.stdin.isatty():  # line editing and history, from the user's data folder
        from ..clinic.interview import TerminalInput

        inp = TerminalInput(prompt_out=sys.stderr if args.json else None)
    try:
        interview, reason = run(model, evidence, inp, stream, max_questions=args.max_questions)
    finally:
        if inp is not sys.stdin:
            inp.close()
    if args.json:
        print_json(decorate(interview.to_dict(reason), scenario))
    else:
        print()
        print(interview.assessment().table())
        print(f"\nQuestions answered: {interview.questions_asked} ({interview.questions_skipped} skipped)")
        print(f"priors digest: {model.digest}")
    return 0


COMMANDS = {"explain": cmd_explain, "next": cmd_next, "interview": cmd_interview}
