"""Adversarial inputs, generalising the failures of issue 13 (``tests/test_reliability.py``).

Every input either gets an exact answer or is refused with one line naming the
problem (``PriorsError``/``EvidenceError`` in Python, exit status 2 on the
command line) — never a traceback, never a hang (every test runs under an
alarm or a subprocess timeout), never a partial file. Families:

- soft evidence at every boundary of the likelihood, against an exact oracle:
  virtual evidence on a yes/no variable ``X`` with likelihood ``L`` is the
  mixture of the two hard answers ``X=s`` and ``X=not s`` weighted by
  ``L * P(X=s, e)`` and ``(1 - L) * P(X=not s, e)`` (computed in log space);
- corrupted priors folders: every file x every file-system oddity (missing, a
  folder, a dangling symlink, a symlink loop, a FIFO, too large, unreadable),
  and sampled files x content corruptions (alias bomb, duplicate key, deep
  nesting, bad UTF-8, NUL bytes, a field of the wrong type, truncation), both
  through ``load_priors`` and through the cache;
- YAML bombs in scenario files (alias fan-out, nesting, long numbers, duplicate keys);
- writers: a file-size limit (``ulimit -f``) at several sizes, SIGTERM inside
  an atomic write, concurrent writers of one target, and odd target names.

Hypothesis runs derandomized with explicit ``max_examples`` (scaled by the loaded profile, see
``budget.py``), so it cannot flake; ``docs/reliability.md`` lists the counts per family.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import popliteal
from popliteal.common import atomic, interrupts
from popliteal.network import structure
from popliteal.cli.main import main
from popliteal.engine.inference import ImpossibleEvidence
from popliteal.network.priors import PriorsError, load_priors
from popliteal.explore.scenario_file import ScenarioError, load_scenario
from budget import examples

ROOT = Path(__file__).resolve().parents[1]
PRIORS = ROOT / "priors"
PRIORS_FILES = sorted(p.name for p in PRIORS.glob("*.yaml"))
EXE = [sys.executable, "-m", "popliteal"]
BINARY = [v.name for v in structure.VARIABLES if v.states == structure.YES_NO and v.name != structure.COMPLAINT]
def seeded(n: int):
    """Derandomized hypothesis settings with ``n`` examples (the same inputs on every run)."""
    return settings(max_examples=examples(n), derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@contextlib.contextmanager
def time_limit(seconds: int = 20):
    """Fail (rather than hang) when the block runs longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit():
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def one_line(message: str, *fragments: str) -> str:
    lines = str(message).strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- soft evidence at every boundary ------------------------------------------------------------

BOUNDARY_LIKELIHOODS = ["5e-324", "1e-320", "2.2250738585072014e-308", "1e-300", "1e-200", "1e-16", "0.5",
                        "0.5000000000000001", "0.9999999999999999", "0.99999951", "1", "1.0"]
BAD_LIKELIHOODS = ["0", "0.0", "-0.0", "-1e-300", "1.0000000000000002", "2", "nan", "inf", "-inf", "1e-400",
                   "", "abc", "0x1p-3", "1e", "0." + "9" * 300 + "x"]


def _mixture(model, hard: dict, name: str, state: str, lik: float) -> dict | None:
    """The exact posterior of soft evidence ``name=state:lik`` from the two hard answers (None: impossible)."""
    other = next(s for s in structure.BY_NAME[name].states if s != state)
    parts = []
    for s, weight in ((state, lik), (other, 1.0 - lik)):
        try:
            post = model.posterior({**hard, name: s})
        except ImpossibleEvidence:
            continue
        if weight > 0:
            parts.append((math.log(weight) + post.log_evidence, post.probabilities))
    if not parts:
        return None
    top = max(w for w, _ in parts)
    weights = [math.exp(w - top) for w, _ in parts]
    total = sum(weights)
    return {c: sum(w * p[c] for w, (_, p) in zip(weights, parts)) / total for c in structure.TARGETS}


hard_items = st.dictionaries(st.sampled_from(structure.EVIDENCE_NAMES), st.just(None), max_size=3).flatmap(
    lambda names: st.fixed_dictionaries({n: st.sampled_from(structure.BY_NAME[n].states) for n in names}))


@seeded(60)
@given(hard=hard_items, name=st.sampled_from(BINARY), state=st.sampled_from(structure.YES_NO),
       lik_text=st.one_of(st.sampled_from(BOUNDARY_LIKELIHOODS),
                          st.floats(min_value=5e-324, max_value=1.0).map(repr),
                          st.floats(min_value=1e-12, max_value=1 - 1e-12).map(lambda x: f"{x:.17e}")))
def test_soft_evidence_at_every_boundary_equals_the_exact_mixture(model, hard, name, state, lik_text):
    hard = {k: v for k, v in hard.items() if k != name}
    lik = float(lik_text)
    expected = _mixture(model, hard, name, state, lik)
    with time_limit():
        try:
            got = model.posterior({**hard, name: f"{state}:{lik_text}"})
        except ImpossibleEvidence as exc:
            assert expected is None, (hard, name, lik_text)
            one_line(str(exc), "impossible")
            return
    assert expected is not None, (hard, name, lik_text, got)
    for cause in structure.TARGETS:
        assert got.probabilities[cause] == pytest.approx(expected[cause], abs=1e-9), (cause, hard, name, lik_text)
    # one parse, full precision: the evidence reads back as the same numbers, and the CLI agrees to the bit
    items = [f"{k}={v}" for k, v in got.evidence.items()]
    code, out, err = cli("query", *[x for i in items for x in ("-e", i)], "--json")
    assert code == 0, err
    assert json.loads(out)["posteriors"] == got.probabilities


@seeded(40)
@given(name=st.sampled_from(structure.EVIDENCE_NAMES), state=st.sampled_from(["yes", "no", "child", "male"]),
       lik_text=st.sampled_from(BAD_LIKELIHOODS))
def test_bad_soft_likelihood_is_one_line_naming_the_variable(name, state, lik_text):
    code, out, err = cli("query", "-e", f"{name}={state}:{lik_text}")
    assert code == 2 and out == ""
    one_line(err, "popliteal: error:")
    assert name in err or "evidence" in err, err


# --- corrupted priors folders -------------------------------------------------------------------

ODDITIES = ["missing", "folder", "dangling symlink", "symlink loop", "fifo", "too large", "unreadable"]
ODDITY_MESSAGE = {"missing": "file missing", "folder": "not a regular file (a folder)",
                  "dangling symlink": "a dangling symbolic link", "symlink loop": "a symbolic link loop",
                  "fifo": "not a regular file (a FIFO)", "too large": "too large",
                  "unreadable": "Permission denied"}


def _make_oddity(path: Path, oddity: str, monkeypatch) -> None:
    path.unlink()
    if oddity == "folder":
        path.mkdir()
    elif oddity == "dangling symlink":
        path.symlink_to(path.parent / "no-such-file.yaml")
    elif oddity == "symlink loop":
        path.symlink_to(path)
    elif oddity == "fifo":
        os.mkfifo(path)
    elif oddity == "too large":
        with open(path, "wb") as handle:  # sparse: 3 MB that take no disk
            handle.truncate(3 * 2**20)
    elif oddity == "unreadable":  # the tests may run as root, who reads a chmod-000 file: refuse in os.open
        path.write_bytes(b"node: x\n")
        real_open = os.open

        def refuse(p, *args, **kwargs):
            if os.fspath(p) == str(path):
                raise PermissionError(13, "Permission denied", os.fspath(p))
            return real_open(p, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)


def _restore(path: Path, original: bytes) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.write_bytes(original)


@pytest.mark.parametrize("oddity", ODDITIES)
def test_every_priors_file_as_a_filesystem_oddity_is_one_line(tmp_path, monkeypatch, oddity):
    """Every file x this oddity, through load_priors and through the cache: one line naming file and problem."""
    folder = Path(shutil.copytree(PRIORS, tmp_path / "priors"))
    monkeypatch.setenv("POPLITEAL_CACHE_DIR", str(tmp_path / "cache"))
    for name in PRIORS_FILES:
        path = folder / name
        original = path.read_bytes()
        with monkeypatch.context() as patch:
            _make_oddity(path, oddity, patch)
            for load in (load_priors, popliteal.load):
                with time_limit(), pytest.raises(PriorsError) as info:
                    load(folder)
                one_line(str(info.value), name, ODDITY_MESSAGE[oddity])
        _restore(path, original)
    assert popliteal.load(folder).digest == load_priors(PRIORS).digest


def _bomb(width: int, depth: int) -> str:
    names = [f"n{i}" for i in range(depth + 1)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['x'] * width)}]"]
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * width)}]")
    return "\n".join(lines) + "\n"


CONTENT_CORRUPTIONS = {
    "alias bomb": lambda text, rng: _bomb(9, 9) + text,
    "duplicate key": lambda text, rng: text + "\n" + text.split("\n", 1)[0] + "\n",
    "deep nesting": lambda text, rng: "deep: " + "[" * int(rng.integers(65, 50_000)) + "\n" + text,
    "bad UTF-8": lambda text, rng: text.encode()[:50] + b"\xff\xfe" + text.encode()[50:],
    "NUL bytes": lambda text, rng: text[:30] + "\0" + text[30:],
    "a scalar": lambda text, rng: "5\n",
    "a list": lambda text, rng: "- a\n- b\n",
    "empty": lambda text, rng: "",
    "truncated": lambda text, rng: text[: int(rng.integers(0, max(len(text) - 1, 1)))],
    "huge number": lambda text, rng: text.replace(": 0.", ": " + "9" * 300 + "0.", 1),
}
TYPE_SWAPS = [5, "x", [], {}, None, [1, [2]], {"a": {"b": []}}, 1e308, True]


def _swap_a_field(text: str, rng, value) -> str:
    """Replace the value of one top-level field (or one field of a list item) by ``value``."""
    from popliteal.common import safeyaml

    doc = safeyaml.load_text(text, "x.yaml")
    keys = list(doc)
    key = keys[int(rng.integers(len(keys)))]
    target = doc
    if isinstance(doc[key], list) and doc[key] and isinstance(doc[key][0], dict) and rng.random() < 0.5:
        target = doc[key][int(rng.integers(len(doc[key])))]
        key = list(target)[int(rng.integers(len(target)))]
    target[key] = value
    return safeyaml.dump(doc, sort_keys=False)


@seeded(40)
@given(name=st.sampled_from(PRIORS_FILES),
       corruption=st.sampled_from(sorted(CONTENT_CORRUPTIONS) + [f"type swap {i}" for i in range(len(TYPE_SWAPS))]),
       seed=st.integers(0, 2**32 - 1))
def test_corrupted_priors_file_is_valid_or_one_line_naming_it(name, corruption, seed):
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(PRIORS, Path(tmp) / "priors"))
        text = (PRIORS / name).read_text()
        if corruption.startswith("type swap"):
            new = _swap_a_field(text, rng, TYPE_SWAPS[int(corruption.split()[-1])])
        else:
            new = CONTENT_CORRUPTIONS[corruption](text, rng)
        (folder / name).write_bytes(new if isinstance(new, bytes) else new.encode())
        with time_limit():
            try:
                priors = load_priors(folder)
            except PriorsError as exc:
                line = one_line(str(exc))
                assert line.startswith(name) or line.startswith(str(folder)) or ".yaml: " in line, line
                assert len(line) < 400, line
                return
        # still valid (a harmless corruption): then the numbers are those of the file as written
        assert priors.digest != load_priors(PRIORS).digest or new == text


# --- YAML bombs in scenario files ---------------------------------------------------------------

@seeded(40)
@given(kind=st.sampled_from(["aliases", "flow nesting", "block nesting", "mapping nesting", "long number",
                             "duplicate key", "merge key"]),
       size=st.integers(2, 12), deep=st.integers(65, 20_000))
def test_yaml_bomb_in_a_scenario_is_one_line_and_fast(kind, size, deep):
    if kind == "aliases":
        text = _bomb(size, size) + f"evidence: {{calf_swelling: *n{size}}}\n"
    elif kind == "flow nesting":
        text = "evidence: {calf_swelling: " + "[" * deep + "]" * deep + "}\n"
    elif kind == "block nesting":
        text = "evidence:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(min(deep, 1000)))  # 1000 levels stay under the 2 MiB size limit
    elif kind == "mapping nesting":
        text = "evidence: " + "{a: " * deep + "1" + "}" * deep + "\n"
    elif kind == "long number":
        text = "evidence:\n  age: " + "7" * deep + "\n"
    elif kind == "duplicate key":
        text = "evidence:\n" + "".join(f"  k{i}: 'yes'\n" for i in range(size)) + "  k0: 'no'\n"
    else:
        text = "base: {calf_swelling: 'yes'}\nevidence:\n  <<: {calf_swelling: 'yes'}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.yaml"
        path.write_text(text)
        with time_limit(10), pytest.raises(ScenarioError) as info:
            load_scenario(path)
    problem = {"aliases": "anchors (&n0) are not allowed", "flow nesting": "nested more than 64 levels",
               "block nesting": "nested more than 64 levels", "mapping nesting": "nested more than 64 levels",
               "long number": f"a number with {deep} digits", "duplicate key": "k0: duplicate key",
               "merge key": "merge keys (<<) are not allowed"}[kind]
    line = one_line(str(info.value), str(path), problem)
    assert len(line) < 300 + len(str(path)), line


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**60, 10**60), st.floats(allow_nan=True),
              st.text(max_size=30), st.sampled_from(["yes", "no", "yes:0.7", "no:1e-310", "child", "67", "yes:"])),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)


@seeded(60)
@given(evidence=st.dictionaries(st.one_of(st.sampled_from(list(structure.EVIDENCE_NAMES) + ["age"]), st.text(max_size=12)),
                                json_values, max_size=5),
       extra=st.dictionaries(st.sampled_from(["title", "notes", "id", "evidense", "x"]), json_values, max_size=2))
def test_random_scenario_file_is_valid_or_one_line(evidence, extra):
    from popliteal.common import safeyaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.yaml"
        path.write_text(safeyaml.dump({**extra, "evidence": evidence}))
        with time_limit(10):
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:
                line = one_line(str(exc), str(path))
                assert len(line) < 600 + len(str(path)), line
                return
    assert set(scenario.evidence.names) <= set(structure.NAMES)


# --- writers: no partial file -------------------------------------------------------------------

def _limited(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("args, target, limit", [
    (["query", "-e", "calf_swelling=yes", "--plot"], "out.svg", 512),
    (["query", "-e", "calf_swelling=yes", "--plot"], "out.svg", 8192),
    (["query", "-e", "calf_swelling=yes", "--plot"], "out.png", 512),
    (["query", "-e", "calf_swelling=yes", "--plot"], "out.png", 8192),
    (["explain", "-e", "calf_swelling=yes", "--plot"], "out.svg", 8192),
    (["export", "--format", "bif"], "net.bif", 512),  # pgmpy's writers: one size each (pgmpy imports slowly)
    (["export", "--format", "xmlbif"], "net.xml", 8192),
    (["export", "--format", "uai"], "net.uai", 512),
    (["export", "--format", "uai"], "net.uai", 8192),
])
def test_a_full_disk_leaves_no_partial_file(tmp_path, args, target, limit):
    """``ulimit -f``: the write fails with EFBIG; the target keeps its old content and no temporary file stays.

    On a machine where matplotlib had not yet cached its fonts, the child could not write that cache either
    and said so on a second line (a fresh environment, 2026-12-01): the test builds it first.
    """
    from matplotlib import font_manager

    assert font_manager.fontManager.ttflist  # matplotlib's font cache, built (once) outside the size limit

    (tmp_path / target).write_text("old content\n")
    env = {**os.environ, "MPLBACKEND": "Agg", "POPLITEAL_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([*EXE, *args, target], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=env, preexec_fn=_limited(limit))
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    one_line(proc.stderr, target, "File too large")
    assert (tmp_path / target).read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [target]


def test_sigterm_inside_an_atomic_write_leaves_no_file(tmp_path):
    target = tmp_path / "plot.svg"
    target.write_text("old")
    with pytest.raises(SystemExit) as info:
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half a pl")
            os.kill(os.getpid(), signal.SIGTERM)
            pytest.fail("SIGTERM did not end the block")
    assert info.value.code == 128 + signal.SIGTERM
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["plot.svg"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def _mkstemp_then(signum, real=tempfile.mkstemp):
    """A mkstemp that receives ``signum`` the moment the file exists, before its caller has its name."""
    def mkstemp(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signum)
        return made
    return mkstemp


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SystemExit)])
def test_a_signal_as_the_temporary_file_is_made_leaves_no_file(tmp_path, monkeypatch, signum, raised):
    """The race of the fresh-clone flake: Ctrl-C the moment the temporary file appears."""
    target = tmp_path / "plot.svg"
    monkeypatch.setattr(atomic.tempfile, "mkstemp", _mkstemp_then(signum))
    with pytest.raises(raised):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("never")
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_ctrl_c_as_the_score_output_is_made_leaves_no_file(tmp_path, monkeypatch, model):
    from popliteal import batch

    source = tmp_path / "cases.csv"
    source.write_text("age,calf_swelling\n67,yes\n")
    monkeypatch.setattr(batch.tempfile, "mkstemp", _mkstemp_then(signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        batch.score(str(source), str(tmp_path / "scored.csv"), model=model)
    assert list(tmp_path.iterdir()) == [source]


def test_interrupts_held_raise_once_the_block_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("the block ran to its end")
    assert done and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_python_swallowed_still_stops_the_run_and_says_nothing_twice(capsys):
    """A KeyboardInterrupt raised in a weakref callback is only reported; the run must still stop.

    The second cause of the fresh-clone flake: Ctrl-C landed in the import machinery's
    weakref callback ("Exception ignored in: <function _get_module_lock.<locals>.cb>"), the
    score ran to its end and exited 0.
    """
    import gc
    import weakref

    class Thing:
        pass

    with interrupts.ctrl_c_remembered():
        thing = Thing()
        ref = weakref.ref(thing, lambda r: os.kill(os.getpid(), signal.SIGINT) or sum(range(10)))
        del thing
        gc.collect()
        assert ref() is None  # the callback ran and Python swallowed its KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            interrupts.raise_if_interrupted()
    assert "KeyboardInterrupt" not in capsys.readouterr().err  # the swallowed report is not printed
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interrupts.ctrl_c_remembered():
        interrupts.raise_if_interrupted()  # a new run forgets the old Ctrl-C


def _import_that_swallows_ctrl_c(*args):
    """What a C extension does when Ctrl-C lands in its import: report its own failure instead."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10))  # the pending signal is handled here
    except KeyboardInterrupt:
        raise ImportError("pd_parser.c could not import module pandas") from None
    raise AssertionError("the signal was not delivered")


def test_an_error_that_follows_a_ctrl_c_is_reported_as_the_interruption(capsys, monkeypatch):
    """CI, 2026-12-01: Ctrl-C during pandas' import made ``score`` exit 1 with an ImportError traceback."""
    import importlib

    cli = importlib.import_module("popliteal.cli.main")  # the package exports main(), the function
    with pytest.raises(KeyboardInterrupt):
        with interrupts.ctrl_c_remembered(), interrupts.interruption_wins():
            _import_that_swallows_ctrl_c()
    with pytest.raises(ImportError):  # without a Ctrl-C an error stays itself
        with interrupts.ctrl_c_remembered(), interrupts.interruption_wins():
            raise ImportError("a real one")
    monkeypatch.setitem(cli.COMMANDS, "variables", _import_that_swallows_ctrl_c)
    assert cli.main(["variables"]) == 130
    assert capsys.readouterr().err == "popliteal: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_concurrent_writers_of_one_target_leave_one_complete_file(tmp_path, fmt="uai", target="net.uai"):
    """Four exports to one file at once: the result is one writer's complete file, no temporary file stays."""
    env = {**os.environ, "MPLBACKEND": "Agg", "POPLITEAL_CACHE_DIR": str(tmp_path / "cache")}
    reference = tmp_path / "reference" / target
    reference.parent.mkdir()
    assert subprocess.run([*EXE, "export", "--format", fmt, str(reference)], env=env, timeout=120).returncode == 0
    procs = [subprocess.Popen([*EXE, "export", "--format", fmt, target], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(4)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
        proc.stderr.close()
    assert (tmp_path / target).read_bytes() == reference.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@seeded(40)
@given(name=st.one_of(
    st.sampled_from(["", " ", ".", "..", "x.png/", "x.svg/.", "no/such/x.png", "x.txt", "x", ".png", "a\0b.png",
                     "sub", "sub/", "sub/x.svg", "x.PNG", "x.svg.", "-x.svg"]),
    st.text(alphabet=st.characters(blacklist_characters="/\\", blacklist_categories=("Cs",)), max_size=12)))
def test_odd_plot_targets_are_written_whole_or_refused_in_one_line(name):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sub").mkdir()
        old = os.getcwd()
        os.chdir(tmp)
        try:
            code, out, err = cli("query", "-e", "calf_swelling=yes", "--plot", name)
        finally:
            os.chdir(old)
        if code == 0:
            written = Path(tmp) / name
            assert written.is_file() and written.stat().st_size > 500, name
            assert written.suffix.lower() in (".png", ".svg")
        else:
            assert code == 2
            one_line(err, "--plot")
        left = [p.name for p in Path(tmp).rglob("*") if p.name.endswith(".tmp")]
        assert not left, left
