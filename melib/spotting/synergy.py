"""Synergistic spotting and recognition (ME-TST Sec. II-C, Fig. 3, Table IV).

The recognition head outputs emo + 1 logits per frame; index ``emo`` (the last) is "neutral".
Strategies, as the reference implements them:

- 0 ("w/o" in Table IV): the neutral class is trained with loss weight 0 (:mod:`melib.train.metst`);
  at inference each frame takes its best non-neutral emotion (the untrained neutral logit is ignored).
- 1: neutral trained; each frame takes its arg-max over all emo + 1 classes; an interval whose most
  common label is neutral is dropped (recognition vetoes spotting: its TPs become FNs).
- 2 (the paper's choice for both datasets): neutral trained, but each frame takes its best
  non-neutral emotion, so spotting alone decides the intervals and recognition assigns their emotions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from melib.spotting.postprocess import P_THRESHOLD, interval_labels, spot_intervals

STRATEGIES = (0, 1, 2)


def neutral_weight_trained(strategy: int) -> bool:
    """True when the strategy trains the neutral class (1 and 2); strategy 0 sets its weight to 0."""
    _check(strategy)
    return strategy != 0


def _check(strategy: int) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"synergy strategy must be one of {STRATEGIES}, got {strategy!r}")


def frame_labels(logits: np.ndarray, strategy: int) -> np.ndarray:
    """Per-frame label (T,) from recognition logits (T, emo + 1) under a strategy."""
    _check(strategy)
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"recognition logits must be (T, emo + 1), got shape {logits.shape}")
    use = logits if strategy == 1 else logits[:, :-1]  # strategies 0 and 2 skip neutral
    return use.argmax(1)


@dataclass
class Spotted:
    """One video's analysis: intervals (n, 2) inclusive, peaks (n,), emotion labels (n,)."""

    intervals: np.ndarray
    peaks: np.ndarray
    labels: np.ndarray
    dropped: np.ndarray  # intervals strategy 1 removed (m, 2)


def analyse(scores: np.ndarray, logits: np.ndarray, k_p: int, strategy: int = 2, p: float = P_THRESHOLD,
            reference: bool = False) -> Spotted:
    """Spot intervals on the score curve (T,), label them from the logits (T, emo + 1) by a strategy."""
    iv, peaks = spot_intervals(scores, k_p, p, reference=reference)
    labels = interval_labels(frame_labels(logits, strategy), iv)
    neutral = np.asarray(logits).shape[1] - 1
    keep = labels != neutral if strategy == 1 else np.ones(len(labels), bool)
    return Spotted(iv[keep], peaks[keep], labels[keep], iv[~keep])
