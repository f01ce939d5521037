"""Bad input and edge cases (issue 10): each case is refused with a message naming the file / row /
field, or repaired as documented and logged. Fixtures: tests/fixtures_real.py (the real shapes)."""

from __future__ import annotations

import logging
import pickle
import warnings

import cv2
import numpy as np
import pytest
import torch
from fixtures_real import SAMM_ROWS, make_casme2, make_casme3, make_samm_lv

from melib.data import DataError, open_dataset, read_image
from melib.flow import estimate, flow_to_color, warp


def _records(caplog, text):
    return [r for r in caplog.records if text in r.getMessage()]


# ---- loaders -------------------------------------------------------------------------------------

def test_truncated_jpeg_and_png_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    for ext in ("jpg", "png"):
        path = tmp_path / f"frame.{ext}"
        cv2.imwrite(str(path), img)
        assert read_image(path).shape == (40, 48, 3)  # the complete file reads
        assert read_image(path, gray=True, reduce=2).shape == (20, 24)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        assert cv2.imread(str(path)) is not None or ext == "png"  # libjpeg alone decodes the half JPEG
        for reduce in (1, 4):
            with pytest.raises(DataError, match=rf"frame\.{ext}: frame file is truncated"):
                read_image(path, gray=True, reduce=reduce)


def test_csv_renamed_to_xlsx_is_not_a_workbook(tmp_path):
    root = make_casme2(tmp_path)
    ann = root / "CASME2-coding-20140508.xlsx"
    ann.write_text("Subject,Filename,OnsetFrame\n1,EP02_01f,9\n")
    with pytest.raises(DataError, match=r"CASME2-coding-20140508\.xlsx: not an Excel workbook \(it looks like text"):
        open_dataset(root)
    ann.write_bytes(b"PK\x03\x04 a damaged zip")
    with pytest.raises(DataError, match=r"CASME2-coding-20140508\.xlsx: not a readable Excel workbook"):
        open_dataset(root)


def test_long_video_interval_past_the_last_frame(tmp_path, caplog):
    # 007_3 has 100 frames: an ME ending at 105 is clipped (warning names file, row, field); one
    # starting at 120 has no frames at all and is refused.
    root = make_samm_lv(tmp_path, extra_rows=[("007", "007_3_3", 95, 97, 105, "Micro - 1/2")])
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(root)
    v = {x.name: x for x in ds.videos}["007_3"]
    assert [(e.onset, e.apex, e.offset) for e in v.mes][-1] == (94, 96, 99)
    assert _records(caplog, "SAMM_LongVideos_V1_Release.xlsx, row 17, field 'Offset': offset 105 is past the "
                            "last frame 100 of video 007/007_3; clipped to 100")
    root = make_samm_lv(tmp_path / "b", extra_rows=[("007", "007_3_4", 120, 122, 125, "Micro - 1/2")])
    with pytest.raises(DataError, match=r"Release\.xlsx, row 17, field 'Onset': onset 120 is past the last frame 100"):
        open_dataset(root)
    root = make_casme3(tmp_path / "c", extra_rows=[("spNO.1", "b", "8", "9", "12", "4", "sad")])  # b: 10 frames
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(root)
    b = {(x.subject, x.name): x for x in ds.videos}[("spNO.1", "b")]
    assert [(e.onset, e.offset) for e in b.mes][-1] == (7, 9) and _records(caplog, "clipped to 10")


def test_samm_lv_emotions_name_their_file_and_refuse_an_unrelated_one(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(make_samm_lv(tmp_path))
    hit = _records(caplog, "SAMM-LV ME emotions taken from this SAMM FACS-codes file")
    assert len(hit) == 1 and hit[0].name == "melib.data.videos"
    assert str(tmp_path / "SAMM_dataset" / "SAMM_Micro_FACS_Codes_v2.xlsx") in hit[0].getMessage()
    assert "2 of 3 MEs matched" in hit[0].getMessage() and ds.mes[0].emotion == "contempt"
    unrelated = [("020", "020_4_1", 10, 12, 14, "4", "Anger"), ("021", "021_1_1", 10, 12, 14, "12", "Happiness")]
    with pytest.raises(DataError, match=r"SAMM_Micro_FACS_Codes_v2\.xlsx, field 'Filename': none of its 2 "
                                        r"Filenames matches any of the 3 SAMM-LV micro-expressions"):
        open_dataset(make_samm_lv(tmp_path / "b", samm_rows=unrelated))
    assert len(SAMM_ROWS) == 8


def test_missing_casme3_frames_logged_once_per_video(tmp_path, caplog):
    root = make_casme3(tmp_path)
    a = root / "part_A" / "data" / "part_A_split" / "part_A" / "spNO.1" / "a" / "color"
    (a / "12.jpg").unlink()  # frames 7 and 12 of spNO.1/a are missing
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(root)
    hits = _records(caplog, "missing frame")
    assert len(hits) == 1 and str(a) in hits[0].getMessage()
    assert "2 missing frame(s) (7, 12) filled by the next existing frame" in hits[0].getMessage()
    video = {(v.subject, v.name): v for v in ds.videos}[("spNO.1", "a")]
    assert [p.name for p in video.frame_paths[5:13]] == ["6.jpg", "8.jpg", "8.jpg", "9.jpg", "10.jpg", "11.jpg",
                                                         "13.jpg", "13.jpg"]


def test_casme3_onset_zero_first_or_drop(tmp_path, caplog):
    root = make_casme3(tmp_path)  # spNO.1 b: onset 0 (as spNO.216 e in the release)
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        kept = open_dataset(root)
        dropped = open_dataset(root, onset_zero="drop")
    b = {(v.subject, v.name): v for v in kept.videos}[("spNO.1", "b")]
    assert [(e.onset, e.offset) for e in b.mes] == [(0, 3)]
    assert len(dropped.mes) == len(kept.mes) - 1 and not {(v.subject, v.name): v for v in dropped.videos}[
        ("spNO.1", "b")].mes
    assert _records(caplog, "onset 0; using the first frame") and _records(caplog, "onset 0; row dropped")
    with pytest.raises(ValueError, match="onset_zero must be one of"):
        open_dataset(root, onset_zero="keep")


# ---- checkpoints ---------------------------------------------------------------------------------

class _RunsCode:
    def __reduce__(self):
        return (print, ("this ran on load",))


def test_ammsm_load_refuses_code_with_its_own_message(tmp_path, capsys):
    from melib.models.ammsm import AMMSM

    path = tmp_path / "model.pt"
    torch.save({"state_dict": _RunsCode(), "config": {}}, path)
    with pytest.raises(ValueError) as info:
        AMMSM.load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: refused: not a plain weights file") and "print" in msg
    assert "weights_only=False" not in msg and "weights_only" not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__  # torch's advice is not chained
    assert "this ran on load" not in capsys.readouterr().out
    with pytest.raises(pickle.UnpicklingError):  # what torch itself raises (the guard is still on)
        torch.load(path, weights_only=True)


# ---- NaN in flow ---------------------------------------------------------------------------------

def test_nan_flow_is_refused_or_zeroed_on_request():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (16, 20), dtype=np.uint8)
    flow = np.zeros((16, 20, 2), np.float32)
    flow[3, 4, 0] = np.nan
    with pytest.raises(ValueError, match=r"warp: flow: 1 non-finite flow vector\(s\) \(NaN/inf\) out of 320; "
                                         r"pass nan='zero'"):
        warp(img, flow)
    with pytest.warns(RuntimeWarning, match="set to 0"):
        out = warp(img, flow, nan="zero")
    assert out[3, 4] == img[3, 4]  # the NaN vector became "no motion", not a sample of 0
    with pytest.raises(ValueError, match=r"flow_to_color: 1 non-finite flow vector"):
        flow_to_color(flow)
    with pytest.warns(RuntimeWarning):
        col = flow_to_color(flow, nan="zero")
    assert (col[3, 4] == 255).all()  # white = no motion, as documented
    flow[0, 0] = (1.0, 0.0)
    with pytest.warns(RuntimeWarning):
        assert not (flow_to_color(flow, nan="zero")[0, 0] == 255).all()
    with pytest.raises(ValueError, match="nan must be one of"):
        warp(img, flow, nan="ignore")


def test_nan_image_to_estimator_is_refused_not_cast():
    rng = np.random.default_rng(2)
    a = rng.random((24, 24)).astype(np.float32)
    b = np.roll(a, 1, axis=1)
    b[5, 5] = np.nan
    with pytest.raises(ValueError, match=r"estimate: nxt: 1 non-finite pixel value\(s\) \(NaN/inf\) out of 576"):
        estimate(a, b, "dis")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy "invalid value in cast" either
        with pytest.raises(ValueError):
            estimate(a, b, "farneback")
    with pytest.warns(RuntimeWarning, match="estimate: nxt: 1 non-finite pixel value"):
        flow = estimate(a, b, "dis", nan="zero")
    assert flow.shape == (24, 24, 2) and np.isfinite(flow).all()
