"""melib.flow estimators, strain, colour wheel, cache: known synthetic motion is recovered."""

import cv2
import numpy as np
import pytest

from melib.flow import (
    FARNEBACK_METST,
    cached_array,
    check_flow,
    color_wheel,
    epe,
    estimate,
    flow_to_color,
    resize_flow,
    strain,
    warp,
)

EPE_MAX = {"farneback": 0.15, "tvl1": 0.15, "dis": 0.2}  # px, on a 256x256 textured image, 16 px border


def _texture(size=256, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur((rng.random((size, size)) * 255).astype(np.uint8), (0, 0), 2)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def _moved(img, flow):
    """nxt such that img[y, x] ~ nxt[y + v, x + u] (smooth flow: sample img at p - flow(p))."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xx - flow[..., 0], yy - flow[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)


def _smooth_warp(size=256):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.stack([1.5 + 0.8 * np.sin(2 * np.pi * yy / 128), -1.0 + 0.6 * np.cos(2 * np.pi * xx / 128)], -1)


@pytest.mark.parametrize("method", ["farneback", "tvl1", "dis"])
def test_known_translation_and_warp_recovered(method):
    img = _texture()
    inner = np.zeros(img.shape, bool)
    inner[16:-16, 16:-16] = True
    trans = np.broadcast_to(np.float32([2.0, -1.0]), img.shape + (2,)).copy()
    for truth in (trans, _smooth_warp()):
        flow = estimate(img, _moved(img, truth), method)
        assert flow.shape == (256, 256, 2) and flow.dtype == np.float32
        err = epe(flow, truth, inner)
        assert err < EPE_MAX[method], (method, err)
        assert epe(np.zeros_like(truth), truth, inner) > 1.0  # the motion is not trivially small


def test_farneback_preset_and_params():
    assert FARNEBACK_METST == {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 5,
                               "poly_n": 7, "poly_sigma": 1.5, "flags": 0}
    img = _texture(64)
    with pytest.raises(TypeError, match="winsise"):
        estimate(img, img, "farneback", winsise=3)
    with pytest.raises(ValueError, match="same size"):
        estimate(img, img[:60], "farneback")
    with pytest.raises(ValueError, match="method"):
        estimate(img, img, "raft")


def test_nan_flow_is_an_error_or_repaired():
    flow = np.zeros((4, 5, 2), np.float32)
    flow[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="1 non-finite"):
        check_flow(flow, "clip x")
    with pytest.warns(RuntimeWarning):
        fixed = check_flow(flow, "clip x", nan="zero")
    assert np.isfinite(fixed).all() and fixed[1, 2, 0] == 0


def test_warp_inverts_motion():
    img = _texture(128)
    truth = _smooth_warp(128)
    back = warp(_moved(img, truth), truth)
    assert np.abs(back[16:-16, 16:-16].astype(float) - img[16:-16, 16:-16]).mean() < 2.0


def test_resize_flow_scales_vectors():
    f = np.zeros((10, 20, 2), np.float32)
    f[..., 0], f[..., 1] = 2.0, 1.0
    r = resize_flow(f, (20, 10))
    assert r.shape == (20, 10, 2)
    assert np.allclose(r[..., 0], 1.0) and np.allclose(r[..., 1], 2.0)


def test_strain_of_rigid_translation_is_zero_and_of_stretch_is_not():
    y, x = np.mgrid[0:32, 0:32].astype(np.float32)
    assert np.allclose(strain(np.stack([np.full_like(x, 3), np.full_like(x, -2)], -1)), 0)
    s = strain(np.stack([0.1 * x, np.zeros_like(x)], -1))  # e_xx = 0.1
    assert np.allclose(s[2:-2, 2:-2], 0.1, atol=1e-5)
    s = strain(np.stack([0.1 * y, np.zeros_like(x)], -1))  # shear: e_xy = 0.05 -> sqrt(2)*0.05
    assert np.allclose(s[2:-2, 2:-2], np.sqrt(2) * 0.05, atol=1e-5)


def test_color_wheel_directions():
    f = np.zeros((1, 5, 2), np.float32)
    f[0, 1] = (1, 0)
    f[0, 2] = (-1, 0)
    f[0, 3] = (0, 1)
    f[0, 4] = (0.5, 0)
    c = flow_to_color(f, max_mag=1.0).astype(int)
    assert (c[0, 0] == 255).all()  # zero motion is white
    assert not np.array_equal(c[0, 1], c[0, 2]) and not np.array_equal(c[0, 1], c[0, 3])
    assert c[0, 4].sum() > c[0, 1].sum()  # smaller magnitude is paler (closer to white)
    wheel = color_wheel(51)
    assert wheel.shape == (51, 51, 3) and (wheel[0, 0] == 255).all()
    assert len(np.unique(wheel.reshape(-1, 3), axis=0)) > 100


def test_cache_recomputes_on_changed_parameter(tmp_path):
    calls = []

    def compute(v):
        calls.append(v)
        return np.full(3, v)

    a = cached_array(tmp_path, "x", {"video": "v1", "k": 30}, lambda: compute(1))
    b = cached_array(tmp_path, "x", {"video": "v1", "k": 30}, lambda: compute(2))
    c = cached_array(tmp_path, "x", {"video": "v1", "k": 50}, lambda: compute(3))
    assert calls == [1, 3] and (a == 1).all() and (b == 1).all() and (c == 3).all()


def test_onset_apex_flow_face_crop(tmp_path):
    from types import SimpleNamespace

    from skimage import data

    from melib import faces
    from melib.flow import onset_apex_flow

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[0:300, 80:400]
    onset = np.full((480, 640), 90, np.uint8)
    onset[100:400, 200:520] = face  # a raw frame: face plus background
    apex = _moved(onset, np.broadcast_to(np.float32([2.0, -1.0]), onset.shape + (2,)).copy())
    paths = {1: tmp_path / "1.png", 2: tmp_path / "2.png"}
    cv2.imwrite(str(paths[1]), onset)
    cv2.imwrite(str(paths[2]), apex)
    clip = SimpleNamespace(subject="s", clip="c", onset=1, apex=2, frame_path=paths.get,
                           read_frame=lambda n, gray=True: cv2.imread(str(paths[n]), 0))
    x0, y0, x1, y1 = faces.face_box(faces.landmarks(onset), 1.2)
    flow = onset_apex_flow(clip, "farneback", 64, crop=1.2)  # (2, 64, 64)
    scale = 64 / min(x1 - x0, y1 - y0)
    centre = flow[:, 16:48, 16:48].reshape(2, -1).mean(1)
    assert np.allclose(centre, [2.0 * scale, -1.0 * scale], atol=0.1), (centre, scale)
    whole = onset_apex_flow(clip, "farneback", 64)  # no crop: the frame is squeezed to 64 x 64
    assert not np.allclose(whole[:, 16:48, 16:48].reshape(2, -1).mean(1), centre, atol=0.1)
