"""Dense optical flow behind one function: Farneback, TV-L1 (OpenCV contrib) and DIS.

Convention (OpenCV's): ``flow[y, x] = (u, v)`` means ``prev[y, x] ~ nxt[y + v, x + u]``.
All estimators take two equally sized uint8 images (grey or RGB) and return ``(H, W, 2) float32``.

- ``farneback``: Farneback (2003), polynomial expansion. :data:`FARNEBACK_METST` is the preset the
  ME-TST reference uses (me-tst-reference.md, "Optical flow").
- ``tvl1``: Zach-Pock-Bischof dual TV-L1 (``cv2.optflow.DualTVL1OpticalFlow_create``), the usual MER
  choice for onset -> apex flow (AMMSM Sec. III-A leaves the estimator open: "off-the-shelf").
- ``dis``: Dense Inverse Search (Kroeger et al. 2016), the fastest of the three.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

METHODS = ("farneback", "tvl1", "dis")

# ME-TST reference parameters (pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags).
FARNEBACK_METST = {
    "pyr_scale": 0.5,
    "levels": 3,
    "winsize": 15,
    "iterations": 5,
    "poly_n": 7,
    "poly_sigma": 1.5,
    "flags": 0,
}
# OpenCV's own defaults for DualTVL1OpticalFlow_create, in its positional order.
TVL1_DEFAULTS = {
    "tau": 0.25,
    "lambda_": 0.15,
    "theta": 0.3,
    "nscales": 5,
    "warps": 5,
    "epsilon": 0.01,
    "inner_iterations": 30,
    "outer_iterations": 10,
    "scale_step": 0.8,
    "gamma": 0.0,
    "median_filtering": 5,
}
DIS_DEFAULTS = {"preset": "medium"}
_DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}
_DIS_SETTERS = {
    "finest_scale": "setFinestScale",
    "patch_size": "setPatchSize",
    "patch_stride": "setPatchStride",
    "grad_descent_iterations": "setGradientDescentIterations",
    "variational_refinement_iterations": "setVariationalRefinementIterations",
    "variational_refinement_alpha": "setVariationalRefinementAlpha",
    "variational_refinement_delta": "setVariationalRefinementDelta",
    "variational_refinement_gamma": "setVariationalRefinementGamma",
    "use_mean_normalization": "setUseMeanNormalization",
    "use_spatial_propagation": "setUseSpatialPropagation",
}
DEFAULTS = {"farneback": FARNEBACK_METST, "tvl1": TVL1_DEFAULTS, "dis": DIS_DEFAULTS}


def to_gray(img: np.ndarray, name: str = "image", nan: str = "raise") -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) RGB -> uint8 (H, W); anything else is a ValueError naming ``name``.

    Float images are taken as [0, 1] if their maximum is <= 1, else [0, 255]; NaN/inf pixels are a
    ValueError (``nan="raise"``) or set to 0 with a warning (``nan="zero"``), never cast silently.
    """
    img = np.asarray(img)
    if np.issubdtype(img.dtype, np.floating):
        img = check_finite(img, name, nan, "pixel value")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim != 2:
        raise ValueError(f"{name}: expected a (H, W) or (H, W, 3) image, got shape {img.shape}")
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and img.size and img.max() <= 1.0:
            img = img * 255.0
        img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _params(method: str, params: dict) -> dict:
    unknown = set(params) - set(DEFAULTS[method]) - (set(_DIS_SETTERS) if method == "dis" else set())
    if unknown:
        known = sorted(DEFAULTS[method]) + (sorted(_DIS_SETTERS) if method == "dis" else [])
        raise TypeError(f"estimate({method!r}): unknown parameter(s) {sorted(unknown)}; known {known}")
    return {**DEFAULTS[method], **params}


NAN_POLICIES = ("raise", "zero")


def check_finite(a: np.ndarray, source: str, nan: str = "raise", what: str = "value",
                 per_vector: bool = False) -> np.ndarray:
    """NaN/inf entries of ``a``: ``nan="raise"`` -> ValueError naming ``source`` and the count;
    ``"zero"`` -> set to 0 with a RuntimeWarning (the documented repair). ``per_vector`` counts
    (..., 2) vectors instead of entries."""
    if nan not in NAN_POLICIES:
        raise ValueError(f"{source}: nan must be one of {NAN_POLICIES}, got {nan!r}")
    bad = ~np.isfinite(a)
    if not bad.any():
        return a
    n = int(bad.any(axis=-1).sum() if per_vector else bad.sum())
    total = int(np.prod(a.shape[:-1]) if per_vector else a.size)
    if nan == "raise":
        raise ValueError(f"{source}: {n} non-finite {what}(s) (NaN/inf) out of {total}; "
                         f"pass nan='zero' to replace them by 0")
    warnings.warn(f"{source}: {n} non-finite {what}(s) set to 0", RuntimeWarning, stacklevel=3)
    return np.where(bad, 0, a).astype(a.dtype)


def check_flow(flow: np.ndarray, source: str = "flow", nan: str = "raise") -> np.ndarray:
    """Non-finite flow vectors: ``nan="raise"`` -> ValueError naming ``source``; ``"zero"`` -> set to 0
    with a RuntimeWarning (the documented repair: an undefined vector becomes "no motion")."""
    return check_finite(flow, source, nan, "flow vector", per_vector=True)


def estimate(prev, nxt, method: str = "farneback", nan: str = "raise", **params) -> np.ndarray:
    """Dense flow prev -> nxt, ``(H, W, 2) float32`` in OpenCV's convention (see module docstring).

    ``params`` override the method's defaults (:data:`FARNEBACK_METST`, :data:`TVL1_DEFAULTS`,
    ``preset`` plus DIS setter names for ``dis``). Images of different sizes are a ValueError.
    ``nan`` applies to float input images and to the output flow (:func:`check_finite`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    a, b = to_gray(prev, "estimate: prev", nan), to_gray(nxt, "estimate: nxt", nan)
    if a.shape != b.shape:
        raise ValueError(f"prev and nxt must have the same size, got {a.shape} and {b.shape}")
    p = _params(method, params)
    if method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(a, b, None, p["pyr_scale"], p["levels"], p["winsize"],
                                            p["iterations"], p["poly_n"], p["poly_sigma"], p["flags"])
    elif method == "tvl1":
        tv = cv2.optflow.DualTVL1OpticalFlow_create(*[p[k] for k in TVL1_DEFAULTS])
        flow = tv.calc(a, b, None)
    else:
        dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[p["preset"]])
        for key, setter in _DIS_SETTERS.items():
            if key in p:
                getattr(dis, setter)(p[key])
        flow = dis.calc(a, b, None)
    return check_flow(np.asarray(flow, dtype=np.float32), f"estimate({method})", nan)  # (H, W, 2)


def resize_flow(flow: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resample a (H, W, 2) flow to ``size`` (side or (h, w)) and scale its vectors by the same factor."""
    h, w = (size, size) if isinstance(size, int) else size
    fx, fy = w / flow.shape[1], h / flow.shape[0]
    out = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)  # (h, w, 2)
    out[..., 0] *= fx
    out[..., 1] *= fy
    return out.astype(np.float32)


def warp(img: np.ndarray, flow: np.ndarray, nan: str = "raise") -> np.ndarray:
    """Backward warp: ``out[y, x] = img[y + v, x + u]`` (so ``warp(nxt, flow) ~ prev``).

    A NaN/inf vector is a ValueError (``nan="raise"``; cv2.remap would sample 0 there) or "no motion"
    (``nan="zero"``, with a warning)."""
    flow = check_flow(np.asarray(flow, dtype=np.float32), "warp: flow", nan)
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def epe(flow: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean end-point error ``mean ||flow - truth||_2`` over ``mask`` (all pixels if None)."""
    if flow.shape != truth.shape:
        raise ValueError(f"epe: flow {flow.shape} and truth {truth.shape} differ in shape")
    err = np.linalg.norm(flow - truth, axis=-1)  # (H, W)
    return float(err[mask].mean() if mask is not None else err.mean())


def strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)``, ``e_xy = (du/dy + dv/dx) / 2``
    (the infinitesimal strain tensor of the flow field, as used by strain-based MER features)."""
    du_dy, du_dx = np.gradient(flow[..., 0])
    dv_dy, dv_dx = np.gradient(flow[..., 1])
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2 * exy**2).astype(np.float32)  # (H, W)
