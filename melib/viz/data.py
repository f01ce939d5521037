"""Plots for the data tour (notebook 01): class counts, onset/apex/offset frames, long-video timelines.

Functions receive arrays/tables and return Matplotlib figures; nothing here computes results.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

KIND_COLORS = {"micro": "tab:red", "macro": "tab:blue", "blink": "tab:green", "head": "tab:gray"}


def class_counts(counts: pd.DataFrame):
    """Bar chart of a (protocol, class, count) table, one panel per protocol (seaborn)."""
    import seaborn as sns

    names = list(dict.fromkeys(counts["protocol"]))
    ncols = min(4, len(names))  # a grid, at most 4 panels a row: a single strip of 8 is unreadable
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.9 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        sub = counts[counts["protocol"] == name]
        sns.barplot(data=sub, x="class", y="count", ax=ax, color="tab:blue")
        ax.set_title(name, fontsize=9)
        ax.tick_params(axis="x", rotation=45, labelsize=8)
        ax.set_xlabel("")
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def key_frames(frames: dict[str, np.ndarray], diff: np.ndarray, flow_mag: np.ndarray | None = None, title=""):
    """Onset / apex / offset frames, the |apex - onset| difference image and optionally |true flow|."""
    panels = list(frames.items()) + [("|apex - onset|", diff)] + ([("|true flow| (px)", flow_mag)]
                                                                   if flow_mag is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(2.4 * len(panels), 2.7))
    for ax, (name, img) in zip(axes, panels):
        if name.startswith("|"):
            im = ax.imshow(img, cmap="magma")
            fig.colorbar(im, ax=ax, fraction=0.046)
        else:
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def timeline(n_frames: int, fps: float, events, activity: dict | None = None, title=""):
    """Intervals (``events``: objects with kind/onset/offset) as coloured spans over time (s);
    ``activity`` (kind -> (n_frames,) px) drawn as curves when given."""
    fig, ax = plt.subplots(figsize=(9, 2.6))
    t = np.arange(n_frames) / fps
    kinds = list(KIND_COLORS)
    for e in events:
        y = kinds.index(e.kind)
        ax.barh(y, (e.offset - e.onset + 1) / fps, left=e.onset / fps, color=KIND_COLORS[e.kind], height=0.6)
    ax.set_yticks(range(len(kinds)), kinds)
    ax.set_xlim(0, n_frames / fps)
    ax.set_xlabel("time (s)")
    if activity:
        ax2 = ax.twinx()
        for kind, curve in activity.items():
            if np.max(curve) > 0:
                ax2.plot(t, curve, color=KIND_COLORS[kind], lw=0.8, alpha=0.6)
        ax2.set_ylabel("true motion (px)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def frame_panel(frame: np.ndarray, title: str):
    """One frame with a title (the scrubber's view)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.0))
    ax.imshow(frame, cmap="gray" if frame.ndim == 2 else None)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    return fig


def split_table(folds, subjects, labels, classes) -> pd.DataFrame:
    """LOSO folds as a table: held-out subject, train/test sizes and the test set's class counts."""
    rows = []
    for f in folds:
        row = {"held-out subject": f.name, "train": len(f.train_idx), "test": len(f.test_idx)}
        row.update({c: int((labels[f.test_idx] == i).sum()) for i, c in enumerate(classes)})
        rows.append(row)
    return pd.DataFrame(rows)
