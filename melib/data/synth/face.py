"""SynthME identities: the astronaut portrait warped into distinct subjects, with carried landmarks.

Base face: ``skimage.data.astronaut()`` with its 68 landmarks from the real dlib model (the largest
of dlib's two detections), or its mirror image (landmarks mirrored and renumbered, so "left" stays the
subject's left; ``mirror_faces`` of the subjects). A subject = an affine change of face geometry (scale,
aspect, rotation, shear) + a smooth elastic warp (a few low-frequency sinusoids, ~2-3 base pixels) + skin tone
(per-channel gain), gamma and an illumination gradient. A *view* places the face in an output
image: ``face_w`` = jaw width (landmark 0 -> 16) in output pixels, ``centre`` = where the landmark
centroid lands (fractions of width, height). Rendering is one backward map (output -> base pixel,
``cv2.remap``); landmarks are carried through the inverse map by fixed-point iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from melib import faces

# dlib 68-point index of each point's mirror partner (jaw, brows, nose, eyes, outer and inner mouth)
MIRROR_68 = np.array([*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, *range(35, 30, -1),
                      45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
                      54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])


@lru_cache(maxsize=4)
def base_face(mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut portrait (512, 512, 3) uint8 RGB and its dlib landmarks (68, 2) float32; ``mirror``:
    its left-right mirror image, landmarks mirrored and renumbered (point i is the mirror of point
    ``MIRROR_68[i]``)."""
    from skimage import data

    if mirror:
        img, lm = base_face(False)
        lm = lm[MIRROR_68].copy()
        lm[:, 0] = img.shape[1] - 1 - lm[:, 0]
        return np.ascontiguousarray(img[:, ::-1]), lm
    img = data.astronaut()
    return img, faces.landmarks(img, source="skimage astronaut")


@dataclass(frozen=True)
class Identity:
    scale: float  # face size relative to the base face
    aspect: float  # width / height stretch
    rotation: float  # degrees
    shear: float
    elastic: tuple  # ((ax, ay, kx, ky, phase) ...) base pixels / cycles per face width
    gains: tuple  # RGB skin-tone gains
    gamma: float
    light: tuple  # (angle rad, strength) of a linear illumination gradient
    mirror: bool = False  # built on the mirrored portrait


def make_identity(rng: np.random.Generator, mirror_prob: float = 0.0) -> Identity:
    elastic = tuple(
        (float(rng.normal(0, 1.2)), float(rng.normal(0, 1.2)), float(rng.uniform(0.5, 1.8)),
         float(rng.uniform(0.5, 1.8)), float(rng.uniform(0, 2 * np.pi)))
        for _ in range(3)
    )
    tone = rng.uniform(0.75, 1.1)
    return Identity(
        scale=float(rng.uniform(0.93, 1.07)), aspect=float(rng.uniform(0.92, 1.08)),
        rotation=float(rng.uniform(-4, 4)), shear=float(rng.uniform(-0.04, 0.04)), elastic=elastic,
        gains=(float(tone * rng.uniform(0.97, 1.08)), float(tone), float(tone * rng.uniform(0.85, 1.0))),
        gamma=float(rng.uniform(0.85, 1.15)), light=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 0.25))),
        mirror=bool(mirror_prob > 0 and rng.random() < mirror_prob),  # no draw at 0: old identities unchanged
    )


def _elastic(ident: Identity, x, y, unit):
    """Elastic displacement (base px) at output points x, y (any shape); ``unit`` = face width in output px."""
    dx, dy = np.zeros_like(x), np.zeros_like(y)
    for ax, ay, kx, ky, ph in ident.elastic:
        arg = 2 * np.pi * (kx * x + ky * y) / unit + ph
        dx += ax * np.sin(arg)
        dy += ay * np.cos(arg)
    return dx, dy


def _affine(ident: Identity, shape, face_w, centre):
    """2x3 matrix: output pixel -> base pixel (before the elastic term)."""
    img, lm = base_face(ident.mirror)
    base_w = float(np.linalg.norm(lm[16] - lm[0]))
    c_base = lm.mean(0)
    h, w = shape
    c_out = np.array([centre[0] * w, centre[1] * h])
    s = base_w / (face_w * ident.scale)
    t = np.deg2rad(ident.rotation)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    geo = rot @ np.array([[s / ident.aspect, ident.shear * s], [0, s * ident.aspect]])
    return np.hstack([geo, (c_base - geo @ c_out)[:, None]])  # (2, 3)


def render_identity(ident: Identity, shape: tuple[int, int], face_w: float, centre=(0.5, 0.55),
                    gray: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A subject's neutral face in a view: image (H, W[, 3]) float32 in 0..255 and landmarks (68, 2)."""
    img, lm = base_face(ident.mirror)
    h, w = shape
    m = _affine(ident, shape, face_w, centre)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    ex, ey = _elastic(ident, gx, gy, face_w)
    mx = (m[0, 0] * gx + m[0, 1] * gy + m[0, 2] + ex).astype(np.float32)
    my = (m[1, 0] * gx + m[1, 1] * gy + m[1, 2] + ey).astype(np.float32)
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
    out = 255.0 * (out / 255.0) ** ident.gamma * np.array(ident.gains, np.float32)  # (H, W, 3)
    ang, strength = ident.light
    ramp = ((gx - w / 2) * np.cos(ang) + (gy - h / 2) * np.sin(ang)) / max(h, w)
    out *= (1 + strength * ramp)[..., None]
    out = np.clip(out, 0, 255)
    if gray:
        out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    # landmarks: solve m @ [q, 1] + elastic(q) = lm for q (fixed point)
    inv = cv2.invertAffineTransform(m)
    q = (inv[:, :2] @ lm.T).T + inv[:, 2]
    for _ in range(8):
        ex, ey = _elastic(ident, q[:, 0], q[:, 1], face_w)
        q = (inv[:, :2] @ (lm - np.stack([ex, ey], 1)).T).T + inv[:, 2]
    return out.astype(np.float32), q.astype(np.float32)
