"""Scenario files: one patient's evidence, with a title and notes, in YAML.

``popliteal query|explain|next|interview --scenario case.yaml`` reads (``-``
is standard input, except for ``interview``, whose answers come from there)::

    title: 73-year-old woman after a long-haul flight     # optional
    notes: heavy, sore calf since landing                 # optional
    evidence:                                             # required, a mapping
      age: 73                                             # age=YEARS maps to age_group
      sex: female
      long_travel: "yes"                                  # YAML booleans (yes, true) also mean yes
      calf_swelling: "yes:0.7"                            # soft (virtual) evidence

The vignette files of ``tests/vignettes`` are scenario files too: their
``id``, ``source``, ``narrative`` and ``expected`` fields are accepted and
ignored. Any other field is refused, so a misspelt ``evidense:`` is not
silently read as an empty case.

Evidence given with ``-e`` on the command line is added to the file's. A
variable given in both with different values is an error (exit 2): neither
silently wins. The file is read with :mod:`popliteal.common.safeyaml`; every problem raises
:class:`ScenarioError` with one line naming the file and the field.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path

from ..engine.evidence import Evidence, EvidenceError, from_mapping
from ..common.messages import shorten

FIELDS = ("title", "notes", "evidence")
#: How a scenario read from standard input (``--scenario -``) is named.
STDIN = "<stdin>"
#: Fields of the vignette format (tests/vignettes), accepted and ignored.
VIGNETTE_FIELDS = ("id", "source", "narrative", "expected")


class ScenarioError(EvidenceError):
    """A scenario file is unreadable or invalid, or clashes with the command line."""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    path: Path
    evidence: Evidence
    title: str | None = None
    notes: str | None = None

    def to_dict(self) -> dict:
        return {"file": str(self.path), "title": self.title, "notes": self.notes}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises
    ------
    ScenarioError
        ``FILE: FIELD: problem`` for a missing or unreadable file, broken YAML,
        an unknown field, a missing ``evidence`` mapping or bad evidence.
    """
    from ..common.safeyaml import MAX_BYTES as MAX_STDIN
    from ..common.safeyaml import YamlError, load_file, load_text

    path = Path(path)
    try:
        if str(path) == "-":
            text, path = sys.stdin.read(MAX_STDIN + 1), Path(STDIN)
            if len(text) > MAX_STDIN:
                raise ScenarioError(f"{STDIN}: file: too large (more than {MAX_STDIN} characters)")
            data = load_text(text, path)
        else:
            data = load_file(path)
    except YamlError as exc:
        raise ScenarioError(str(exc)) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: file: must be a mapping with an 'evidence' field, "
                            f"got {type(data).__name__}")
    for key in data:
        if key not in FIELDS + VIGNETTE_FIELDS:
            close = difflib.get_close_matches(shorten(key), FIELDS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; fields are {', '.join(FIELDS)}"
            raise ScenarioError(f"{path}: {shorten(key)}: unknown field{hint}")
    if "evidence" not in data:
        raise ScenarioError(f"{path}: evidence: missing (a mapping such as calf_swelling: \"yes\")")
    raw = data["evidence"]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: evidence: must be a mapping of variable: state, got {type(raw).__name__}")
    for key, value in raw.items():
        try:
            from_mapping({key: value})
        except EvidenceError as exc:
            raise ScenarioError(f"{path}: evidence.{shorten(key)}: {exc}") from None
    try:
        evidence = from_mapping(raw)
    except EvidenceError as exc:  # e.g. age and age_group that disagree
        raise ScenarioError(f"{path}: evidence: {exc}") from None
    texts = {}
    for key in ("title", "notes"):
        value = data.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            raise ScenarioError(f"{path}: {key}: must be a text")
        texts[key] = None if value is None else str(value).strip()
    return Scenario(path=path, evidence=evidence, **texts)


def merge(scenario: Scenario, extra: Evidence) -> Evidence:
    """The scenario's evidence plus ``extra`` (from ``-e``); a disagreement is an error.

    Both keep the age in years (``as_items``): the policy's age rules (the Ottawa rule's 55) read it.
    """
    base = scenario.evidence.as_items()
    added = extra.as_items()
    for name, value in added.items():
        if name in base and base[name] != value:
            raise ScenarioError(f"{scenario.path}: evidence.{name}: the file says {_text(base[name])} but -e says "
                                f"{_text(value)}; change one of them")
    return from_mapping({**base, **added})


def _text(value) -> str:
    """An evidence value as typed: years without a trailing ``.0``."""
    return f"{value:g}" if isinstance(value, float) else str(value)
