"""The what-if explorer of notebook 04, driven without a browser.

Oracle: ``model.query`` of the evidence the controls describe; impossible
evidence gives the one-line error and no result.
"""

from __future__ import annotations

import matplotlib
import pytest

from popliteal.engine.evidence import EvidenceError
from popliteal.explore.explorer import DEFAULT_VARIABLES, UNKNOWN, Explorer

matplotlib.use("Agg")


def test_controls_follow_the_evidence_and_the_chart_follows_the_controls(model, capsys):
    ex = Explorer(model, initial={"age": 67, "long_travel": "yes"})
    assert set(ex.controls) == set(DEFAULT_VARIABLES)
    assert ex.evidence == {"age_group": "over_60", "long_travel": "yes"}
    assert ex.result.probabilities == model.query(ex.evidence).probabilities
    ex.controls["calf_swelling"].value = "yes"
    ex.controls["long_travel"].value = UNKNOWN
    assert ex.evidence == {"age_group": "over_60", "calf_swelling": "yes"}
    assert ex.result.probabilities == model.query({"age": 67, "calf_swelling": "yes"}).probabilities
    assert ex.result.triage.level in ex._status.value
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()
    capsys.readouterr()  # outside a kernel the figures are printed as text


def test_impossible_evidence_shows_the_error_and_no_result(model, capsys):
    ex = Explorer(model, variables=("sex", "pregnancy"), initial={"sex": "male"})
    ex.controls["pregnancy"].value = "pregnant"
    assert ex.result is None
    assert "impossible" in ex.error and "sex=male" in ex.error
    assert "impossible" in ex._status.value
    ex.controls["sex"].value = "female"
    assert ex.error is None and ex.result.evidence == {"sex": "female", "pregnancy": "pregnant"}
    capsys.readouterr()


@pytest.mark.parametrize("kwargs, message", [
    ({"variables": ("calf_swellin",)}, "unknown variable 'calf_swellin'; did you mean calf_swelling"),
    ({"variables": ("sex",), "initial": {"cancer": "yes"}}, "cancer: in the initial evidence but not among"),
    ({"initial": {"calf_swelling": "yes:0.7"}}, "sure states only"),
])
def test_bad_set_up_is_one_clear_error(model, kwargs, message):
    with pytest.raises(EvidenceError, match=message):
        Explorer(model, **kwargs)
