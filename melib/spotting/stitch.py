"""Windows of a video -> one per-frame curve (the reference's window stitching, ME-TST "post-processing").

Windows of length k start every h = k // 2 frames (``melib.data.windows.window_starts``). The first window
of a video writes all k of its frames, every later one only its second half ``[s + h, s + k)``.

Fixed by default (``reference=False``):
- the first window of EVERY video, and only it, writes its first half;
- frames after the last window (the tail shorter than a half window) take a window aligned to the video's
  end when one is given (``tail``), else the last window's last value, so every frame is written.

``reference=True, batch_offset=..., batch_size=...`` reproduces the authors' test loop exactly: it tests a
window's position in its BATCH, not in its video. The window at position 0 of each batch writes all k
frames (so (a) a video whose first window is not at a batch start keeps frames 0..h-1 at zero, and (b)
mid-video, the first window of each batch overwrites the previous window's second half with its own first
half); every other window writes its second half. The curve has (n_w + 1) * k // 2 frames: frames after
the last window are absent, not zero.
"""

from __future__ import annotations

import numpy as np


def stitch(window_values: np.ndarray, starts: np.ndarray, n_frames: int, *, tail: np.ndarray | None = None,
           reference: bool = False, batch_offset: int = 0, batch_size: int = 1) -> np.ndarray:
    """Stitch (n_w, k[, C]) window outputs at ``starts`` into an (n_frames[, C]) curve.

    ``reference=True``: the authors' (n_w + 1) * k // 2 frames; window w sits at position
    ``batch_offset + w`` of the test loader (its fold's windows in order, batches of ``batch_size``).
    """
    v = np.asarray(window_values, dtype=float)  # (n_w, k[, C])
    starts = np.asarray(starts, dtype=int)
    if v.ndim < 2 or v.shape[0] != starts.size:
        raise ValueError(f"stitch: {starts.size} window starts but window values of shape {v.shape}")
    k = v.shape[1]
    h = k // 2
    if reference:
        return _stitch_reference(v, starts, batch_offset, batch_size)
    out = np.zeros((n_frames,) + v.shape[2:])  # (T[, C])
    written = np.zeros(n_frames, dtype=bool)
    for w, s in enumerate(starts):
        lo = s if w == 0 else s + h
        hi = min(s + k, n_frames)
        if lo < hi:
            out[lo:hi] = v[w, lo - s: hi - s]
            written[lo:hi] = True
    if not written.all():
        missing = np.flatnonzero(~written)
        if tail is not None:
            t = np.asarray(tail, dtype=float)  # (k[, C]) for the window [n_frames - k, n_frames)
            out[missing] = t[missing - (n_frames - t.shape[0])]
        elif written.any():
            out[missing] = out[np.flatnonzero(written)[-1]]
        else:
            raise ValueError(f"stitch: no window covers any of the {n_frames} frames")
    return out


def _stitch_reference(v: np.ndarray, starts: np.ndarray, batch_offset: int, batch_size: int) -> np.ndarray:
    """The authors' test-loop stitching of (n_w, k[, C]) window values (see the module docstring)."""
    k = v.shape[1]
    h = k // 2
    if k % 2:
        raise ValueError(f"reference stitching needs an even window length (the authors' k = 30 or 50), got {k}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not np.array_equal(starts, np.arange(starts.size) * h):
        raise ValueError("reference stitching expects the windows at w * (k // 2) (window_starts)")
    out = np.zeros(((starts.size + 1) * k // 2,) + v.shape[2:])  # ((n_w + 1) k / 2[, C])
    for w, s in enumerate(starts):
        lo = s if (batch_offset + w) % batch_size == 0 else s + h  # batch position 0 writes all k frames
        out[lo:s + k] = v[w, lo - s:]
    return out


def fold_videos(pred: dict, source: str = "fixed") -> list[dict]:
    """One LOSO fold's ``predictions.npz`` arrays -> per-video dicts with per-frame curves.

    ``source``: "fixed" (default stitching), "reference" (the authors' batch-position stitching, curves of
    (n_w + 1) * k // 2 frames) or "video" (whole-video inference). Each dict: ``name``, ``scores`` (n,),
    ``logits`` (n, K), ``gt`` (m, 2), ``gt_labels`` (m,).
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
