"""SynthME: truth flow vs the applied warp, JPEG sub-pixel fidelity, layouts readable by the real
loaders with every protocol class present, determinism, caching, dlib-detectable long videos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import melib
from melib import faces
from melib.data import PROTOCOLS, loso_folds, open_dataset, prepare, protocol
from melib.data.synth import au_field, generate, invert_flow, make_identity, render_clip, render_identity, warp
from melib.params import PROFILES

TINY = {**PROFILES["synth"]["smoke"], "casme2_subjects": 3, "casme2_clips": 5, "samm_subjects": 3,
        "samm_clips": 5, "amplitude": [1.5, 2.5]}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path_factory.mktemp("out"))
    return cfg, prepare(cfg)


def test_truth_flow_matches_the_warp():
    neutral, lm = render_identity(make_identity(np.random.default_rng(1)), (96, 96), 70)
    frames, truth = render_clip(neutral, lm, "6+12", 2.0, 20, 8, np.random.default_rng(0), noise=0, drift=0.5)
    flow = truth["flow"]  # onset(y, x) ~ apex(y + v, x + u)
    assert flow.shape == (96, 96, 2) and 1.9 < np.linalg.norm(flow, axis=2).max() < 2.8  # amplitude + drift
    on, ap = frames[0].astype(np.float32), frames[8].astype(np.float32)
    gx, gy = np.meshgrid(np.arange(96, dtype=np.float32), np.arange(96, dtype=np.float32))
    back = cv2.remap(ap, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_CUBIC)
    inner = (slice(8, -8), slice(8, -8))
    err_true = np.abs(back - on)[inner].mean()
    err_none = np.abs(ap - on)[inner].mean()
    err_flipped = np.abs(cv2.remap(ap, gx - flow[..., 0], gy - flow[..., 1], cv2.INTER_CUBIC) - on)[inner].mean()
    assert err_true < 0.35 * err_none and err_true < 0.35 * err_flipped  # sign and convention are right
    assert np.allclose(invert_flow(np.zeros_like(flow), np.zeros_like(flow)), 0)


def test_au_fields_anchor_on_landmarks_and_differ():
    neutral, lm = render_identity(make_identity(np.random.default_rng(2)), (128, 128), 92)
    smile, brows = au_field("12", lm, (128, 128)), au_field("1+2", lm, (128, 128))
    ys, xs = np.unravel_index(np.linalg.norm(smile, axis=2).argmax(), (128, 128))
    assert np.hypot(*(np.array([xs, ys]) - lm[[48, 54]]).T).min() < 8  # peak at a mouth corner
    assert smile[int(lm[54, 1]), int(lm[54, 0]), 1] < 0 < smile[int(lm[54, 1]), int(lm[54, 0]), 0]  # up and out
    assert brows[..., 1].min() < -0.9 and np.abs(brows[int(lm[57, 1]):, :]).max() < 0.05  # nothing at the chin
    left_only = au_field("L12", lm, (128, 128))
    assert np.abs(left_only[:, :int(lm[48, 0]) + 3]).max() < 0.05  # subject's left = image right only
    assert np.abs(warp(neutral, np.zeros((128, 128, 2), np.float32)) - neutral).max() < 1e-3


def test_jpeg_frames_keep_subpixel_motion(synth):
    _, roots = synth
    ds = open_dataset(roots["casme2"])
    errs, mags = [], []
    for clip in ds.samples[:6]:
        t = clip.truth()
        est = cv2.calcOpticalFlowFarneback(clip.read_frame(clip.onset, True), clip.read_frame(clip.apex, True),
                                           None, 0.5, 3, 9, 5, 5, 1.1, 0)
        mask = np.linalg.norm(t["flow"], axis=2) > 0.4 * t["amplitude"]
        errs.append(np.linalg.norm(est - t["flow"], axis=2)[mask].mean())
        mags.append(np.linalg.norm(t["flow"], axis=2)[mask].mean())
    assert np.mean(errs) < 0.6 * np.mean(mags)  # a flow estimator recovers most of the true motion


def test_synth_layouts_load_with_all_protocol_classes(synth):
    cfg, roots = synth
    assert list(roots) == ["casme2", "samm", "casme3", "samm_lv"]
    for key, root in roots.items():
        ds = open_dataset(root)
        assert ds.name == key
        for name, (allowed, _classes, _) in PROTOCOLS.items():
            if key in allowed:
                p = protocol(ds, name)
                assert min(p.counts().values()) >= 1, (name, p.counts())
                assert len(loso_folds(p.subjects)) >= 2
    c2 = open_dataset(roots["casme2"])
    s = c2.samples[0]
    assert s.read_frame(s.onset).shape == (64, 64, 3) and s.apex - s.onset < 100 and s.fps == 200
    assert s.truth()["flow"].shape == (64, 64, 2)
    samm = open_dataset(roots["samm"])
    assert samm.samples[0].read_frame(samm.samples[0].onset).shape == (64, 64, 3)
    lv = open_dataset(roots["samm_lv"])
    assert all(e.emotion for e in lv.mes)  # merged from the SynthME SAMM file by Filename
    samm_names = {x.clip for x in samm.samples}
    assert {e.name for e in lv.mes} <= samm_names


def test_long_videos_events_truth_and_faces(synth):
    _, roots = synth
    c3 = open_dataset(roots["casme3"])
    v = c3.videos[0]
    truth = v.truth()
    kinds = [e.kind for e in truth["events"]]
    assert kinds.count("micro") == len(v.mes) and {"macro", "blink", "head"} <= set(kinds)
    assert len(truth["dropped"]) == 2 and v.n_frames == 150  # dropped files filled by the next frame
    d = truth["dropped"][0]
    assert v.frame_paths[d] == v.frame_paths[d + 1]
    for e in truth["events"]:
        if e.kind == "micro":
            assert e.offset - e.onset + 1 <= 0.5 * c3.fps + 1
            assert truth["activity"]["micro"][e.apex] > 0.5  # px at the apex
    head = next(e for e in truth["events"] if e.kind == "head")
    for i in (0, head.apex):
        box = faces.detect_face(v.read_frame(i, gray=False), upsample=0)
        assert box[2] - box[0] > 60
    lv = open_dataset(roots["samm_lv"])
    me_len = [e.offset - e.onset + 1 for e in lv.mes]
    assert max(me_len) <= 100 and min(me_len) >= 30  # 0.15 .. 0.5 s at 200 fps


def test_deterministic_and_seed_dependent(tmp_path):
    p = {**TINY, "parts": ["casme2"], "casme2_subjects": 1, "casme2_clips": 2}
    a, b, c = (generate(tmp_path / n, p, seed) for n, seed in (("a", 3), ("b", 3), ("c", 4)))
    fa = sorted(a["casme2"].rglob("*.jpg"))
    fb = sorted(b["casme2"].rglob("*.jpg"))
    assert [x.relative_to(a["casme2"]) for x in fa] == [x.relative_to(b["casme2"]) for x in fb]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(fa, fb))
    assert [x.relative_to(c["casme2"]) for x in sorted(c["casme2"].rglob("*.jpg"))] != [
        x.relative_to(a["casme2"]) for x in fa] or fa[0].read_bytes() != sorted(c["casme2"].rglob("*.jpg"))[0].read_bytes()


def test_prepare_caches_and_regenerates(tmp_path):
    cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path)
    over = {"parts": ["casme2"], "casme2_subjects": 1, "casme2_clips": 1}
    roots = prepare(cfg, **over)
    marker = roots["casme2"].parent / "COMPLETE.json"
    stamp = marker.stat().st_mtime_ns
    assert prepare(cfg, **over) == roots and marker.stat().st_mtime_ns == stamp  # cached
    marker.unlink()  # incomplete copy -> regenerated
    assert prepare(cfg, **over) == roots and marker.is_file()
    done = json.loads(marker.read_text())
    marker.write_text(json.dumps({**done, "params": "other"}))  # other parameters -> regenerated
    prepare(cfg, **over)
    assert json.loads(marker.read_text())["params"] == done["params"]
    other = prepare(cfg, **{**over, "amplitude": [3.0, 3.0]})
    assert other["casme2"] != roots["casme2"]
    amp = open_dataset(other["casme2"]).samples[0].truth()["amplitude"]
    assert amp == pytest.approx(3.0)


def test_classes_separable_in_true_flow(synth):
    """Leave-one-subject-out nearest-centroid on the (downsampled, normalised) true flows beats chance by far."""
    _, roots = synth
    p = protocol(open_dataset(roots["casme2"]), "casme2-5class")
    x = []
    for clip in p.samples:
        f = cv2.resize(clip.truth()["flow"], (16, 16), interpolation=cv2.INTER_AREA).ravel()  # (512,)
        x.append(f / np.linalg.norm(f))
    x = np.array(x)
    hits = 0
    for fold in loso_folds(p.subjects):
        cents = np.array([x[fold.train_idx][p.labels[fold.train_idx] == c].mean(0) for c in range(5)])
        hits += (np.argmax(x[fold.test_idx] @ cents.T, 1) == p.labels[fold.test_idx]).sum()
    assert hits / len(p.labels) > 0.6  # chance is 0.2


def test_samm_lv_videos_per_subject_keep_every_me_in_samm(tmp_path):
    """``samm_lv_videos`` long videos per subject (the study profile's realistic ME counts): names
    <subject>_<n>, every ME also a SAMM clip (emotions matched), no SAMM clip name reused."""
    p = {**PROFILES["synth"]["smoke"], "parts": ["samm", "samm_lv"], "samm_subjects": 2, "samm_clips": 6,
         "samm_lv_subjects": 1, "samm_lv_videos": 2, "samm_lv_mes": 2, "noise_fields": 2}
    roots = generate(tmp_path, p, 0)
    lv = open_dataset(roots["samm_lv"])
    assert [(v.subject, v.name, len(v.mes)) for v in lv.videos] == [("006", "006_1", 2), ("006", "006_2", 2)]
    assert all(e.emotion for v in lv.videos for e in v.mes)  # each LV ME found its SAMM clip's emotion
    clips = [c.clip for c in open_dataset(roots["samm"]).samples]
    assert len(clips) == len(set(clips)) == 12
    assert sum(c.startswith(("006_1_", "006_2_")) for c in clips) == 4  # the 4 LV MEs, then other clips


def test_noise_variants_are_distinct():
    from melib.data.synth.render import _noise

    bank = [np.random.default_rng(i).normal(size=(6, 5)).astype(np.float32) for i in range(3)]
    variants = [_noise(bank, k) for k in range(4 * len(bank))]
    assert len({v.tobytes() for v in variants}) == 12  # 3 fields x 4 flips
    assert np.array_equal(_noise(bank, 3 + 3), bank[0][::-1, :])  # field 0, second flip pattern


def test_mirrored_base_face_keeps_dlib_landmark_order():
    """``mirror_faces``: a subject on the mirrored portrait; its carried landmarks are what dlib finds there,
    in dlib's order (so AU fields keep the subject's left), and probability 0 draws nothing (old data kept)."""
    from melib.data.synth.face import MIRROR_68, base_face

    assert (MIRROR_68[MIRROR_68] == np.arange(68)).all() and len(set(MIRROR_68.tolist())) == 68
    img, lm = base_face(True)
    assert np.array_equal(img, base_face(False)[0][:, ::-1])
    assert np.abs(faces.landmarks(img, source="mirrored astronaut") - lm).mean() < 1.0
    assert lm[48, 0] < lm[54, 0] and lm[0, 0] < lm[16, 0]  # dlib's order: 48 and 0 stay on the image's left
    assert make_identity(np.random.default_rng(5), 0.0) == make_identity(np.random.default_rng(5))
    assert make_identity(np.random.default_rng(5), 1.0).mirror
