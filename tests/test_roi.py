"""ME-TST ROI features (melib.flow.roi): the reference definition end to end (processes == one process, a
window alone == the same window of the whole video, face fallback), melib's own definition (geometry,
pooling, global-motion removal, fast == plain), caching, bad input, and the whole-video sequence."""

import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from melib import faces
from melib.flow import roi
from melib.flow.roi import (
    CROP,
    FAST_TOLERANCE,
    crop_box,
    crop_face,
    n_windows,
    pool_top,
    roi_boxes,
    roi_features,
    roi_sequence,
)

K = 20
BROW = (22, 27, 33)  # onset, apex, offset of a brow raise (0-based frames)


def _face_canvas(h=360, w=640):
    from skimage import data

    astro = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    face = cv2.resize(astro, (512, 512))[20:260, 100:380]  # (240, 280) head and shoulders
    canvas = np.full((h, w), 120, np.uint8)
    canvas[60:300, 180:460] = face
    return canvas


def _video(folder, n=50, brow=BROW, drift=0.0, size=(360, 640)):
    """JPEG frames: a brow raise (3 px up, Gaussian around the brows) plus an optional head drift."""
    canvas = _face_canvas(*size)
    lm = faces.landmarks(canvas)
    brow_c = lm[17:27].mean(0)
    h, w = canvas.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bump = np.exp(-((xx - brow_c[0]) ** 2 + (yy - brow_c[1]) ** 2) / (2 * 20.0**2))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in range(n):
        a = np.interp(t, brow, [0, 1, 0], left=0, right=0) if brow else 0.0
        fu = np.full((h, w), drift * np.sin(t / 6), np.float32)
        fv = (-3.0 * a * bump).astype(np.float32)
        img = cv2.remap(canvas, xx - fu, yy - fv, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        paths.append(folder / f"{t + 1}.jpg")
        cv2.imwrite(str(paths[-1]), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return SimpleNamespace(frame_paths=paths, n_frames=n, subject="t", name=folder.name)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return _video(tmp_path_factory.mktemp("roi") / "brow", n=50)


@pytest.fixture(scope="module")
def plain(clip):
    return roi_features(clip, K, fast=False, workers=1, definition="melib")


@pytest.fixture(scope="module")
def ref(clip):
    return roi_features(clip, K, workers=1)


def test_window_count_and_geometry():
    assert n_windows(100, 30) == 100 // 15 - 1 == 5
    pts = np.zeros((68, 2), np.float32)
    pts[39], pts[42] = (100, 200), (140, 200)  # g = 20
    assert crop_box(pts) == (120 - 90, 200 - 70, 180)
    pts[17:27] = (50, 50)
    pts[48:67] = (160, 250)
    pts[[29, 30, 31, 35]] = (160, 160)
    boxes = roi_boxes(pts)
    assert boxes["brow_l"] == (35, 55, 45, 50)  # rows -15/+5, cols -5/+0
    assert boxes["mouth"] == (235, 260, 140, 180)
    assert boxes["nose31"] == (140, 165, 140, 170) and boxes["nose35"] == (140, 165, 150, 180)
    assert boxes["global"] == (147, 173, 147, 173)


def test_crop_face_matches_slice_and_resize():
    img = _face_canvas()
    box = (150.0, 40.0, 300.0)
    ref = cv2.resize(img[40:340, 150:450], (CROP, CROP), interpolation=cv2.INTER_LINEAR)
    out = crop_face(img, box)
    assert np.abs(out[2:-2, 2:-2].astype(int) - ref[2:-2, 2:-2]).max() <= 1
    half = cv2.resize(img, (320, 180), interpolation=cv2.INTER_AREA)
    assert np.abs(crop_face(half, box, reduce=2).astype(int) - out).mean() < 3


def test_pool_top_fraction():
    f = np.zeros((10, 10, 2), np.float32)
    f[..., 0] = np.arange(100).reshape(10, 10)  # u = 0..99
    assert pool_top(f, 0.3)[0] == pytest.approx(np.mean(np.arange(70, 100)))
    assert pool_top(f, 0.3, trim=2)[0] == pytest.approx(np.sort(f[2:8, 2:8, 0].ravel())[-10:].mean())


@pytest.mark.parametrize("definition", ["reference", "melib"])
def test_features_shape_and_peak_inside_the_event(definition, ref, plain):
    feats = ref if definition == "reference" else plain
    assert feats.shape == (n_windows(50, K), 10, K) and feats.dtype == np.float32
    assert np.all(feats[:, :, 0] == 0)  # column 0 is the reference frame
    # window 2 starts at frame 20 and holds the brow raise: brow v (channels 1, 3) goes up (negative)
    brow_v = feats[2, [1, 3]].mean(0)  # (K,)
    peak = 20 + int(np.argmin(brow_v))
    assert BROW[0] < peak < BROW[2] and brow_v.min() < -0.5
    assert np.abs(feats[0, [1, 3]]).max() < 0.3  # window 0 (frames 0-19) is still


def test_reference_processes_equal_one_process_and_windows_stand_alone(clip, ref):
    stats = {}
    assert np.array_equal(roi_features(clip, K, workers=2, stats=stats), ref)
    assert stats["cpu"] > 0 and stats["flow"] > 0 and stats["landmarks"] > 0
    wins = roi.video_windows(clip, K)  # every window of the whole video + the one ending at the last frame
    starts = roi.video_window_starts(50, K)
    assert starts == [0, 10, 20, 30, 30] and np.array_equal(wins[:-1], ref)
    for w in (1, 4):  # a window computed alone, from its own first frame, equals its row
        alone = roi_features(clip, K, start=starts[w], stop=starts[w] + K, workers=1)
        assert alone.shape == (1, 10, K) and np.array_equal(alone[0], wins[w])


def test_reference_differs_from_melib_definition(ref, plain):
    d = np.abs(ref - plain)
    assert 0.01 < d.max() < 2.0  # per-patch flow vs whole-crop flow: same motion, not the same numbers


def test_fast_path_equals_plain(clip, plain):
    fast = roi_features(clip, K, fast=True, workers=2, definition="melib")
    assert np.abs(fast - plain).max() < FAST_TOLERANCE


def test_big_face_fast_path_and_opt_in_jpeg_reduction(tmp_path):
    small = _video(tmp_path / "big", n=20, brow=(4, 9, 14))
    x0, y0, side = roi.window_geometry(cv2.imread(str(small.frame_paths[0]), 0)).box
    cx, cy = int(x0 + side / 2), int(y0 + side / 2)
    for p in small.frame_paths:  # zoom in: a 1920x1080 frame whose crop is > 640 px
        sub = cv2.imread(str(p), 0)[cy - 90:cy + 90, cx - 160:cx + 160]
        cv2.imwrite(str(p), cv2.resize(sub, (1920, 1080), interpolation=cv2.INTER_CUBIC))
    plain = roi_features(small, K, fast=False, workers=2, definition="melib")
    stats, reduced = {}, {}
    fast = roi_features(small, K, workers=2, stats=stats, definition="melib")
    approx = roi_features(small, K, workers=2, stats=reduced, jpeg_reduce=True, definition="melib")
    assert stats["reduce"] == 1 and np.abs(fast - plain).max() < FAST_TOLERANCE
    assert reduced["reduce"] == 2  # opt-in: decoded at half size, near but not equal to the reference
    assert np.abs(approx - plain).max() < 0.25 * np.abs(plain).max()


def test_global_motion_is_removed(tmp_path):
    video = _video(tmp_path / "drift", n=22, brow=None, drift=2.5)
    stats, ref_stats = {}, {}
    f = roi_features(video, K, workers=1, stats=stats, definition="melib")
    assert stats["realignments"] > 0  # the head moved by more than 1 px (crop px)
    assert np.abs(f).max() < 0.3
    # the reference moves the box by the crop-px flow in FRAME px: this 116 px crop is enlarged 2.8x, so a
    # move overshoots, the box oscillates up to 3 moves a frame and the residual drift stays in the features
    ref = roi_features(video, K, workers=1, stats=ref_stats)
    assert ref_stats["realignments"] > 2 * stats["realignments"] and np.abs(ref).max() > 1.0


def test_cache_and_changed_parameter(clip, plain, tmp_path, monkeypatch):
    calls = []
    real = roi._compute
    monkeypatch.setattr(roi, "_compute", lambda *a, **k: calls.append(1) or real(*a, **k))
    kw = dict(workers=1, cache_dir=tmp_path, definition="melib")
    a = roi_features(clip, K, fast=False, **kw)
    b = roi_features(clip, K, fast=False, **kw)
    assert len(calls) == 1 and np.array_equal(a, plain) and np.array_equal(a, b)
    roi_features(clip, K, start=10, stop=30, **kw)  # another frame range
    roi_features(clip, K, stop=20, params={"winsize": 11}, **kw)  # a parameter
    roi_features(clip, K, stop=20, params={"winsize": 11}, **kw)
    assert len(calls) == 3
    path = clip.frame_paths[5]
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a regenerated frame file
    roi_features(clip, K, stop=20, params={"winsize": 11}, **kw)
    assert len(calls) == 4
    short = SimpleNamespace(frame_paths=clip.frame_paths[:30], n_frames=30, subject="t", name="short")
    ref_path = roi.extract_video(short, K, tmp_path)  # the per-video entry point: one file, then reused
    wins = roi.video_windows(short, K, cache_dir=tmp_path)  # windows at 0, 10 and the last at 30 - 20 = 10
    assert ref_path.is_file() and np.array_equal(np.load(ref_path), wins) and np.array_equal(wins[1], wins[2])
    assert ref_path.stat().st_mtime_ns == roi.extract_video(short, K, tmp_path).stat().st_mtime_ns


def test_sequence_chains_windows(clip, ref):
    seq = roi_sequence(clip, K, workers=1)
    assert seq.shape == (10, 50)
    half = K // 2
    assert np.allclose(seq[:, :K], ref[0])
    for w in range(1, len(ref)):  # cut_windows(seq, starts, k, relative=True) on second halves
        s = w * half
        assert np.allclose(seq[:, s + half:s + K] - seq[:, s:s + 1], ref[w][:, half:], atol=1e-5)


def test_bad_input(tmp_path):
    video = _video(tmp_path / "bad", n=42, brow=None)
    cv2.imwrite(str(video.frame_paths[30]), np.zeros((100, 100), np.uint8))
    with pytest.raises(ValueError, match=r"31\.jpg.*differs"):
        roi_features(video, K, workers=1)
    with pytest.raises(ValueError, match="fewer than one window"):
        roi_features(video, K, stop=15)


def test_window_without_face(tmp_path):
    video = _video(tmp_path / "noface", n=30, brow=None)
    blank = np.full((360, 640), 120, np.uint8)
    cv2.imwrite(str(video.frame_paths[0]), blank)  # window 0 starts on a frame without a face
    with pytest.warns(RuntimeWarning, match=r"no face at window start frame\(s\) \[0\]"):
        f = roi_features(video, K, workers=1, definition="melib")  # melib: the neighbour window's landmarks
    assert f.shape == (2, 10, K) and np.isfinite(f).all()
    stats = {}
    f = roi_features(video, K, workers=1, stats=stats)  # reference: frame 3's crop is the reference
    assert stats["fallbacks"] == 1 and f.shape == (2, 10, K) and np.isfinite(f).all()
    for p in video.frame_paths:
        cv2.imwrite(str(p), blank)
    for definition in ("melib", "reference"):
        with pytest.raises(faces.FaceNotFoundError, match="no face"):
            roi_features(video, K, workers=1, definition=definition)


def test_extract_dataset_in_processes_and_resumable(clip, tmp_path, monkeypatch):
    views = [SimpleNamespace(frame_paths=clip.frame_paths[a:a + 30], n_frames=30, subject="t", name=f"part{a}")
             for a in (0, 20)]
    paths = roi.extract_dataset(views, K, tmp_path, workers=2, progress=False)  # one video per process
    assert [p.is_file() for p in paths] == [True, True] and not list(tmp_path.glob("*.tmp*"))
    assert np.array_equal(np.load(paths[1])[0], roi_features(clip, K, start=20, stop=40, workers=1)[0])
    monkeypatch.setattr(roi, "_compute_reference", lambda *a, **k: pytest.fail("recomputed a cached video"))
    assert roi.extract_dataset(views, K, tmp_path, workers=1, progress=False) == paths  # resumed from the cache


def test_split_window_after_a_crop_move_equals_one_pass(tmp_path, monkeypatch):
    video = _video(tmp_path / "drift40", n=40, brow=None, drift=2.5)  # crop moves in most frames
    one = roi_features(video, K, workers=1)
    assert roi.split_parts(3, K, 2)[1][0] == (1, 10, 20)  # window 1 straddles the two processes
    redone = []
    real = roi._run_parts
    monkeypatch.setattr(roi, "_run_parts", lambda *a, **k: redone.append(a[3]) or real(*a, **k))
    assert np.array_equal(roi_features(video, K, workers=2), one)
    assert redone == [[(1, 10, 20)]]  # the second process assumed window 1's first box: finished here


def test_roi_frame_reader_refuses_a_truncated_jpeg(tmp_path):
    """The ROI readers decode through melib.data's read_image: a half-written JPEG is an error naming it,
    not a frame whose lower half is silently grey (issue 10, item 2)."""
    from types import SimpleNamespace

    import cv2
    import numpy as np
    import pytest

    from melib.data.errors import DataError
    from melib.flow.roi import FrameReader

    img = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    good, bad = tmp_path / "good.jpg", tmp_path / "bad.jpg"
    cv2.imwrite(str(good), img)
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    reader = FrameReader(SimpleNamespace(frame_paths=[good, bad], n_frames=2, subject="s", name="v"))
    assert reader(0).shape == (64, 64)
    with pytest.raises(DataError, match="bad.jpg"):
        reader(1)
