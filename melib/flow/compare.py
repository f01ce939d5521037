"""Estimators side by side on clips whose true onset->apex displacement is known (SynthME): end-point
error (EPE) and time per onset/apex pair, as a pandas table (notebook 02, benchmarks/flow_speed.py)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from melib.flow.estimators import epe, estimate, resize_flow
from melib.flow.pairs import onset_apex_pair


def time_estimator(prev: np.ndarray, nxt: np.ndarray, method: str, repeats: int = 3, **params) -> tuple:
    """(flow, best-of-``repeats`` milliseconds) for one pair."""
    best, flow = float("inf"), None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        flow = estimate(prev, nxt, method, **params)
        best = min(best, time.perf_counter() - t0)
    return flow, 1000 * best


def compare_estimators(clips, methods, size: int, repeats: int = 1, moving: float = 0.25) -> pd.DataFrame:
    """One row per (clip, method): ``epe`` (px at ``size``; NaN without ground truth), ``epe_zero``
    (the EPE of predicting no motion), ``ms``. EPE is taken where the true motion exceeds ``moving`` x
    its maximum (the face region that moves; elsewhere the truth is ~0 and any estimator is right)."""
    rows = []
    for clip in clips:
        prev, nxt = onset_apex_pair(clip, size)
        truth = clip.truth() if hasattr(clip, "truth") else None
        gt = resize_flow(truth["flow"], size) if truth is not None else None
        mask = None
        if gt is not None:
            mag = np.linalg.norm(gt, axis=-1)
            mask = mag > moving * mag.max()
        for method in methods:
            flow, ms = time_estimator(prev, nxt, method, repeats)
            rows.append({"clip": f"{clip.subject}/{clip.clip}", "method": method, "ms": ms,
                         "epe": epe(flow, gt, mask) if gt is not None else np.nan,
                         "epe_zero": epe(np.zeros_like(gt), gt, mask) if gt is not None else np.nan})
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean EPE, EPE relative to the zero-motion guess, and mean ms per method."""
    g = table.assign(rel=table["epe"] / table["epe_zero"]).groupby("method", sort=False)
    return pd.DataFrame({"EPE (px)": g["epe"].mean(), "EPE / zero-flow EPE": g["rel"].mean(),
                         "ms per pair": g["ms"].mean()}).round(3)
