"""Synergistic spotting and recognition (ME-TST Sec. II-C, Fig. 3, Table IV).

The recognition head outputs emo + 1 logits per frame; index ``emo`` (the last) is "neutral".
Strategies, as the reference implements them:

- 0 ("w/o" in Table IV): the neutral class is trained with loss weight 0 (:mod:`melib.train.metst`);
  at inference each frame takes its best non-neutral emotion (the untrained neutral logit is ignored).
  ``reference=True``: the authors take the arg-max over all emo + 1 classes, untrained neutral included,
  so an interval can be labelled neutral (a wrong emotion for every true class).
- 1: neutral trained; each frame takes its arg-max over all emo + 1 classes; an interval whose most
  common label is neutral is dropped (recognition vetoes spotting: its TPs become FNs). By default the
  neutral intervals are dropped BEFORE matching (``veto="before"``: a vetoed interval is no prediction, so
  it cannot block a ground truth another interval matches). The authors match first and subtract
  afterwards (``veto="after"``, the default under ``reference=True``): a vetoed interval still takes its
  ground truth, which then counts as missed (:func:`melib.metrics.spotting.apply_veto`).
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


def frame_labels(logits: np.ndarray, strategy: int, reference: bool = False) -> np.ndarray:
    """Per-frame label (T,) from recognition logits (T, emo + 1) under a strategy: the arg-max over the
    emotions (strategies 0 and 2) or over emotions + neutral (strategy 1; strategy 0 too if ``reference``)."""
    _check(strategy)
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"recognition logits must be (T, emo + 1), got shape {logits.shape}")
    with_neutral = strategy == 1 or (reference and strategy == 0)
    use = logits if with_neutral else logits[:, :-1]
    return use.argmax(1)


@dataclass
class Spotted:
    """One video's analysis: intervals (n, 2) inclusive, peaks (n,), emotion labels (n,).

    ``dropped`` (m, 2): the intervals strategy 1 vetoes. With ``veto="before"`` they are not in
    ``intervals``; with ``veto="after"`` they stay there (to be matched) and ``vetoed`` (n,) marks them.
    """

    intervals: np.ndarray
    peaks: np.ndarray
    labels: np.ndarray
    dropped: np.ndarray
    vetoed: np.ndarray | None = None

    def __post_init__(self):
        if self.vetoed is None:
            self.vetoed = np.zeros(len(self.intervals), bool)


def analyse(scores: np.ndarray, logits: np.ndarray, k_p: int, strategy: int = 2, p: float = P_THRESHOLD,
            reference: bool = False, veto: str | None = None) -> Spotted:
    """Spot intervals on the score curve (T,), label them from the logits (T, emo + 1) by a strategy.

    ``veto`` (strategy 1): "before" drops neutral intervals here; "after" keeps them, marked in
    ``Spotted.vetoed``, for :func:`melib.metrics.spotting.apply_veto` after matching. None: "after" when
    ``reference`` (the authors' order), else "before".
    """
    veto = ("after" if reference else "before") if veto is None else veto
    if veto not in ("before", "after"):
        raise ValueError(f"veto must be 'before' or 'after', got {veto!r}")
    iv, peaks = spot_intervals(scores, k_p, p, reference=reference)
    labels = interval_labels(frame_labels(logits, strategy, reference), iv)
    neutral = np.asarray(logits).shape[1] - 1
    vetoed = labels == neutral if strategy == 1 else np.zeros(len(labels), bool)
    if veto == "after":
        return Spotted(iv, peaks, labels, iv[vetoed], vetoed)
    return Spotted(iv[~vetoed], peaks[~vetoed], labels[~vetoed], iv[vetoed])
