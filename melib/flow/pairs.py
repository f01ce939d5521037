"""Onset -> apex flow of a short clip: the motion field OF_ori that AMMSM magnifies (Sec. III-A).

Both frames are read grey, resized to ``size x size`` (the clip is taken as already face-cropped, as
CASME II's and SAMM's cropped releases and SynthME's clips are), and the flow is computed at that
size. Result ``(2, size, size) float32`` = channels (u, v) first, ready for a (B, 2, H, W) batch.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from melib.flow.cache import cached_array, file_stamp
from melib.flow.estimators import estimate


def _resized_gray(clip, number: int, size: int) -> np.ndarray:
    img = clip.read_frame(number, gray=True)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)  # (size, size)


def onset_apex_flow(clip, method: str = "tvl1", size: int = 128, cache_dir: str | Path | None = None,
                    **params) -> np.ndarray:
    """Flow from the clip's onset frame to its apex frame at ``size x size`` -> ``(2, size, size)``.

    ``cache_dir`` (e.g. ``cfg.cache("flow")``) caches the result keyed by the clip's onset/apex frame
    files (path, size, modification time), the method, the size and ``params``. A clip whose apex equals its onset gives zero flow.
    """
    files = [clip.frame_path(clip.onset), clip.frame_path(clip.apex)]
    key = {"kind": "onset_apex", "onset": str(files[0]), "apex": str(files[1]), "stamp": file_stamp(files),
           "method": method, "size": int(size), "params": params}

    def compute() -> np.ndarray:
        a, b = _resized_gray(clip, clip.onset, size), _resized_gray(clip, clip.apex, size)
        flow = estimate(a, b, method, **params)  # (size, size, 2)
        return np.ascontiguousarray(flow.transpose(2, 0, 1))  # (2, size, size)

    return cached_array(cache_dir, f"oa-{clip.subject}-{clip.clip}", key, compute).astype(np.float32)
