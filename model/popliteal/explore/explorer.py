"""An interactive what-if explorer for Jupyter: a control per variable, a live bar chart.

Used by ``notebooks/04-what-if.ipynb``::

    from popliteal.explore.explorer import Explorer
    Explorer(model, initial={"age_group": "over_60", "long_travel": "yes"})

Each control offers ``unknown`` (the variable is left out) and the variable's
states; every change re-runs ``model.query`` and redraws the posteriors with
:func:`popliteal.present.figures.plot_posteriors`. Evidence the model holds impossible
is shown as the one-line error, never as a chart. The widgets need a live
kernel; a notebook rendered without one shows no chart here, which is why the
notebook draws its starting state as an ordinary figure first.

Needs ``ipywidgets`` (the ``notebooks`` extra), imported only when an
explorer is made.
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping, Sequence

from ..clinic.policy import Assessment
from ..network import structure
from ..engine.evidence import EvidenceError
from ..present.figures import display_name


#: The control value meaning "not known": the variable is left out of the evidence.
UNKNOWN = "unknown"

#: Wide enough for "unknown" uncut (checked in a real browser by tests/test_browser.py).
BUTTON_WIDTH = "7em"

#: What a patient can tell, then what can be found: the controls shown by default.
DEFAULT_VARIABLES: tuple[str, ...] = (
    "age_group", "sex", "pregnancy", "recent_trauma", "sports_overload", "osteoarthritis", "long_travel",
    "immobilization", "estrogen_therapy", "cancer", "previous_thrombosis", "anticoagulation",
    "pain_side", "popliteal_swelling", "calf_pain", "calf_snap", "calf_swelling", "calf_tenderness", "vein_cord",
    "skin_discoloration", "bruising", "redness_warmth", "sudden_severe_pain", "pain_downhill", "knee_locking",
    "knee_stuck", "knee_pop", "knee_dislocation", "high_energy_injury", "cold_pale_foot", "leg_weakness",
    "back_pain", "saddle_numbness",
    "knee_instability", "rapid_swelling",
    "unable_to_bear_weight", "night_pain_both_legs", "persistent_pain", "breathlessness", "fever",
)


def _widgets():
    try:
        import ipywidgets
    except ImportError:  # pragma: no cover - ipywidgets is in the test and notebooks extras
        raise ImportError("the explorer needs ipywidgets: from a checkout, "
                          ".venv/bin/pip install -e \".[notebooks]\"") from None
    return ipywidgets


class Explorer:
    """Controls for the evidence and a bar chart that follows them.

    Parameters
    ----------
    model : Model
        From ``popliteal.load()``.
    variables : sequence of str
        The variables to offer, in order (default :data:`DEFAULT_VARIABLES`).
    initial : mapping, optional
        The starting evidence; every variable in it must be among ``variables``.

    Attributes
    ----------
    controls : dict
        ``{variable: widget}``; set ``controls[name].value`` to change the evidence.
    result : Assessment or None
        The answer drawn last (``None`` while the evidence is impossible).
    error : str or None
        The one-line error of impossible evidence, else ``None``.
    widget : ipywidgets.VBox
        What the notebook displays.
    """

    def __init__(self, model, variables: Sequence[str] = DEFAULT_VARIABLES,
                 initial: Mapping[str, Any] | None = None):
        w = _widgets()
        self.model = model
        unknown = [v for v in variables if v not in structure.BY_NAME]
        if unknown:
            from ..engine.evidence import _suggest

            raise EvidenceError(f"unknown variable {unknown[0]!r}{_suggest(unknown[0], structure.NAMES)}")
        start = model.evidence(initial)
        if start.soft:
            raise EvidenceError(f"{sorted(start.soft)[0]}: the explorer takes sure states only")
        missing = sorted(set(start.hard) - set(variables))
        if missing:
            raise EvidenceError(f"{missing[0]}: in the initial evidence but not among the explorer's variables")
        self.result: Assessment | None = None
        self.error: str | None = None
        self.controls = {}
        for name in variables:
            var = structure.BY_NAME[name]
            options = [UNKNOWN, *var.states]
            value = start.hard.get(name, UNKNOWN)
            label = display_name(name)
            layout = w.Layout(width="auto")
            if var.states == structure.YES_NO:
                control = w.ToggleButtons(options=options, value=value, description=label, tooltip=var.meaning,
                                          style={"description_width": "11em", "button_width": BUTTON_WIDTH},
                                          layout=layout)
            else:
                control = w.Dropdown(options=options, value=value, description=label,
                                     style={"description_width": "11em"}, layout=layout)
            control.observe(self._changed, names="value")
            self.controls[name] = control
        tells = [c for n, c in self.controls.items() if structure.BY_NAME[n].kind == structure.RISK_FACTOR]
        found = [c for n, c in self.controls.items() if structure.BY_NAME[n].kind != structure.RISK_FACTOR]
        self._status = w.HTML()
        self._chart = w.Output()
        columns = w.HBox([w.VBox([w.HTML("<b>What the patient tells</b>"), *tells]),
                          w.VBox([w.HTML("<b>What is found</b>"), *found])])
        self.widget = w.VBox([columns, self._status, self._chart])
        self.redraw()

    @property
    def evidence(self) -> dict[str, str]:
        """The evidence the controls describe now (unknown variables left out)."""
        return {n: c.value for n, c in self.controls.items() if c.value != UNKNOWN}

    def _changed(self, _change) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Query the model with the controls' evidence and redraw the chart."""
        from IPython.display import display

        from ..present.figures import _pyplot

        try:
            result = self.model.query(self.evidence)
        except EvidenceError as exc:  # impossible evidence: say so, draw nothing
            self.result, self.error = None, str(exc)
            self._status.value = f"<span style='color:#b2182b'><b>{escape(self.error)}</b></span>"
            self._chart.clear_output()
            return
        self.result, self.error = result, None
        self._status.value = (f"<b>Triage: {escape(result.triage.level)}</b> — "
                              f"{escape(result.triage.reasons[0])}")
        with self._chart:
            self._chart.clear_output(wait=True)
            ax = result.plot()
            display(ax.figure)
            _pyplot().close(ax.figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
