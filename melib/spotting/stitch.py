"""Windows of a video -> one per-frame curve (the reference's window stitching, ME-TST "post-processing").

Windows of length k start every h = k // 2 frames (``melib.data.windows.window_starts``). The first window
of a video writes all k of its frames, every later one only its second half ``[s + h, s + k)``.

Fixed by default (``reference=False``):
- the first window of EVERY video writes its first half (the reference tests the window's index inside
  its batch, so a video whose first window is not at batch position 0 keeps frames 0..h-1 at zero:
  ``reference=True, batch_offset=..., batch_size=...`` reproduces it);
- frames after the last window (the tail shorter than a half window) take a window aligned to the video's
  end when one is given (``tail``), else the last window's last value, so every frame is written.
"""

from __future__ import annotations

import numpy as np


def stitch(window_values: np.ndarray, starts: np.ndarray, n_frames: int, *, tail: np.ndarray | None = None,
           reference: bool = False, batch_offset: int = 0, batch_size: int = 1) -> np.ndarray:
    """Stitch (n_w, k[, C]) window outputs at ``starts`` into an (n_frames[, C]) curve."""
    v = np.asarray(window_values, dtype=float)  # (n_w, k[, C])
    starts = np.asarray(starts, dtype=int)
    if v.ndim < 2 or v.shape[0] != starts.size:
        raise ValueError(f"stitch: {starts.size} window starts but window values of shape {v.shape}")
    k = v.shape[1]
    h = k // 2
    out = np.zeros((n_frames,) + v.shape[2:])  # (T[, C])
    written = np.zeros(n_frames, dtype=bool)
    for w, s in enumerate(starts):
        first = (w == 0) if not reference else (w == 0 and (batch_offset % batch_size) == 0)
        lo = s if first else s + h
        hi = min(s + k, n_frames)
        if lo < hi:
            out[lo:hi] = v[w, lo - s: hi - s]
            written[lo:hi] = True
    if not reference and not written.all():
        missing = np.flatnonzero(~written)
        if tail is not None:
            t = np.asarray(tail, dtype=float)  # (k[, C]) for the window [n_frames - k, n_frames)
            out[missing] = t[missing - (n_frames - t.shape[0])]
        elif written.any():
            out[missing] = out[np.flatnonzero(written)[-1]]
        else:
            raise ValueError(f"stitch: no window covers any of the {n_frames} frames")
    return out


def fold_videos(pred: dict, source: str = "fixed") -> list[dict]:
    """One LOSO fold's ``predictions.npz`` arrays -> per-video dicts with per-frame curves.

    ``source``: "fixed" (default stitching), "reference" (the reference's batch-index stitching) or
    "video" (whole-video inference). Each dict: ``name``, ``scores`` (n,), ``logits`` (n, K), ``gt`` (m, 2),
    ``gt_labels`` (m,).
    """
    from melib.data.windows import window_starts

    if source not in ("fixed", "reference", "video"):
        raise ValueError(f"source must be 'fixed', 'reference' or 'video', got {source!r}")
    lengths, k, batch = pred["lengths"], int(pred["k"]), int(pred["batch"])
    ends, gends = np.cumsum(lengths), np.cumsum(pred["gt_counts"])
    wends = np.cumsum(pred["win_counts"] + 1)
    out, offset = [], 0
    for i, n in enumerate(lengths):
        s, gs, ws = ends[i] - n, gends[i] - pred["gt_counts"][i], wends[i] - pred["win_counts"][i] - 1
        v = {"name": str(pred["names"][i]), "gt": pred["gt"][gs:gends[i]],
             "gt_labels": pred["gt_labels"][gs:gends[i]]}
        if source == "video":
            v["scores"], v["logits"] = pred["scores_video"][s:ends[i]], pred["logits_video"][s:ends[i]]
        else:
            starts = window_starts(int(n), k)
            ref = source == "reference"
            for key, arr in (("scores", pred["win_spot"]), ("logits", pred["win_logits"])):
                win, tail = arr[ws:wends[i] - 1], arr[wends[i] - 1]
                v[key] = stitch(win, starts, int(n), tail=None if ref else tail, reference=ref,
                                batch_offset=offset, batch_size=batch) if len(starts) else tail
        offset += int(pred["win_counts"][i])
        out.append(v)
    return out
