"""Interactive views with a static fallback (design.md: headless runs and handouts show the default).

:func:`with_fallback` first draws the default view as an ordinary figure, then, in a live kernel,
adds ipywidgets controls below it that redraw into their own output area when moved.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt


def with_fallback(plot: Callable[..., plt.Figure], controls: dict, **defaults):
    """Show ``plot(**defaults)`` as a static figure, then a widget box that re-plots on change.

    ``controls`` maps keyword names of ``plot`` to ipywidgets controls; each control's initial
    value is set from ``defaults`` where given. Returns the widget box (or None without ipywidgets).
    """
    from IPython.display import display

    fig = plot(**defaults)
    display(fig)
    plt.close(fig)
    try:
        import ipywidgets as widgets
    except ImportError:  # static view only
        return None
    for name, control in controls.items():
        if name in defaults:
            control.value = defaults[name]
    out = widgets.Output()

    def redraw(_change=None):
        kwargs = {**defaults, **{name: c.value for name, c in controls.items()}}
        with out:
            out.clear_output(wait=True)
            f = plot(**kwargs)
            display(f)
            plt.close(f)

    for control in controls.values():
        control.observe(redraw, names="value")
    box = widgets.VBox([widgets.HBox(list(controls.values())), out])
    display(box)
    return box
