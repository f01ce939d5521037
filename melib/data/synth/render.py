"""SynthME rendering: backward warping of a neutral face by the summed motion fields (cv2.remap).

Frame t is ``frame_t(q) = neutral(q - F_t(q))`` + Gaussian sensor noise, with
``F_t = sum_e a_e(t) * amplitude_e * U_e + drift_t`` (U_e: unit AU field, a_e: time profile). The
true onset->apex flow is obtained by inverting the two maps (:func:`aus.invert_flow`).
"""

from __future__ import annotations

import cv2
import numpy as np

from melib.data.synth.aus import au_field, invert_flow, profile


def warp(neutral: np.ndarray, field: np.ndarray) -> np.ndarray:
    """``neutral(q - field(q))`` with bicubic interpolation; neutral (H, W[, C]) float32, field (H, W, 2)."""
    h, w = field.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(neutral, gx - field[..., 0], gy - field[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT101)


def to_uint8(img: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise > 0:
        img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def drift_path(n: int, size: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random head drift (n, 2) in px starting at 0 with max |d| = size."""
    steps = np.cumsum(rng.normal(size=(n, 2)), 0)
    steps = cv2.GaussianBlur(steps.astype(np.float32)[:, None, :], (1, 0), sigmaX=0.1, sigmaY=3)[:, 0, :]
    steps -= steps[0]
    peak = np.linalg.norm(steps, axis=1).max()
    return (steps * (size / peak if peak > 0 else 0)).astype(np.float32)  # (n, 2)


def render_clip(neutral, lm, aus: str, amplitude: float, n: int, apex: int, rng, noise=1.5, drift=0.2):
    """Frames of one short clip (onset = frame 0, apex, offset = n - 1).

    Returns ``frames`` (list of uint8 images), ``truth`` dict: ``flow`` (H, W, 2) float32 onset->apex
    in OpenCV's convention, ``amplitude``, ``aus``, ``activation`` (n,), ``drift`` (n, 2).
    """
    unit = au_field(aus, lm, neutral.shape[:2])  # (H, W, 2), peak 1 px
    a = profile(n, 0, apex, n - 1)
    d = drift_path(n, drift, rng)
    fields = [(a[t] * amplitude * unit + d[t]).astype(np.float32) for t in range(n)]  # each (H, W, 2)
    frames = [to_uint8(warp(neutral, f), noise, rng) for f in fields]
    flow = invert_flow(fields[0], fields[apex])
    truth = {"flow": flow, "amplitude": np.float32(amplitude), "aus": aus, "activation": a.astype(np.float32),
             "drift": d}
    return frames, truth


def face_roi(lm: np.ndarray, shape, margin: float = 0.6):
    """(x0, y0, x1, y1) around the landmarks, ``margin`` jaw widths wider on every side."""
    jaw = float(np.linalg.norm(lm[16] - lm[0]))
    (x0, y0), (x1, y1) = lm.min(0) - margin * jaw, lm.max(0) + margin * jaw
    h, w = shape[:2]
    return max(int(x0), 0), max(int(y0), 0), min(int(x1) + 1, w), min(int(y1) + 1, h)


def _noise(bank, k):
    """Noise variant k of 4 x len(bank): field k % len(bank), flipped vertically and/or horizontally."""
    flips = k // len(bank)
    return bank[k % len(bank)][:: (1 if flips & 1 else -1), :: (1 if flips & 2 else -1)]


def render_video(neutral, lm, events: list[dict], n: int, rng, write, noise=1.5, noise_fields: int = 4):
    """Render a long video frame by frame and hand each uint8 frame to ``write(i, frame)``.

    ``events``: dicts with ``kind`` ("micro" | "macro" | "blink" | "head"), ``onset``, ``apex``,
    ``offset`` (0-based), ``aus`` and ``amplitude`` (px), head moves also ``shift`` (dx, dy) px and
    ``rotation`` (deg). Expression fields are computed in the face ROI only; a head move warps the
    whole frame (rigid motion about the face centre). Sensor noise: ``noise_fields`` Gaussian fields x 4
    flips, one drawn per frame (still frames reuse the 4 x ``noise_fields`` cached noisy copies). Returns
    per-kind activity (n,) = max px moved.
    """
    h, w = neutral.shape[:2]
    x0, y0, x1, y1 = face_roi(lm, (h, w))
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    centre = lm.mean(0)
    base = to_uint8(neutral, 0, rng)
    acts, fields = [], []
    for e in events:
        acts.append(profile(n, e["onset"], e["apex"], e["offset"]))
        fields.append(None if e["kind"] == "head" else au_field(e["aus"], lm, (y1 - y0, x1 - x0), (x0, y0)))
    if noise_fields < 1:
        raise ValueError(f"SynthME: noise_fields must be >= 1, got {noise_fields}")
    bank = [rng.normal(0, noise, neutral.shape).astype(np.float32) for _ in range(noise_fields)] if noise > 0 else None
    activity = {k: np.zeros(n, np.float32) for k in ("micro", "macro", "blink", "head")}
    still = {}
    for t in range(n):
        live = [(e, a[t], f) for e, a, f in zip(events, acts, fields) if a[t] > 1e-3]
        for e, at, _ in live:
            activity[e["kind"]][t] = max(activity[e["kind"]][t], at * e["amplitude"])
        heads = [(e, at) for e, at, f in live if f is None]
        expr = [(e, at, f) for e, at, f in live if f is not None]
        if not live:
            img = neutral
        else:
            if heads:
                rot = sum(e["rotation"] * at for e, at in heads)
                shift = sum(np.array(e["shift"], np.float32) * at for e, at in heads)
                m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(rot), 1.0)
                m[:, 2] += shift
                inv = cv2.invertAffineTransform(m)
                mx = (inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]).astype(np.float32)
                my = (inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]).astype(np.float32)
            else:
                mx, my = gx.copy(), gy.copy()
            for e, at, f in expr:
                mx[y0:y1, x0:x1] -= np.float32(at * e["amplitude"]) * f[..., 0]
                my[y0:y1, x0:x1] -= np.float32(at * e["amplitude"]) * f[..., 1]
            if heads:
                img = cv2.remap(neutral, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
            else:
                img = neutral.copy()
                img[y0:y1, x0:x1] = cv2.remap(neutral, mx[y0:y1, x0:x1], my[y0:y1, x0:x1], cv2.INTER_CUBIC,
                                              borderMode=cv2.BORDER_REFLECT101)
        k = int(rng.integers(0, 4 * noise_fields))
        if img is neutral and bank is not None:  # a still frame: one of 16 cached noisy copies
            if k not in still:
                still[k] = np.clip(neutral + _noise(bank, k) + 0.5, 0, 255).astype(np.uint8)
            write(t, still[k])
            continue
        if bank is not None:
            img = img + _noise(bank, k)
        write(t, np.clip(img + 0.5, 0, 255).astype(np.uint8) if img is not neutral else base)
    return activity
