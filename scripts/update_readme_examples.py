"""Refresh the output of every complete ``console`` example in README.md from a real run.

The README test (tests/test_readme.py) checks that every complete example prints exactly what
the README shows; after a change of the priors or the policy, this script rewrites those outputs
(abridged examples, with ``...`` or ``…``, are left as they are). Read the diff before committing:
it shows the clinical effect of the change on the README's patients.

    .venv/bin/python scripts/update_readme_examples.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_readme  # noqa: E402  (the README test's own parser and runner)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    changed = 0
    for command, shown in test_readme.commands():
        if test_readme.abridged(shown):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            proc = test_readme._run(command, Path(tmp))
        printed = (proc.stdout + proc.stderr).rstrip("\n")
        old = "\n".join(["$ " + command, *shown])
        new = "\n".join(["$ " + command, *[line.rstrip() for line in printed.splitlines()]])
        if old != new and old in text:
            text = text.replace(old, new, 1)
            changed += 1
    readme.write_text(text, encoding="utf-8")
    print(f"README.md: {changed} example output(s) refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
