"""Parse and validate evidence: what is known about one patient.

Forms accepted on the command line and in the Python API:

- ``NAME=STATE``: the variable is observed in that state;
- ``NAME=STATE:LIKELIHOOD``: soft (virtual) evidence. The finding was reported
  with that confidence: ``P(report | NAME=STATE) = LIKELIHOOD`` and
  ``P(report | any other state) = 1 - LIKELIHOOD``. It is *not* a target
  marginal: ``calf_swelling=yes:0.7`` moves the posterior less than a sure
  ``calf_swelling=yes`` and ``:0.5`` does not move it at all;
- ``NAME=STATE|STATE``: the variable is in one of these states (hard evidence
  on a set of states, such as ``pain_side=medial|central``); ``NAME=STATE|STATE:L``
  is the soft form (likelihood ``L`` for the listed states, ``1 - L`` for the others);
- ``age=YEARS``: mapped to ``age_group`` (2-11 child, 12-17 adolescent,
  18-60 adult, over 60 over_60), the years kept beside it (``Evidence.years``)
  for the triage rules that read an age inside a band (the Ottawa knee rule's 55);
- a compatibility name of :data:`popliteal.network.structure.ALIASES`:
  ``pregnant_or_postpartum=yes`` is ``pregnancy=pregnant|postpartum`` and
  ``pregnant_or_postpartum=no`` is ``pregnancy=no``.

Every problem raises :class:`EvidenceError` with one line that names it and,
for a misspelt name or state, the nearest valid ones.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from ..common.messages import shorten
from ..network import structure


#: Separates the states of hard evidence on a set of states (``pain_side=medial|central``).
SET_SEPARATOR = "|"
#: The evidence name of the age in years: read as ``age_group``, kept as years for the policy's age rules.
AGE = "age"


class EvidenceError(ValueError):
    """Evidence names an unknown variable or state, or is malformed or impossible."""


def _suggest(word: str, options: Iterable[str]) -> str:
    if not isinstance(word, str) or len(word) > 100:  # no near miss, and difflib is slow on long texts
        return ""
    close = difflib.get_close_matches(word, list(options), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def age_to_group(years: float) -> str:
    """Map an age in years to the state of ``age_group`` (:func:`popliteal.network.structure.age_to_group`)."""
    try:
        return structure.age_to_group(years)
    except ValueError as exc:
        raise EvidenceError(str(exc)) from None


@dataclass(frozen=True)
class Evidence:
    """Validated evidence: hard states and soft (virtual) findings.

    Attributes
    ----------
    hard : dict
        ``{variable: state}`` for observed variables; ``"a|b"`` for a set of states.
    soft : dict
        ``{variable: (state, likelihood)}`` for findings reported with a confidence.
    years : float or None
        The age in years when it was given (``age=57``), beside the ``age_group`` it maps to:
        the network reads only the group, the triage policy also the years (the Ottawa knee
        rule's age of 55 lies inside the adult band). None when only a group, or no age, is known.
    """

    hard: Mapping[str, str] = field(default_factory=dict)
    soft: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    years: float | None = None

    def __post_init__(self):
        if not isinstance(self.hard, Mapping) or not isinstance(self.soft, Mapping):
            raise EvidenceError("Evidence(hard=..., soft=...) takes two mappings; use popliteal.engine.evidence.from_mapping "
                                "for {name: 'state'} or {name: 'yes:0.7'}")
        for name, state in self.hard.items():
            _check_name(name)
            if not isinstance(state, str):
                raise EvidenceError(f"{name}: the state must be a text such as 'yes', got {shorten(repr(state))}")
            for part in state.split(SET_SEPARATOR):
                _check_state(name, part)
        for name, item in self.soft.items():
            _check_name(name)
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise EvidenceError(f"{name}: soft evidence must be (state, likelihood), got {shorten(repr(item))}")
            state, lik = item
            for part in state.split(SET_SEPARATOR):
                _check_state(name, part)
            _check_likelihood(name, f"{state}:{lik}", lik)
        if structure.COMPLAINT in self.soft or self.hard.get(structure.COMPLAINT, "yes") != "yes":
            raise EvidenceError(f"{structure.COMPLAINT}: always yes (the model is for people with this pain); "
                                "it cannot be given as another state or as soft evidence")
        both = set(self.hard) & set(self.soft)
        if both:
            raise EvidenceError(f"{sorted(both)[0]}: given both as sure and as soft evidence")
        if self.years is not None:
            group = age_to_group(self.years)
            if self.hard.get("age_group") != group:
                raise EvidenceError(f"age={self.years:g}: the age in years needs age_group={group} beside it, "
                                    f"got {self.hard.get('age_group', 'none')}")

    @property
    def names(self) -> set[str]:
        """Every variable with evidence."""
        return set(self.hard) | set(self.soft)

    def as_dict(self) -> dict[str, str]:
        """The evidence as strings, in the contract's JSON form, sorted by variable order."""
        out = {}
        for name in structure.NAMES:
            if name in self.hard:
                out[name] = self.hard[name]
            elif name in self.soft:
                state, lik = self.soft[name]
                out[name] = f"{state}:{lik!r}"  # the shortest text that reads back as the same float
        return out

    def as_items(self) -> dict[str, str | float]:
        """:meth:`as_dict` plus ``age`` (the years) when given: what :func:`from_mapping` reads back as this evidence."""
        items: dict[str, str | float] = self.as_dict()
        if self.years is not None:
            items[AGE] = self.years
        return items

    def likelihoods(self) -> dict[str, np.ndarray]:
        """One likelihood vector over the states of each variable with evidence."""
        out = {}
        for name, state in self.hard.items():
            states = structure.BY_NAME[name].states
            members = set(state.split(SET_SEPARATOR))
            out[name] = np.array([1.0 if s in members else 0.0 for s in states])
        for name, (state, lik) in self.soft.items():
            states = structure.BY_NAME[name].states
            members = set(state.split(SET_SEPARATOR))
            out[name] = np.array([lik if s in members else 1.0 - lik for s in states])
        return out

    def without(self, name: str) -> "Evidence":
        """The same evidence with ``name`` left out."""
        return Evidence({k: v for k, v in self.hard.items() if k != name},
                        {k: v for k, v in self.soft.items() if k != name},
                        None if name == "age_group" else self.years)

    def with_state(self, name: str, state: str) -> "Evidence":
        """The same evidence with ``name`` observed in ``state``."""
        hard = dict(self.hard)
        hard[name] = state
        years = None if name == "age_group" and state != self.hard.get(name) else self.years
        return Evidence(hard, {k: v for k, v in self.soft.items() if k != name}, years)

    def __len__(self) -> int:
        return len(self.hard) + len(self.soft)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name not in structure.BY_NAME:
        options = list(structure.NAMES) + [AGE] + list(structure.ALIASES)
        hint = _suggest(name, options) if isinstance(name, str) else ""
        raise EvidenceError(f"unknown variable {shorten(repr(name))}{hint}")
    return name


def evidence_name(name: Any) -> str:
    """``name`` stripped, when evidence may use it: a variable, ``age`` or a name of ``structure.ALIASES``.

    Raises
    ------
    EvidenceError
        For any other name, with the nearest valid ones.
    """
    name = str(name).strip()
    if name == AGE or name in structure.ALIASES:
        return name
    return _check_name(name)


def states_of(name: Any) -> tuple[str, ...]:
    """The states evidence on ``name`` may take: a variable's, or those of a name of ``structure.ALIASES``.

    Raises
    ------
    EvidenceError
        For a name that is neither (``age``, whose values are years, included), with the nearest valid ones.
    """
    name = str(name).strip()
    if name in structure.ALIASES:
        return tuple(structure.ALIASES[name][1])
    return structure.BY_NAME[_check_name(name)].states


def _check_likelihood(name: str, text: str, lik: Any) -> float:
    """A soft likelihood: a float in (0, 1]."""
    if isinstance(lik, bool) or not isinstance(lik, (int, float)) or not 0.0 < lik <= 1.0:
        raise EvidenceError(f"{name}={shorten(text)}: the likelihood after ':' must be in (0, 1], got {shorten(lik)}")
    return float(lik)


def _check_states(name: str, text: str) -> str:
    """One state or a set ``a|b`` of states, in the variable's order."""
    chosen = {_check_state(name, part.strip()) for part in text.split(SET_SEPARATOR)}
    return SET_SEPARATOR.join(s for s in structure.BY_NAME[name].states if s in chosen)


def _check_state(name: str, state: str) -> str:
    states = structure.BY_NAME[name].states
    if state not in states:
        hint = _suggest(state, states) or f"; states are {', '.join(states)}"
        raise EvidenceError(f"{name}: unknown state {shorten(repr(state))}{hint}")
    return state


def _parse_value(name: str, value: Any) -> tuple[str, str | tuple[str, float]]:
    """Return ``(name, state)`` or ``(name, (state, likelihood))`` for one item."""
    if value is True or value is False:
        value = "yes" if value else "no"
    if name == AGE:
        try:
            years = float(value)
        except (TypeError, ValueError, OverflowError):
            raise EvidenceError(f"age={shorten(value)}: age must be a number of years") from None
        return "age_group", age_to_group(years)
    if name in structure.ALIASES:
        target, meaning = structure.ALIASES[name]
        text = value.strip() if isinstance(value, str) else value
        base, sep, lik_text = text.partition(":") if isinstance(text, str) else (text, "", "")
        if base.strip() not in meaning if isinstance(base, str) else True:
            raise EvidenceError(f"{name}: unknown state {shorten(repr(value))}; states are {', '.join(meaning)} "
                                f"(or give {target}={'|'.join(structure.BY_NAME[target].states)})")
        name, value = target, SET_SEPARATOR.join(meaning[base.strip()]) + sep + lik_text
    _check_name(name)
    if not isinstance(value, str):
        raise EvidenceError(f"{name}: the state must be a text such as 'yes', got {shorten(repr(value))}")
    text = value.strip()
    if ":" in text:
        state, _, lik_text = text.partition(":")
        state = _check_states(name, state)
        try:
            lik = float(lik_text)
        except ValueError:
            raise EvidenceError(f"{name}={shorten(text)}: the likelihood after ':' must be a number "
                                "in (0, 1]") from None
        if lik == 0.0 and any(c in "123456789" for c in lik_text.partition("e")[0].partition("E")[0]):
            raise EvidenceError(f"{name}={shorten(text)}: the likelihood {shorten(lik_text.strip())} is too small "
                                "for a double-precision number (below 5e-324)")
        _check_likelihood(name, text, lik)
        if lik == 1.0:
            return name, state
        return name, (state, lik)
    if SET_SEPARATOR in text:
        return name, _check_states(name, text)
    return name, _check_state(name, text)


def pairs_of(items: Mapping[str, Any] | Iterable[Any]) -> Iterable[tuple[Any, Any]]:
    """The ``(name, value)`` pairs of a mapping or of a sequence of pairs, each checked to be a pair.

    Raises
    ------
    EvidenceError
        For an item that is not a pair (``["calf_swelling=yes"]`` instead of a mapping).
    """
    if isinstance(items, Mapping):
        yield from items.items()
        return
    for pair in items:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise EvidenceError(f"evidence pairs must be (name, state), got {shorten(repr(pair))}; or give a mapping "
                                "such as {'calf_swelling': 'yes'}")
        yield pair[0], pair[1]


def from_mapping(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Evidence:
    """Validate evidence given as ``{name: state}`` (or pairs).

    States may be ``"yes"``/``"no"``, Python booleans, ``"yes:0.7"`` for soft
    evidence, or a number of years for ``age``.
    """
    hard: dict[str, str] = {}
    soft: dict[str, tuple[str, float]] = {}
    shown: dict[str, str] = {}
    years: float | None = None
    for raw_name, raw_value in pairs_of(items):
        name, parsed = _parse_value(evidence_name(raw_name), raw_value)
        if evidence_name(raw_name) == AGE:
            given = float(raw_value)
            if years is not None and given != years:
                raise EvidenceError(f"age: given twice with different values ({years:g} and {shorten(raw_value)})")
            years = given
        shown_value = shorten(f"{raw_name}={raw_value}")
        if name in shown:
            previous = hard.get(name, soft.get(name))
            if previous != parsed:
                raise EvidenceError(f"{name}: given twice with different values ({shown[name]} and {shown_value})")
            continue
        shown[name] = shown_value
        if isinstance(parsed, tuple):
            soft[name] = parsed
        else:
            hard[name] = parsed
    return Evidence(hard, soft, years)


def parse_items(items: Iterable[str]) -> Evidence:
    """Validate command-line items of the form ``NAME=STATE[:LIKELIHOOD]``."""
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise EvidenceError(f"evidence {shorten(repr(item))} must have the form NAME=STATE "
                                "(for example calf_swelling=yes)")
        pairs.append((name.strip(), value.strip()))
    return from_mapping(pairs)
