"""melib.widgets.with_fallback: controls start at the static view, carry labels, redraw on change;
and every widget in the notebooks is labelled."""

import re

import ipywidgets as widgets
import matplotlib.pyplot as plt
import nbformat
import pytest

from melib.run import NOTEBOOKS, find_notebooks
from melib.widgets import with_fallback


def recorder():
    calls = []

    def view(method="a", step=None):
        calls.append({"method": method, "step": step})
        return plt.figure()

    return view, calls


def test_a_control_that_cannot_hold_the_default_is_an_error():
    # notebook 02's old bug: step=None (= apex) while the slider started at 0 (= onset)
    view, _ = recorder()
    with pytest.raises(ValueError, match=r"control 'step' \(IntSlider\) cannot hold the static view's step=None"):
        with_fallback(view, {"method": widgets.Dropdown(options=["a", "b"]), "step": widgets.IntSlider(max=9)})
    with pytest.raises(ValueError, match="it became 9"):  # clamped silently by the slider
        with_fallback(view, {"step": widgets.IntSlider(max=9)}, step=12)
    with pytest.raises(TypeError, match="'frame' is not a keyword of view"):
        with_fallback(view, {"frame": widgets.IntSlider()})


def test_moving_one_control_keeps_the_others_at_the_static_view():
    view, calls = recorder()
    method, step = widgets.Dropdown(options=["a", "b"]), widgets.IntSlider(max=9)
    box = with_fallback(view, {"method": method, "step": step}, step=6)
    assert calls == [{"method": "a", "step": 6}] and step.value == 6  # static view; slider at it
    method.value = "b"
    assert calls[-1] == {"method": "b", "step": 6}  # only the method changed
    step.value = 2
    assert calls[-1] == {"method": "b", "step": 2}
    assert isinstance(box, widgets.VBox)
    plt.close("all")


def test_controls_are_labelled():
    view, _ = recorder()
    method = widgets.Dropdown(options=["a", "b"], description="estimator")
    step = widgets.IntSlider(max=9)
    with_fallback(view, {"method": method, "step": step}, step=1)
    assert method.description == "estimator" and step.description == "step"
    assert step.style.description_width == "initial"
    plt.close("all")


CONTROL = re.compile(r"widgets\.(IntSlider|FloatSlider|Dropdown|ToggleButtons|Checkbox|SelectionSlider)\(([^()]*)\)")


@pytest.mark.parametrize("path", find_notebooks(NOTEBOOKS), ids=lambda p: p.stem)
def test_every_notebook_control_has_a_description(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    for kind, args in CONTROL.findall(source):
        assert "description=" in args, f"{path.name}: widgets.{kind}({args}) has no description= label"
