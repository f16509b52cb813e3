"""Habits of a good command line: completion, stdin, Ctrl-C, line editing, examples in --help.

Oracles: bash itself (the completion script is sourced in a bash subprocess and
asked for completions as bash asks, through ``COMP_LINE``/``COMP_POINT``), the
signal conventions of the shell (Ctrl-C exits 130), a pseudo-terminal for the
interview, and :mod:`popliteal.network.structure` for what must complete.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from popliteal.network import structure

ROOT = Path(__file__).resolve().parents[1]
EXE = [sys.executable, "-m", "popliteal"]
ENV = {k: v for k, v in os.environ.items() if k != "POPLITEAL_PRIORS"} | {"MPLBACKEND": "Agg"}
COMMANDS = ("query", "explain", "next", "interview", "variables", "validate-priors", "digest", "cite", "export",
            "score", "completion")


def run(*args, **kwargs):
    return subprocess.run([*EXE, *args], capture_output=True, text=True, env=ENV, timeout=120, **kwargs)


# --- completion -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bash_script(tmp_path_factory):
    proc = run("completion", "bash")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path_factory.mktemp("completion") / "popliteal.bash"
    path.write_text(proc.stdout)
    return path


def complete(script: Path, *lines: str) -> list[list[str]]:
    """What bash's ``_popliteal`` offers for each command line (the cursor at its end)."""
    if shutil.which("bash") is None:  # pragma: no cover
        pytest.skip("bash is not installed")
    body = "".join(f'l={json.dumps(line)}; COMP_LINE="$l"; COMP_POINT=${{#l}}; COMPREPLY=(); _popliteal; '
                   f'printf "%s\\n" "${{COMPREPLY[@]}}"; echo "@@"\n' for line in lines)
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", f"source {script}\n{body}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    chunks = proc.stdout.split("@@\n")[:-1]
    return [[w for w in chunk.splitlines() if w] for chunk in chunks]


def test_bash_completes_subcommands_and_options(bash_script):
    top, qu, target, fmt, shells, json_opt = complete(
        bash_script, "popliteal ", "popliteal qu", "popliteal query --ta", "popliteal export --format ",
        "popliteal completion ", "popliteal variables --j")
    assert set(COMMANDS) <= set(top)
    assert qu == ["query"]
    assert target == ["--target"]
    assert fmt == ["bif", "xmlbif", "uai"]
    assert shells == ["bash", "zsh", "fish"]
    assert json_opt == ["--json"]


def test_bash_completes_variable_names_and_their_states(bash_script):
    name = structure.FINDINGS[0]
    prefix = name[: max(3, len(name) // 2)]
    lines = [f"popliteal query -e {prefix}", "popliteal next --target ", "popliteal query -e x=1 -e "]
    lines += [f"popliteal query -e {v.name}=" for v in structure.VARIABLES]
    names, targets, every, *states = complete(bash_script, *lines)
    assert names == [f"{n}=" for n in structure.NAMES if n.startswith(prefix)] + (
        ["age="] if "age".startswith(prefix) else [])
    assert targets == list(structure.NAMES)
    assert every == [f"{n}=" for n in structure.NAMES] + ["age="]
    for var, offered in zip(structure.VARIABLES, states):
        assert offered == list(var.states), var.name  # only the part after '=' (a COMP_WORDBREAKS char)


def test_bash_completes_a_state_prefix_and_files(bash_script, tmp_path):
    multi = next((v for v in structure.VARIABLES if len(v.states) > 2), structure.VARIABLES[0])
    state = multi.states[-1]
    (tmp_path / "case-one.yaml").write_text("evidence: {}\n")
    partial, files = complete(bash_script, f"popliteal query -e {multi.name}={state[:2]}",
                              f"popliteal query --scenario {tmp_path}/case-")
    assert state in partial and all(s.startswith(state[:2]) for s in partial)
    assert files == [f"{tmp_path}/case-one.yaml"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_variable(shell):
    proc = run("completion", shell)
    assert proc.returncode == 0, proc.stderr
    for var in structure.VARIABLES:
        assert var.name in proc.stdout
    if shell == "fish":
        assert all(f"{v.name}={s}" in proc.stdout for v in structure.VARIABLES for s in v.states)
    if shutil.which(shell):  # a syntax check where the shell is installed
        check = subprocess.run([shell, "-n"], input=proc.stdout, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr


def test_fish_completes_states_after_the_equals_sign(tmp_path):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script = tmp_path / "popliteal.fish"
    script.write_text(run("completion", "fish").stdout)
    var = next((v for v in structure.VARIABLES if len(v.states) > 2), structure.VARIABLES[0])
    proc = subprocess.run(["fish", "--no-config", "-c", f"source {script}; complete -C 'popliteal query -e {var.name}='"
                           "; echo @@; complete -C 'popliteal qu'"], capture_output=True, text=True, timeout=60,
                          env={**ENV, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    states, commands = proc.stdout.split("@@\n")
    assert sorted(line.split("\t")[0] for line in states.splitlines()) == sorted(f"{var.name}={s}" for s in var.states)
    assert [line.split("\t")[0] for line in commands.splitlines()] == ["query"]


def test_zsh_runs_the_completion_function(tmp_path):
    """zsh filters the candidates by what is typed itself; the function must offer the right ones."""
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    script = tmp_path / "popliteal.zsh"
    script.write_text(run("completion", "zsh").stdout)
    var = structure.VARIABLES[0]
    body = ('source "$1"; for l in "popliteal query -e ' + var.name + '=" "popliteal export --format "; do '
            'COMP_LINE="$l"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _popliteal; print -r -- "${COMPREPLY[*]}"; done')
    proc = subprocess.run(["zsh", "-f", "-c", body, "_", str(script)], capture_output=True, text=True, timeout=60,
                          env={**ENV, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    states, formats = proc.stdout.splitlines()
    assert {f"{var.name}={s}" for s in var.states} <= set(states.split())
    assert formats.split() == ["bif", "xmlbif", "uai"]


def test_completion_needs_a_known_shell():
    proc = run("completion", "tcsh")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "invalid choice" in proc.stderr


def test_no_command_is_bad_input_on_one_line():
    """Like every bad input (the contract): status 2, one line on stderr naming the commands, nothing on stdout."""
    proc = run()
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert "a command is required" in proc.stderr and all(c in proc.stderr for c in COMMANDS)


# --- examples in --help -----------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_help_has_examples(command):
    proc = run(command, "--help")
    assert proc.returncode == 0
    examples = proc.stdout.split("examples:\n", 1)[1].splitlines()
    assert examples and all(f"popliteal {command}" in line for line in examples if line.strip())


# --- standard input ---------------------------------------------------------------------------

def test_scenario_from_standard_input_equals_the_file():
    case = ROOT / "docs" / "examples" / "case.yaml"
    from_file = json.loads(run("query", "--scenario", str(case), "--json").stdout)
    proc = run("query", "--scenario", "-", "--json", input=case.read_text())
    assert proc.returncode == 0, proc.stderr
    from_stdin = json.loads(proc.stdout)
    assert from_stdin["posteriors"] == from_file["posteriors"]
    assert from_stdin["scenario"]["title"] == from_file["scenario"]["title"]


def test_scenario_from_standard_input_errors_name_it():
    proc = run("query", "--scenario", "-", input="evidense: {}\n")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "popliteal: error: <stdin>: evidense: unknown field; did you mean evidence?\n"
    proc = run("interview", "--scenario", "-", input="evidence: {}\n")
    assert proc.returncode == 2 and "standard input holds the answers" in proc.stderr


# --- Ctrl-C -----------------------------------------------------------------------------------

def _ctrl_c_as_in_a_terminal() -> None:
    """In the child before exec: Ctrl-C at its default, as in a terminal's foreground job.

    A shell that runs the tests in the background without job control (``make test &``,
    CI runners) starts them with SIGINT ignored, and children inherit that: Python then
    installs no KeyboardInterrupt handler, the signal is lost and the run finishes with 0.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen, ready) -> tuple[int, str, str]:
    """Send SIGINT once ``ready()`` is true; return the exit status, the rest of stdout and stderr."""
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out or "", err


def test_ctrl_c_in_the_interview_is_one_line_and_status_130():
    proc = subprocess.Popen([*EXE, "interview", "-e", "age=67"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=_ctrl_c_as_in_a_terminal)
    seen = []

    def asked():
        seen.append(proc.stdout.readline())
        return seen[-1].startswith("   answers:")

    status, rest, err = _interrupt(proc, asked)
    assert status == 130
    assert err == "popliteal: interrupted\n"
    assert "Triage:" not in rest  # no result that looks complete


def test_ctrl_c_while_scoring_leaves_no_output_file(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    findings = [n for n in structure.FINDINGS if structure.BY_NAME[n].states == ("yes", "no")][:6]
    rows = ["age," + ",".join(findings)]
    rows += [f"{a}," + ",".join(rng.choice(["yes", "no", ""], size=len(findings)))
             for a in rng.integers(3, 90, size=400_000)]
    source = tmp_path / "many.csv"
    source.write_text("\n".join(rows) + "\n")
    target = tmp_path / "scored.csv"
    proc = subprocess.Popen([*EXE, "score", str(source), "-o", str(target), "--chunk-size", "2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    started = time.monotonic()
    status, _, err = _interrupt(proc, lambda: any(tmp_path.glob(".scored.csv*")) or time.monotonic() - started > 8)
    assert status == 130, err
    assert err.startswith("popliteal: interrupted") and err.count("\n") == 1, err  # and names what was not written
    assert not target.exists() and list(tmp_path.iterdir()) == [source]


# --- line editing in the interview ------------------------------------------------------------

def _read_until(fd: int, marker: bytes, timeout: float = 60) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def _wait(pid: int, timeout: float) -> int:
    """The child's wait status; killed (and failing) when it does not end in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the interview did not finish")


def test_interview_on_a_terminal_edits_lines_and_keeps_history(tmp_path):
    pytest.importorskip("readline")
    env = ENV | {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "TERM": "xterm"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the interview on the pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [*EXE, "interview", "-e", "age=67", "--max-questions", "1"], env)
    try:
        assert b"> " in _read_until(fd, b"> ")
        os.write(fd, b"o\x01n\r")  # "o", Ctrl-A (start of the line), "n": only readline makes that "no"
        out = _read_until(fd, b"priors digest", timeout=30)
        status = _wait(pid, timeout=10)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    assert b"not understood" not in out and b"Questions answered: 1" in out
    history = list((tmp_path / "data").rglob("interview_history"))
    assert len(history) == 1 and "no" in history[0].read_text().split()
    assert not (ROOT / "interview_history").exists()
