"""An adaptive interview: the most informative question, one at a time, until the answer is settled.

The logic (:class:`Interview`) is separate from the terminal (:func:`run`), so
that scripts and tests drive it directly and the CLI only reads lines and
prints.

Each turn asks the first question of :func:`popliteal.clinic.explain.next_questions`
(red flags first: while a dangerous cause is plausible, or when an answer would send
the patient the same day; then by expected information about the causes). Answers:

``yes``, ``no`` (``y``, ``n``)
    a sure answer;
a state name, for ``age_group`` and ``sex``; for ``age_group`` also an age in years;
``yes?`` / ``no?`` (``probably``, ``probably not``)
    a leaning answer, recorded as soft (virtual) evidence ``NAME=yes:0.7`` or
    ``NAME=no:0.7``: the report is :data:`UNSURE_LIKELIHOOD` / (1 -
    :data:`UNSURE_LIKELIHOOD`) = 2.3 times likelier if the state is true than
    if it is not (a sure answer is ``:1``; ``:0.5`` would carry no information);
``unsure`` (``not sure``, ``maybe``, ``don't know``)
    the same as ``yes?``: someone who cannot rule a sign out has usually noticed
    something like it, and for the red-flag questions a weak positive is the safe
    side (a patient who does not know whether the calf is swollen has not had it
    ruled out: as a skip, the answer went on saying the calf had not been asked). That holds for a history too: an older patient unsure whether the knee was
    hurt in a fall still gets the fracture rule (a skip would lose it). Only for yes/no questions;
``yes`` to ``pregnancy``
    pregnant or postpartum (``pregnancy=pregnant|postpartum``), as ``pregnant_or_postpartum=yes``;
``skip``
    never ask this question again;
``back``
    undo the last answer or skip;
``quit`` (or the end of the input)
    stop and show the result so far.

The interview stops when

- **settled**: no red-flag question is pending, and no unasked question has an
  answer with probability at least :data:`SETTLE_PROBABILITY` that would change
  the leading cause or the triage level (computed exactly for every answer of
  every unasked, unskipped risk factor and finding);
- **nothing left**: no question is worth asking (all asked, skipped, or below
  :data:`popliteal.clinic.explain.MIN_INFORMATION` bits);
- **max questions**: ``max_questions`` questions were answered or skipped;
- the user quits, or the input ends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TextIO

from ..common.messages import shorten
from ..network import structure
from ..engine.evidence import AGE, Evidence, EvidenceError, age_to_group, from_mapping
from .explain import NextQuestions, Question, next_questions
from ..engine.inference import rank
from .policy import Assessment


#: Likelihood of a leaning answer (``yes?``, ``no?``, ``unsure``): ``P(report | state) = 0.7``,
#: ``P(report | other state) = 0.3``.
UNSURE_LIKELIHOOD = 0.7

#: The picture is settled when no unasked question has an answer at least this probable that
#: would change the leading cause or the triage level. One patient in twenty is not negligible:
#: at 10% the rare but strong thrombosis risk factors (active cancer, a recent birth) are never
#: asked, and on the vignettes the interview then settled on another leading cause than the full
#: vignette's in 4 of 50 cases, against 1 of 50 at 5% (scripts/interview_efficiency.py
#: --settle-probability), for about 0.3 more answers per interview.
SETTLE_PROBABILITY = 0.05

STOP_REASONS = {
    "settled": "the leading cause and the triage are settled: no likely answer (probability of at least "
               f"{SETTLE_PROBABILITY:.0%}) to any remaining question would change them",
    "nothing_left": "nothing left worth asking",
    "max_questions": "the maximum number of questions was reached",
    "quit": "stopped on request",
    "end_of_input": "the input ended",
}

_YES = {"yes", "y"}
_NO = {"no", "n"}
_LEAN_YES = {"yes?", "probably", "probably yes", "unsure", "not sure", "maybe", "?", "don't know", "dont know",
             "do not know", "i don't know", "dunno"}
_LEAN_NO = {"no?", "probably no", "probably not"}
_SKIP = {"skip", "s", "pass"}
_BACK = {"back", "b", "undo"}
_QUIT = {"quit", "q", "exit", "stop"}
#: Multi-state questions that a plain "yes" answers: the evidence it stands for (as ``pregnant_or_postpartum``).
_YES_MEANS = {"pregnancy": "pregnant|postpartum"}
#: The answer words a terminal completes with Tab.
ANSWERS_WORDS = ("yes", "no", "yes?", "no?", "unsure", "skip", "back", "quit")


class AnswerError(EvidenceError):
    """An answer the interview does not understand (it asks again)."""


def answer_help(variable: str) -> str:
    """The answers accepted for ``variable``, in one line."""
    states = structure.BY_NAME[variable].states
    if states == structure.YES_NO:
        return "yes, no, yes? (probably), no? (probably not), unsure, skip, back, quit"
    extra = " or an age in years" if variable == "age_group" else ""
    if variable in _YES_MEANS:
        extra = f" (yes: {_YES_MEANS[variable].replace('|', ' or ')})"
    return f"{', '.join(states)}{extra}; skip, back, quit"


def parse_answer(variable: str, text: str) -> tuple[str, str | None]:
    """Turn a typed answer into ``(action, value)``.

    ``action`` is ``answer`` (``value`` is the evidence value, such as ``yes``,
    ``yes:0.7`` or ``over_60``), ``skip``, ``back`` or ``quit``.

    Raises
    ------
    AnswerError
        For an answer that does not fit the question.
    """
    word = " ".join(text.strip().lower().split())
    if word in _SKIP:
        return "skip", None
    if word in _BACK:
        return "back", None
    if word in _QUIT:
        return "quit", None
    states = structure.BY_NAME[variable].states
    if states == structure.YES_NO:
        if word in _YES:
            return "answer", "yes"
        if word in _NO:
            return "answer", "no"
        if word in _LEAN_YES:
            return "answer", f"yes:{UNSURE_LIKELIHOOD:g}"
        if word in _LEAN_NO:
            return "answer", f"no:{UNSURE_LIKELIHOOD:g}"
    else:
        if word in states:
            return "answer", word
        if variable in _YES_MEANS and word in _YES:
            return "answer", _YES_MEANS[variable]
        if word in _LEAN_YES | _LEAN_NO | _YES | _NO:
            raise AnswerError(f"{variable} is not a yes/no question: answer {answer_help(variable)}")
        if variable == "age_group":
            try:
                years = float(word)
            except ValueError:
                years = None
            if years is not None:
                return "answer", age_to_group(years)
    shown = shorten(text.strip()) or "(empty)"
    raise AnswerError(f"not understood: {shown!r}; answer {answer_help(variable)}")


def _years(text: str) -> float | None:
    """The age in years an answer to ``age_group`` gives, or None for a band's name."""
    try:
        return float(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class Step:
    """One turn of the interview.

    Attributes
    ----------
    variable : str
        The question.
    answer : str
        What was typed.
    value : str or None
        The evidence recorded (``yes``, ``no:0.7``, ``over_60``), None for a skip.
    top : tuple of (cause, probability)
        The three leading causes after the turn.
    triage : str
        The triage level after the turn.
    years : float or None
        The age in years when ``age_group`` was answered with one (``value`` is then its band):
        kept for the triage rules that read the years (the Ottawa knee rule's 55).
    """

    variable: str
    answer: str
    value: str | None
    top: tuple[tuple[str, float], ...]
    triage: str
    years: float | None = None

    def to_dict(self) -> dict:
        out = {"question": self.variable, "answer": self.answer, "evidence": self.value,
               "top": [{"cause": c, "probability": p} for c, p in self.top], "triage": self.triage}
        if self.years is not None:
            out["age_years"] = self.years
        return out


@dataclass(frozen=True)
class Status:
    """What the interview does next: ask ``question``, or stop for ``reason``.

    ``open`` lists the answers (variable, state, probability) that would still
    change the leading cause or the triage level.
    """

    question: Question | None
    reason: str | None
    open: tuple[tuple[str, str, float], ...]
    questions: NextQuestions | None


class Interview:
    """The state of one interview: the evidence so far, the skips and the history.

    Parameters
    ----------
    model : Model
    evidence : Evidence or mapping, optional
        Known before the interview starts; never asked, never undone.
    max_questions : int, optional
        Stop after this many questions answered or skipped.
    settle_probability : float
        See :data:`SETTLE_PROBABILITY`.
    """

    def __init__(self, model, evidence: Evidence | Mapping[str, Any] | None = None,
                 max_questions: int | None = None, settle_probability: float = SETTLE_PROBABILITY):
        self.model = model
        self.initial = model.evidence(evidence)
        self.max_questions = max_questions
        self.settle_probability = settle_probability
        self.steps: list[Step] = []
        self.assessment()  # refuses impossible starting evidence

    # --- state -------------------------------------------------------------------------------

    @property
    def evidence(self) -> Evidence:
        """The starting evidence plus every recorded answer."""
        return from_mapping(self._items(self.steps))

    def _items(self, steps) -> dict[str, str | float]:
        """The evidence of the start and of ``steps`` as ``{name: value}``, the age in years kept as ``age``."""
        items = self.initial.as_items()
        for step in steps:
            if step.value is None:
                continue
            if step.variable == "age_group":
                items.pop(AGE, None)
                if step.years is not None:
                    items[AGE] = step.years
            items[step.variable] = step.value
        return items

    @property
    def skipped(self) -> set[str]:
        return {s.variable for s in self.steps if s.value is None}

    @property
    def questions_asked(self) -> int:
        """Questions answered (a skip does not count)."""
        return sum(s.value is not None for s in self.steps)

    @property
    def questions_skipped(self) -> int:
        return sum(s.value is None for s in self.steps)

    def assessment(self) -> Assessment:
        """Posteriors, triage and advice for the evidence so far."""
        return self.model.query(self.evidence)

    # --- deciding --------------------------------------------------------------------------------

    def status(self) -> Status:
        """The next question, or why the interview stops."""
        if self.max_questions is not None and len(self.steps) >= self.max_questions:
            return Status(None, "max_questions", (), None)
        evidence = self.evidence
        policy = self.model.priors.triage
        nq = next_questions(self.model.engine, evidence, policy, self.model.digest, exclude=self.skipped)
        leader = nq.posterior.ranking[0]
        open_answers = []
        for variable in nq.whatif.variables:
            for state, p, post in nq.whatif.answers(variable):
                if p < self.settle_probability:
                    continue
                if rank(post)[0] != leader or nq.levels_after[variable][state] != nq.level:
                    open_answers.append((variable, state, p))
        red_flags = [q for q in nq.questions if q.red_flag]
        if not red_flags and not open_answers:
            return Status(None, "settled", (), nq)
        if not nq.questions:
            return Status(None, "nothing_left", tuple(open_answers), nq)
        return Status(nq.questions[0], None, tuple(open_answers), nq)

    # --- acting ----------------------------------------------------------------------------------

    def _step(self, variable: str, answer: str, value: str | None, evidence: Evidence,
              years: float | None = None) -> Step:
        result = self.model.query(evidence)
        top = tuple((c, result.probabilities[c]) for c in result.ranking[:3])
        return Step(variable, answer, value, top, result.triage.level, years)

    def answer(self, variable: str, text: str) -> Step | str:
        """Record a typed answer to ``variable``.

        Returns the new :class:`Step` (a skip is a step without a value),
        ``"back"`` after undoing the last step, ``"nothing_to_undo"``, or
        ``"quit"`` (the caller stops).

        Raises
        ------
        AnswerError
            When the answer is not understood (nothing is recorded).
        ImpossibleEvidence
            When the model holds the answer impossible with the evidence so far.
        """
        if not isinstance(variable, str) or variable not in structure.BY_NAME:
            from ..engine.evidence import _suggest

            hint = _suggest(variable, structure.NAMES) if isinstance(variable, str) else ""
            raise AnswerError(f"unknown variable {shorten(repr(variable))}{hint}")
        if not isinstance(text, str):
            raise AnswerError(f"{variable}: the answer must be a text such as 'yes', got {type(text).__name__}")
        if variable in self.evidence.names or variable in self.skipped:
            raise AnswerError(f"{variable} was already answered or skipped")
        action, value = parse_answer(variable, text)
        if action == "back":
            return "back" if self.back() is not None else "nothing_to_undo"
        if action == "quit":
            return "quit"
        if action == "skip":
            step = self._step(variable, text.strip(), None, self.evidence)
        else:
            years = _years(text) if variable == "age_group" else None
            pending = Step(variable, text.strip(), value, (), "", years)
            step = self._step(variable, text.strip(), value, from_mapping(self._items([*self.steps, pending])), years)
        self.steps.append(step)
        return step

    def back(self) -> Step | None:
        """Undo the last answer or skip; return it (None when there is nothing to undo)."""
        return self.steps.pop() if self.steps else None

    def to_dict(self, reason: str | None = None) -> dict:
        """The query's JSON object plus ``questions_asked``, ``questions_skipped``, ``stopped``, ``transcript``."""
        out = self.assessment().to_dict()
        out["questions_asked"] = self.questions_asked
        out["questions_skipped"] = self.questions_skipped
        if reason is not None:
            out["stopped"] = reason
        out["transcript"] = [s.to_dict() for s in self.steps]
        return out


def _summary(step: Step) -> str:
    causes = ", ".join(f"{c} {p:.0%}" for c, p in step.top)
    return f"   now: {causes} · triage: {step.triage}"


def _read_answer(inp, out, prompt: str) -> str:
    """One line of ``inp`` after ``prompt`` (``""`` at the end of the input)."""
    if isinstance(inp, TerminalInput):
        out.flush()
        return inp.read_answer(prompt)
    out.write(prompt)
    out.flush()
    return inp.readline()


def history_path() -> Path:
    """Where a terminal interview keeps its answer history: the user's data folder, never the repository.

    ``platformdirs`` gives the platform's folder when it is installed; else
    ``$XDG_DATA_HOME/popliteal`` or ``~/.local/share/popliteal``.
    """
    try:
        from platformdirs import user_data_dir
    except ImportError:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "popliteal"
    else:
        base = Path(user_data_dir("popliteal", appauthor=False))
    return base / "interview_history"


class TerminalInput:
    """Answers typed on a terminal, with readline line editing, answer completion and a history file.

    Parameters
    ----------
    history : path, optional
        The history file (default :func:`history_path`); an unusable one only
        means no history.
    prompt_out : text stream, optional
        Where the prompt goes when it must not go to standard output
        (``interview --json``); then readline edits the line without drawing it.
    """

    def __init__(self, history: Path | None = None, prompt_out=None):
        import readline  # lazily: only an interview on a terminal needs it

        self._readline = readline
        self.history = Path(history) if history is not None else history_path()
        self.prompt_out = prompt_out
        try:
            readline.read_history_file(self.history)
        except (OSError, ValueError):
            pass
        readline.set_history_length(1000)
        words = sorted({*ANSWERS_WORDS, *(s for v in structure.VARIABLES for s in v.states)})
        readline.set_completer(lambda text, i: ([w for w in words if w.startswith(text)] + [None])[i])
        libedit = "libedit" in (readline.__doc__ or "")  # macOS: another binding syntax
        readline.parse_and_bind("bind ^I rl_complete" if libedit else "tab: complete")

    def read_answer(self, prompt: str) -> str:
        """One answer with its newline; ``""`` at the end of the input (Ctrl-D)."""
        try:
            if self.prompt_out is not None:
                self.prompt_out.write(prompt)
                self.prompt_out.flush()
                return input() + "\n"
            return input(prompt) + "\n"
        except EOFError:
            return ""

    def close(self) -> None:
        """Write the history file (quietly skipped when it cannot be written)."""
        try:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self.history)
        except OSError:
            pass


def run(model, evidence: Evidence | Mapping[str, Any] | None, inp: TextIO, out: TextIO,
        max_questions: int | None = None, echo: bool | None = None) -> tuple[Interview, str]:
    """Run an interview on text streams; return it with the reason it stopped.

    Parameters
    ----------
    model : Model
    evidence : Evidence or mapping, optional
        Known before the first question.
    inp, out : text streams
        Answers are read one per line from ``inp``; questions and the running
        top causes are written to ``out``. The end of ``inp`` stops the
        interview like ``quit``.
    max_questions : int, optional
    echo : bool, optional
        Write each answer read after its prompt (default: when ``inp`` is not a
        terminal, so that a piped transcript reads like a session).
    """
    iv = Interview(model, evidence, max_questions)
    if echo is None:
        echo = not (hasattr(inp, "isatty") and inp.isatty())
    out.write("popliteal interview — not medical advice. Answer yes, no, yes? or no? (probably), unsure, "
              "skip, back or quit.\n")
    status, asked_at = None, None
    while True:
        if status is None or asked_at != [s.variable for s in iv.steps]:  # recompute only after a change
            status, asked_at = iv.status(), [s.variable for s in iv.steps]
        if status.reason is not None:
            reason = status.reason
            break
        q = status.question
        var = structure.BY_NAME[q.variable]
        flag = " [red flag]" if q.red_flag else ""
        ask = f"{var.meaning}?" if var.states == structure.YES_NO else var.meaning
        out.write(f"\nQ{len(iv.steps) + 1}{flag} {q.variable}: {ask}\n")
        out.write(f"   why: {q.rationale}\n")
        out.write(f"   answers: {answer_help(q.variable)}\n")
        line = _read_answer(inp, out, "> ")  # Ctrl-C propagates: the CLI reports it and exits 130
        if line == "":
            out.write("\n")
            reason = "end_of_input"
            break
        if echo:  # the transcript shows the answer as typed, cut as the error messages cut it
            out.write(shorten(line.rstrip("\n")) + "\n")
        try:
            result = iv.answer(q.variable, line)
        except EvidenceError as exc:  # not understood, or impossible with the evidence so far
            out.write(f"   {exc}\n")
            continue
        if result == "quit":
            reason = "quit"
            break
        if result == "nothing_to_undo":
            out.write("   nothing to undo\n")
            continue
        if result == "back":
            out.write("   undone: the last answer is forgotten\n")
            continue
        if result.value is None:
            out.write("   skipped: not asked again\n")
        else:
            out.write(_summary(result) + "\n")
    out.write(f"\nStopped: {STOP_REASONS[reason]}. Questions answered: {iv.questions_asked}"
              f" ({iv.questions_skipped} skipped).\n")
    out.flush()
    return iv, reason
