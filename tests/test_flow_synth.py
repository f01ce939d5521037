"""melib.flow on SynthME, where the true motion is known: onset->apex flow against the true
displacement, and ROI features of a long video peaking inside the true ME intervals."""

import numpy as np
import pytest

import melib
from melib.data import open_dataset, prepare
from melib.flow import epe, onset_apex_flow, roi_sequence


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path_factory.mktemp("synth"))
    return prepare(cfg)


def test_onset_apex_flow_matches_truth(roots, tmp_path):
    clips = open_dataset(roots["casme2"]).samples[:4]
    ratios = []
    for clip in clips:
        truth = clip.truth()["flow"]  # (H, W, 2) at the clip's size
        size = truth.shape[0]
        flow = onset_apex_flow(clip, "tvl1", size, cache_dir=tmp_path)  # (2, size, size)
        assert flow.shape == (2, size, size)
        moving = np.linalg.norm(truth, axis=-1) > 0.25 * np.linalg.norm(truth, axis=-1).max()
        err = epe(flow.transpose(1, 2, 0), truth, moving)
        zero = epe(np.zeros_like(truth), truth, moving)
        # stated (smoke clips: 64 px, sensor noise, 1-2 px motion): EPE < 0.75 x the motion itself,
        # < 0.6 x on average; the zero-flow guess scores 1.0
        assert err < 0.75 * zero, (clip.clip, err, zero)
        ratios.append(err / zero)
        again = onset_apex_flow(clip, "tvl1", size, cache_dir=tmp_path)
        assert np.array_equal(again, flow)
    assert np.mean(ratios) < 0.6, ratios
    assert len(list(tmp_path.glob("oa-*.npy"))) == len(clips)


def test_roi_features_peak_inside_true_me_intervals(roots):
    video = open_dataset(roots["casme3"]).videos[0]
    seq = roi_sequence(video, 30, workers=2)  # (10, T)
    assert seq.shape == (10, video.n_frames) and np.isfinite(seq).all()
    motion = np.abs(seq).max(0)  # (T,) strongest ROI displacement per frame
    events = video.truth()["events"]
    quiet = np.ones(video.n_frames, bool)
    for e in events:
        quiet[max(0, e.onset - 3):e.offset + 4] = False
    micro = [e for e in events if e.kind == "micro"]
    assert micro
    for e in micro:
        lo, hi = max(0, e.onset - 8), min(video.n_frames, e.offset + 9)
        peak = lo + int(np.argmax(motion[lo:hi]))
        assert e.onset <= peak <= e.offset, (e, peak)
        # 2.0, not 2.5 (melib's definition): on smoke's small faces the crop is enlarged, and the reference's
        # frame-pixel re-alignment overshoots, which raises its floor in quiet frames (notebook 02)
        assert motion[peak] > 2.0 * np.median(motion[quiet]), (e, motion[peak], np.median(motion[quiet]))
