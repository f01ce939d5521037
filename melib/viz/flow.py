"""Plots for optical flow, ROI features and magnification (notebooks 02 and 03). They receive arrays
and draw them; colour-wheel rendering comes from :func:`melib.flow.flow_to_color`."""

from __future__ import annotations

import matplotlib.patches as mpatches
import matplotlib.pyplot as plt
import numpy as np

from melib.flow import color_wheel, flow_to_color

EVENT_COLORS = {"micro": "tab:red", "macro": "tab:orange", "head": "0.6", "blink": "tab:blue"}


def _off(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _legend_wheel(fig, rect=(0.92, 0.08, 0.07, 0.07 * 1.0)):
    ax = fig.add_axes(rect)
    ax.imshow(color_wheel(65))
    ax.set_title("direction", fontsize=8)
    ax.axis("off")


def flow_row(panels: dict[str, np.ndarray], max_mag: float | None = None, wheel: bool = True,
             width: float = 2.4) -> plt.Figure:
    """One row of panels: (H, W) or (H, W, 3) arrays are shown as images, (H, W, 2) as colour-wheel
    flow with a shared ``max_mag`` (default: the largest magnitude among the flows)."""
    flows = [p for p in panels.values() if p.ndim == 3 and p.shape[-1] == 2]
    if max_mag is None and flows:
        max_mag = max(float(np.linalg.norm(f, axis=-1).max()) for f in flows) or 1.0
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), width + 0.4), squeeze=False)
    for ax, (title, arr) in zip(axes[0], panels.items()):
        if arr.ndim == 3 and arr.shape[-1] == 2:
            ax.imshow(flow_to_color(arr, max_mag))
        else:
            ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None)
        ax.set_title(title, fontsize=9)
        _off(ax)
    fig.tight_layout()
    if wheel and flows:
        _legend_wheel(fig, (1.0, 0.35, 0.08, 0.3))
        fig.text(1.04, 0.3, f"|v| = {max_mag:.2g} px", ha="center", fontsize=8)
    return fig


def shade_events(ax, events, fps: float | None = None, kinds=("micro", "macro", "head", "blink")):
    """Shade [onset, offset] of each event (objects with onset/offset/kind) on a time axis."""
    scale = 1.0 / fps if fps else 1.0
    for e in events:
        if e.kind in kinds:
            ax.axvspan(e.onset * scale, (e.offset + 1) * scale, color=EVENT_COLORS.get(e.kind, "0.8"),
                       alpha=0.25 if e.kind == "micro" else 0.12, lw=0)
    handles = [mpatches.Patch(color=EVENT_COLORS[k], alpha=0.35, label=k) for k in kinds]
    return handles


def roi_timeline(seq: np.ndarray, channels: list[str], events=(), fps: float | None = None,
                 title: str = "") -> plt.Figure:
    """ROI features (10, T) over time: one line per ROI magnitude |(u, v)|, true events shaded."""
    t = np.arange(seq.shape[1]) / (fps or 1.0)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for i in range(0, seq.shape[0], 2):
        ax.plot(t, np.hypot(seq[i], seq[i + 1]), lw=1.1, label=channels[i].rsplit("_", 1)[0])
    handles = shade_events(ax, events, fps)
    ax.set_xlabel("time (s)" if fps else "frame")
    ax.set_ylabel("|ROI displacement| (crop px)")
    ax.set_title(title)
    lines = ax.get_legend_handles_labels()[0]
    ax.legend(handles=lines + handles, ncol=2, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def roi_overlay(face: np.ndarray, boxes: dict[str, tuple[int, int, int, int]], points=None) -> plt.Figure:
    """The 320 x 320 crop with the ROI rectangles (y0, y1, x0, x1) and optional landmarks (68, 2)."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(face, cmap="gray")
    for i, (name, (y0, y1, x0, x1)) in enumerate(boxes.items()):
        c = "white" if name == "global" else f"C{i}"
        ax.add_patch(mpatches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=c, lw=1.5))
        ax.text(x0, y0 - 2, name, color=c, fontsize=7)
    if points is not None:
        ax.plot(points[:, 0], points[:, 1], ".", ms=2, color="yellow")
    _off(ax)
    fig.tight_layout()
    return fig


def magnification_grid(rows: list[dict], max_mag: float | None = None) -> plt.Figure:
    """AMMSM Fig. 1 layout: one row per sample (``name``, ``image``, ``flow``, ``flow_mag``, ``alpha``);
    columns = onset frame, original flow, magnified flow, all flows on one colour scale."""
    if max_mag is None:
        max_mag = max(float(np.linalg.norm(r["flow_mag"], axis=-1).max()) for r in rows) or 1.0
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.2, 2.4 * len(rows)), squeeze=False)
    for ax_row, r in zip(axes, rows):
        ax_row[0].imshow(r["image"], cmap="gray" if r["image"].ndim == 2 else None)
        ax_row[0].set_ylabel(r["name"], fontsize=10)
        ax_row[1].imshow(flow_to_color(r["flow"], max_mag))
        ax_row[2].imshow(flow_to_color(r["flow_mag"], max_mag))
        for ax in ax_row:
            _off(ax)
    axes[0, 0].set_title("onset frame")
    axes[0, 1].set_title("original flow $OF_{ori}$")
    axes[0, 2].set_title(f"magnified $OF_{{mag}}$ ($\\alpha$={rows[0]['alpha']:.2g})")
    fig.tight_layout()
    _legend_wheel(fig, (0.99, 0.42, 0.1, 0.14))
    fig.text(1.04, 0.4, f"|v| = {max_mag:.2g} px", ha="center", fontsize=8)
    return fig


def loss_curve(history: list[float], title: str = "self-supervised pre-training (eq. 1)") -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(history, lw=0.8, alpha=0.5, label="per step")
    w = max(1, len(history) // 20)
    if len(history) >= w:
        ax.plot(np.arange(w - 1, len(history)), np.convolve(history, np.ones(w) / w, "valid"), label=f"mean of {w}")
    ax.set_xlabel("step")
    ax.set_ylabel("$L_{mag}$ (px)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def gain_plot(alphas: np.ndarray, gains: np.ndarray, low: float, high: float) -> plt.Figure:
    """Measured gain |OF_mag| / |OF_ori| against the asked alpha; the identity is the target."""
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(alphas, alphas, "k--", lw=1, label="target: gain = alpha")
    ax.plot(alphas, gains, "o-", label="learnt magnifier")
    ax.axvspan(low, high, color="0.9", zorder=0, label="trained range")
    ax.set_xlabel("alpha")
    ax.set_ylabel("measured gain")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
