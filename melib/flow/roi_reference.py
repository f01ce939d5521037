"""ME-TST ROI features exactly as the authors' extractor computes them (me-tst-reference.md, "ROI features
exactly as the authors' extractor computes them"; ME-TST Sec. II-A). The default definition of
:func:`melib.flow.roi.roi_features`.

Per window of k frames starting at frame s (frames grey, uint8):

1. Crop (:func:`crop_bounds`): 68 landmarks on frame s; g = int((x42 - x39) / 2), centre
   (int((x39 + x42) / 2), int((y39 + y42) / 2)); rows [max(cy - int(3.5 g), 0), cy + int(5.5 g)), cols
   [max(cx - int(4.5 g), 0), cx + int(4.5 g)) of the frame, resized to 320 x 320 (``cv2.resize``, bilinear).
   Landmarks are re-detected on that crop; without a face there, the frame's landmarks are mapped into the
   crop (truncated to integers). No face on frame s: frames s - 3, s - 6, ... (>= 0), then s + 3, s + 6, ...
   are tried, and the crop of the frame found is the window's reference (:func:`window_geometry`).
2. Boxes (:func:`patch_boxes`, half-open slices of the crop): flow patches ``global`` (landmarks 29-30
   grown by 13), ``brow_l`` (17-21), ``brow_r`` (22-26), ``mouth`` (48-66), ``nose`` (30-35).
3. Flow per bare patch: Farneback (:data:`~melib.flow.estimators.FARNEBACK_METST`) from the reference
   crop's patch to the same box of frame s + j's crop, j = 1 .. k - 1.
4. Pooling (:func:`pool_top`): mean (dx, dy) of the pixels whose magnitude ranks in the top fraction,
   over each feature's trimmed part of its patch flow (:func:`pool_slices`).
5. Global motion (:func:`subtract_global`): each feature minus the pooled ``global`` flow. Re-alignment
   (:func:`frame_column`): while the global flow's squared length exceeds 1 the crop box moves by
   (round(gx), round(gy)) FRAME pixels (left/top clipped at 0), is re-cut, and the global flow recomputed,
   at most :data:`MAX_MOVES` times; the moved box stays moved for the window's later frames.
6. Output (10, k) float32: [brow L x, y, brow R x, y, mouth x, y, nose31 x, y, nose35 x, y]; column 0 = 0.

Arithmetic follows the authors' too: magnitudes from ``cv2.cartToPolar`` (float32), ``np.argsort``
order, a sequential float32 sum, float32 division and subtraction.
Departures (documented, not flags): the authors' backward search can wrap to negative frame indices
(the video's end); here it stops at frame 0. When several faces are found, melib's
:func:`melib.faces.detect_face` picks the largest one, the authors' code dlib's first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from melib import faces
from melib.flow.estimators import FARNEBACK_METST, check_flow

CROP = 320
MAX_MOVES = 3
REALIGN_SQ = 1.0  # px^2: re-align while gx^2 + gy^2 exceeds this
FALLBACK_STEP = 3  # frames between the face-detection retries around a window's first frame
FEATURES = ["brow_l", "brow_r", "mouth", "nose31", "nose35"]
PATCHES = ["global", "brow_l", "brow_r", "mouth", "nose"]

Box = tuple[int, int, int, int]  # (row start, row stop, col start, col stop): Python slice bounds


def crop_bounds(points: np.ndarray) -> Box:
    """(top, bottom, left, right) of the face crop in the frame from landmarks 39 and 42 (x difference only)."""
    (x39, y39), (x42, y42) = (int(v) for v in points[39]), (int(v) for v in points[42])
    g = int((x42 - x39) / 2)
    if g < 2:
        raise ValueError(f"inner eye corners 39/42 are {x42 - x39} px apart in x: no usable face")
    cx, cy = int((x39 + x42) / 2), int((y39 + y42) / 2)
    return max(cy - int(3.5 * g), 0), cy + int(5.5 * g), max(cx - int(4.5 * g), 0), cx + int(4.5 * g)


def cut_crop(frame: np.ndarray, bounds: Box) -> np.ndarray:
    """The frame's rows/cols ``bounds`` (numpy slicing: past the frame's end is cut short) resized to 320 x 320."""
    top, bottom, left, right = bounds
    part = frame[top:bottom, left:right]
    if part.shape[0] < 2 or part.shape[1] < 2:
        raise ValueError(f"crop rows {top}:{bottom}, cols {left}:{right} is outside the {frame.shape[1]}x"
                         f"{frame.shape[0]} frame")
    return cv2.resize(part, (CROP, CROP))


def _extent(points: np.ndarray, idx: slice) -> tuple[int, int, int, int]:
    p = points[idx]
    return int(p[:, 0].min()), int(p[:, 0].max()), int(p[:, 1].min()), int(p[:, 1].max())


def patch_boxes(points: np.ndarray) -> dict[str, Box]:
    """Flow patches in the 320 crop from its (68, 2) integer landmarks (x_min, x_max, y_min, y_max = the
    landmarks' bounding box); margins and clipping exactly as the reference (some starts may be negative:
    they are Python slice starts, as there)."""
    boxes = {}
    x0, x1, y0, y1 = _extent(points, slice(29, 31))
    boxes["global"] = (y0 - 13, y1 + 13, x0 - 13, x1 + 13)
    x0, x1, y0, y1 = _extent(points, slice(17, 22))
    boxes["brow_l"] = (max(0, y0 - 15), y1 + 5, max(0, x0 - 5), x1)
    x0, x1, y0, y1 = _extent(points, slice(22, 27))
    boxes["brow_r"] = (max(0, y0 - 15), y1 + 5, x0, x1)
    x0, x1, y0, y1 = _extent(points, slice(48, 67))
    boxes["mouth"] = (y0 - 15, y1 + 10, max(0, x0 - 20), x1 + 20)
    x0, x1, y0, y1 = _extent(points, slice(30, 36))
    boxes["nose"] = (y0 - 20, y1 + 5, max(0, x0 - 30), x1 + 30)
    return boxes


def pool_slices(points: np.ndarray) -> dict[str, tuple[str, slice, slice, float]]:
    """Feature (and ``global``) -> (patch, rows, cols of that patch's flow, top fraction): the trims."""
    out = {"global": ("global", slice(15, -10), slice(5, -5), 0.7)}
    _, _, y0, y1 = _extent(points, slice(17, 22))
    top = max(0, 10 + min(0, y0 - 15))
    bottom = 4 if y1 + 5 - max(0, y0 - 15) - 3 < 10 + top else 10
    out["brow_l"] = ("brow_l", slice(top, -bottom), slice(10, -10), 0.3)
    _, _, y0, _ = _extent(points, slice(22, 27))
    out["brow_r"] = ("brow_r", slice(max(0, 10 + min(0, y0 - 15)), -10), slice(10, -10), 0.3)
    out["mouth"] = ("mouth", slice(10, -10), slice(10, -10), 0.3)
    x0, _, y0, _ = _extent(points, slice(30, 36))
    for name, lm, (left, right) in (("nose31", 31, (20, 10)), ("nose35", 35, (10, 20))):
        r, c = int(points[lm, 1]) - (y0 - 20), int(points[lm, 0]) - (x0 - 30)
        out[name] = ("nose", slice(r - 20, r + 5), slice(c - left, c + right), 0.2)
    return out


def pool_top(flow: np.ndarray, fraction: float) -> np.ndarray:
    """Mean (dx, dy) over the pixels of ``flow`` (h, w, 2) whose magnitude ranks in the top ``fraction``:
    n - int(n (1 - fraction)) pixels, in ``np.argsort`` order, summed sequentially in float32 and divided in
    float32 (the reference's arithmetic). An empty flow gives (0, 0). -> (2,) float32."""
    if flow.size == 0:
        return np.zeros(2, np.float32)
    u = np.ascontiguousarray(flow[..., 0])
    v = np.ascontiguousarray(flow[..., 1])
    mag = cv2.cartToPolar(u, v, angleInDegrees=True)[0].ravel()
    n = mag.size
    num = int(n * (1 - fraction))
    keep = np.argsort(mag)[num:]
    count = np.float32(n - num)
    return np.array([np.cumsum(u.ravel()[keep], dtype=np.float32)[-1] / count,
                     np.cumsum(v.ravel()[keep], dtype=np.float32)[-1] / count], np.float32)


def subtract_global(pooled: dict[str, np.ndarray], names=FEATURES) -> np.ndarray:
    """(10,) float32: each feature's pooled (dx, dy) minus the pooled ``global`` flow (ME-TST Sec. II-A)."""
    g = pooled["global"]
    return np.concatenate([pooled[n] - g for n in names]).astype(np.float32)


@lru_cache(maxsize=8)
def _farneback_object(pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags):
    return cv2.FarnebackOpticalFlow_create(levels, pyr_scale, False, winsize, iterations, poly_n, poly_sigma, flags)


def farneback(a: np.ndarray, b: np.ndarray, params: dict, source: str) -> np.ndarray:
    """Farneback flow (h, w, 2) from patch ``a`` to patch ``b`` with the ME-TST preset.

    Through one reused ``cv2.FarnebackOpticalFlow`` per parameter set (what ``calcOpticalFlowFarneback``
    creates on every call; same output, about 4 % less CPU on these patches). Not for concurrent threads."""
    p = params
    algo = _farneback_object(p["pyr_scale"], p["levels"], p["winsize"], p["iterations"], p["poly_n"],
                             p["poly_sigma"], p["flags"])
    return check_flow(algo.calc(a, b, None), source)


@dataclass
class Geometry:
    """A window's reference: frame pixels of the crop, the reference crop, its boxes and pooling slices."""

    bounds: Box  # (top, bottom, left, right) in the frame
    ref_frame: int  # the frame whose crop is the reference (the window's first unless no face there)
    points: np.ndarray  # (68, 2) int landmarks in the 320 crop
    boxes: dict[str, Box]
    pools: dict[str, tuple[str, slice, slice, float]]
    ref: dict[str, np.ndarray]  # patch name -> the reference crop's patch (uint8)


def geometry_from_frame(frame: np.ndarray, index: int = 0, source: str = "frame") -> Geometry:
    """Reference step 1-2 on one frame (raises :class:`melib.faces.FaceNotFoundError` without a face)."""
    pts = faces.landmarks(frame, upsample=0, source=source).astype(int)  # (68, 2)
    bounds = crop_bounds(pts)
    crop = cut_crop(frame, bounds)
    try:
        cpts = faces.landmarks(crop, upsample=0, source=f"{source} (320 crop)").astype(int)
    except faces.FaceNotFoundError:  # the reference maps the frame's landmarks, truncating to integers
        top, bottom, left, right = bounds
        scale = np.array([CROP / (right - left), CROP / (bottom - top)])
        cpts = ((pts - np.array([left, top])) * scale).astype(int)
    return geometry_from_crop(crop, bounds, cpts, index)


def geometry_from_crop(crop: np.ndarray, bounds: Box, points: np.ndarray, index: int = 0) -> Geometry:
    """A window's :class:`Geometry` from its reference crop (320 x 320), crop box and crop landmarks."""
    points = np.asarray(points).astype(int)
    boxes = patch_boxes(points)
    ref = {name: np.ascontiguousarray(crop[r0:r1, c0:c1]) for name, (r0, r1, c0, c1) in boxes.items()}
    return Geometry(bounds, index, points, boxes, pool_slices(points), ref)


def fallback_order(start: int, n: int, step: int = FALLBACK_STEP) -> list[int]:
    """Frames tried for the face: ``start``, then start - 3, start - 6, ... (>= 0), then start + 3, ... (< n)."""
    return [start, *range(start - step, -1, -step), *range(start + step, n, step)]


def window_geometry(read: Callable[[int], np.ndarray], start: int, n: int, where: Callable[[int], str] = str
                    ) -> Geometry:
    """The window's geometry from its first frame, or the reference's fallback frames (module docstring)."""
    for i in fallback_order(start, n):
        try:
            return geometry_from_frame(read(i), i, where(i))
        except faces.FaceNotFoundError:
            continue
    raise faces.FaceNotFoundError(f"{where(start)}: no face on the window's first frame nor on any frame "
                                  f"{FALLBACK_STEP} apart before or after it ({n} frames)")


def frame_column(geom: Geometry, frame: np.ndarray, bounds: Box, params: dict | None = None,
                 source: str = "frame", clock: dict | None = None) -> tuple[np.ndarray, Box, int]:
    """Reference steps 3-5 for one frame: (10,) features, the (possibly moved) crop box, moves made.
    ``clock["flow"]``, if given, accumulates the Farneback CPU seconds (``time.thread_time``)."""
    params = FARNEBACK_METST if params is None else params
    clock = {} if clock is None else clock

    def flow(crop, name):
        r0, r1, c0, c1 = geom.boxes[name]
        t0 = time.thread_time()
        f = farneback(geom.ref[name], np.ascontiguousarray(crop[r0:r1, c0:c1]), params, f"{source}, {name}")
        clock["flow"] = clock.get("flow", 0.0) + time.thread_time() - t0
        return f

    def pooled(crop, name, fl=None):
        patch, rows, cols, frac = geom.pools[name]
        return pool_top((flow(crop, patch) if fl is None else fl)[rows, cols], frac)

    crop = cut_crop(frame, bounds)
    glob = pooled(crop, "global")
    moves = 0
    while float(glob[0]) ** 2 + float(glob[1]) ** 2 > REALIGN_SQ and moves < MAX_MOVES:
        moves += 1
        dx, dy = int(round(float(glob[0]))), int(round(float(glob[1])))
        top, bottom, left, right = bounds
        bounds = (max(top + dy, 0), bottom + dy, max(left + dx, 0), right + dx)
        crop = cut_crop(frame, bounds)
        glob = pooled(crop, "global")
    out = {"global": glob}
    nose = flow(crop, "nose")
    for name in FEATURES:
        out[name] = pooled(crop, name, nose if name.startswith("nose") else None)
    return subtract_global(out), bounds, moves


def window_columns(frames, geom: Geometry, bounds: Box, params: dict | None = None, source: str = "window",
                   clock: dict | None = None, first: int = 1) -> tuple[np.ndarray, Box, int]:
    """(10, len(frames)) columns for consecutive frames of a window (``frames[i]`` = its frame first + i),
    starting from crop box ``bounds``; -> columns, the crop box after the last frame, crop moves made.
    ``clock`` gets CPU seconds of ``flow`` (Farneback) and ``pooling`` (everything else per frame: crop
    cut and resize, ranking, means)."""
    clock = {} if clock is None else clock
    cols = np.zeros((2 * len(FEATURES), len(frames)), np.float32)  # (10, n)
    moves = 0
    for i, frame in enumerate(frames):
        t0, f0 = time.thread_time(), clock.get("flow", 0.0)
        cols[:, i], bounds, m = frame_column(geom, frame, bounds, params, f"{source}, frame {first + i}", clock)
        clock["pooling"] = clock.get("pooling", 0.0) + time.thread_time() - t0 - (clock["flow"] - f0)
        moves += m
    return cols, bounds, moves


def window_features(frames, geom: Geometry, params: dict | None = None, source: str = "window",
                    clock: dict | None = None) -> tuple[np.ndarray, int]:
    """(10, k) float32 features of one window (``frames[j]`` = its frame j; column 0 stays 0) and the
    number of crop moves (re-alignments); ``clock`` as :func:`window_columns`."""
    feats = np.zeros((2 * len(FEATURES), len(frames)), np.float32)  # (10, k)
    feats[:, 1:], _, moves = window_columns(frames[1:], geom, geom.bounds, params, source, clock)
    return feats, moves
