"""Onset -> apex flow of a short clip: the motion field OF_ori that AMMSM magnifies (Sec. III-A).

Both frames are read grey, resized to ``size x size`` (by default the clip is taken as already
face-cropped, as CASME II's and SAMM's cropped releases and SynthME's clips are; ``crop=`` crops raw
frames around the onset frame's landmarks first), and the flow is computed at that size. Result ``(2, size, size) float32`` = channels (u, v) first, ready for a (B, 2, H, W) batch.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from melib import faces
from melib.flow.cache import cached_array, file_stamp
from melib.flow.estimators import estimate


def _face_square(img: np.ndarray, scale: float, source: str) -> tuple[int, int, int, int]:
    """A square box around the 68 landmarks of ``img`` (``scale`` x their extent), kept inside it."""
    x0, y0, x1, y1 = faces.face_box(faces.landmarks(img, source=source), scale)
    side = min(x1 - x0, y1 - y0, img.shape[1], img.shape[0])
    x0 = int(np.clip(x0, 0, img.shape[1] - side))
    y0 = int(np.clip(y0, 0, img.shape[0] - side))
    return x0, y0, x0 + side, y0 + side


def onset_apex_pair(clip, size: int, crop: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Onset and apex frames, grey, ``size x size``. ``crop`` = None uses the whole frame (face-cropped
    releases, SynthME); a number crops both frames to the square around the onset frame's landmarks,
    ``crop`` x their extent (raw releases with background, e.g. CASME2-RAW)."""
    a, b = clip.read_frame(clip.onset, gray=True), clip.read_frame(clip.apex, gray=True)
    if crop is not None:
        x0, y0, x1, y1 = _face_square(a, crop, f"{clip.frame_path(clip.onset)}")
        a, b = a[y0:y1, x0:x1], b[y0:y1, x0:x1]
    return tuple(cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in (a, b))


def onset_apex_flow(clip, method: str = "tvl1", size: int = 128, cache_dir: str | Path | None = None,
                    crop: float | None = None, **params) -> np.ndarray:
    """Flow from the clip's onset frame to its apex frame at ``size x size`` -> ``(2, size, size)``.

    ``crop``: see :func:`onset_apex_pair`. ``cache_dir`` (e.g. ``cfg.cache("flow")``) caches the result
    keyed by the onset/apex frame files (path, size, modification time), the method, the size, ``crop``
    and ``params``. A clip whose apex equals its onset gives zero flow.
    """
    files = [clip.frame_path(clip.onset), clip.frame_path(clip.apex)]
    key = {"kind": "onset_apex", "onset": str(files[0]), "apex": str(files[1]), "stamp": file_stamp(files),
           "method": method, "size": int(size), "crop": crop, "params": params}

    def compute() -> np.ndarray:
        a, b = onset_apex_pair(clip, size, crop)
        flow = estimate(a, b, method, **params)  # (size, size, 2)
        return np.ascontiguousarray(flow.transpose(2, 0, 1))  # (2, size, size)

    return cached_array(cache_dir, f"oa-{clip.subject}-{clip.clip}", key, compute).astype(np.float32)
