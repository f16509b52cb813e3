"""The cache of the compiled model: identical answers, rebuilt on change, never in the way.

Oracle: loading the YAML directly (``popliteal.load(cache=False)``), which the
cache must reproduce exactly, and the files on disk after each step.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import popliteal
from popliteal.network import cache
from popliteal.network import structure
from popliteal.network.priors import PriorsError

PRIORS = Path(__file__).resolve().parents[1] / "priors"
CASES = [{}, {"age_group": "over_60", "calf_swelling": "yes", "calf_tenderness": "yes"},
         {"popliteal_swelling": "yes:0.8", "osteoarthritis": "yes"}, {"age_group": "child", "limping": "yes"}]
HOUR_AGO_NS = (time.time_ns() - 3600 * 10**9)


def age(folder: Path, ns: int = HOUR_AGO_NS) -> None:
    """Date every file of ``folder`` back, as for priors that were not just edited."""
    for path in folder.iterdir():
        os.utime(path, ns=(ns, ns))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("POPLITEAL_CACHE_DIR", str(path))
    return path


@pytest.fixture
def priors_copy(tmp_path):
    folder = shutil.copytree(PRIORS, tmp_path / "priors")
    age(folder)
    return folder


def entry_files(cache_dir: Path):
    npz = sorted(cache_dir.glob("model-*.npz"))
    sidecar = sorted(cache_dir.glob("model-*.json"))
    assert len(npz) == len(sidecar) == 1, list(cache_dir.iterdir())
    return npz[0], sidecar[0]


class YamlCounter:
    """Counts how often the YAML files are loaded (a cache hit loads them zero times)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = cache.load_priors

        def counting(directory=None):
            self.calls += 1
            return real(directory)

        monkeypatch.setattr(cache, "load_priors", counting)


def test_a_cache_hit_gives_exactly_the_fresh_model(cache_dir, priors_copy, monkeypatch):
    yaml_loads = YamlCounter(monkeypatch)
    fresh = popliteal.load(priors_copy, cache=False)
    popliteal.load(priors_copy)  # miss: builds the entry
    assert yaml_loads.calls == 1
    hit = popliteal.load(priors_copy)
    assert yaml_loads.calls == 1, "the second load must come from the cache"
    assert hit.digest == fresh.digest
    assert hit.priors.triage == fresh.priors.triage
    assert hit.priors.references == fresh.priors.references
    assert hit.priors.directory == fresh.priors.directory
    for name in structure.NAMES:
        a, b = hit.priors.nodes[name], fresh.priors.nodes[name]
        assert a.table.dtype == b.table.dtype and np.array_equal(a.table, b.table), name
        assert (a.node, a.kind, a.file, a.description, a.parameters) == (b.node, b.kind, b.file, b.description,
                                                                         b.parameters)
    for case in CASES:
        assert hit.query(case).to_dict() == fresh.query(case).to_dict()


def test_a_cached_model_can_still_rebuild_its_tables(cache_dir, priors_copy):
    popliteal.load(priors_copy)
    hit = popliteal.load(priors_copy)
    fresh = popliteal.load(priors_copy, cache=False)
    values = np.array([p.value for p in fresh.priors.nodes["dvt"].parameters]) * np.array([[1.0], [1.1]])
    np.testing.assert_array_equal(hit.priors.nodes["dvt"].rebuild(values), fresh.priors.nodes["dvt"].rebuild(values))
    assert hit.query(CASES[1], uncertainty=50).to_dict() == fresh.query(CASES[1], uncertainty=50).to_dict()


def test_a_changed_priors_file_rebuilds_the_entry(cache_dir, priors_copy, monkeypatch):
    before = popliteal.load(priors_copy).posterior(CASES[1]).probabilities["dvt"]
    dvt = priors_copy / "dvt.yaml"
    text = dvt.read_text()
    value = popliteal.load(priors_copy).priors.nodes["dvt"].parameters[0].value
    assert f"probability: {value}" in text
    dvt.write_text(text.replace(f"probability: {value}", f"probability: {value * 2}", 1))
    os.utime(dvt, ns=(HOUR_AGO_NS + 10**9, HOUR_AGO_NS + 10**9))  # changed, yet not recently: no racy guard
    yaml_loads = YamlCounter(monkeypatch)
    after = popliteal.load(priors_copy)
    assert yaml_loads.calls == 1
    assert after.posterior(CASES[1]).probabilities["dvt"] > before
    assert after.digest == popliteal.load(priors_copy, cache=False).digest
    popliteal.load(priors_copy)
    assert yaml_loads.calls == 1, "the rebuilt entry is used from then on"


def test_an_edit_that_keeps_size_and_mtime_is_seen(cache_dir, priors_copy, monkeypatch):
    """The key is the files' content: an edit of the same size and timestamp is not served stale."""
    before = popliteal.load(priors_copy).posterior(CASES[1]).probabilities["dvt"]
    dvt = priors_copy / "dvt.yaml"
    stat = dvt.stat()
    text = dvt.read_text()
    value = popliteal.load(priors_copy).priors.nodes["dvt"].parameters[0].value
    edited = text.replace(f"probability: {value}", f"probability: {value * 2:.{len(str(value)) - 2}f}"[:len(
        f"probability: {value}")], 1)
    assert len(edited) == len(text) and edited != text
    dvt.write_text(edited)
    os.utime(dvt, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (dvt.stat().st_size, dvt.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    yaml_loads = YamlCounter(monkeypatch)
    after = popliteal.load(priors_copy)
    assert yaml_loads.calls == 1
    assert after.posterior(CASES[1]).probabilities["dvt"] != before
    assert after.digest == popliteal.load(priors_copy, cache=False).digest


def test_the_cli_sees_an_edited_priors_file(cache_dir, priors_copy):
    def dvt():
        proc = subprocess.run([sys.executable, "-m", "popliteal", "query", "--priors", str(priors_copy),
                               "-e", "calf_swelling=yes", "--json"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["posteriors"]["dvt"]

    first = dvt()
    assert dvt() == first
    assert list(cache_dir.glob("model-*.npz")), "the CLI writes the cache"
    path = priors_copy / "calf_swelling.yaml"
    text = path.read_text()
    marker = "- parent: dvt\n  probability: "
    assert marker in text
    head, tail = text.split(marker, 1)
    old, rest = tail.split("\n", 1)
    high = json.loads(rest.split("range: ", 1)[1].split("\n", 1)[0])[1]
    path.write_text(f"{head}{marker}{(float(old) + high) / 2}\n{rest}")  # a more specific finding
    assert dvt() > first


@pytest.mark.parametrize("damage", ["garbage npz", "truncated npz", "garbage json", "wrong shape", "pickled"])
def test_a_corrupt_entry_is_ignored_and_rebuilt(cache_dir, priors_copy, monkeypatch, damage):
    expected = popliteal.load(priors_copy).query(CASES[1]).to_dict()
    npz, sidecar = entry_files(cache_dir)
    if damage == "garbage npz":
        npz.write_bytes(b"not a zip file at all")
    elif damage == "truncated npz":
        npz.write_bytes(npz.read_bytes()[:1000])
    elif damage == "garbage json":
        sidecar.write_text("{\"fingerprint\": [")
    else:  # a well-formed entry with a matching checksum, but a bad table
        with np.load(npz, allow_pickle=False) as arrays:
            tables = {k: arrays[k] for k in arrays.files}
        if damage == "wrong shape":
            tables["dvt"] = tables["dvt"][:, :2]
        else:
            tables["dvt"] = np.array([{"a": 1}], dtype=object)
        np.savez(npz, **tables)
        meta = json.loads(sidecar.read_text())
        meta["body"]["npz_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
        meta["sha256"] = hashlib.sha256(cache._canonical(meta["body"])).hexdigest()
        sidecar.write_text(json.dumps(meta))
    yaml_loads = YamlCounter(monkeypatch)
    assert popliteal.load(priors_copy).query(CASES[1]).to_dict() == expected
    assert yaml_loads.calls == 1
    popliteal.load(priors_copy)
    assert yaml_loads.calls == 1, "the entry was rewritten"


def test_an_unwritable_cache_folder_does_not_stop_a_query(tmp_path, priors_copy, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be created under a file")
    monkeypatch.setenv("POPLITEAL_CACHE_DIR", str(blocker / "cache"))
    expected = popliteal.load(priors_copy, cache=False).query(CASES[2]).to_dict()
    assert popliteal.load(priors_copy).query(CASES[2]).to_dict() == expected
    proc = subprocess.run([sys.executable, "-m", "popliteal", "query", "--priors", str(priors_copy), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_the_entry_holds_no_pickle(cache_dir, priors_copy):
    popliteal.load(priors_copy)
    npz, sidecar = entry_files(cache_dir)
    with np.load(npz, allow_pickle=False) as arrays:
        assert sorted(arrays.files) == sorted(structure.NAMES)
        assert all(arrays[k].dtype == np.float64 for k in arrays.files)
    meta = json.loads(sidecar.read_text())
    assert meta["body"]["digest"] == popliteal.load(priors_copy, cache=False).digest
    assert not list(cache_dir.glob(".*.tmp")), "no temporary file is left behind"


def test_a_broken_priors_folder_is_still_refused(cache_dir, priors_copy):
    popliteal.load(priors_copy)
    (priors_copy / "dvt.yaml").write_text("node: dvt\nkind: logistic\n")
    with pytest.raises(PriorsError, match="dvt.yaml"):
        popliteal.load(priors_copy)
    with pytest.raises(PriorsError, match="not a readable priors folder"):
        popliteal.load(priors_copy / "missing")


def test_a_rebuild_after_the_priors_changed_is_refused(cache_dir, priors_copy):
    popliteal.load(priors_copy)
    hit = popliteal.load(priors_copy)
    path = priors_copy / "smoking.yaml"
    path.write_text(path.read_text() + "\n# edited\n")
    with pytest.raises(PriorsError, match="changed since the model was loaded"):
        hit.priors.nodes["dvt"].rebuild(np.array([p.value for p in hit.priors.nodes["dvt"].parameters]))


def test_validate_priors_never_uses_the_cache(cache_dir):
    proc = subprocess.run([sys.executable, "-m", "popliteal", "validate-priors", str(PRIORS)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_a_query_from_the_cache_reads_no_yaml(cache_dir, priors_copy):
    code = ("import sys, io, contextlib\nfrom popliteal.cli.main import main\n"
            f"args = ['query', '--priors', {str(priors_copy)!r}, '-e', 'calf_swelling=yes', '--json']\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    assert main(args) == 0\n"
            "print(sorted(m for m in ('yaml', 'pgmpy', 'matplotlib', 'scipy') if m in sys.modules))")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert first.stdout.strip() == "['yaml']", first.stdout + first.stderr
    assert second.stdout.strip() == "[]", second.stdout + second.stderr


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POPLITEAL_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("POPLITEAL_CACHE_DIR")
    assert cache.cache_dir() == tmp_path / "xdg" / "popliteal"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "popliteal"


def test_an_edited_sidecar_is_a_miss_not_a_changed_triage(cache_dir, priors_copy, monkeypatch):
    """Editing the urgent DVT threshold inside the sidecar must not change the triage under the same digest."""
    model = popliteal.load(priors_copy)
    expected = model.query(CASES[1]).to_dict()
    _, sidecar = entry_files(cache_dir)
    meta = json.loads(sidecar.read_text())
    for rule in meta["body"]["triage"]["triage.yaml"]["rules"]:
        for cond in rule["when"]:
            for body in cond.values():
                if isinstance(body, dict):
                    body.update({k: 0.99 for k, v in body.items() if isinstance(v, float)})
    sidecar.write_text(json.dumps(meta))
    yaml_loads = YamlCounter(monkeypatch)
    assert popliteal.load(priors_copy).query(CASES[1]).to_dict() == expected
    assert yaml_loads.calls == 1, "the tampered entry was a miss"


@pytest.mark.parametrize("junk", ["fifo", "folder", "empty file", "symlink loop"])
@pytest.mark.parametrize("which", ["json", "npz"])
def test_junk_in_place_of_an_entry_is_a_miss_not_a_hang(cache_dir, priors_copy, junk, which):
    popliteal.load(priors_copy)
    path = entry_files(cache_dir)[0 if which == "npz" else 1]
    path.unlink()
    if junk == "fifo":
        os.mkfifo(path)
    elif junk == "folder":
        path.mkdir()
    elif junk == "empty file":
        path.write_bytes(b"")
    else:
        path.symlink_to(path)
    proc = subprocess.run([sys.executable, "-m", "popliteal", "query", "--priors", str(priors_copy), "--json",
                           "-e", "calf_swelling=yes"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "POPLITEAL_CACHE_DIR": str(cache_dir)})
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert json.loads(proc.stdout)["posteriors"] == popliteal.load(
        priors_copy, cache=False).posterior({"calf_swelling": "yes"}).probabilities


def test_a_new_dataclass_field_still_hits_the_cache(cache_dir, priors_copy, monkeypatch):
    """Issue 12: a field added to a cached dataclass (of any supported type) needs no cache code."""
    import dataclasses

    from popliteal.network import priors as priors_module

    @dataclasses.dataclass(frozen=True)
    class Policy(priors_module.TriagePolicy):
        review_after_days: int = 7
        label: str | None = "x"
        weights: dict[str, float] = dataclasses.field(default_factory=lambda: {"dvt": 0.5})
        tags: tuple[str, ...] = ("a", "b")

    monkeypatch.setattr(priors_module, "TriagePolicy", Policy)
    monkeypatch.setattr(cache, "TriagePolicy", Policy)
    first = popliteal.load(priors_copy)
    assert isinstance(first.priors.triage, Policy)
    yaml_loads = YamlCounter(monkeypatch)
    hit = popliteal.load(priors_copy)
    assert yaml_loads.calls == 0, "a cache hit"
    assert hit.priors.triage == first.priors.triage


def test_every_field_of_the_cached_classes_is_decodable():
    from popliteal.network import priors as priors_module

    model = popliteal.load(cache=False)
    for value in model.priors.nodes["dvt"].parameters:
        assert cache.decode(type(value), json.loads(json.dumps(dataclasses_asdict(value)))) == value
    with pytest.raises(TypeError, match="cannot store"):
        cache.decode(set[str], ["a"])
    assert priors_module.TriagePolicy is type(model.priors.triage)
    # the policy is stored as its two YAML documents and validated by the loader on reading
    assert model.priors.policy_documents["triage.yaml"]["rules"]


def dataclasses_asdict(value):
    import dataclasses

    return dataclasses.asdict(value)
