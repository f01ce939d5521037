"""ME-TST training windows over a long video's ROI-flow sequence (me-tst-reference.md "Settings",
"Pre-processing", "Training").

- Frame skip per dataset: CAS(ME)^3 keeps every frame, SAMM-LV every 7th (0-based index i kept when
  i % 7 == 0; an annotated 0-based index f lands on f // 7, the reference's int((number - 1) / 7)).
- Windows of k frames (50 CAS(ME)^3, 30 SAMM-LV, counted after the skip) with 50 % overlap: window w starts
  at w * (k // 2); n frames give n // (k // 2) - 1 windows (:func:`window_starts`).
- Per-frame targets (:func:`frame_targets`): spotting 1 on frames onset + 1 .. offset - 1 (inclusive,
  after the skip), 0 elsewhere; recognition the emotion index on the same frames (negative 0, positive 1,
  surprise 2, others 3) and neutral (4) elsewhere.
- Sampling (:func:`sample_windows`): every window with a positive frame plus int(n_pos * ratio) random
  all-negative windows (ratio 4 CAS(ME)^3, 0.5 SAMM-LV), drawn from all of a fold's training windows
  pooled, as the authors do (when fewer negatives exist, all of them but 2).
- Augmentation (:func:`augment`): each sample multiplied by randint(90, 110) / 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EMOTIONS = ("negative", "positive", "surprise", "others")
NEUTRAL = len(EMOTIONS)  # index 4: the extra "no ME" class of the recognition head
_EMOTION_MAP = {
    "negative": 0, "anger": 0, "disgust": 0, "fear": 0, "sad": 0, "sadness": 0, "contempt": 0,
    "positive": 1, "happy": 1, "happiness": 1,
    "surprise": 2,
    "others": 3, "other": 3,
}


@dataclass(frozen=True)
class WindowSettings:
    """Per-dataset settings of the reference: frame skip, window length k, neg:pos ratio, batch size."""

    skip: int
    k: int
    ratio: float
    batch: int


SETTINGS = {
    "casme3": WindowSettings(skip=1, k=50, ratio=4.0, batch=256),
    "samm_lv": WindowSettings(skip=7, k=30, ratio=0.5, batch=32),
}


def settings(dataset: str) -> WindowSettings:
    """The reference's settings for a long-video dataset name ("casme3" | "samm_lv")."""
    try:
        return SETTINGS[dataset]
    except KeyError:
        raise ValueError(f"no ME-TST window settings for dataset {dataset!r}; expected one of "
                         f"{sorted(SETTINGS)}") from None


def emotion_class(emotion: str, where: str = "event") -> int:
    """4-class index of a raw emotion string (CAS(ME)^3 and SAMM-LV maps of the reference)."""
    key = str(emotion).strip().lower()
    if key not in _EMOTION_MAP:
        raise ValueError(f"{where}: emotion {emotion!r} is not one of the known labels "
                         f"{sorted(_EMOTION_MAP)}")
    return _EMOTION_MAP[key]


def n_skipped(n_frames: int, skip: int) -> int:
    """Number of frames kept when every ``skip``-th frame (i % skip == 0) is kept."""
    return (int(n_frames) + skip - 1) // skip


def window_starts(n: int, k: int) -> np.ndarray:
    """Start index of every window: w * (k // 2) for w < n // (k // 2) - 1 (may be empty)."""
    h = k // 2
    if h < 1:
        raise ValueError(f"window length k must be >= 2, got {k}")
    return np.arange(max(0, n // h - 1), dtype=int) * h


def frame_targets(n: int, intervals: Sequence, labels: Sequence[int], skip: int = 1,
                  neutral: int = NEUTRAL) -> tuple[np.ndarray, np.ndarray]:
    """Spotting (n,) float32 and recognition (n,) int64 targets over ``n`` frames kept after the skip.

    ``intervals`` are (onset, offset) 0-based indices into the UNSKIPPED video; frames
    onset // skip + 1 .. offset // skip - 1 are the ME's frames.
    """
    spot = np.zeros(n, dtype=np.float32)  # (n,)
    recog = np.full(n, neutral, dtype=np.int64)  # (n,)
    for (on, off), lab in zip(intervals, labels):
        a, b = on // skip + 1, min(off // skip - 1, n - 1)
        if a <= b:
            spot[a: b + 1] = 1.0
            recog[a: b + 1] = lab
    return spot, recog


def cut_windows(seq: np.ndarray, starts: np.ndarray, k: int, relative: bool = True) -> np.ndarray:
    """(n_w, C, k) windows of a (C, T) sequence; ``relative`` subtracts each window's first column.

    With a sequence of displacements accumulated from frame 0, ``relative`` makes column 0 zero, but it
    equals the reference's "flow from the window's first frame" only on the window's second half (flow is
    not additive): ME-TST training and windowed inference read each window's own features instead
    (``melib.train.metst.VideoSeq.window_x``); this cut serves chained sequences and synthetic tests.
    """
    seq = np.asarray(seq, dtype=np.float32)  # (C, T)
    if seq.ndim != 2:
        raise ValueError(f"cut_windows expects a (C, T) sequence, got shape {seq.shape}")
    idx = np.asarray(starts, dtype=int)[:, None] + np.arange(k)[None, :]  # (n_w, k)
    if idx.size and idx.max() >= seq.shape[1]:
        raise ValueError(f"window end {idx.max()} is past the sequence's {seq.shape[1]} frames")
    win = seq[:, idx].transpose(1, 0, 2)  # (n_w, C, k)
    if relative:
        win = win - win[:, :, :1]
    return np.ascontiguousarray(win)


def cut_targets(target: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """(n_w, k) windows of a per-frame target (n,)."""
    idx = np.asarray(starts, dtype=int)[:, None] + np.arange(k)[None, :]  # (n_w, k)
    return np.asarray(target)[idx]


def sample_windows(spot_windows: np.ndarray, ratio: float, rng: np.random.Generator,
                   spare: int = 2) -> np.ndarray:
    """Sorted indices: every window with a positive frame plus int(n_pos * ratio) random negative ones.

    When no more negatives exist than wanted, all of them but ``spare`` are taken (the authors'
    ``downSampling`` keeps all but 2; ``spare=0`` keeps them all). Pass every training window of a fold
    at once for the authors' pooled draw (``melib.train.metst.sampled_starts``).
    """
    spot_windows = np.asarray(spot_windows)  # (n_w, k)
    pos = np.flatnonzero(spot_windows.sum(1) > 0)
    neg = np.flatnonzero(spot_windows.sum(1) == 0)
    want = int(len(pos) * ratio)
    n_neg = want if len(neg) > want else max(0, len(neg) - spare)
    chosen = rng.choice(neg, size=n_neg, replace=False) if n_neg else np.zeros(0, int)
    return np.sort(np.concatenate([pos, chosen]).astype(int))


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiply each sample (axis 0) by an integer percentage in 90..110 (inclusive) / 100."""
    x = np.asarray(x, dtype=np.float32)  # (N, C, k)
    scale = rng.integers(90, 111, size=(x.shape[0],) + (1,) * (x.ndim - 1)) / 100.0  # (N, 1, 1)
    return (x * scale).astype(np.float32)
