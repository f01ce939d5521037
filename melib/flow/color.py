"""Colour-wheel rendering of flow: direction = hue, magnitude = saturation (the Middlebury wheel of
Baker et al. 2011, used by FlowMag and by AMMSM Fig. 1). Zero motion is white; a vector of length
``max_mag`` pointing right is red, up is purple-blue... as on the legend :func:`color_wheel` draws.
"""

from __future__ import annotations

import numpy as np

from melib.flow.estimators import check_flow

# Middlebury hue segments: red-yellow, yellow-green, green-cyan, cyan-blue, blue-magenta, magenta-red.
_SEGMENTS = (("RY", 15), ("YG", 6), ("GC", 4), ("CB", 11), ("BM", 13), ("MR", 6))


def _wheel() -> np.ndarray:
    """(55, 3) float RGB in [0, 1]: the hue ring sampled at 55 steps."""
    cols = []
    ramps = [((1, 0, 0), (1, 1, 0)), ((1, 1, 0), (0, 1, 0)), ((0, 1, 0), (0, 1, 1)),
             ((0, 1, 1), (0, 0, 1)), ((0, 0, 1), (1, 0, 1)), ((1, 0, 1), (1, 0, 0))]
    for (_, n), (a, b) in zip(_SEGMENTS, ramps):
        t = np.arange(n)[:, None] / n
        cols.append((1 - t) * np.array(a) + t * np.array(b))
    return np.concatenate(cols)  # (55, 3)


WHEEL = _wheel()


def flow_to_color(flow: np.ndarray, max_mag: float | None = None, nan: str = "raise") -> np.ndarray:
    """(H, W, 2) flow -> (H, W, 3) uint8 RGB. ``max_mag`` = the magnitude shown at full saturation
    (default: the flow's own maximum, so two flows compare only if given the same ``max_mag``).
    NaN/inf vectors are a ValueError (``nan="raise"``), or drawn as zero motion, white (``nan="zero"``)."""
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"flow_to_color: expected (H, W, 2) flow, got shape {flow.shape}")
    flow = check_flow(flow, "flow_to_color", nan)
    u, v = flow[..., 0], flow[..., 1]
    mag = np.hypot(u, v)
    scale = float(max_mag) if max_mag is not None else float(mag.max())
    r = mag / scale if scale > 0 else np.zeros_like(mag)
    ang = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    pos = (ang + 1) / 2 * (len(WHEEL) - 1)
    i0 = np.floor(pos).astype(int)
    i1 = (i0 + 1) % len(WHEEL)
    t = (pos - i0)[..., None]
    col = (1 - t) * WHEEL[i0] + t * WHEEL[i1]  # (H, W, 3)
    inside = (r <= 1)[..., None]
    rr = r[..., None]
    col = np.where(inside, 1 - rr * (1 - col), col * 0.75)  # saturation grows with magnitude
    return np.clip(np.floor(255 * col), 0, 255).astype(np.uint8)


def color_wheel(size: int = 101) -> np.ndarray:
    """The legend: (size, size, 3) uint8, the colour of every vector in the unit disc (white outside)."""
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    flow = np.stack([(x - c) / c, (y - c) / c], axis=-1)  # (size, size, 2)
    img = flow_to_color(flow, max_mag=1.0)
    img[np.hypot(flow[..., 0], flow[..., 1]) > 1] = 255
    return img
