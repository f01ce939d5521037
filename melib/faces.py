"""Face detection, 68-point landmarks and face crops (dlib HOG detector + 68-point shape model).

The pre-processing seen in public MER code (datasets.md, "Face pre-processing"): dlib's frontal
face detector, the ``shape_predictor_68_face_landmarks.dat`` model (shipped by the PyPI package
``face-recognition-models``; located with :func:`importlib.util.find_spec` because that package's
own helper needs ``pkg_resources``), a crop box from the first frame, eyebrow and mouth ROIs.

Landmark order is dlib's 0-based 68-point order: jaw 0-16, right brow 17-21, left brow 22-26,
nose 27-35, right eye 36-41, left eye 42-47, outer lips 48-59, inner lips 60-67 ("right" = the
subject's right = the image's left).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_NAME = "shape_predictor_68_face_landmarks.dat"


class FaceNotFoundError(RuntimeError):
    """No face was found in an image; the message names the image's source."""


def model_path() -> Path:
    """Path of the 68-point model inside the installed ``face_recognition_models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package face_recognition_models is not installed; it ships " + MODEL_NAME
            + " (pip install face-recognition-models)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the 68-point landmark model is missing from face_recognition_models")
    return path


@lru_cache(maxsize=1)
def _detector():
    import dlib

    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _predictor():
    import dlib

    return dlib.shape_predictor(str(model_path()))


def _as_uint8(img: np.ndarray, source: str) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise TypeError(f"{source}: expected a uint8 image, got dtype {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise ValueError(f"{source}: expected an (H, W) or (H, W, 3) image, got shape {img.shape}")
    return np.ascontiguousarray(img)


def detect_faces(img: np.ndarray, upsample: int = 1) -> list[tuple[tuple[int, int, int, int], float]]:
    """All detections as ``((x0, y0, x1, y1), score)``, best first (see :func:`detect_face`)."""
    img = _as_uint8(img, "detect_faces")
    rects, scores, _ = _detector().run(img, upsample, 0.0)
    h, w = img.shape[:2]
    found = []
    for r, s in zip(rects, scores):
        box = (max(r.left(), 0), max(r.top(), 0), min(r.right(), w), min(r.bottom(), h))
        found.append((box, float(s)))

    def rank(item):  # largest first; near-equal sizes (within 10 %) go by score, then centrality
        (x0, y0, x1, y1), s = item
        area = (x1 - x0) * (y1 - y0)
        off = np.hypot((x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - h / 2) / max(h, w)
        return (-round(np.log(max(area, 1)) / np.log(1.1)), -s, off)

    return sorted(found, key=rank)


def detect_face(img: np.ndarray, upsample: int = 1, source: str = "image") -> tuple[int, int, int, int]:
    """The main face's box ``(x0, y0, x1, y1)`` in pixels (dlib HOG detector).

    Several detections (dlib finds a second "face" on skimage's astronaut suit): the largest wins,
    near-equal sizes are decided by detector score. Raises :class:`FaceNotFoundError`.
    """
    found = detect_faces(img, upsample)
    if not found:
        raise FaceNotFoundError(
            f"{source}: no face found by the dlib detector (image {np.asarray(img).shape}, upsample={upsample})"
        )
    return found[0][0]


def landmarks(img: np.ndarray, box=None, upsample: int = 1, source: str = "image") -> np.ndarray:
    """68 landmarks ``(68, 2) float32`` as (x, y), in dlib's order; detects the face if no box."""
    import dlib

    img = _as_uint8(img, source)
    if box is None:
        box = detect_face(img, upsample, source)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    shape = _predictor()(img, dlib.rectangle(x0, y0, x1, y1))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)  # (68, 2)


def face_box(points: np.ndarray, scale: float = 1.0, shape: tuple[int, int] | None = None):
    """A square box around landmarks ``(68, 2)``: side = scale x landmark extent, clipped to ``shape``."""
    points = np.asarray(points, dtype=np.float64)
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, scale * max(x1 - x0, y1 - y0) / 2
    box = [cx - half, cy - half, cx + half, cy + half]
    if shape is not None:
        h, w = shape[:2]
        box = [max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)]
    return tuple(int(round(v)) for v in box)


def crop(img: np.ndarray, box, size: int | None = None) -> np.ndarray:
    """Crop ``img`` to ``box`` (x0, y0, x1, y1) and optionally resize to ``size`` x ``size``."""
    import cv2

    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"crop: empty box {box}")
    out = img[y0:y1, x0:x1]
    if size is not None:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    return out


# Named landmark groups used by ROI code (0-based dlib indices).
REGIONS = {
    "jaw": list(range(0, 17)),
    "right_brow": list(range(17, 22)),
    "left_brow": list(range(22, 27)),
    "nose": list(range(27, 36)),
    "right_eye": list(range(36, 42)),
    "left_eye": list(range(42, 48)),
    "mouth": list(range(48, 68)),
}
