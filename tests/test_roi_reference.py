"""ME-TST ROI features as the authors' extractor computes them (melib.flow.roi_reference): crop rounding,
boxes and trims, pooling arithmetic, pure translation inside a box, persistent re-alignment, fallback."""

import cv2
import numpy as np
import pytest

from melib.flow import roi_reference as R


def _points(dx=0, dy=0):
    """Integer landmarks in a 320 crop: brows at rows 60-70, nose 140-190, mouth 220-250."""
    p = np.zeros((68, 2), int)
    p[17:22] = [(60 + 10 * i, 70 - 2 * i) for i in range(5)]  # left brow: x 60..100, y 62..70
    p[22:27] = [(200 + 10 * i, 62 + 2 * i) for i in range(5)]  # right brow: x 200..240, y 62..70
    p[29], p[30] = (160, 140), (160, 160)
    p[30:36] = [(160, 160), (130, 180), (145, 185), (160, 190), (175, 185), (190, 180)]
    p[48:67] = [(110 + 5 * (i % 20), 220 + (i % 7) * 5) for i in range(19)]  # mouth: x 110..200, y 220..250
    return p + [dx, dy]


def _texture(h=360, w=360, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def _shift(img, dx, dy=0.0):
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_crop_rounding_with_odd_g():
    p = np.zeros((68, 2), int)
    p[39], p[42] = (101, 50), (108, 53)  # x difference 7 -> g = int(3.5) = 3; centre (104, 51)
    top, bottom, left, right = R.crop_bounds(p)
    assert (top, bottom, left, right) == (51 - 10, 51 + 16, 104 - 13, 104 + 13)
    assert bottom - top == 9 * 3 - 1  # int(3.5 g) + int(5.5 g) = 26, not 27
    p[39], p[42] = (20, 5), (28, 7)  # g = 4, centre (24, 6): top clipped at 0
    assert R.crop_bounds(p) == (0, 6 + 22, 24 - 18, 24 + 18)
    p[42] = (22, 5)
    with pytest.raises(ValueError, match="39/42"):
        R.crop_bounds(p)


def test_boxes_and_trims():
    p = _points()
    b = R.patch_boxes(p)
    assert b["brow_l"] == (62 - 15, 70 + 5, 60 - 5, 100)
    assert b["brow_r"] == (62 - 15, 70 + 5, 200, 240)  # no column margin on the right brow
    assert b["mouth"] == (220 - 15, 250 + 10, 110 - 20, 200 + 20)
    assert b["nose"] == (160 - 20, 190 + 5, 130 - 30, 190 + 30)
    assert b["global"] == (140 - 13, 160 + 13, 160 - 13, 160 + 13)
    s = R.pool_slices(p)
    assert s["brow_l"][1:] == (slice(10, -10), slice(10, -10), 0.3)
    assert s["nose31"] == ("nose", slice(40 - 20, 40 + 5), slice(30 - 20, 30 + 10), 0.2)  # 31 at (r, c) = (40, 30)
    assert s["nose35"] == ("nose", slice(40 - 20, 40 + 5), slice(90 - 10, 90 + 20), 0.2)
    q = _points(dy=-57)  # brows at y 5..13: the box starts at row 0, the top trim shrinks by the overflow
    t = max(0, 10 + (5 - 15))
    assert R.patch_boxes(q)["brow_l"][0] == 0 and R.pool_slices(q)["brow_l"][1] == slice(t, -10)
    q[17:22, 1] = 2  # a flat brow at y 2: height 7 - 0 = 7, 7 - 3 < 10 + t -> bottom trim 4
    assert R.pool_slices(q)["brow_l"][1] == slice(max(0, 10 + (2 - 15)), -4)


def test_pool_top_counts_and_arithmetic():
    f = np.zeros((2, 5, 2), np.float32)
    f[..., 0] = np.arange(10).reshape(2, 5)  # magnitudes 0..9
    f[..., 1] = -1
    assert R.pool_top(f, 0.3)[0] == pytest.approx((7 + 8 + 9) / 3)  # 10 - int(10 * 0.7) = 3 kept
    assert R.pool_top(f, 0.7)[0] == pytest.approx(np.arange(3, 10).mean())  # int(10 * 0.3000...04) = 3
    assert R.pool_top(f, 0.7)[1] == -1 and R.pool_top(f, 0.7).dtype == np.float32
    assert np.array_equal(R.pool_top(f[:0], 0.3), [0, 0])  # an empty trim gives (0, 0)
    g = {"global": np.float32([0.5, -1]), **{n: np.float32([1, 1]) for n in R.FEATURES}}
    assert np.allclose(R.subtract_global(g), [0.5, 2] * 5)


def test_pure_translation_inside_the_mouth_box():
    frame = _texture()
    bounds = (0, 320, 0, 320)  # a 320 x 320 crop: resize is the identity
    geom = R.geometry_from_crop(R.cut_crop(frame, bounds), bounds, _points())
    moved = frame.copy()
    r0, r1, c0, c1 = 225, 245, 115, 195  # inside the mouth box, away from its trimmed border
    moved[r0:r1, c0:c1] = _shift(frame, 1.0)[r0:r1, c0:c1]
    col, bounds1, moves = R.frame_column(geom, moved, bounds)
    assert moves == 0 and bounds1 == bounds
    mouth, rest = col[4:6], np.delete(col, [4, 5])
    assert mouth[0] == pytest.approx(1.0, abs=0.2) and abs(mouth[1]) < 0.2
    assert np.abs(rest).max() < 0.05  # brows and nose still; global 0


def test_realignment_moves_the_box_in_frame_pixels_and_persists():
    frame = _texture()
    bounds = (0, 320, 0, 320)
    geom = R.geometry_from_crop(R.cut_crop(frame, bounds), bounds, _points())
    head = _shift(frame, 2.0)  # the whole head moves 2 px right
    col, b1, moves = R.frame_column(geom, head, bounds)
    assert moves == 1 and b1 == (0, 320, 2, 322)  # box moved by round(2.0) frame px
    assert np.abs(col).max() < 0.05  # after the move the crop matches the reference again
    col2, b2, moves2 = R.frame_column(geom, head, b1)  # next frame: the moved box is kept, no new move
    assert moves2 == 0 and b2 == b1 and np.abs(col2).max() < 0.05
    feats, total = R.window_features([frame, head, head, _shift(frame, 4.0)], geom)
    assert feats.shape == (10, 4) and total == 2 and np.all(feats[:, 0] == 0)


def test_fallback_order():
    assert R.fallback_order(7, 20) == [7, 4, 1, 10, 13, 16, 19]
    assert R.fallback_order(0, 5) == [0, 3]
