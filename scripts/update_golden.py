"""Regenerate tests/data/golden.json: the posteriors of the named scenarios.

Run it (``make golden``) after changing a prior on purpose, and commit the
diff of golden.json with the change: the diff is the change's clinical
effect, scenario by scenario.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "model"))

import popliteal  # noqa: E402

SCENARIOS = ROOT / "tests" / "data" / "scenarios.yaml"
GOLDEN = ROOT / "tests" / "data" / "golden.json"


def compute(model=None) -> dict:
    """The golden document for the bundled priors."""
    model = model or popliteal.load(ROOT / "priors")
    scenarios = yaml.safe_load(SCENARIOS.read_text())
    out = {}
    for name, evidence in scenarios.items():
        result = model.query(evidence or {})
        out[name] = {
            "evidence": dict(result.evidence),
            "posteriors": {k: round(v, 12) for k, v in result.probabilities.items()},
            "triage": result.triage.level,
        }
    return {"priors_digest": model.digest, "scenarios": out}


def main() -> int:
    doc = compute()
    GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN.relative_to(ROOT)} for priors digest {doc['priors_digest']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
