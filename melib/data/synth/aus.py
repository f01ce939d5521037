"""SynthME facial actions: Action-Unit displacement fields anchored on the 68 landmarks.

An AU is a sum of Gaussian "pulls": anchor point c_j (from landmarks), direction d_j, radius
sigma_j (fraction of the jaw width w). Its forward motion field (content at q moves to q + F(q)) is
``F(q) = sum_j d_j exp(-|q - c_j|^2 / (2 (sigma_j w)^2))``, scaled so that max |F| = 1 px. An
expression is a set of AUs (``"6+12"``, ``"R14"``: L/R keep only the subject's left/right side),
summed and re-scaled so that its peak displacement equals ``amplitude`` px. Time course
(onset -> apex -> offset): raised-cosine rise and fall, :func:`profile`.
"""

from __future__ import annotations

import re

import numpy as np

# AU -> list of (anchor, direction (dx, dy) in image axes, sigma / jaw width); anchors name landmark sets.
# "R" side = subject's right = image left (landmarks 17-21, 36-41, 48).
AU_SPECS = {
    "1": [("R:20,21", (0, -1), 0.07), ("L:22,23", (0, -1), 0.07)],
    "2": [("R:17,18", (0, -1), 0.07), ("L:25,26", (0, -1), 0.07)],
    "4": [("R:19,20,21", (0.5, 0.85), 0.07), ("L:22,23,24", (-0.5, 0.85), 0.07), ("C:27", (0, 0.4), 0.05)],
    "5": [("R:37,38", (0, -1), 0.035), ("L:43,44", (0, -1), 0.035)],
    "6": [("R:cheekR", (0.15, -1), 0.09), ("L:cheekL", (-0.15, -1), 0.09), ("R:40,41", (0, -0.5), 0.03),
          ("L:46,47", (0, -0.5), 0.03)],
    "7": [("R:40,41", (0, -1), 0.03), ("L:46,47", (0, -1), 0.03)],
    "9": [("R:31", (0.2, -1), 0.05), ("L:35", (-0.2, -1), 0.05), ("C:28,29", (0, 0.6), 0.05)],
    "10": [("C:50,51,52", (0, -1), 0.06)],
    "12": [("R:48", (-0.75, -0.65), 0.07), ("L:54", (0.75, -0.65), 0.07)],
    "14": [("R:48", (-1, 0.1), 0.045), ("L:54", (1, 0.1), 0.045)],
    "15": [("R:48", (-0.2, 1), 0.06), ("L:54", (0.2, 1), 0.06)],
    "17": [("C:57,8", (0, -1), 0.09), ("C:57", (0, -0.6), 0.05)],
    "45": [("R:37,38", (0, 1), 0.035), ("L:43,44", (0, 1), 0.035)],
}
# Emotion -> AU combinations in the CASME II / SAMM / CAS(ME)^3 spirit (one drawn per event).
EMOTION_AUS = {
    "happiness": ["6+12", "12", "L12", "6+12"], "happy": ["6+12", "12"],
    "surprise": ["1+2", "1+2+5", "1+2"],
    "disgust": ["4+9", "9+10", "4+10", "4+9+10"],
    "repression": ["14+17", "15+17", "17", "R14+17"],
    "others": ["4", "L2", "7"], "other": ["4", "R2", "7"],
    "sadness": ["1+4+15"], "sad": ["1+4+15"],
    "fear": ["1+2+4", "1+4+5"],
    "anger": ["4+7", "4+7+17"],
    "contempt": ["R14", "L14", "R12+R14"],
}


def _points(name: str, lm: np.ndarray, w: float) -> np.ndarray:
    if name == "cheekR":
        return lm[36:42].mean(0) + np.array([-0.02, 0.2]) * w
    if name == "cheekL":
        return lm[42:48].mean(0) + np.array([0.02, 0.2]) * w
    return lm[[int(i) for i in name.split(",")]].mean(0)


def parse_aus(aus: str) -> list[tuple[str, str]]:
    """'R12+T28+4' -> [('R', '12'), ('', '4')] (AUs without a field, like 28, are skipped)."""
    out = []
    for tok in re.split(r"[+,\s]+", str(aus).strip()):
        m = re.fullmatch(r"([LRTB]?)(\d+)[A-E]?", tok.upper())
        if m and m.group(2) in AU_SPECS:
            out.append((m.group(1) if m.group(1) in "LR" else "", m.group(2)))
    return out


def au_field(aus: str, lm: np.ndarray, shape, origin=(0, 0)) -> np.ndarray:
    """Forward motion field (h, w, 2) of an AU combination on a grid of ``shape`` whose pixel (0, 0)
    sits at image point ``origin`` (x, y); peak magnitude normalised to 1 (0 field if no known AU)."""
    h, w = shape
    jaw = float(np.linalg.norm(lm[16] - lm[0]))
    xs = np.arange(w, dtype=np.float32) + origin[0]
    ys = np.arange(h, dtype=np.float32) + origin[1]
    total = np.zeros((h, w, 2), np.float32)
    for side, au in parse_aus(aus):
        part = np.zeros_like(total)
        for anchor, (dx, dy), sig in AU_SPECS[au]:
            where, name = anchor.split(":")
            if side and where not in (side, "C"):
                continue
            cx, cy = _points(name, lm, jaw)
            s2 = 2 * (sig * jaw) ** 2
            g = np.exp(-((ys[:, None] - cy) ** 2) / s2) * np.exp(-((xs[None, :] - cx) ** 2) / s2)  # (h, w)
            part += g[..., None] * np.array([dx, dy], np.float32) / np.hypot(dx, dy)
        peak = np.linalg.norm(part, axis=2).max()
        if peak > 0:
            total += part / peak
    peak = np.linalg.norm(total, axis=2).max()
    return total / peak if peak > 0 else total


def profile(n: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Activation a(t) in [0, 1] for t = 0..n-1: 0 before onset, raised-cosine up to 1 at apex, down to 0 at offset."""
    t = np.arange(n, dtype=np.float64)
    a = np.zeros(n)
    up = (t >= onset) & (t <= apex)
    a[up] = 0.5 * (1 - np.cos(np.pi * (t[up] - onset) / max(apex - onset, 1)))
    down = (t > apex) & (t <= offset)
    a[down] = 0.5 * (1 + np.cos(np.pi * (t[down] - apex) / max(offset - apex, 1)))
    if onset == apex:
        a[int(apex)] = 1.0
    return a


def invert_flow(f_from: np.ndarray, f_to: np.ndarray, iters: int = 6) -> np.ndarray:
    """True flow between two rendered frames in OpenCV's convention: frame_a(p) ~ frame_b(p + flow(p)).

    Frame k is rendered by backward warping, frame_k(q) = neutral(q - F_k(q)) with ``f_from`` = F_a,
    ``f_to`` = F_b (H, W, 2). Content at p comes from r = p - F_a(p); in frame b it sits at q with
    q - F_b(q) = r, solved by the fixed point q <- r + F_b(q).
    """
    import cv2

    h, w = f_from.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    r = np.stack([gx, gy], 2) - f_from  # (H, W, 2)
    q = r + f_to
    for _ in range(iters):
        fb = cv2.remap(f_to, q[..., 0], q[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        q = r + fb
    return (q - np.stack([gx, gy], 2)).astype(np.float32)  # (H, W, 2)
