"""Interactive views with a static fallback (design.md: headless runs and handouts show the default).

:func:`with_fallback` first draws the default view as an ordinary figure, then, in a live kernel,
adds labelled ipywidgets controls below it that redraw into their own output area when moved.
The controls start at exactly the values the static view was drawn with, so moving one control
changes only what that control says.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import matplotlib.pyplot as plt


def with_fallback(plot: Callable[..., plt.Figure], controls: dict, **defaults):
    """Show ``plot(**kwargs)`` as a static figure, then a widget box that re-plots on change.

    ``controls`` maps keyword names of ``plot`` to ipywidgets controls. Each control starts at the
    value the static view uses: ``defaults[name]`` if given, else ``plot``'s own default, else the
    control's value. A control that cannot hold that value (``None`` on a slider, a value outside its
    range or options) is an error, since its first move would silently change the other keywords'
    view. A control without a ``description`` is labelled with its keyword name. Returns the widget
    box (or None without ipywidgets).
    """
    from IPython.display import display

    try:
        import ipywidgets as widgets
        from traitlets import TraitError
    except ImportError:  # static view only
        widgets = None
    kwargs = dict(defaults)
    if widgets is not None:
        params = inspect.signature(plot).parameters
        for name, control in controls.items():
            if name not in params:
                raise TypeError(f"with_fallback: control {name!r} is not a keyword of {plot.__name__}{inspect.signature(plot)}")
            start = defaults.get(name, params[name].default)
            if start is not inspect.Parameter.empty:
                _start_at(control, name, start, TraitError)
            kwargs[name] = control.value
            if not control.description:
                control.description = name
            if hasattr(control, "style"):
                control.style.description_width = "initial"  # show the whole label
    fig = plot(**kwargs)
    display(fig)
    plt.close(fig)
    if widgets is None:
        return None
    out = widgets.Output()

    def redraw(_change=None):
        current = {**kwargs, **{name: c.value for name, c in controls.items()}}
        with out:
            out.clear_output(wait=True)
            f = plot(**current)
            display(f)
            plt.close(f)

    for control in controls.values():
        control.observe(redraw, names="value")
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox([row, out])
    display(box)
    return box


def _start_at(control, name: str, value, trait_error: type[Exception]) -> None:
    """Set ``control.value = value`` or say why the control cannot show the static view's value."""
    why = (f"with_fallback: control {name!r} ({type(control).__name__}) cannot hold the static view's "
           f"{name}={value!r}; give a default the control can show, so that moving another control "
           f"keeps this one's view")
    try:
        control.value = value
    except trait_error as err:
        raise ValueError(why) from err
    if control.value != value:  # sliders clamp out-of-range values silently
        raise ValueError(f"{why} (it became {control.value!r})")
