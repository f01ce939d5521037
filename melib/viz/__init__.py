"""Plotting: one fixed style for every figure, and a helper that writes figures to cfg.figures.

Topic plots live in submodules (``melib.viz.<topic>``); they return Matplotlib figures and never
compute results themselves (they are handed arrays from the modules to their left).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

if matplotlib.get_backend().lower() in ("", "agg") or not matplotlib.get_backend():
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.figsize": (7.0, 4.0),
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.grid": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",
}


def style() -> None:
    """Apply the suite's fixed figure style (called by every notebook's setup cell)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="white", palette="deep")
    plt.rcParams.update(STYLE)


def save_figure(fig, name: str, folder: str | Path) -> Path:
    """Write ``fig`` as ``folder/name.png`` (PNG, fixed dpi) and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name if name.endswith(".png") else f"{name}.png")
    fig.savefig(path, bbox_inches="tight", facecolor="white")
    return path


def pct(value, digits: int = 1) -> str:
    """A score as percent for a table cell: ``Interval`` -> "71.4 [62.0, 80.1]", a float -> "71.4",
    None -> "" (design.md: a score is shown with its interval)."""
    if value is None:
        return ""
    if hasattr(value, "low"):
        if value.low != value.low:  # nan: one subject / one seed, no interval can be given
            return f"{100 * value.estimate:.{digits}f} [no interval: n={value.n}]"
        return f"{100 * value.estimate:.{digits}f} [{100 * value.low:.{digits}f}, {100 * value.high:.{digits}f}]"
    return f"{100 * value:.{digits}f}"
