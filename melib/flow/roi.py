"""ME-TST ROI motion features of long videos (ME-TST Sec. II-A; me-tst-reference.md, "Pre-processing").

Two definitions, chosen by ``definition=``:

- ``"reference"`` (the default, what ME-TST's model was trained on): exactly the authors' extractor,
  :mod:`melib.flow.roi_reference` (flow per bare patch, their crop rounding, boxes, trims, pooling,
  re-alignment in frame pixels that persists, face-detection fallback).
- ``"melib"`` (below): Farneback on the whole 320 crop (or padded ROI regions, ``fast=True``), ROIs cut
  from it afterwards, so patch edges do not shape the flow; the crop box is float, and re-alignment
  converts crop px to frame px and is redone per frame. Better at: pooled flow that does not depend on
  where a box edge falls (edge pixels of a bare 25 px patch see a Farneback window that is mostly
  outside the patch). Notebook 02 shows the two side by side.

``"melib"`` definition, per window of ``k`` frames (50% overlap: window w starts at w * (k // 2); n frames give
n // (k // 2) - 1 windows):

1. 68 landmarks on the window's first frame; g = int(|p39 - p42| / 2), c = midpoint of p39, p42;
   crop rows [cy - 3.5 g, cy + 5.5 g], cols [cx - 4.5 g, cx + 4.5 g], resized to 320 x 320
   (outside the frame: border pixels repeated); landmarks re-detected on the crop.
2. ROIs on the crop (:data:`ROIS`: landmark bounding box plus margins) and pooling fractions.
3. Farneback (:data:`~melib.flow.estimators.FARNEBACK_METST`) from the window's FIRST crop to each
   frame's crop; per ROI the (u, v) of the top fraction of pixels by magnitude are averaged.
4. Global motion = pooled flow of the nose-bridge patch; every ROI minus it. If it exceeds 1 px,
   the frame's crop is shifted by it and the flow recomputed, at most :data:`MAX_REALIGN` = 3 times.
5. Output (10, k): [brow L u, v, brow R u, v, mouth u, v, nose31 u, v, nose35 u, v]; column 0 = 0.

Fast path (``fast=True``, the default; equal to the plain path within :data:`FAST_TOLERANCE`):
frames are decoded once per video (each frame belongs to two windows) in a thread pool; Farneback runs
only on the padded bounding boxes of the ROIs (:data:`PAD` px) instead of the whole 320 x 320 crop,
frames of a window in parallel threads (OpenCV releases the GIL).
Opt-in ``jpeg_reduce=True`` also decodes at the largest JPEG reduction (2, 4 or 8) that leaves the crop
>= 320 px. It is NOT equal to the reference: libjpeg's reduced decode averages pixels, while the
reference's INTER_LINEAR resize of the full frame subsamples them (on a 675 px crop, 0.43 px apart at
a 3.2 px peak), so it is off by default; decoding is not the bottleneck anyway (see README).

Documented repairs: a window whose first frame has no detectable face reuses the previous window's
landmarks (the next window's for a leading run), with a warning; no face in the whole video is a
:class:`melib.faces.FaceNotFoundError`. Frames of a size other than the first frame's, and NaN flow,
are ValueErrors naming the video and frame.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from melib import faces
from melib.data.records import read_image
from melib.flow import roi_reference
from melib.flow.cache import cache_path, cached_array, file_stamp
from melib.flow.estimators import FARNEBACK_METST, check_flow

CROP = 320
MAX_REALIGN = 3
REALIGN_PX = 1.0
# Context (px of the 320 crop) kept around each ROI on the fast path: Farneback's coarsest level (1/4)
# needs it. On a 1280x720 SynthME video a 1.5 px brow raise differed from the plain path by 0.26 px at
# PAD 16, 0.011 px at 24 and 0.0006 px at 32.
PAD = 32
FAST_TOLERANCE = 0.05  # px: max |fast - plain| per feature value (tests/test_roi.py)
# name: (landmarks, (rows above, rows below), (cols left, cols right), top fraction, border trim)
ROIS = {
    "brow_l": (range(17, 22), (15, 5), (5, 0), 0.3, 10),
    "brow_r": (range(22, 27), (15, 5), (0, 5), 0.3, 10),
    "mouth": (range(48, 67), (15, 10), (20, 20), 0.3, 10),
    "nose31": ([31], (20, 5), (20, 10), 0.2, 0),
    "nose35": ([35], (20, 5), (10, 20), 0.2, 0),
    "global": ([29, 30], (13, 13), (13, 13), 0.7, 0),
}
CHANNELS = ["brow_l_u", "brow_l_v", "brow_r_u", "brow_r_v", "mouth_u", "mouth_v",
            "nose31_u", "nose31_v", "nose35_u", "nose35_v"]
FEATURE_ROIS = ["brow_l", "brow_r", "mouth", "nose31", "nose35"]


def n_windows(n_frames: int, k: int) -> int:
    """ME-TST window count: n // (k // 2) - 1 (windows of k frames, stride k // 2)."""
    return max(0, n_frames // (k // 2) - 1)


def crop_box(points: np.ndarray) -> tuple[float, float, float]:
    """(x0, y0, side) of the square crop from the inner eye corners 39 and 42 (reference step 1)."""
    g = int(np.linalg.norm(points[39] - points[42]) / 2)
    if g < 2:
        raise ValueError(f"inner eye corners 39/42 are {2 * g} px apart: no usable face")
    cx, cy = (points[39] + points[42]) / 2
    return float(int(cx - 4.5 * g)), float(int(cy - 3.5 * g)), float(9 * g)


def crop_face(img: np.ndarray, box: tuple[float, float, float], shift=(0.0, 0.0), reduce: int = 1) -> np.ndarray:
    """The box (x0, y0, side) of the full-resolution frame, shifted by (dx, dy), as a 320 x 320 image.

    Same sampling as ``cv2.resize(img[y0:y0+side, x0:x0+side], (320, 320))`` (INTER_LINEAR, pixel
    centres aligned); ``img`` may be decoded at 1/``reduce`` of the full size; outside = border repeat.
    """
    x0, y0, side = box
    s = side / CROP / reduce  # source px (at 1/reduce) per crop px
    m = np.float32([[s, 0, (x0 + shift[0]) / reduce + 0.5 * s - 0.5],
                    [0, s, (y0 + shift[1]) / reduce + 0.5 * s - 0.5]])  # crop (x, y) -> source (x, y)
    return cv2.warpAffine(img, m, (CROP, CROP), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def roi_boxes(points: np.ndarray) -> dict[str, tuple[int, int, int, int]]:
    """ROI name -> (y0, y1, x0, x1) in the 320 crop (landmark bounding box plus margins, clipped)."""
    boxes = {}
    for name, (idx, (top, bottom), (left, right), _, _) in ROIS.items():
        p = points[list(idx)]
        y0, y1 = int(p[:, 1].min()) - top, int(p[:, 1].max()) + bottom
        x0, x1 = int(p[:, 0].min()) - left, int(p[:, 0].max()) + right
        y0, x0 = max(y0, 0), max(x0, 0)
        y1, x1 = min(y1, CROP), min(x1, CROP)
        if y1 - y0 < 2 or x1 - x0 < 2:
            raise ValueError(f"ROI {name} is empty in the 320 crop: rows {y0}:{y1}, cols {x0}:{x1}")
        boxes[name] = (y0, y1, x0, x1)
    return boxes


def pool_top(flow: np.ndarray, fraction: float, trim: int = 0) -> np.ndarray:
    """Mean (u, v) over the top ``fraction`` of pixels by magnitude, after trimming ``trim`` px borders
    (reference step 3). flow (h, w, 2) -> (2,)."""
    h, w = flow.shape[:2]
    if trim and h > 2 * trim and w > 2 * trim:
        flow = flow[trim:h - trim, trim:w - trim]
    vec = flow.reshape(-1, 2)  # (h*w, 2)
    n = max(1, int(fraction * len(vec)))
    mag = np.einsum("ij,ij->i", vec, vec)
    top = np.argpartition(-mag, n - 1)[:n] if n < len(vec) else slice(None)
    return vec[top].mean(0)


def _used(name: str, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The part of an ROI box that pooling reads (its ``trim`` border removed, as :func:`pool_top`)."""
    y0, y1, x0, x1 = box
    trim = ROIS[name][4]
    if trim and y1 - y0 > 2 * trim and x1 - x0 > 2 * trim:
        return y0 + trim, y1 - trim, x0 + trim, x1 - trim
    return box


def _area(r: tuple[int, int, int, int]) -> int:
    return (r[1] - r[0]) * (r[3] - r[2])


def regions(boxes: dict[str, tuple[int, int, int, int]], pad: int | None = None) -> list[tuple[int, int, int, int]]:
    """Padded ROI boxes, two merged where their union is no larger than the pair: the sub-images the
    fast path runs Farneback on (``pad`` defaults to :data:`PAD`)."""
    pad = PAD if pad is None else pad
    rects = [(max(y0 - pad, 0), min(y1 + pad, CROP), max(x0 - pad, 0), min(x1 + pad, CROP))
             for y0, y1, x0, x1 in (_used(name, box) for name, box in boxes.items())]
    merged = True
    while merged:
        merged = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, b = rects[i], rects[j]
                u = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
                if _area(u) <= _area(a) + _area(b):  # one flow on the union costs no more than two
                    rects[i] = u
                    del rects[j]
                    merged = True
                    break
            if merged:
                break
    return rects


@dataclass
class WindowGeometry:
    """Where a window's face is: the crop box in the frame and the ROI boxes in the 320 crop."""

    box: tuple[float, float, float]
    rois: dict[str, tuple[int, int, int, int]]
    points: np.ndarray  # (68, 2) landmarks in the 320 crop


def window_geometry(frame: np.ndarray, source: str = "frame") -> WindowGeometry:
    """Landmarks on a window's full-resolution first frame -> crop box -> landmarks on the 320 crop."""
    pts = faces.landmarks(frame, upsample=0, source=source)  # (68, 2)
    box = crop_box(pts)
    face = crop_face(frame, box)  # (320, 320)
    try:
        crop_pts = faces.landmarks(face, upsample=0, source=f"{source} (320 crop)")
    except faces.FaceNotFoundError:  # a tight crop can defeat the detector: map the frame's landmarks
        crop_pts = (pts - np.float32(box[:2])) * (CROP / box[2])
    return WindowGeometry(box, roi_boxes(crop_pts), crop_pts)


class _FlowOnRois:
    """Farneback from one reference crop, on the whole crop (plain) or on ROI regions only (fast)."""

    def __init__(self, ref: np.ndarray, rois: dict, fast: bool, params: dict):
        self.ref, self.rois, self.params = ref, rois, params
        self.rects = regions(rois) if fast else [(0, CROP, 0, CROP)]

    def __call__(self, img: np.ndarray, source: str, clock: dict) -> dict[str, np.ndarray]:
        p, out = self.params, {}
        for y0, y1, x0, x1 in self.rects:
            t0 = time.perf_counter()
            a = np.ascontiguousarray(self.ref[y0:y1, x0:x1])
            b = np.ascontiguousarray(img[y0:y1, x0:x1])
            f = cv2.calcOpticalFlowFarneback(a, b, None, p["pyr_scale"], p["levels"], p["winsize"],
                                              p["iterations"], p["poly_n"], p["poly_sigma"], p["flags"])
            f = check_flow(f, source)  # (y1-y0, x1-x0, 2)
            t1 = time.perf_counter()
            for name, (ry0, ry1, rx0, rx1) in self.rois.items():
                if name not in out and y0 <= ry0 and ry1 <= y1 and x0 <= rx0 and rx1 <= x1:
                    _, _, _, frac, trim = ROIS[name]
                    out[name] = pool_top(f[ry0 - y0:ry1 - y0, rx0 - x0:rx1 - x0], frac, trim)
            clock["flow"] = clock.get("flow", 0.0) + t1 - t0
            clock["pooling"] = clock.get("pooling", 0.0) + time.perf_counter() - t1
        return out


def _frame_column(flow_on: _FlowOnRois, frame: np.ndarray, geom: WindowGeometry, reduce: int,
                  source: str, clock: dict) -> tuple[np.ndarray, int]:
    """Reference steps 3-4 for one frame: pooled ROI flow minus global motion, with re-alignment."""
    shift = np.zeros(2)
    for attempt in range(MAX_REALIGN + 1):
        pooled = flow_on(crop_face(frame, geom.box, shift, reduce), source, clock)
        glob = pooled["global"]
        if np.hypot(*glob) <= REALIGN_PX or attempt == MAX_REALIGN:
            break
        shift = shift + glob * geom.box[2] / CROP  # crop px -> frame px: the crop follows the head
    col = np.concatenate([pooled[n] - glob for n in FEATURE_ROIS])  # (10,)
    return col.astype(np.float32), attempt


def window_features(frames: list[np.ndarray], geom: WindowGeometry, reduce: int = 1, fast: bool = True,
                    params: dict | None = None, source: str = "window", pool: ThreadPoolExecutor | None = None,
                    clock: dict | None = None) -> tuple[np.ndarray, int]:
    """(10, k) features of one window (frames decoded at 1/reduce) and its number of re-alignments."""
    params = {**FARNEBACK_METST, **(params or {})}
    clock = {} if clock is None else clock
    flow_on = _FlowOnRois(crop_face(frames[0], geom.box, reduce=reduce), geom.rois, fast, params)
    feats = np.zeros((10, len(frames)), np.float32)  # (10, k); column 0 = the reference frame

    def column(j):
        return _frame_column(flow_on, frames[j], geom, reduce, f"{source}, frame {j}", clock)

    cols = list((pool.map if pool is not None else map)(column, range(1, len(frames))))
    for j, (col, _) in enumerate(cols, start=1):
        feats[:, j] = col
    return feats, sum(n for _, n in cols)


def choose_reduce(side: float, allowed: Iterable[int] = (8, 4, 2)) -> int:
    """Largest JPEG reduction r such that the crop (``side`` full-res px) keeps >= 320 px at 1/r."""
    return next((r for r in allowed if side / r >= CROP), 1)


class FrameReader:
    """Grey frames of a video by 0-based index, optionally JPEG-reduced, checked for a constant size."""

    def __init__(self, video, reduce: int = 1):
        self.video, self.reduce = video, reduce
        self.paths = list(getattr(video, "frame_paths", []) or [])
        self.n = len(self.paths) or int(video.n_frames)
        self.name = f"{getattr(video, 'subject', '')}/{getattr(video, 'name', '')}".strip("/") or "video"
        self.shape = None
        if reduce > 1 and not self.paths:
            raise ValueError(f"{self.name}: JPEG reduction needs frame files (video.frame_paths)")

    def where(self, i: int) -> str:
        return f"{self.paths[i]}" if self.paths else f"{self.name} frame {i}"

    def __call__(self, i: int, reduce: int | None = None) -> np.ndarray:
        r = self.reduce if reduce is None else reduce
        if self.paths:
            img = read_image(self.paths[i], gray=True, reduce=r)  # DataError naming the file: missing/truncated/bad
        else:
            img = faces_gray(self.video.read_frame(i, gray=True))
        full = (img.shape[0] * r, img.shape[1] * r) if self.paths else img.shape
        if self.shape is None:
            self.shape = full
        elif abs(full[0] - self.shape[0]) > r or abs(full[1] - self.shape[1]) > r:
            raise ValueError(f"{self.where(i)}: frame size {full[1]}x{full[0]} differs from the video's first "
                             f"frame {self.shape[1]}x{self.shape[0]} ({self.name}); all frames must match")
        return img


def faces_gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def _geometries(reader: FrameReader, starts: list[int], clock: dict) -> list[WindowGeometry]:
    """One geometry per window; a window without a face borrows its neighbour's (warned)."""
    geoms: list[WindowGeometry | None] = []
    for s in starts:
        t0 = time.perf_counter()
        try:
            geoms.append(window_geometry(reader(s, reduce=1), source=reader.where(s)))
        except faces.FaceNotFoundError:
            geoms.append(None)
        clock["landmarks"] = clock.get("landmarks", 0.0) + time.perf_counter() - t0
    found = [i for i, g in enumerate(geoms) if g is not None]
    if not found:
        raise faces.FaceNotFoundError(f"{reader.name}: no face in the first frame of any of its {len(starts)} windows")
    missing = [s for s, g in zip(starts, geoms) if g is None]
    if missing:
        warnings.warn(f"{reader.name}: no face at window start frame(s) {missing}; reusing the previous "
                      "window's landmarks (the first found for leading windows)", RuntimeWarning, stacklevel=3)
    last = geoms[found[0]]
    for i, g in enumerate(geoms):
        geoms[i] = last = g if g is not None else last
    return geoms


def _compute(video, k: int, starts: list[int], fast: bool, workers: int, params: dict | None,
             clock: dict, progress=None, jpeg_reduce: bool = False) -> np.ndarray:
    """(len(starts), 10, k) for windows starting at ``starts`` (frames [s, s + k))."""
    plain = FrameReader(video)
    geoms = _geometries(plain, starts, clock)
    reduce = choose_reduce(min(g.box[2] for g in geoms)) if jpeg_reduce and plain.paths else 1
    reader = FrameReader(video, reduce) if reduce > 1 else plain
    if reduce > 1:
        reader.shape = plain.shape
    out = np.zeros((len(starts), 10, k), np.float32)  # (n_windows, 10, k)
    cache: dict[int, np.ndarray] = {}
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for w in (progress or (lambda r: r))(range(len(starts))):
            s = starts[w]
            t0 = time.perf_counter()
            need = [i for i in range(s, s + k) if i not in cache]
            cache.update(zip(need, pool.map(reader, need)))
            for i in [i for i in cache if i < s]:
                del cache[i]
            clock["decode"] = clock.get("decode", 0.0) + time.perf_counter() - t0
            frames = [cache[i] for i in range(s, s + k)]
            out[w], n_re = window_features(frames, geoms[w], reduce, fast, params,
                                           f"{reader.name}, window {w} (start {s})", pool, clock)
            clock["realignments"] = clock.get("realignments", 0) + n_re
    clock["reduce"] = reduce
    return out


DEFINITIONS = ("reference", "melib")
REFERENCE_VERSION = 1  # bump when roi_reference's arithmetic changes: old cache entries are then recomputed


def _check_definition(definition: str) -> None:
    if definition not in DEFINITIONS:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")


class _Clock:
    """CPU seconds of this thread per stage (``time.thread_time``: not inflated by other jobs' load)."""

    def __init__(self, clock: dict):
        self.clock = clock

    def add(self, key: str, since: float) -> float:
        now = time.thread_time()
        self.clock[key] = self.clock.get(key, 0.0) + now - since
        return now


def _run_parts(reader: FrameReader, k: int, starts: list[int], parts, params: dict | None, clock: dict,
               progress=None, start_bounds: dict | None = None) -> list[tuple]:
    """Reference columns [j0, j1) of window w for each part (w, j0, j1), in this process: each frame decoded
    once (overlapping windows share it), one geometry (landmarks) per window. A part starting mid-window
    (j0 > 1) begins from ``start_bounds[w]`` or, by default, the window's own crop box (an assumption the
    caller checks, see :func:`_assemble`). -> [(w, j0, j1, columns (10, j1 - j0), start box, end box, moves)]."""
    params = {**FARNEBACK_METST, **(params or {})}
    tick = _Clock(clock)
    cache: dict[int, np.ndarray] = {}
    geoms: dict[int, roi_reference.Geometry] = {}

    def frame(i: int) -> np.ndarray:
        if i not in cache:
            t0 = time.thread_time()
            cache[i] = reader(i)
            tick.add("decode", t0)
        return cache[i]

    out = []
    for w, j0, j1 in (progress or (lambda r: r))(parts):
        s = starts[w]
        for i in [i for i in cache if i < s]:
            del cache[i]
        if w not in geoms:
            d0, t0 = clock.get("decode", 0.0), time.thread_time()
            geoms[w] = roi_reference.window_geometry(frame, s, reader.n, reader.where)
            tick.add("landmarks", t0)
            clock["landmarks"] -= clock.get("decode", 0.0) - d0  # decoding inside the face search is decode
        geom = geoms[w]
        b0 = (start_bounds or {}).get(w, geom.bounds) if j0 > 1 else geom.bounds
        cols, b1, moves = roi_reference.window_columns([frame(s + j) for j in range(j0, j1)], geom, b0, params,
                                                       f"{reader.name}, window {w} (start {s})", clock, j0)
        out.append((w, j0, j1, cols, b0, b1, moves, geom.ref_frame != s))
    return out


def _assemble(results: list[tuple], n_windows_: int, k: int, redo) -> tuple[np.ndarray, int, int]:
    """(n_windows, 10, k) from parts; a part that assumed a start box other than where the window's previous
    part ended (a crop move earlier in that window) is recomputed by ``redo(w, j0, j1, box)`` from the true
    box, so the result equals one sequential pass. -> features, crop moves, windows on a fallback frame."""
    out = np.zeros((n_windows_, 10, k), np.float32)  # (n_windows, 10, k)
    end: dict[int, tuple] = {}
    moves = fallbacks = 0
    for w, j0, j1, cols, b0, b1, m, fb in sorted(results, key=lambda r: (r[0], r[1])):
        if j0 > 1 and b0 != end[w]:
            w, j0, j1, cols, b0, b1, m, fb = redo(w, j0, j1, end[w])
        out[w, :, j0:j1] = cols
        end[w] = b1
        moves += m
        fallbacks += fb and j0 == 1
    return out, moves, fallbacks


def split_parts(n_windows_: int, k: int, workers: int) -> list[list[tuple[int, int, int]]]:
    """The (window, first column, stop column) parts of ``workers`` segments of equal column counts: the
    windows' k - 1 columns each, in order, cut into contiguous runs (a window may straddle two)."""
    total = n_windows_ * (k - 1)
    cuts = [round(p * total / workers) for p in range(workers + 1)]
    segments = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        parts, u = [], a
        while u < b:
            w, j = divmod(u, k - 1)
            stop = min(b - w * (k - 1), k - 1)
            parts.append((w, j + 1, stop + 1))
            u = w * (k - 1) + stop
        segments.append(parts)
    return [s for s in segments if s]


def _parts_task(paths: list[str], name: str, k: int, starts: list[int], parts, params: dict | None):
    """Process-pool task: reference parts of the video whose frames are ``paths`` (no shared state)."""
    c0 = time.process_time()
    reader = FrameReader(SimpleNamespace(frame_paths=paths, n_frames=len(paths), subject="", name=name))
    clock: dict = {}
    res = _run_parts(reader, k, starts, parts, params, clock)
    clock["cpu"] = time.process_time() - c0
    return res, clock


_POOLS: dict[int, ProcessPoolExecutor] = {}


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, started once per session, one OpenCV thread each, no shared state.

    Fork where available: the dlib models, loaded first, are inherited instead of reloaded. OpenCV's
    thread pool does not survive a fork (a child that touches it hangs), so the processes are forked while
    this process runs OpenCV single-threaded; the children then never start OpenCV threads.
    """
    if workers in _POOLS and getattr(_POOLS[workers], "_broken", False):  # a worker died: start afresh
        _POOLS.pop(workers).shutdown(wait=False, cancel_futures=True)
    if workers not in _POOLS:
        faces._detector(), faces._predictor()
        fork = "fork" in multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=None if fork else cv2.setNumThreads,
                                   initargs=() if fork else (1,))
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:  # start every process now (a fork-context pool starts them all on the first submit)
            list(pool.map(abs, range(workers)))
        finally:
            cv2.setNumThreads(threads)
        _POOLS[workers] = pool
    return _POOLS[workers]


def _merge(clock: dict, part: dict) -> None:
    for key, val in part.items():
        clock[key] = clock.get(key, 0) + val


def _compute_reference(video, k: int, starts: list[int], workers: int, params: dict | None, clock: dict,
                       progress=None) -> np.ndarray:
    """Reference windows at ``starts``. With ``workers`` > 1 (and frame files), the windows' columns are cut
    into ``workers`` equal contiguous segments (:func:`split_parts`) run in a process pool; a window split
    between two segments is checked and, after a crop move in its first part, finished here from the true
    crop box (:func:`_assemble`): the features equal one process's. ``clock["cpu"]``: every process's CPU s."""
    reader = FrameReader(video)
    c0 = time.process_time()
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        def redo(w, j0, j1, box):
            return _run_parts(reader, k, starts, [(w, j0, j1)], params, clock, None, {w: box})[0]

        if workers <= 1 or not reader.paths or len(starts) < 2:
            parts = [(w, 1, k) for w in range(len(starts))]
            results = _run_parts(reader, k, starts, parts, params, clock, progress)
        else:
            paths = [str(p) for p in reader.paths]
            pool = process_pool(workers)
            jobs = [pool.submit(_parts_task, paths, reader.name, k, starts, seg, params)
                    for seg in split_parts(len(starts), k, workers)]
            results = []
            for job in jobs:
                res, part_clock = job.result()
                results += res
                _merge(clock, part_clock)
        out, moves, fallbacks = _assemble(results, len(starts), k, redo)
    finally:
        cv2.setNumThreads(threads)
    clock["realignments"] = clock.get("realignments", 0) + moves
    clock["fallbacks"] = clock.get("fallbacks", 0) + fallbacks
    clock["cpu"] = clock.get("cpu", 0.0) + time.process_time() - c0
    return out


def _key(video, k: int, start: int, stop: int, fast: bool, params: dict | None, jpeg_reduce: bool,
         definition: str = "melib", starts: list[int] | None = None) -> dict:
    reader = FrameReader(video)
    frames = file_stamp(reader.paths) if reader.paths else reader.name  # paths, sizes, mtimes
    key = {"video": reader.name, "frames": frames, "n": reader.n, "k": k, "start": start, "stop": stop,
           "farneback": {**FARNEBACK_METST, **(params or {})}}
    if starts is not None:
        key["starts"] = [int(s) for s in starts]
    if definition == "reference":
        return {**key, "definition": "reference", "version": REFERENCE_VERSION}
    return {**key, "fast": fast, "pad": PAD if fast else 0, "jpeg_reduce": jpeg_reduce,
            "rois": {n: [list(v[0]), *v[1:]] for n, v in ROIS.items()}, "max_realign": MAX_REALIGN}


def _features_at(video, k: int, starts: list[int], key: dict, definition: str, fast: bool, workers: int,
                 params: dict | None, cache_dir, progress, stats: dict | None, jpeg_reduce: bool) -> np.ndarray:
    clock = stats if stats is not None else {}

    def compute():
        if definition == "reference":
            return _compute_reference(video, k, starts, workers, params, clock, progress)
        return _compute(video, k, starts, fast, workers, params, clock, progress, jpeg_reduce)

    return cached_array(cache_dir, "roi", key, compute)


def roi_features(video, k: int = 30, start: int = 0, stop: int | None = None, fast: bool = True,
                 workers: int = 2, params: dict | None = None, cache_dir: str | Path | None = None,
                 progress=None, stats: dict | None = None, jpeg_reduce: bool = False,
                 definition: str = "reference") -> np.ndarray:
    """ME-TST ROI features of frames [start, stop) of a long video -> (n_windows, 10, k) float32.

    ``video``: a :class:`melib.data.Video` (or anything with ``frame_paths`` or ``read_frame``/``n_frames``).
    Windows start at ``start + w * (k // 2)``; each is computed from its own first frame. ``definition``:
    ``"reference"`` (the authors' extractor, default; ``workers`` processes) or ``"melib"`` (whole-crop
    flow; ``fast``, ``jpeg_reduce``, ``workers`` threads). ``cache_dir`` (e.g. ``cfg.cache("flow")``) caches
    the result keyed by video, frame range and every parameter. ``stats``, if given, receives CPU seconds
    per stage (decode / landmarks / flow / pooling; ``cpu`` = all processes) and the re-alignment count.
    """
    _check_definition(definition)
    if k < 4 or k % 2:
        raise ValueError(f"k (window length) must be an even number >= 4, got {k}")
    n = FrameReader(video).n
    stop = n if stop is None else min(stop, n)
    starts = [start + w * (k // 2) for w in range(n_windows(stop - start, k))]
    if not starts:
        raise ValueError(f"{FrameReader(video).name}: frames [{start}, {stop}) are fewer than one window of k={k}")
    key = _key(video, k, start, stop, fast, params, jpeg_reduce, definition)
    return _features_at(video, k, starts, key, definition, fast, workers, params, cache_dir, progress, stats,
                        jpeg_reduce)


def video_window_starts(n: int, k: int) -> list[int]:
    """Starts of a whole video's windows: w * (k // 2) for the n // (k // 2) - 1 windows, then the window
    ending at the last frame (n - k), which whole-video inference and the stitcher's tail need."""
    if n < k:
        raise ValueError(f"{n} frames are fewer than one window of k={k}")
    return [w * (k // 2) for w in range(n_windows(n, k))] + [n - k]


def video_windows(video, k: int = 30, definition: str = "reference", workers: int = 1,
                  params: dict | None = None, cache_dir: str | Path | None = None, progress=None,
                  stats: dict | None = None, fast: bool = True) -> np.ndarray:
    """Every window of a whole video, each from its own first frame -> (n_w + 1, 10, k) float32: the
    windows at :func:`video_window_starts` (the last row is the window ending at the last frame)."""
    _check_definition(definition)
    n = FrameReader(video).n
    starts = video_window_starts(n, k)
    key = {**_key(video, k, 0, n, fast, params, False, definition, starts), "whole": True}
    uniq = sorted(set(starts))  # the last window often starts where a regular one does: computed once
    rows = [uniq.index(s) for s in starts]

    def compute_unique():
        return _features_at(video, k, uniq, key, definition, fast, workers, params, None, progress, stats,
                            False)[rows]

    return cached_array(cache_dir, "roi", key, compute_unique)


def extract_video(video, k: int, cache_dir: str | Path, definition: str = "reference", workers: int = 1,
                  params: dict | None = None) -> Path:
    """Per-video entry point (cluster jobs, ``python -m melib.flow.roi``): compute :func:`video_windows`
    into ``cache_dir`` if it is not there yet (written atomically) and return the cache file's path."""
    video_windows(video, k, definition, workers, params, cache_dir)
    n = FrameReader(video).n
    key = {**_key(video, k, 0, n, True, params, False, definition, video_window_starts(n, k)), "whole": True}
    return cache_path(cache_dir, "roi", key)


def chain_windows(wins: np.ndarray, n: int) -> np.ndarray:
    """One continuous (10, n) sequence from :func:`video_windows`'s (n_w + 1, 10, k) output.

    Window displacements are chained into displacements from frame 0: window 0 gives columns [0, k);
    window w (start s_w = w k/2, whose column 0 is s_w) adds its second half on top of column s_w:
    ``seq[:, s_w + j] = seq[:, s_w] + win_w[:, j]`` for j >= k/2; frames after the last window come from
    the window ending at the last frame (the last row).
    """
    k = wins.shape[-1]
    half, body, tail = k // 2, wins[:-1], wins[-1]
    seq = np.zeros((wins.shape[1], n), np.float32)  # (10, T)
    seq[:, :k] = body[0]
    for w in range(1, len(body)):
        s = w * half
        seq[:, s + half:s + k] = seq[:, s:s + 1] + body[w][:, half:]
    end = (len(body) - 1) * half + k
    if end < n:
        seq[:, end:] = seq[:, n - k:n - k + 1] + tail[:, k - (n - end):]
    return seq


def roi_sequence(video, k: int = 30, fast: bool = True, workers: int = 2, params: dict | None = None,
                 cache_dir: str | Path | None = None, progress=None, definition: str = "reference") -> np.ndarray:
    """Whole-video variant -> one continuous (10, T) sequence (:func:`chain_windows`), T = the frame count.

    For whole-video inference only: ``melib.data.windows.cut_windows(seq, starts, k, relative=True)``
    returns a window exactly on its second half (and window 0 whole), but its first half comes from the
    previous window's reference frame; training and windowed inference use :func:`video_windows`.
    """
    wins = video_windows(video, k, definition, workers, params, cache_dir, progress, fast=fast)
    return chain_windows(wins, FrameReader(video).n)


def metst_views(dataset) -> list:
    """The videos of a long-video dataset that ME-TST reads (those with an ME), after its frame skip
    (SAMM-LV keeps every 7th frame): what :func:`melib.train.metst.video_sequences` featurises."""
    from melib.data.windows import settings

    skip = settings(dataset.name).skip
    return [SimpleNamespace(subject=v.subject, name=v.name, frame_paths=list(v.frame_paths)[::skip])
            for v in dataset.videos if v.mes]


def extract_dataset(videos, k: int, cache_dir: str | Path, workers: int = 1, definition: str = "reference",
                    params: dict | None = None, progress: bool = True) -> list[Path]:
    """:func:`extract_video` for every video, with a progress bar over videos and ``workers`` processes
    (one video each, no shared state). Resumable: a video already in ``cache_dir`` is read, not recomputed,
    and each file is written to a temporary name and renamed, so an interrupted run leaves no partial file."""
    from tqdm.auto import tqdm

    paths: list[Path | None] = [None] * len(videos)
    with tqdm(total=len(videos), desc="ROI features", unit="video", disable=not progress) as bar:
        if workers <= 1:
            for i, v in enumerate(videos):
                paths[i] = extract_video(v, k, cache_dir, definition, 1, params)
                bar.update()
        else:
            pool = process_pool(workers)
            jobs = {pool.submit(extract_video, v, k, str(cache_dir), definition, 1, params): i
                    for i, v in enumerate(videos)}
            for job in as_completed(jobs):
                paths[jobs[job]] = job.result()
                bar.update()
    return paths


def main(argv=None) -> None:
    """``python -m melib.flow.roi --data DATA --workers N``: every ME-TST video's ROI features into the flow
    cache (``OUT/cache/flow``) that notebooks 08-09 and ``python -m melib.train.metst`` read."""
    import argparse

    from melib.data import open_dataset, prepare
    from melib.data.windows import settings
    from melib.params import setup

    ap = argparse.ArgumentParser(prog="python -m melib.flow.roi", description=main.__doc__.split(":", 1)[1])
    ap.add_argument("--data", default="synth", help="'synth' (SynthME) or a real dataset root")
    ap.add_argument("--profile", default="teach")
    ap.add_argument("--out", default="build")
    ap.add_argument("--dataset", nargs="*", choices=["casme3", "samm_lv"], help="default: every one found")
    ap.add_argument("--workers", type=int, default=1, help="processes (one video each)")
    ap.add_argument("--definition", default="reference", choices=list(DEFINITIONS))
    a = ap.parse_args(argv)
    cfg = setup(a.profile, a.data, "cpu", 0, a.out)
    roots = prepare(cfg)
    names = a.dataset or [n for n in ("casme3", "samm_lv") if n in roots]
    missing = [n for n in names if n not in roots]
    if missing or not names:
        raise FileNotFoundError(f"DATA={a.data!r}: no {missing or 'long-video'} dataset found (found: {sorted(roots)})")
    for name in names:
        views = metst_views(open_dataset(roots[name]))
        paths = extract_dataset(views, settings(name).k, cfg.cache("flow"), a.workers, a.definition)
        print(f"{name}: {len(paths)} videos, k={settings(name).k}, features in {cfg.cache('flow')}")


if __name__ == "__main__":
    from melib.flow.roi import main as _main  # the importable module, so pool tasks pickle by its name

    _main()
