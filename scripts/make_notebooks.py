"""Write the four notebooks in notebooks/ from the text below (stored without outputs).

Run with ``.venv/bin/python scripts/make_notebooks.py`` after editing a story here; the
notebooks are the committed artefact and ``tests/test_notebooks.py`` executes them. Editing a
notebook in Jupyter directly is fine too (clear its outputs before committing); then this
script is out of date and should be brought in line, or the edit made here instead.

The notebooks hold no model logic: only calls to ``popliteal``'s public API and its
plotting functions, with prose a clinician or a student can follow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"

METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}


def md(text: str) -> tuple[str, str]:
    return ("markdown", text.strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", text.strip("\n"))


NOT_ADVICE = md("""
> **Not medical advice.** popliteal is a research and teaching model: its numbers are partly
> estimates and it has not been validated on patients. Anyone worried about a knee or a leg should
> see a doctor, and call emergency services for shortness of breath or chest pain.
""")

SETUP = code("""
import popliteal
from popliteal import plotting

model = popliteal.load()  # reads and validates priors/, compiles the exact engine
print("priors:", model.priors.directory)
print("digest:", model.digest)
""")

TOUR = [
    md("""
# 01 · A tour of popliteal

popliteal is a **Bayesian network** for pain in the back of the knee (the popliteal fossa). It
links what a patient can tell (age, a fall, sport, a long flight, the pill, cancer, …) and what
can be found (a bump behind the knee, a swollen tender calf, a locking knee, …) to the causes
that can be behind the pain, and answers with exact probabilities, a triage level and advice.

This notebook shows the network, where every number in it comes from, and a first query.
"""),
    NOT_ADVICE,
    SETUP,
    md("""
## The network

Each box is a variable; each arrow says "this influences that". Risk factors (top, yellow)
influence the **causes** (middle); some causes have **complications** (a Baker's cyst can
rupture, a deep vein thrombosis can travel to the lungs); and every cause produces some of the
**findings** (bottom, blue) that a patient reports or a clinician examines.

Reasoning runs both ways along the arrows: a risk factor makes a cause more likely *before* any
symptom is known, and a finding makes the causes that produce it more likely *afterwards*.
"""),
    code("plotting.plot_network();"),
    md("""
## Where the numbers come from

Every number of the network lives in the folder `priors/`: one YAML file per variable, and
none in the Python code. Each number carries its **source** (a key of `priors/references.yaml`),
the kind of evidence behind it (`study`, `guideline`, `seed` for the article the model is built
from, or `estimate`), a plausible **range**, and, where it was computed, its **derivation**.

Here is the beginning of the file for deep vein thrombosis (DVT):
"""),
    code("""print((model.priors.directory / "dvt.yaml").read_text()[:1500])"""),
    md("""
The same numbers as a table: the DVT probability of an adult without risk factors (the
baseline) and the odds ratio of each risk factor, with its range and source.
"""),
    code("""model.parameters("dvt")[["parameter", "value", "low", "high", "evidence", "source"]]"""),
    md("""
As a picture: each odds ratio with its plausible range (the range is what the uncertainty
analysis varies), and its source. An odds ratio above 1 raises the odds of a DVT, below 1
lowers them; children and adolescents rarely have a thrombosis.
"""),
    code("""plotting.plot_parameters(model.parameters("dvt"));"""),
    md("""
How much of the model rests on studies and how much on judgement? The base rates of the causes
among people who present with posterior knee pain are not published anywhere, so many numbers
are marked as estimates, each with its reasoning and a wide range:
"""),
    code("""model.parameters()["evidence"].value_counts()"""),
    md("""
The command line prints the full references: `popliteal cite` (all of them) or
`popliteal cite --node dvt` (those of one variable). From a notebook:
"""),
    code("""
import sys

!"{sys.executable}" -m popliteal cite --node dvt
"""),
    md("""
Every result carries the **digest** of the priors it was computed from (printed above), so a
number can always be traced to the exact set of priors that produced it.

## A first query

A 67-year-old comes with pain in the back of the knee after a long-haul flight; the calf is
swollen and tender when squeezed. We give the model what we know and leave out what we don't.
"""),
    code("""
result = model.query(age=67, long_travel="yes", calf_swelling="yes", calf_tenderness="yes")
result
"""),
    md("""
The table lists every cause with its probability given this evidence, the triage level and the
advice that fits. Note that the probabilities do not add up to 1: several causes can be present
at once (an older knee often has a meniscus tear *and* a Baker's cyst), and each row is the
probability of that one cause.

The same as a picture; dangerous causes are red and the triage level is in the corner:
"""),
    code("result.plot();"),
    md("""
And on the network: every variable is shaded and labelled by its probability given the evidence
(for a yes/no variable P(yes), for the age group its most probable state), and the evidence
(with its arrows) is drawn in dark blue. The swollen, tender calf points to a thrombosis, and
also to the causes that mimic it: a ruptured Baker's cyst and other calf conditions such as a
muscle tear.
"""),
    code("""plotting.plot_network(model.marginals(result.evidence),
                      title="67 years old, long-haul flight, swollen tender calf");"""),
    md("""
## Any variable, every state

The query reports the causes. `model.marginals(evidence, targets=[...])` gives the probability
of every state of *any* variable: a finding not yet examined, a risk factor not yet asked, the
age group. (On the command line: `popliteal query --target knee_effusion --target age_group`.)
How likely is a knee effusion for this patient, and would a bump behind the knee be expected?
"""),
    code("""extra = model.marginals(result.evidence,
                        targets=["knee_effusion", "popliteal_swelling", "breathlessness", "sex"])
extra.frame"""),
    code("extra.plot();"),
    md("""
Without `targets`, `model.marginals(evidence)` answers for every variable of the network at once
(one pass of the exact engine); `extra.probability("knee_effusion", "yes")` reads one number.

## The network as a pgmpy model

`model.network()` returns the same network as a pgmpy `DiscreteBayesianNetwork`, with the same
tables, for anything pgmpy offers (its own inference, independencies, sampling, other file
formats). popliteal's own answers come from a compiled exact engine that the tests check against
pgmpy's `VariableElimination`; pgmpy is imported only when `network()` is called.
"""),
    code("""network = model.network()
print(type(network).__name__, "with", len(network.nodes()), "nodes and", len(network.edges()), "edges;",
      "valid:", network.check_model())
print("Markov blanket of dvt:", ", ".join(sorted(network.get_markov_blanket("dvt"))))
print(network.get_cpds("breathlessness"))"""),
    md("""
For further work the result is also a tidy pandas frame and the same JSON object that
`popliteal query --json` prints:
"""),
    code("result.frame"),
    code("print(result.to_json()[:600])"),
    md("""
## Many patients at once

`model.query_many` takes a list of cases (each what `model.query` takes) and answers with one
row per case, in order: a probability column `p_<cause>` for every cause, the triage level and an
`error` column that names what is wrong with a case instead of dropping it (here a calf that is
"maybe" swollen, which is not a state of the model; `"yes:0.6"` would say a weak yes). All cases
go through the engine in one call, and a case that appears twice is computed once.
"""),
    code("""
cases = [
    {"age": 67, "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes"},
    {"age": 67, "long_travel": "yes"},
    {"age": 30, "sports_overload": "yes", "pain_after_exercise": "yes"},
    {"age": 67, "calf_swelling": "maybe"},
]
many = model.query_many(cases)
many[["age", "p_dvt", "p_meniscus_tear", "p_hamstring_tendinopathy", "triage", "error"]]
"""),
    md("""
`model.score` does the same for a table whose columns are named after the variables (a pandas
frame, or a mapping of columns as here); other columns, such as an `id`, are kept as they are.
It adds the columns that `popliteal score` writes for a CSV or Parquet file:
"""),
    code("""
table = model.score({"id": ["A-1", "A-2", "A-3"], "age": ["72", "45", ""],
                     "popliteal_swelling": ["yes", "yes", ""], "osteoarthritis": ["yes", "", "no"]})
table[["id", "p_bakers_cyst", "p_dvt", "triage", "error"]]
"""),
    md("""
## Next

- `02-thrombosis-risk`: the article's thrombosis risk factors, alone and combined, beside the
  Wells score.
- `03-differential`: ruptured Baker's cyst versus DVT; overload versus injury; children.
- `04-what-if`: an interactive explorer.
"""),
]

THROMBOSIS = [
    md("""
# 02 · Thrombosis risk: the article's risk factors, alone and combined

A deep vein thrombosis (DVT) of the leg can show itself as pain in the back of the knee, and it
is the cause that must not be missed: a clot can travel to the lungs (pulmonary embolism). The
article the model is built from names its risk factors: older age, pregnancy and the weeks after
birth, the pill or hormone treatment with estrogen, immobilisation, long journeys sitting down,
excess weight, cancer, a previous thrombosis, a tendency to clot, and smoking.

This notebook asks how much each of them moves the probability of a DVT, alone and in pairs, and
sets the answers beside the Wells score.

**Who the numbers describe.** The model describes *people who come with pain in the back of the
knee*, most of whom have no thrombosis at all. Its DVT numbers are therefore much lower than
those of studies of patients *referred because a DVT is suspected*; the end of this notebook
comes back to this.
"""),
    NOT_ADVICE,
    SETUP,
    md("""
## One risk factor at a time

A 40-year-old woman with posterior knee pain and nothing else known, then the same woman with
one risk factor at a time. With a single cause shown, each bar is a scenario, coloured by the
triage level the model gives it:
"""),
    code("""
woman_40 = {"age": 40, "sex": "female"}
alone = model.compare({
    "no risk factor known": woman_40,
    "long-haul flight": {**woman_40, "long_travel": "yes"},
    "smoking": {**woman_40, "smoking": "yes"},
    "excess weight": {**woman_40, "overweight": "yes"},
    "the pill": {**woman_40, "estrogen_therapy": "yes"},
    "thrombophilia": {**woman_40, "thrombophilia": "yes"},
    "pregnant or postpartum": {**woman_40, "pregnant_or_postpartum": "yes"},
    "previous thrombosis": {**woman_40, "previous_thrombosis": "yes"},
    "active cancer": {**woman_40, "cancer": "yes"},
    "immobilised (cast, bed rest)": {**woman_40, "immobilization": "yes"},
})
alone.plot(causes=["dvt"]);
"""),
    md("""
The weaker risk factors (smoking, excess weight, a flight) lift a low probability a little; the
strong ones (immobilisation, cancer, a previous thrombosis) several-fold. None of them on its own
makes a thrombosis *likely* in someone without leg symptoms: they change how seriously a
swollen calf should be taken. Every number is in the tidy frame:
"""),
    code("""alone.frame[alone.frame["cause"] == "dvt"]"""),
    md("""
## A 65-year-old after a long-haul flight

Age is a risk factor of its own, and the article's example is the traveller. A 65-year-old with
knee pain, then after a long-haul flight, then with a swollen calf, then with a swollen calf that
is tender when squeezed:
"""),
    code("""
traveller = model.compare({
    "65 years old": {"age": 65},
    "65, after a long-haul flight": {"age": 65, "long_travel": "yes"},
    "… and a swollen calf": {"age": 65, "long_travel": "yes", "calf_swelling": "yes"},
    "… swollen and tender": {"age": 65, "long_travel": "yes", "calf_swelling": "yes",
                             "calf_tenderness": "yes"},
})
traveller
"""),
    code("""traveller.plot(causes=["dvt", "pulmonary_embolism", "bakers_cyst_rupture", "other_calf_condition"]);"""),
    md("""
The flight alone moves the 65-year-old across the model's *urgent* threshold; the swollen calf
turns a possibility into the leading explanation. Other causes of a swollen calf (a ruptured
Baker's cyst, a muscle tear or cellulitis, summarised as `other_calf_condition`) rise with it:
that is exactly why an ultrasound, not a guess, decides.

How does the same flight weigh at other ages? A sweep over age (the model knows four age groups,
so the lines are steps):
"""),
    code("""model.sweep("age", base={"long_travel": "yes"}).plot(causes=["dvt", "pulmonary_embolism"]);"""),
    md("""
## Two risk factors together

The heat map gives P(DVT) for a 65-year-old woman with each *pair* of risk factors; the diagonal
is each factor alone. (Pregnancy is left out: the model holds it impossible after 60.)
"""),
    code("""
pairs = model.pairs(
    ["long_travel", "smoking", "overweight", "estrogen_therapy", "thrombophilia",
     "previous_thrombosis", "cancer", "immobilization"],
    cause="dvt",
    base={"age": 65, "sex": "female"},
)
pairs.plot();
"""),
    md("""
Risk factors combine by multiplying odds (the model's DVT table is built from published odds
ratios on a baseline, see `priors/dvt.yaml`), so two strong factors together reach probabilities
that neither reaches alone. The priors file says where this is a simplification: some real
combinations (obesity with the pill, a clotting disorder with the pill) are worse than the
product.

## Beside the Wells score

Clinicians estimate the probability of a DVT with the **Wells score**, which adds points for
active cancer, immobilisation, a previous DVT, a swollen calf or leg, tenderness along the deep
veins and so on, and subtracts points when another diagnosis is as likely. In the meta-analysis
of Wells et al. (JAMA 2006;295:199–207), DVT was found in about **5%** of patients in the low,
**17%** in the moderate and **53%** in the high pretest stratum.

Those are patients **referred because a DVT was suspected**. The model describes everyone who
comes with pain in the back of the knee, most of them with a meniscus, a cyst or an overloaded
tendon, and its overall DVT probability is about 2.5%. Below, people described by Wells items
(with their Wells points in brackets: 0 or less is low, 1–2 moderate, 3 or more high), beside
the three strata. The Wells numbers are literature quoted for comparison, not numbers of the
model:
"""),
    code("""
# DVT prevalence by Wells pretest stratum among outpatients with suspected DVT
# (Wells et al., JAMA 2006, abstract; also the source of the urgent threshold in priors/triage.yaml).
wells_2006 = {"Wells low ≈5%": 0.05, "Wells moderate ≈17%": 0.17, "Wells high ≈53%": 0.53}

# A Wells score counts the items that are present; the others were looked for and are absent.
absent = {item: "no" for item in ("cancer", "immobilization", "previous_thrombosis", "calf_swelling",
                                  "calf_tenderness", "skin_discoloration")}
wells_like = model.compare({
    "no Wells item [0]": absent,
    "tender calf only [1]": {**absent, "calf_tenderness": "yes"},
    "swollen, tender calf [2]": {**absent, "calf_swelling": "yes", "calf_tenderness": "yes"},
    "… and immobilised [3]": {**absent, "calf_swelling": "yes", "calf_tenderness": "yes",
                              "immobilization": "yes"},
    "… immobilised, with cancer [4]": {**absent, "calf_swelling": "yes", "calf_tenderness": "yes",
                                       "immobilization": "yes", "cancer": "yes"},
})
wells_like.plot(causes=["dvt"], marks=wells_2006);
"""),
    md("""
Read it with the two populations in mind:

- **Nothing pointing to a thrombosis.** With every Wells item looked for and absent, the model's
  probability lies far below the 5% of the lowest Wells stratum: a 0-point referral still had a
  leg complaint that made a doctor suspect a DVT, while here there is no calf sign at all.
- **Items left unknown are not items absent.** Asked about a tender calf with nothing else known,
  the model averages over everything it has not been told (a cancer, a cast, a swollen calf it
  was not told about) and gives about 20%; with the other items checked and absent, about 6%.
  A Wells score is only comparable to the second.
- **Once the calf is swollen or tender,** the patient has become one whom a clinician would
  score. Compare each bar with the stratum of its points. Where the model sits *above* the
  matching stratum, it is more alarmed than the Wells data for the same items. Part of that is
  the population: among people with knee pain, a swollen, tender calf is unusual, so it carries
  more information than among referred patients, nearly all of whom have a painful or swollen
  leg (that is why they were referred). Part of it may be the model's weights for the calf
  findings (`priors/calf_swelling.yaml`, `priors/calf_tenderness.yaml`): a comparison like this
  one is how such weights are checked.
- **The triage** turns urgent at 5%, the prevalence at which even the lowest Wells stratum is
  tested the same day; over-triage is the deliberate side for a thrombosis.
- The model is not a Wells score. It does not subtract points for "another diagnosis at least as
  likely" but reasons about the alternatives (a ruptured Baker's cyst, other calf conditions)
  explicitly. Neither number replaces an examination and an ultrasound.
"""),
]

DIFFERENTIAL = [
    md("""
# 03 · The differential: what else could it be?

Many causes of pain in the back of the knee produce the same findings. This notebook follows
three classic confusions and shows **how the probabilities move as findings are added one by
one**:

1. a ruptured Baker's cyst or a deep vein thrombosis (DVT)?
2. an overloaded tendon or an injury?
3. in children: growing pains or an injury of the growth plate?
"""),
    NOT_ADVICE,
    SETUP,
    md("""
## 1 · A ruptured Baker's cyst or a DVT?

A Baker's cyst is a bulge of the knee joint's capsule into the back of the knee, usually from an
irritated joint (osteoarthritis, a meniscus tear). When it ruptures, fluid runs into the calf: a
sudden pain, a swollen, red, warm calf. That looks like a thrombosis, which is why it is called
*pseudothrombophlebitis*.

Three 58-year-olds with a swollen calf, with different stories:
"""),
    code("""
calf = model.compare({
    "osteoarthritis, bump behind the knee, sudden pain": {
        "age": 58, "osteoarthritis": "yes", "popliteal_swelling": "yes",
        "sudden_severe_pain": "yes", "calf_swelling": "yes", "redness_warmth": "yes"},
    "long-haul flight, bluish swollen tender calf": {
        "age": 58, "long_travel": "yes", "calf_swelling": "yes", "calf_tenderness": "yes",
        "skin_discoloration": "yes"},
    "swollen, tender, red calf; no story": {
        "age": 58, "calf_swelling": "yes", "calf_tenderness": "yes", "redness_warmth": "yes"},
})
calf.plot(causes=["bakers_cyst", "bakers_cyst_rupture", "dvt", "other_calf_condition",
                  "pulmonary_embolism", "meniscus_tear"]);
"""),
    md("""
The history separates them: a known bump and an arthritic knee point to a rupture, a flight and
a bluish calf to a thrombosis. Yet the triage is **urgent in all three**: the two can coexist and
cannot be told apart by looking, so an ultrasound the same day decides.

How does the first patient's picture build up? Start with what she tells (58, osteoarthritis) and
add the findings one by one:
"""),
    code("""
rupture_path = model.trajectory(
    ["popliteal_swelling=yes", "sudden_severe_pain=yes", "calf_swelling=yes", "redness_warmth=yes"],
    base={"age": 58, "osteoarthritis": "yes"},
)
rupture_path.plot();
"""),
    md("""
The bump behind the knee makes a cyst very likely at once; the sudden pain raises the question of
a rupture; the swollen calf makes it the leading complication, and the squares above the plot
show the triage turning urgent. The same findings in another order end at the same probabilities
(only the path differs), because the model's answer depends on what is known, not on the order
it was learnt in:
"""),
    code("""
reordered = model.trajectory(
    ["calf_swelling=yes", "redness_warmth=yes", "sudden_severe_pain=yes", "popliteal_swelling=yes"],
    base={"age": 58, "osteoarthritis": "yes"},
)
reordered.plot();
"""),
    md("""
## 2 · An overloaded tendon or an injury?

Runners and cyclists overload the tendons at the back of the knee (the hamstrings, the popliteus);
a fall or a twist can tear a meniscus or a ligament. Three 30-year-olds:
"""),
    code("""
sport = model.compare({
    "runner: pain after training, thick tendon, no fall": {
        "age": 30, "sports_overload": "yes", "recent_trauma": "no", "pain_after_exercise": "yes",
        "pain_on_bending": "yes", "tendon_thickening": "yes"},
    "twisted knee: sudden pain, gives way, swollen": {
        "age": 30, "recent_trauma": "yes", "sudden_severe_pain": "yes", "knee_instability": "yes",
        "knee_effusion": "yes"},
    "fall: the knee locks, swollen": {
        "age": 30, "recent_trauma": "yes", "knee_locking": "yes", "knee_effusion": "yes"},
})
sport
"""),
    code("""sport.plot(causes=["hamstring_tendinopathy", "popliteus_tendinopathy", "ligament_injury",
                   "meniscus_tear", "bakers_cyst"]);"""),
    md("""
Overload is self-limiting: rest, heat or cooling, and the triage is *self-care* (with the advice
to see a doctor if it does not improve). An unstable or locking knee after a fall is an injury
that a doctor should examine. The runner's picture, finding by finding:
"""),
    code("""
model.trajectory(
    ["pain_after_exercise=yes", "pain_on_bending=yes", "tendon_thickening=yes", "recent_trauma=no"],
    base={"age": 30, "sports_overload": "yes"},
).plot();
"""),
    md("""
## 3 · Children: growing pains or a growth-plate injury?

Growing pains are common between about 3 and 12 years: evening or night pain in both legs, no
limp, no fall, gone by the morning. They are harmless. An injury of the growth plate
(*epiphysiolysis*) after a fall is not: it needs prompt treatment, or growth may be disturbed.
Three 7-year-olds:
"""),
    code("""
children = model.compare({
    "night pain in both legs, no fall, no limp": {
        "age": 7, "recent_trauma": "no", "night_pain_both_legs": "yes", "limping": "no"},
    "the same, but the pain persists": {
        "age": 7, "recent_trauma": "no", "night_pain_both_legs": "yes", "persistent_pain": "yes"},
    "after a fall: limping, swollen knee": {
        "age": 7, "recent_trauma": "yes", "limping": "yes", "knee_effusion": "yes"},
})
children
"""),
    code("""children.plot(causes=["growing_pains", "epiphysiolysis", "ligament_injury", "meniscus_tear",
                      "bakers_cyst"]);"""),
    md("""
Persistent pain does not make growing pains less likely here, but it changes the triage: the
article advises a doctor when a child's pain persists or is unusually severe, and the model
follows. After a fall, a growth-plate injury becomes a real possibility and the triage is urgent.

A 13-year-old after a fall, finding by finding:
"""),
    code("""
model.trajectory(
    ["recent_trauma=yes", "limping=yes", "sudden_severe_pain=yes", "knee_effusion=yes"],
    base={"age": 13},
).plot();
"""),
    md("""
Growing pains belong to childhood. The same evening pain in both legs, swept over age:
"""),
    code("""
model.sweep("age", [4, 7, 10, 13, 16, 25, 45, 70],
            base={"night_pain_both_legs": "yes", "recent_trauma": "no"}).plot(
    causes=["growing_pains", "epiphysiolysis", "meniscus_tear", "bakers_cyst", "dvt"]);
"""),
]

WHAT_IF = [
    md("""
# 04 · What if? An interactive explorer

Change the evidence and watch the probabilities. Every control offers `unknown` (the variable is
left out: nothing is assumed about it) and its states. The chart and the triage follow each
change.

The explorer needs a running Python kernel. If you are reading this notebook without one (on a
website, or as a file), the controls below do not appear; the figure right here shows the
starting point instead.
"""),
    NOT_ADVICE,
    SETUP,
    md("""
## The starting point

A 67-year-old after a long-haul flight with a swollen calf:
"""),
    code("""
start = {"age_group": "over_60", "long_travel": "yes", "calf_swelling": "yes"}
model.query(start).plot();
"""),
    md("""
## The explorer

Try: set `calf tenderness` to yes; then `breathlessness` to yes (a pulmonary embolism becomes a
real possibility and the triage becomes an emergency); then set `long travel` back to unknown and
`popliteal swelling` to yes. Combinations the model holds impossible (a child on estrogen
therapy) are refused with a one-line explanation instead of a chart.
"""),
    code("""
from popliteal.explorer import Explorer

Explorer(model, initial=start)
"""),
    md("""
## The same questions without a kernel

Everything the explorer does is a query; the figures below are drawn once, so they show in any
viewer. First, what each further finding would do for the starting patient:
"""),
    code("""
what_if = model.compare({
    "as now": start,
    "+ tender calf": {**start, "calf_tenderness": "yes"},
    "+ bump behind the knee": {**start, "popliteal_swelling": "yes"},
    "+ breathlessness": {**start, "breathlessness": "yes"},
})
what_if.plot(causes=["dvt", "pulmonary_embolism", "bakers_cyst_rupture", "bakers_cyst",
                     "other_calf_condition"]);
"""),
    md("""
Second, how sure must a finding be? A patient may be unsure whether the calf is really swollen.
Soft evidence `yes:0.7` means "reported with 70% confidence": 0.5 tells nothing, 1 is a sure
finding. Sweeping the confidence of the swollen calf for the same traveller:
"""),
    code("""
model.sweep("calf_swelling", ["no", "yes:0.5", "yes:0.7", "yes:0.9", "yes"],
            base={"age_group": "over_60", "long_travel": "yes"}).plot(
    causes=["dvt", "pulmonary_embolism", "other_calf_condition", "bakers_cyst_rupture"]);
"""),
    md("""
Each result object has `.frame` (a tidy pandas frame), `.to_json()` and `.plot()`, so any of
these answers can be saved, tabulated or drawn again.
"""),
]

NOTEBOOKS = {
    "01-tour.ipynb": TOUR,
    "02-thrombosis-risk.ipynb": THROMBOSIS,
    "03-differential.ipynb": DIFFERENTIAL,
    "04-what-if.ipynb": WHAT_IF,
}


def build(name: str, cells) -> nbformat.NotebookNode:
    """A notebook without outputs, with stable cell ids and minimal metadata."""
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    stem = name.split("-")[0]
    for i, (kind, text) in enumerate(cells):
        cell_id = f"nb{stem}-{i:02d}"
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(text, id=cell_id))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(text, id=cell_id))
    nbformat.validate(nb)
    return nb


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), OUT / name)
        print(f"wrote notebooks/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
