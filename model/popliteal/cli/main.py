"""The ``popliteal`` command line.

Thin: parse, call the library, print a table or one JSON object. Heavy
modules (pgmpy, matplotlib, pandas) are imported only by the commands that
need them, so ``popliteal --help`` and ``--version`` stay fast.

Bad input (an unknown variable or state, impossible evidence, an unreadable
file, a broken priors folder) exits with status 2 and one line on stderr;
Ctrl-C exits with status 130 and one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ..common.interrupts import ctrl_c_remembered, interruption_wins, raise_if_interrupted
from ..common.version import __version__
from . import reasoning as _reasoning
from .options import (EXIT_BAD_INPUT, EXIT_INTERRUPTED, MAX_MESSAGE, Parser, UsageError, common, decorate,
                      evidence_from_args, load_model, plot_target, print_json, scenario_header, whole_number,
                      write_plot)

SHELLS = ("bash", "zsh", "fish")

#: Shown at the end of each subcommand's --help; run from the repository.
EXAMPLES = {
    "query": (
        "popliteal query -e age=67 -e long_travel=yes -e calf_swelling=yes",
        "popliteal query -e popliteal_swelling=yes -e osteoarthritis=yes --json",
        "popliteal query -e calf_swelling=yes:0.7 --target knee_effusion --target age_group",
        "popliteal query --scenario docs/examples/case.yaml --plot /tmp/case.png",
        "cat docs/examples/case.yaml | popliteal query --scenario - --uncertainty 1000",
    ),
    "variables": ("popliteal variables", "popliteal variables --json"),
    "validate-priors": ("popliteal validate-priors", "popliteal validate-priors my-priors/ --json"),
    "digest": ("popliteal digest", "popliteal digest --priors my-priors/"),
    "cite": ("popliteal cite", "popliteal cite --node dvt --json"),
    "export": ("popliteal export --format xmlbif /tmp/popliteal.bifxml",
               "popliteal export --format uai /tmp/popliteal.uai"),
    "score": ("popliteal score docs/examples/cases.csv -o /tmp/scored.csv",
              "popliteal score docs/examples/cases.csv -o - --chunk-size 1000 > /tmp/scored.csv"),
    "explain": ("popliteal explain -e age=67 -e long_travel=yes -e calf_swelling=yes",
                "popliteal explain --scenario docs/examples/case.yaml --plot /tmp/why.png"),
    "next": ("popliteal next -e age=67 -e calf_swelling=yes --limit 3",
             "popliteal next --scenario docs/examples/case.yaml --json"),
    "interview": ("popliteal interview -e age=67 -e sex=male",
                  "printf 'no\\nyes\\nquit\\n' | popliteal interview -e age=67 --json"),
    "completion": ("source <(popliteal completion bash)      # in ~/.bashrc",
                   "source <(popliteal completion zsh)       # in ~/.zshrc",
                   "popliteal completion fish > ~/.config/fish/completions/popliteal.fish"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="popliteal",
                     description="An open, probabilistic diagnostic model of pain in the back of the knee. "
                                 "Not medical advice.")
    parser.add_argument("--version", action="version", version=f"popliteal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("query", help="posteriors of the causes, triage and advice")
    common(p)
    p.add_argument("--plot", metavar="FILE", help="write a bar chart of the posteriors (.png or .svg)")
    p.add_argument("--uncertainty", metavar="N", type=_draws, default=None,
                   help="add 90%% intervals from N draws of the priors within their ranges")
    p.add_argument("--seed", metavar="S", type=whole_number(0), default=None,
                   help="random seed of the uncertainty draws, with --uncertainty (default 0: reproducible)")
    p.add_argument("--target", metavar="NAME", action="append", default=[],
                   help="also show P(NAME = state | evidence) for every state of any variable (a finding, a risk "
                        "factor, a cause); repeatable")
    _reasoning.add_query_options(p)  # --scenario, --mpe
    _reasoning.add_parsers(sub)  # explain, next, interview

    p = sub.add_parser("variables", help="every variable with its kind, states and meaning")
    common(p, evidence=False)

    p = sub.add_parser("validate-priors", help="check a priors folder without querying")
    p.add_argument("directory", nargs="?", default=None, help="the folder (default: the bundled priors)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("digest", help="print the digest of the priors (embedded in every result)")
    common(p, evidence=False, json_flag=False)

    p = sub.add_parser("cite", help="print the references behind the numbers")
    common(p, evidence=False)
    p.add_argument("--node", help="only the references of this node")

    p = sub.add_parser("export", help="write the network for other tools (BIF, XMLBIF, UAI)")
    common(p, evidence=False, json_flag=False)
    p.add_argument("--format", required=True, choices=("bif", "xmlbif", "uai"))
    p.add_argument("file", help="the file to write")

    p = sub.add_parser("score", help="batch scoring: posteriors and triage for every row of a CSV or Parquet file")
    common(p, evidence=False, json_flag=False)
    p.add_argument("input", metavar="IN", help="cases, one per row (.csv or .parquet; - for CSV on stdin)")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="every input row and column plus p_<cause>, triage, error (.csv or .parquet; - for stdout)")
    p.add_argument("--chunk-size", metavar="N", type=whole_number(1, what="rows"), default=None,
                   help="rows scored at a time (default 50000)")
    p.add_argument("--engine", choices=("pandas", "dask"), default="pandas",
                   help="pandas (streams chunks) or dask (a Dask DataFrame; needs the dask extra: "
                        ".venv/bin/pip install -e \".[dask]\")")
    p.add_argument("--sep", metavar="CHAR", default=None,
                   help="the CSV separator, one character ('tab' or '\\t' for a tab; default: whichever of "
                        ", ; tab | makes the header name the most variables)")
    p.add_argument("--safe-csv", action="store_true",
                   help="prefix text cells starting with = + - @ with ' so that spreadsheets do not run them")

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)",
                       description="Print a completion script: subcommands, options, variable names and, after "
                                   "-e NAME=, their states.")
    p.add_argument("shell", choices=SHELLS, help="the shell")

    for name, p in sub.choices.items():
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES.get(name, ()))
    return parser


def _draws(text: str) -> int:
    """``--uncertainty N``: draws from 1 to MAX_DRAWS (read when the option is given, not at start-up)."""
    from ..clinic.uncertainty import MAX_DRAWS

    return whole_number(1, MAX_DRAWS, "draws")(text)


def cmd_query(args) -> int:
    from ..engine.marginals import check_targets

    if args.plot is not None:
        plot_target(args.plot)
    if args.seed is not None and args.uncertainty is None:
        raise UsageError("--seed: seeds the uncertainty draws; give --uncertainty N as well")
    evidence, scenario = evidence_from_args(args)  # validate before loading anything heavy
    targets = check_targets(args.target)
    model = load_model(args.priors)
    result = model.query(evidence, uncertainty=args.uncertainty, seed=0 if args.seed is None else args.seed)
    mpe = model.mpe(evidence) if args.mpe else None
    marginals = model.marginals(evidence, targets) if targets else None
    if args.plot is not None:
        from ..present.figures import plot_query

        draw = (lambda: plot_query(result, marginals)) if marginals is not None else None
        write_plot(result, args.plot, draw)
    if args.json:
        out = decorate(result.to_dict(), scenario, mpe)
        if marginals is not None:
            out["targets"] = marginals.to_dict()
        print_json(out)
    else:
        if scenario is not None:
            print(scenario_header(scenario))
        print(result.table())
        if marginals is not None:
            print("\nOther variables, P(state | evidence):\n" + marginals.table())
        if mpe is not None:
            print("\n" + mpe.text())
        print(f"\npriors digest: {result.posterior.digest}")
    return 0


def cmd_variables(args) -> int:
    from ..network import structure

    rows = [{"name": v.name, "kind": v.kind, "states": list(v.states), "meaning": v.meaning,
             "parents": list(v.parents)} for v in structure.VARIABLES]
    if args.json:
        print_json({"variables": rows})
        return 0
    width = max(len(v.name) for v in structure.VARIABLES)
    for kind in structure.KINDS:
        print(f"\n{kind.replace('_', ' ')}{'' if kind == 'presence' else 's'}:")
        for r in rows:
            if r["kind"] == kind:
                print(f"  {r['name']:<{width}}  {'/'.join(r['states']):<30}  {r['meaning']}")
    return 0


def cmd_validate(args) -> int:
    from ..network.priors import load_priors

    priors = load_priors(args.directory)
    n_params = len(priors.parameters)
    estimates = sum(p.evidence == "estimate" for p in priors.parameters)
    if args.json:
        print_json({"directory": str(priors.directory), "valid": True, "nodes": len(priors.nodes),
                     "parameters": n_params, "estimates": estimates, "digest": priors.digest})
    else:
        print(f"{priors.directory}: valid — {len(priors.nodes)} nodes, {n_params} parameters "
              f"({estimates} marked as estimates), digest {priors.digest}")
    return 0


def cmd_digest(args) -> int:
    from ..network.priors import load_priors

    print(load_priors(args.priors).digest)
    return 0


def cmd_cite(args) -> int:
    from ..network import structure
    from ..network.priors import load_priors

    priors = load_priors(args.priors)
    if args.node is not None and args.node not in structure.BY_NAME:
        from ..engine.evidence import _suggest

        raise UsageError(f"--node: unknown variable {args.node!r}{_suggest(args.node, structure.NAMES)}")
    nodes = [args.node] if args.node else list(structure.NAMES)
    used: dict[str, list[str]] = {}
    for name in nodes:
        for p in priors.nodes[name].parameters:
            used.setdefault(p.source, []).append(p.name)
    if args.json:
        print_json({"references": [{"key": k, **priors.references[k], "parameters": v} for k, v in used.items()]})
        return 0
    for key, params in sorted(used.items()):
        ref = priors.references[key]
        url = f" {ref['url']}" if ref.get("url") else ""
        print(f"[{key}] {ref['citation']}{url}\n    used by {len(params)} number(s), e.g. {params[0]}")
    return 0


def cmd_export(args) -> int:
    from ..common.atomic import TargetError, check_target
    from ..network.export import export

    try:
        check_target(args.file, "file to export to")
    except TargetError as exc:
        raise UsageError(f"export: {exc}" if not args.file.strip() else str(exc)) from None
    model = load_model(args.priors)
    try:
        export(model.priors, args.format, args.file, model.engine.tables)  # atomic: a complete file or none
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {args.file} ({args.format})")
    return 0


def cmd_completion(args) -> int:
    from .completion import script

    sys.stdout.write(script(args.shell, build_parser()))
    return 0


def cmd_score(args) -> int:
    from ..batch import DEFAULT_CHUNK_SIZE, BatchError, Interrupted, score

    where = "standard output" if args.output == "-" else args.output
    sep = {"\\t": "\t", "tab": "\t"}.get(args.sep, args.sep)
    try:
        with interruption_wins():
            model = load_model(args.priors)
            summary = score(args.input, args.output, model=model, chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
                            engine=args.engine, priors_dir=args.priors, sep=sep, safe_csv=args.safe_csv)
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    except BrokenPipeError:  # `score -o - | head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write(f"popliteal: interrupted (Ctrl-C); {where} not written\n")
        return 130
    except Interrupted as exc:
        import signal

        sys.stderr.write(f"popliteal: error: stopped by {signal.Signals(exc.signum).name}; {where} not written\n")
        return 128 + exc.signum
    except OSError as exc:
        raise UsageError(f"{exc.filename or args.output}: {exc.strerror or exc}") from None
    report = sys.stderr if args.output == "-" else sys.stdout
    ignored = f"; columns passed through, not used: {', '.join(summary.ignored)}" if summary.ignored else ""
    try:
        report.write(f"wrote {where}: {summary.rows} rows, {summary.errors} with an error, "
                     f"{summary.seconds:.1f} s{ignored}\n")
        report.flush()
    except BrokenPipeError:
        _silence_stdout()
    return 0


COMMANDS = {
    "query": cmd_query,
    "variables": cmd_variables,
    "validate-priors": cmd_validate,
    "digest": cmd_digest,
    "cite": cmd_cite,
    "export": cmd_export,
    "score": cmd_score,
    "completion": cmd_completion,
    **_reasoning.COMMANDS,  # explain, next, interview
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:  # bad input like any other: one line on stderr, nothing on stdout
            raise UsageError(f"a command is required ({', '.join(COMMANDS)}); see 'popliteal --help'")
        if getattr(args, "priors", None) is not None and not args.priors.strip():  # each command passes it on
            raise UsageError("--priors: an empty name (give a priors folder, or leave the option out)")
        with ctrl_c_remembered(), interruption_wins():
            code = COMMANDS[args.command](args)
            if code != EXIT_INTERRUPTED:  # a command that reported its Ctrl-C has said all there is to say
                raise_if_interrupted()  # swallowed on its way (a weakref callback): still an interruption
        sys.stdout.flush()  # a full disk or closed pipe shows here, not at exit
        return code
    except UsageError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # EvidenceError, PriorsError, ImpossibleEvidence
        from ..engine.evidence import EvidenceError
        from ..network.priors import PriorsError

        if isinstance(exc, (EvidenceError, PriorsError)):
            return _fail(str(exc))
        raise
    except BrokenPipeError:  # e.g. `popliteal variables | head`
        _silence_stdout()
        return 0
    except OSError as exc:  # never a traceback: one line naming the file, or standard output
        if exc.filename is not None:
            return _fail(f"{exc.filename}: {exc.strerror or exc}")
        _silence_stdout()  # e.g. `popliteal query --json > /dev/full`
        return _fail(f"cannot write to standard output: {exc.strerror or exc}")
    except KeyboardInterrupt:  # Ctrl-C anywhere: one line, no traceback; files are written whole or not at all
        return interrupted()


def interrupted() -> int:
    """Report an interruption (Ctrl-C) on one line; return its exit status, 130."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.stderr.write("popliteal: interrupted\n")
    return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the flush at exit cannot fail a second time.

    Only the process's own standard output (the command line), never a stream a
    caller redirected ``sys.stdout`` to.
    """
    if sys.stdout is not sys.__stdout__:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured in tests)
        pass


def _fail(message: str) -> int:
    from ..common.messages import shorten

    line = shorten(" ".join(message.split()), MAX_MESSAGE)
    sys.stderr.write(f"popliteal: error: {line}\n")
    return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
