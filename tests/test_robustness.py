"""Robustness: fuzzing the CLI and the priors loader, safe I/O, a clean install.

Oracles: the contract's error behaviour (exit status 2 and exactly one line on
stderr, never a traceback), the loader's ``file: field: problem`` messages,
and a wheel installed outside the repository answering a query with the
priors it carries.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from popliteal.common import safeyaml

from popliteal.network import structure
from popliteal.cli.main import main
from popliteal.network.priors import PriorsError, _load_node, _load_references
from budget import examples

ROOT = Path(__file__).resolve().parents[1]
PRIORS = ROOT / "priors"

SAFE_COMMANDS = ["query", "variables", "validate-priors", "digest", "cite"]
TOKENS = st.one_of(
    st.sampled_from(["-e", "--json", "--priors", "--node", "--evidence", "--bogus", "-", "--", "=", ":",
                     "age=abc", "age=500", "calf_swelling=yes:2", "dvt=yes", "sex=male",
                     "pregnant_or_postpartum=yes", "nonexistent/dir", "calf_swelling=yes:0.3"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
)


def run_in_process(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # --help / --version
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=examples(60))
@given(command=st.sampled_from(SAFE_COMMANDS), rest=st.lists(TOKENS, max_size=6))
def test_cli_argument_fuzz_never_crashes(command, rest, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("fuzz")
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code, out, err = run_in_process([command, *rest])
    finally:
        os.chdir(old)
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("popliteal: error: "), err
    assert list(cwd.iterdir()) == [], "the CLI wrote where it was not told to"


YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=12,
)
NODE_KEYS = ["node", "kind", "rows", "leak", "causes", "baseline", "odds_ratios", "given", "probabilities",
             "range", "source", "evidence", "locator", "reasoning", "parent", "probability", "value", "state"]


@settings(max_examples=examples(150))
@given(name=st.sampled_from(structure.EVIDENCE_NAMES),
       doc=st.dictionaries(st.sampled_from(NODE_KEYS), YAML_VALUES, max_size=6))
def test_priors_loader_fuzz_rejects_garbage_with_file_and_field(name, doc):
    refs = _load_references(PRIORS / "references.yaml")
    raw = safeyaml.dump(doc).encode()
    with pytest.raises(PriorsError) as info:
        _load_node(f"{name}.yaml", raw, structure.BY_NAME[name], refs)
    message = str(info.value)
    assert "\n" not in message and re.match(rf"^{name}\.yaml: \S", message), message


@given(data=st.binary(max_size=300))
def test_priors_loader_fuzz_random_bytes(data):
    refs = _load_references(PRIORS / "references.yaml")
    try:
        _load_node("dvt.yaml", data, structure.BY_NAME["dvt"], refs)
    except PriorsError as exc:
        assert str(exc).startswith("dvt.yaml: ")
    else:  # pragma: no cover - random bytes never form a valid DVT file
        pytest.fail("random bytes accepted as dvt.yaml")


def test_no_pickle_and_only_safe_yaml_anywhere():
    sources = list((ROOT / "model").rglob("*.py")) + list((ROOT / "scripts").rglob("*.py"))
    bad = re.compile(r"import pickle|from pickle|cPickle|allow_pickle\s*=\s*True|yaml\.load\(|unsafe_load|"
                     r"yaml\.Loader|yaml\.UnsafeLoader|yaml\.FullLoader|joblib")
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in sources for m in [bad.search(p.read_text())] if m]
    assert offenders == []


def test_cli_writes_only_where_it_is_told(tmp_path):
    home, work, cache = tmp_path / "home", tmp_path / "work", tmp_path / "cache"
    for d in (home, work):
        d.mkdir()
    env = {**os.environ, "HOME": str(home), "POPLITEAL_CACHE_DIR": str(cache), "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": str(tmp_path / "mpl")}
    env.pop("POPLITEAL_PRIORS", None)
    for args in (["query", "-e", "calf_swelling=yes", "--json"], ["variables"], ["validate-priors"],
                 ["query", "--plot", "chart.png"], ["query", "-e", "calf_swellin=yes"]):
        subprocess.run([sys.executable, "-m", "popliteal", *args], cwd=work, env=env, capture_output=True,
                       timeout=120)
    assert sorted(p.name for p in work.iterdir()) == ["chart.png"]
    assert list(home.rglob("*")) == []


@pytest.mark.slow
def test_clean_install_of_the_wheel_outside_the_repository(tmp_path):
    """Build the wheel, install it in a fresh venv, query from another folder."""
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(dist.glob("popliteal-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("POPLITEAL_PRIORS", "PYTHONPATH")}
    env.update(MPLBACKEND="Agg", POPLITEAL_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([str(env_dir / "bin" / "popliteal"), "query", "-e", "popliteal_swelling=yes", "--json"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    from popliteal.network.priors import load_priors

    assert out["priors_digest"] == load_priors(PRIORS).digest  # the packaged priors are the repository's
    assert out["ranking"][0] == "bakers_cyst"
    where = subprocess.run([str(py), "-c", "import popliteal.network.priors as p; print(p.default_priors_dir())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True)
    assert str(env_dir) in where.stdout, where.stdout


def test_example_counts_keep_the_fast_profile_and_scale_with_the_thorough_one_as_conftest_registers():
    fast, thorough = settings.get_profile("fast"), settings.get_profile("thorough")
    assert [examples(n, fast) for n in (6, 15, 150)] == [6, 15, 150]
    assert [examples(n, thorough) for n in (6, 15, 150)] == [75, 187, 1875]  # n * 500 // 40
    assert examples(15, settings(max_examples=5)) == 15  # never fewer than the test asks for
    assert examples(15) == examples(15, settings.default)
