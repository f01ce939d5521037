"""Loaders on tiny fake copies of the four real formats (tests/fixtures_real.py), quirks included."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from fixtures_real import make_casme2, make_casme3, make_samm, make_samm_lv

from melib.data import DataError, MissingAnnotationError, loso_folds, open_dataset, protocol


def _by(ds, clip):
    return next(s for s in ds.samples if s.clip == clip)


@pytest.mark.parametrize("seven", [False, True])
def test_casme2_reads_quirks_and_protocols(tmp_path, seven, caplog):
    root = make_casme2(tmp_path, seven_columns=seven)
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(root)
    assert ds.name == "casme2" and ds.fps == 200 and len(ds.samples) == 11
    assert {s.subject for s in ds.samples} == {"sub01", "sub03", "sub04", "sub05", "sub07", "sub09"}
    slash = _by(ds, "EP03_02")  # text subject '01', '/' apex -> middle frame with a warning
    assert slash.subject == "sub01" and slash.apex == 22 and "apex missing" in caplog.text
    assert _by(ds, "EP08_1").apex == 33 and _by(ds, "EP09_05f").apex == 69  # apex == offset / == onset kept
    assert _by(ds, "EP01_2").aus == "4+L10" and _by(ds, "EP03_02").aus == "4"
    irregular = _by(ds, "EP06_02_01")
    assert irregular.frame_numbers == [3, 4, 5, 6] and irregular.read_frame(4).shape == (12, 16, 3)
    assert _by(ds, "EP09f").frame_numbers == [98, 99, 100, 101]  # numeric, not text, order
    p5 = protocol(ds, "casme2-5class")
    assert p5.counts() == {"happiness": 2, "repression": 2, "disgust": 2, "surprise": 1, "others": 2}
    assert "sadness" not in {s.emotion for s in p5.samples}
    p3 = protocol(ds, "megc2019-3class")  # sub04 EP12_01f and sub05 EP09_05f are excluded
    assert p3.counts() == {"negative": 4, "positive": 2, "surprise": 0}
    assert p3.labels.tolist() == [p3.classes.index("positive" if s.emotion == "happiness" else "negative")
                                  for s in p3.samples]


def test_casme2_nested_cropped_layout(tmp_path):
    ds = open_dataset(make_casme2(tmp_path, layout="cropped"))
    clip = _by(ds, "EP02_01f")
    assert clip.folder.parts[-4:-2] == ("Cropped", "Cropped") and clip.frame_numbers == [9, 10, 11, 12, 13]


def test_samm_header_offset_subjects_and_protocols(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(make_samm(tmp_path, preamble=13))
    assert ds.name == "samm" and len(ds.samples) == 8
    assert [s.subject for s in ds.samples[:3]] == ["006", "006", "007"]  # '006' text and 7 int agree
    first = ds.samples[0]
    assert first.aus == "R14A or 17A or 24A" and first.emotion == "contempt" and first.frame_numbers[0] == 5562
    assert ds.samples[1].apex == 105 and "apex missing" in caplog.text
    assert first.read_frame(5570).ndim == 3 and first.read_frame(5570, gray=True).shape == (12, 16)
    assert protocol(ds, "samm-5class").counts() == {"anger": 1, "happiness": 1, "contempt": 1, "surprise": 1,
                                                    "other": 1}
    assert protocol(ds, "megc2019-3class").counts() == {"negative": 5, "positive": 1, "surprise": 1}
    assert len(open_dataset(make_samm(tmp_path / "b", preamble=2)).samples) == 8  # header on row 3


@pytest.mark.parametrize("full_emotion", [False, True])  # the release's 8-column AU+Emotion sheet, and 9
def test_casme3_quirks(tmp_path, caplog, full_emotion):
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(make_casme3(tmp_path, full_emotion=full_emotion, real_layout=not full_emotion))
    assert ds.name == "casme3" and ds.fps == 30
    vids = {(v.subject, v.name): v for v in ds.videos}
    a = vids[("spNO.1", "a")]
    assert a.n_frames == 30 and a.frame_paths[6].name == "8.jpg"  # dropped frame 7 -> next frame
    assert [(e.onset, e.apex, e.offset) for e in a.mes] == [(2, 4, 8), (19, 21, 24)]  # 0-based
    assert [(e.onset, e.offset, e.emotion) for e in a.macros] == [(11, 18, "happy" if full_emotion else "")]
    assert vids[("spNO.1", "b")].mes[0].onset == 0 and "onset 0" in caplog.text
    assert vids[("spNO.14", "j")].mes[0].video == "j"  # 'J' in the label file
    e40 = vids[("spNO.40", "e")].mes
    assert (e40[0].offset, e40[0].emotion) == (7, "others")  # offset 0 -> apex
    assert e40[1].apex == 17  # apex 30 outside [15, 18] -> clipped
    p4 = protocol(ds, "casme3-4class")
    assert p4.counts() == {"negative": 4, "positive": 1, "surprise": 1, "others": 2}  # 'Others' + 'others'
    p3 = protocol(ds, "casme3-3class")
    assert len(p3.samples) == 6 and sorted(set(p3.subjects)) == ["spNO.1", "spNO.14", "spNO.40"]


def test_samm_lv_quirks_and_emotion_merge(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="melib.data"):
        ds = open_dataset(make_samm_lv(tmp_path))
    assert ds.name == "samm_lv" and ds.fps == 200
    v = {x.name: x for x in ds.videos}
    assert v["006_1"].n_frames == 130 and v["006_1"].subject == "006"
    assert [(e.onset, e.apex, e.offset) for e in v["006_1"].macros] == [(9, 20, 60)]  # floats rounded, onset-0 row dropped
    assert "onset 0; row dropped" in caplog.text
    assert [(e.onset, e.apex, e.offset) for e in v["006_1"].mes] == [(69, 74, 79), (84, 89, 94)]  # apex -1 -> middle
    assert [(e.onset, e.apex, e.offset) for e in v["007_3"].mes] == [(4, 11, 11)]  # offset 0 -> apex
    assert [e.emotion for e in v["006_1"].mes] == ["contempt", ""]  # merged from SAMM on Filename
    assert protocol(ds, "samm_lv-4class").counts() == {"negative": 1, "positive": 1, "surprise": 0, "others": 0}


def test_samm_lv_without_samm_file_has_no_emotions(tmp_path):
    ds = open_dataset(make_samm_lv(tmp_path, with_samm=False))
    assert all(e.emotion == "" for e in ds.mes)
    with pytest.raises(ValueError, match="no emotions"):
        protocol(ds, "samm_lv-3class")


def test_composite_megc_and_loso(tmp_path):
    c2, sm = open_dataset(make_casme2(tmp_path)), open_dataset(make_samm(tmp_path))
    comp = protocol([c2, sm], "megc2019-3class")
    assert len(comp.samples) == 6 + 7 and comp.subjects[0].startswith("casme2/")
    folds = loso_folds(comp.subjects)
    assert len(folds) == len(set(comp.subjects.tolist()))
    for f in folds:
        assert set(comp.subjects[f.test_idx]) == {f.name} and f.name not in set(comp.subjects[f.train_idx])
        assert len(f.train_idx) + len(f.test_idx) == len(comp.samples)
    assert np.array_equal(np.sort(np.concatenate([f.test_idx for f in folds])), np.arange(len(comp.samples)))


def test_errors_name_file_row_field(tmp_path):
    with pytest.raises(MissingAnnotationError, match="no annotation file"):
        open_dataset(tmp_path)
    root = make_casme2(tmp_path / "u", emotion_override=(2, "joy"))
    with pytest.raises(DataError, match=r"CASME2-coding-20140508.xlsx, row 4, field 'Estimated Emotion'.*'joy'"):
        open_dataset(root)
    with pytest.raises(DataError, match=r"field 'Apex Frame'.*column is missing"):
        open_dataset(make_samm(tmp_path / "m", drop_column="Apex Frame"))
    ds = open_dataset(make_casme2(tmp_path / "f"))
    clip = _by(ds, "EP02_01f")
    clip.frame_path(10).unlink()
    with pytest.raises(DataError, match=r"img10.jpg: frame file is missing"):
        clip.read_frame(10)
    with pytest.raises(DataError, match=r"frame number 99 is not on disk.*9\.\.13"):
        clip.read_frame(99)
    clip.frame_path(11).write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"img11.jpg: frame file cannot be decoded"):
        clip.read_frame(11)
    shutil.rmtree(clip.folder)
    with pytest.raises(DataError, match=r"row 2, field 'Filename': clip folder .* not found"):
        open_dataset(tmp_path / "f" / "CASME2")


def test_casme2_legacy_xls(tmp_path):
    ds = open_dataset(make_casme2(tmp_path, legacy_xls=True))
    assert ds.annotation.name == "CASME2_label_Ver_2.xls" and len(ds.samples) == 11
    assert _by(ds, "EP03_02").apex == 22 and _by(ds, "EP03_02").subject == "sub01"


def test_prepare_finds_real_roots(tmp_path):
    import melib
    from melib.data import prepare

    make_casme2(tmp_path), make_samm_lv(tmp_path)  # make_samm_lv also writes SAMM
    make_casme3(tmp_path, real_layout=True)  # CASME3/part_A/annotation/*.xlsx: 3 levels below DATA
    cfg = melib.setup("smoke", str(tmp_path), "cpu", 0, tmp_path / "out")
    roots = prepare(cfg)
    assert {k: v.name for k, v in roots.items()} == {"casme2": "CASME2", "samm": "SAMM_dataset",
                                                     "casme3": "CASME3", "samm_lv": "SAMM_LV"}
    assert [open_dataset(r).name for r in roots.values()] == list(roots)
    with pytest.raises(DataError, match="several datasets found"):
        open_dataset(tmp_path)
    with pytest.raises(ValueError, match="overrides"):
        prepare(cfg, amplitude=[1, 1])
