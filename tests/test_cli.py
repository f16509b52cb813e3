"""The command line as a user runs it: subprocesses, real output, bad input.

Oracle: the public contract (``docs/contract.md``): JSON keys, exit
status 2 with one line on stderr for bad input, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from popliteal.network import structure

ROOT = Path(__file__).resolve().parents[1]
EXE = [sys.executable, "-m", "popliteal"]


def run(*args, env=None, cwd=None):
    full_env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    full_env.pop("POPLITEAL_PRIORS", None) if env is None or "POPLITEAL_PRIORS" not in env else None
    return subprocess.run([*EXE, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


def assert_bad_input(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_query_json_follows_the_contract():
    proc = run("query", "-e", "age_group=over_60", "-e", "calf_swelling=yes", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"evidence", "posteriors", "ranking", "triage", "advice"} <= set(out)
    assert out["evidence"] == {"age_group": "over_60", "calf_swelling": "yes"}
    assert set(out["posteriors"]) == set(structure.TARGETS)
    assert sorted(out["ranking"], key=lambda n: -out["posteriors"][n]) == out["ranking"]
    assert set(out["ranking"]) == set(structure.TARGETS)
    assert out["triage"]["level"] in ("emergency", "urgent", "doctor", "self_care")
    assert out["triage"]["reasons"] and out["advice"]
    assert all(0.0 <= p <= 1.0 for p in out["posteriors"].values())


def test_query_table_shows_ranking_triage_and_advice():
    proc = run("query", "-e", "popliteal_swelling=yes")
    assert proc.returncode == 0, proc.stderr
    assert "bakers_cyst" in proc.stdout
    assert "Triage:" in proc.stdout and "Advice:" in proc.stdout
    assert "not medical advice" in proc.stdout.lower()


def test_same_numbers_in_table_json_and_api(model):
    args = ["-e", "age=67", "-e", "long_travel=yes", "-e", "calf_swelling=yes:0.8"]
    out = json.loads(run("query", *args, "--json").stdout)
    api = model.query({"age": 67, "long_travel": "yes", "calf_swelling": "yes:0.8"})
    assert out["evidence"] == {"age_group": "over_60", "long_travel": "yes", "calf_swelling": "yes:0.8"}
    for name, p in api.probabilities.items():
        assert out["posteriors"][name] == pytest.approx(p, abs=1e-12)
    assert out["triage"]["level"] == api.triage.level


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_is_written(tmp_path, suffix):
    target = tmp_path / f"posteriors{suffix}"
    proc = run("query", "-e", "calf_swelling=yes", "--plot", str(target))
    assert proc.returncode == 0, proc.stderr
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:2000]


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["query", "-e", "calf_swellin=yes"], ["unknown variable 'calf_swellin'", "calf_swelling"]),
        (["query", "-e", "calf_swelling=maybe"], ["calf_swelling", "unknown state 'maybe'"]),
        (["query", "-e", "age_group=elderly"], ["age_group", "child, adolescent, adult, over_60"]),
        (["query", "-e", "calf_swelling"], ["NAME=STATE"]),
        (["query", "-e", "sex=male", "-e", "pregnant_or_postpartum=yes"], ["impossible", "sex=male",
                                                                          "pregnancy=pregnant|postpartum"]),
        (["query", "-e", "age=1"], ["ages 2 to 120"]),
        (["query", "-e", "age=old"], ["age must be a number"]),
        (["query", "-e", "calf_swelling=yes:1.5"], ["likelihood", "(0, 1]"]),
        (["query", "-e", "dvt=yes", "-e", "dvt=no"], ["given twice"]),
        (["query", "--plot", "out.pdf"], [".png or .svg"]),
        (["query", "--no-such-flag"], ["unrecognized arguments"]),
        (["frobnicate"], ["invalid choice"]),
        (["export", "--format", "xls", "x.xls"], ["invalid choice"]),
        (["cite", "--node", "dtv"], ["unknown variable 'dtv'", "dvt"]),
    ],
)
def test_bad_input_exits_2_with_one_line(args, fragments):
    assert_bad_input(run(*args), *fragments)


def test_plot_into_missing_folder_is_refused(tmp_path):
    assert_bad_input(run("query", "--plot", str(tmp_path / "no" / "x.png")), "does not exist")


def test_broken_priors_folder_is_refused_with_file_and_field(tmp_path):
    import shutil

    folder = tmp_path / "priors"
    shutil.copytree(ROOT / "priors", folder)
    text = (folder / "dvt.yaml").read_text()
    (folder / "dvt.yaml").write_text(text.replace("kind: logistic", "kind: lookup"))
    line = assert_bad_input(run("query", "--priors", str(folder)), "dvt.yaml: kind:")
    assert "lookup" in line
    line = assert_bad_input(run("query", env={"POPLITEAL_PRIORS": str(folder)}), "dvt.yaml: kind:")
    assert_bad_input(run("validate-priors", str(folder)), "dvt.yaml: kind:")
    assert_bad_input(run("query", "--priors", str(tmp_path / "missing")), "not a readable priors folder")


def test_other_priors_folder_changes_the_numbers(tmp_path, random_priors_dir):
    a = json.loads(run("query", "--json").stdout)
    b = json.loads(run("query", "--json", "--priors", str(random_priors_dir)).stdout)
    assert a["priors_digest"] != b["priors_digest"]
    assert a["posteriors"] != b["posteriors"]


def test_priors_option_in_process_leaves_the_environment_unchanged(monkeypatch, capsys, random_priors_dir):
    from popliteal.api import load
    from popliteal.cli.main import main
    from popliteal.network.priors import ENV_VAR, load_priors

    monkeypatch.delenv(ENV_VAR, raising=False)
    before = dict(os.environ)
    assert main(["digest", "--priors", str(random_priors_dir)]) == 0
    assert main(["query", "--json", "--priors", str(random_priors_dir)]) == 0
    assert dict(os.environ) == before
    digest, query = capsys.readouterr().out.split("\n", 1)
    assert digest == json.loads(query)["priors_digest"] == load_priors(random_priors_dir).digest
    assert load(cache=False).digest == load_priors(ROOT / "priors").digest != digest


def test_broken_pipe_in_score_leaves_a_redirected_stdout_alone_and_no_file_open(tmp_path, monkeypatch):
    import contextlib

    import popliteal.batch
    from popliteal.cli.main import main

    def broken_pipe(*args, **kwargs):
        raise BrokenPipeError

    monkeypatch.setattr(popliteal.batch, "score", broken_pipe)
    args = ["score", str(ROOT / "docs" / "examples" / "cases.csv"), "-o", "-"]
    main(args)  # the model loaded once, before counting file descriptors
    open_fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with open(tmp_path / "out.txt", "w") as out, contextlib.redirect_stdout(out):
        assert main(args) == 0
        print("still written")
    assert (tmp_path / "out.txt").read_text() == "still written\n"
    assert open_fds is None or len(os.listdir("/proc/self/fd")) == open_fds


def test_validate_priors_accepts_the_bundled_folder():
    proc = run("validate-priors", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] and out["nodes"] == len(structure.NAMES)


def test_variables_lists_every_variable():
    out = json.loads(run("variables", "--json").stdout)
    names = [v["name"] for v in out["variables"]]
    assert names == list(structure.NAMES)
    kinds = {v["name"]: v["kind"] for v in out["variables"]}
    assert kinds["dvt"] == "cause" and kinds["pulmonary_embolism"] == "complication"
    assert kinds["calf_swelling"] == "finding" and kinds["smoking"] == "risk_factor"
    assert all(v["meaning"] and v["states"] for v in out["variables"])


def test_cite_and_digest():
    proc = run("cite", "--node", "dvt")
    assert proc.returncode == 0 and "[" in proc.stdout
    digest = run("digest").stdout.strip()
    assert len(digest) == 16
    assert json.loads(run("query", "--json").stdout)["priors_digest"] == digest


def test_help_and_version_do_not_import_pgmpy_or_matplotlib():
    code = ("import sys; from popliteal.cli.main import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('pgmpy', 'matplotlib', 'pandas') if m in sys.modules]\n"
            "print('loaded:' + ','.join(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "loaded:", proc.stdout
    assert run("--help").returncode == 0


def test_query_does_not_import_pgmpy():
    code = ("import sys, io, contextlib\nfrom popliteal.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['query', '-e', 'calf_swelling=yes', '--json'])\n"
            "print('pgmpy' in sys.modules, 'matplotlib' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "False"], proc.stdout + proc.stderr


@pytest.mark.parametrize("fmt", ["bif", "xmlbif", "uai"])
def test_export_writes_a_file(tmp_path, fmt):
    target = tmp_path / f"popliteal.{fmt}"
    proc = run("export", "--format", fmt, str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.stat().st_size > 1000
