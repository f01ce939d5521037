"""Score curve -> intervals (ME-TST Sec. II-A "post-processing"; the reference's spotting step).

1. ``k_p = int((mean(offset - onset) + 1) / 2)`` over the training MEs (:func:`peak_half_width`).
2. Box smoothing of width ``2 k_p`` (``np.convolve(..., mode="same")``, :func:`smooth`).
3. Per-video threshold ``mean + p (max - mean)`` with p = 0.55 (Moilanen et al.; :func:`threshold`).
4. ``scipy.signal.find_peaks(height=threshold, distance=k_p)``; interval ``[peak - k_p, peak + k_p]``
   (:func:`spot_intervals`). Intervals are inclusive 0-based frame ranges; the fixed default clips them to
   the video, ``reference=True`` keeps the raw ends and adds the reference's dummy ``[0, 0]`` prediction to
   a video without peaks (counted as a false positive).
5. Interval emotion = the most common per-frame label inside the interval: the authors clamp the ends at
   0 first, then vote over ``labels[onset + 1 : offset - 1]`` (ties to the label seen first;
   :func:`interval_labels`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.signal import find_peaks

P_THRESHOLD = 0.55


def peak_half_width(lengths_or_events: Sequence) -> int:
    """k_p = int((mean(offset - onset) + 1) / 2) over MEs given as Events or (onset, offset) pairs."""
    spans = []
    for e in lengths_or_events:
        on, off = (e.onset, e.offset) if hasattr(e, "onset") else (e[0], e[1])
        spans.append(off - on)
    if not spans:
        raise ValueError("peak_half_width needs at least one ME interval (the training set has none)")
    return max(1, int((float(np.mean(spans)) + 1) / 2))


def smooth(scores: np.ndarray, k_p: int) -> np.ndarray:
    """Box filter of width 2 k_p, same length as the input (the reference's ``smooth``)."""
    scores = np.asarray(scores, dtype=float)  # (T,)
    w = 2 * int(k_p)
    return np.convolve(scores, np.ones(w) / w, mode="same")  # (T,)


def threshold(curve: np.ndarray, p: float = P_THRESHOLD) -> float:
    """Per-video threshold mean + p (max - mean) of the smoothed curve."""
    curve = np.asarray(curve, dtype=float)
    return float(curve.mean() + p * (curve.max() - curve.mean()))


def spot_intervals(scores: np.ndarray, k_p: int, p: float = P_THRESHOLD,
                   reference: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Intervals (n, 2) inclusive [onset, offset] and their peaks (n,) from one video's score curve."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"spot_intervals expects a non-empty 1-D score curve, got shape {scores.shape}")
    curve = smooth(scores, k_p)  # (T,)
    peaks, _ = find_peaks(curve, height=threshold(curve, p), distance=k_p)
    iv = np.stack([peaks - k_p, peaks + k_p], axis=1) if peaks.size else np.zeros((0, 2), int)
    if reference:
        if not peaks.size:
            return np.zeros((1, 2), int), np.zeros(1, int)  # the reference's dummy prediction
        return iv.astype(int), peaks.astype(int)
    iv = np.clip(iv, 0, scores.size - 1)
    return iv.astype(int), peaks.astype(int)


def interval_labels(frame_labels: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Most common per-frame label of each interval, as the authors' code: onset and offset clamped at 0
    first, then the vote over frames [onset + 1, offset - 1) (an interval [-2, 6] votes over frames 1..4).
    The vote is the same in both modes; only ``reference=True`` intervals can start before frame 0."""
    frame_labels = np.asarray(frame_labels)
    out = []
    for on, off in np.asarray(intervals, dtype=int).reshape(-1, 2):
        on, off = max(0, on), max(0, off)
        lo, hi = on + 1, max(1, off - 1)
        inside = frame_labels[lo:hi]
        if inside.size == 0:  # interval at the very end of a video: fall back to its inclusive range
            inside = frame_labels[max(0, on): off + 1]
        out.append(Counter(inside.tolist()).most_common(1)[0][0])
    return np.asarray(out, dtype=int)
