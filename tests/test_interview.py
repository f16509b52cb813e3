"""The interview: answers, stopping rule, and the CLI end to end with piped answers.

Oracles: the interview's logic driven in-process (which question comes next)
checked by re-querying every hypothetical answer (the stopping rule), the
vignettes' expected leading cause, and the public contract for the JSON.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from popliteal.network import structure
from popliteal.engine.evidence import EvidenceError
from popliteal.clinic.explain import ASKABLE
from popliteal.clinic.interview import SETTLE_PROBABILITY, UNSURE_LIKELIHOOD, Interview, parse_answer, run

ROOT = Path(__file__).resolve().parents[1]
EXE = [sys.executable, "-m", "popliteal"]


def cli(*args, stdin=""):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("POPLITEAL_PRIORS", None)
    return subprocess.run([*EXE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("text, expected", [
    ("yes", ("answer", "yes")), (" Y ", ("answer", "yes")), ("no", ("answer", "no")), ("n", ("answer", "no")),
    ("yes?", ("answer", f"yes:{UNSURE_LIKELIHOOD:g}")), ("unsure", ("answer", f"yes:{UNSURE_LIKELIHOOD:g}")),
    ("Not sure", ("answer", f"yes:{UNSURE_LIKELIHOOD:g}")), ("no?", ("answer", f"no:{UNSURE_LIKELIHOOD:g}")),
    ("skip", ("skip", None)), ("back", ("back", None)), ("quit", ("quit", None)),
])
def test_parse_yes_no_answers(text, expected):
    assert parse_answer("calf_swelling", text) == expected


def test_unsure_is_a_weak_yes_for_a_history_too():
    """An older patient unsure about a fall keeps the fracture rule (Ottawa); a skip would lose it."""
    assert parse_answer("recent_trauma", "unsure") == ("answer", f"yes:{UNSURE_LIKELIHOOD:g}")
    assert parse_answer("calf_swelling", "unsure") == ("answer", f"yes:{UNSURE_LIKELIHOOD:g}")


def test_yes_to_pregnancy_means_pregnant_or_postpartum(model):
    assert parse_answer("pregnancy", "yes") == ("answer", "pregnant|postpartum")
    assert parse_answer("pregnancy", "postpartum") == ("answer", "postpartum")
    iv = Interview(model, {"age": 30, "sex": "female", "calf_pain": "yes"})
    iv.answer("pregnancy", "yes")
    assert iv.assessment().posterior.evidence["pregnancy"] == "pregnant|postpartum"


def test_parse_states_and_ages():
    assert parse_answer("age_group", "over_60") == ("answer", "over_60")
    assert parse_answer("age_group", "67") == ("answer", "over_60")
    assert parse_answer("age_group", "9") == ("answer", "child")
    assert parse_answer("sex", "female") == ("answer", "female")


@pytest.mark.parametrize("variable, text, fragment", [
    ("calf_swelling", "maybe not", "not understood"),
    ("calf_swelling", "", "not understood"),
    ("sex", "yes", "not a yes/no question"),
    ("age_group", "unsure", "not a yes/no question"),
    ("age_group", "200", "ages 2 to 120"),
])
def test_parse_rejects_answers_that_do_not_fit(variable, text, fragment):
    with pytest.raises(EvidenceError, match=fragment):  # AnswerError, or the age's own error
        parse_answer(variable, text)


def drive(model, oracle, evidence=None, **kwargs):
    """Run the interview in-process, answering from ``oracle`` (skip what it lacks)."""
    iv = Interview(model, evidence, **kwargs)
    lines = []
    while True:
        status = iv.status()
        if status.reason is not None:
            return iv, status, lines
        var = status.question.variable
        answer = oracle.get(var, "skip")
        lines.append(answer)
        iv.answer(var, answer)


def test_settled_means_no_likely_answer_changes_leader_or_triage(model):
    """Brute force: re-query every state of every unasked, unskipped question."""
    iv, status, _ = drive(model, {"age_group": "adult", "recent_trauma": "yes", "knee_locking": "yes",
                                  "knee_effusion": "yes", "calf_swelling": "no", "calf_tenderness": "no"})
    assert status.reason == "settled"
    now = iv.assessment()
    evidence = iv.evidence
    for var in ASKABLE:
        if var in evidence.names or var in iv.skipped:
            continue
        p_var = model.posterior(evidence).p_evidence
        for state in structure.BY_NAME[var].states:
            p_joint = model.posterior({**evidence.as_dict(), var: state}).p_evidence if _possible(
                model, evidence, var, state) else 0.0
            if p_joint / p_var < SETTLE_PROBABILITY:
                continue
            after = model.query({**evidence.as_dict(), var: state})
            assert after.ranking[0] == now.ranking[0], (var, state)
            assert after.triage.level == now.triage.level, (var, state)


def _possible(model, evidence, var, state):
    from popliteal.engine.inference import ImpossibleEvidence

    try:
        model.posterior({**evidence.as_dict(), var: state})
    except ImpossibleEvidence:
        return False
    return True


def test_red_flags_are_asked_first_while_dvt_is_plausible(model):
    iv = Interview(model, {"age_group": "over_60", "long_travel": "yes"})
    assert iv.assessment().probabilities["dvt"] >= model.priors.triage.red_flag_threshold
    # a pregnancy is impossible after 60 (structure), so it is never asked
    red_flags = {f.question for f in model.priors.triage.red_flags if "dvt" in f.screens_for} - {"pregnancy"}
    asked = []
    for _ in range(len(red_flags)):  # "yes" keeps a DVT plausible, so every red flag stays pending
        q = iv.status().question
        asked.append(q.variable)
        assert q.red_flag
        iv.answer(q.variable, "yes")
    assert set(asked) == red_flags
    after = iv.status().question
    assert after is None or not after.red_flag


def test_the_interview_stops_and_is_not_settled_by_red_flags_pending(model):
    """While a red flag is pending the interview never stops as settled."""
    iv = Interview(model, {"age_group": "over_60", "long_travel": "yes", "overweight": "yes"})
    status = iv.status()
    assert status.reason is None and status.question.red_flag


def test_a_child_with_night_pains_is_asked_the_peterson_exclusions_before_self_care(model):
    """Self-care in a one-shot query needs only a limp denied; the interview asks persisting pain and fever first."""
    start = {"age_group": "child", "night_pain_both_legs": "yes", "limping": "no"}
    assert model.query(start).triage.level == "self_care"
    iv, status, _ = drive(model, {}, evidence=start)  # every question skipped
    asked = [s.variable for s in iv.steps]
    assert {"persistent_pain", "fever"} <= set(asked), asked
    iv, status, _ = drive(model, {"fever": "yes"}, evidence=start)
    assert iv.assessment().triage.level != "self_care"


#: Known before these interviews start, so that the first question is a yes/no one (with nothing known the
#: interview asks the age first: with an injury, an age of 60 or over is a same-day rule).
ADULT_MAN = {"age_group": "adult", "sex": "male"}


def test_back_undoes_and_skip_is_never_asked_again(model):
    iv = Interview(model, evidence=ADULT_MAN)
    first = iv.status().question.variable
    iv.answer(first, "yes")
    assert iv.answer(iv.status().question.variable, "back") == "back"
    assert iv.steps == [] and iv.status().question.variable == first
    assert iv.answer(first, "back") == "nothing_to_undo"
    iv.answer(first, "skip")
    assert first in iv.skipped and first not in iv.evidence.names
    for _ in range(5):
        status = iv.status()
        if status.question is None:
            break
        var = status.question.variable
        assert var != first
        iv.answer(var, "no" if structure.BY_NAME[var].states == structure.YES_NO else "skip")


def test_dont_know_to_the_calf_is_not_a_skip_qa_review_2026_12_03(model):
    """An immobilised 66-year-old who cannot tell whether the calf is swollen or tender.

    As a skip, "don't know" to every calf question ended at "doctor" with the answer still
    saying the calf had not been asked (P(dvt) 24%); the calf is then not ruled out, which the
    leaning yes of "unsure" says (independent QA pass, 2026-12-03).
    """
    assert parse_answer("calf_swelling", "don't know") == ("answer", f"yes:{UNSURE_LIKELIHOOD:g}")
    assert parse_answer("calf_swelling", "Dont know") == parse_answer("calf_swelling", "unsure")
    iv = Interview(model, evidence={"age": 66, "immobilization": "yes"})
    for var in ("calf_swelling", "calf_tenderness", "calf_pain"):
        iv.answer(var, "don't know")
    result = model.query(iv.evidence)
    assert result.triage.level in ("urgent", "emergency")
    assert "dvt_calf_not_asked" not in result.triage.rules


def test_unsure_is_soft_evidence(model):
    iv = Interview(model, evidence=ADULT_MAN)
    var = iv.status().question.variable
    step = iv.answer(var, "unsure")
    assert step.value == f"yes:{UNSURE_LIKELIHOOD:g}"
    assert iv.evidence.soft[var] == ("yes", UNSURE_LIKELIHOOD)
    soft = model.posterior(iv.evidence).probabilities
    sure = model.posterior({**ADULT_MAN, var: "yes"}).probabilities
    prior = model.posterior(ADULT_MAN).probabilities
    moved = max(structure.TARGETS, key=lambda t: abs(sure[t] - prior[t]))
    assert min(prior[moved], sure[moved]) < soft[moved] < max(prior[moved], sure[moved])


def test_max_questions_counts_answers_and_skips(model):
    iv, status, lines = drive(model, {}, max_questions=3)
    assert status.reason == "max_questions" and lines == ["skip"] * 3 and iv.questions_skipped == 3


def test_run_on_text_streams_reports_the_stop(model):
    out = io.StringIO()
    iv, reason = run(model, {"age_group": "child"}, io.StringIO("no\nfoo\nyes\nquit\n"), out)
    text = out.getvalue()
    assert reason == "quit" and iv.questions_asked == 2
    assert "not understood: 'foo'" in text and "now:" in text and "Stopped: stopped on request" in text


def vignette(name):
    return yaml.safe_load((ROOT / "tests" / "vignettes" / f"{name}.yaml").read_text())


def test_cli_interview_end_to_end_reaches_the_vignettes_leading_cause(model):
    """Answers piped from a vignette (skip what it does not say) lead to its expected top cause."""
    doc = vignette("growing-02-typical-gp-picture")
    oracle = {k: str(v) for k, v in model.evidence(doc["evidence"]).as_dict().items()}
    oracle["fever"] = "no"  # the parent's answer to the red-flag question asked of a child with night pains
    iv, status, lines = drive(model, oracle)
    proc = cli("interview", "--json", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ranking"][0] in doc["expected"]["leading"]
    assert out["ranking"][0] == model.query(doc["evidence"]).ranking[0]
    assert out["triage"]["level"] == doc["expected"]["triage"]
    assert out["stopped"] == status.reason == "settled"
    assert out["questions_asked"] == iv.questions_asked and out["questions_skipped"] == iv.questions_skipped
    assert [t["answer"] for t in out["transcript"]] == lines
    assert {"evidence", "posteriors", "ranking", "triage", "advice"} <= set(out)
    assert "Q1" in proc.stderr  # with --json the questions go to stderr


def test_cli_interview_table_with_every_kind_of_answer():
    script = "yes\nback\nno\nyes?\nskip\nfoo\nno?\nquit\nyes\n"
    proc = cli("interview", "-e", "age=67", stdin=script)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "undone" in text and "skipped: not asked again" in text and "not understood: 'foo'" in text
    assert "Stopped: stopped on request" in text
    assert "Triage:" in text and "Questions answered: 3 (1 skipped)" in text
    assert "yes:0.7" in text and "no:0.7" in text  # unsure and no? are soft evidence


def test_cli_interview_json_transcript_after_back_and_skip():
    proc = cli("interview", "--json", "-e", "age=67", stdin="yes\nback\nno\nskip\nunsure\nquit\n")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    answers = [(t["answer"], t["evidence"]) for t in out["transcript"]]
    assert answers == [("no", "no"), ("skip", None), ("unsure", "yes:0.7")]
    first, skipped, unsure = (t["question"] for t in out["transcript"])
    assert out["evidence"][first] == "no" and skipped not in out["evidence"] and out["evidence"][unsure] == "yes:0.7"
    assert out["stopped"] == "quit" and out["questions_asked"] == 2 and out["questions_skipped"] == 1
    assert all(len(t["top"]) == 3 for t in out["transcript"])


def test_cli_interview_end_of_input_is_a_graceful_quit():
    proc = cli("interview", "--json", stdin="")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["stopped"] == "end_of_input" and out["questions_asked"] == 0 and out["transcript"] == []


def test_cli_interview_max_questions_and_impossible_start():
    proc = cli("interview", "--max-questions", "2", stdin="skip\nskip\nskip\n")
    assert proc.returncode == 0 and "Questions answered: 0 (2 skipped)" in proc.stdout
    assert "maximum number of questions" in proc.stdout
    bad = cli("interview", "-e", "sex=male", "-e", "pregnant_or_postpartum=yes", stdin="yes\n")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "impossible" in bad.stderr
    assert cli("interview", "--max-questions", "0").returncode == 2


def test_an_older_adult_without_injury_is_asked_about_a_cold_pale_foot_before_the_interview_settles(model):
    """triage.yaml rule cold_pale_foot (nhs_highland_ali): a foot turned cold and pale is an emergency whatever
    the cause, a clotted popliteal aneurysm in an older adult included, who has had no injury. Its
    red_flag_questions entry names the injury only; the answer that would raise the level to emergency makes
    it a red flag for everyone else, and a pending red flag keeps the interview from settling (session of
    2026-12-02: the last note thought it was asked first only after an injury)."""
    oracle = {"age_group": "over_60", "recent_trauma": "no"}
    iv = Interview(model, oracle)
    while (status := iv.status()).reason is None:
        q = status.question
        if q.variable == "cold_pale_foot":
            assert q.red_flag and "would make it emergency (cold_pale_foot)" in q.rationale
            break
        iv.answer(q.variable, "no")  # every other warning sign denied: the cold foot must still come
    else:
        pytest.fail(f"the interview stopped ({status.reason}) without asking about a cold, pale foot")
    assert model.query({**oracle, "cold_pale_foot": "yes"}).triage.level == "emergency"


def test_an_age_typed_in_years_reaches_the_ottawa_rule_in_every_step(model):
    """Stiell 1996: an X-ray after knee trauma from 55. Typed as years, the age keeps its years beside the band;
    given at the start, every step's triage reads it as the final answer does."""
    typed = model.interview({"recent_trauma": "yes"})
    step = typed.answer("age_group", "57")
    assert step.value == "adult" and step.years == 57 and step.to_dict()["age_years"] == 57
    assert step.triage == "urgent" == typed.assessment().triage.level
    assert "ottawa_age" in typed.assessment().triage.rules
    band = model.interview({"recent_trauma": "yes"})
    assert band.answer("age_group", "adult").years is None and band.evidence.years is None
    started = model.interview({"age": 57})
    assert started.answer("recent_trauma", "yes").triage == "urgent" == started.assessment().triage.level


def test_a_huge_typed_answer_is_echoed_cut_as_its_error_is():
    """Piped answers are echoed for the transcript; a 200,000-character line is cut (shorten), not written out whole."""
    proc = cli("interview", "-e", "recent_trauma=yes", "--json", stdin="y" * 200_000 + "\nquit\n")
    assert proc.returncode == 0 and len(proc.stderr) < 10_000, len(proc.stderr)
    assert "(200000 characters)" in proc.stderr
