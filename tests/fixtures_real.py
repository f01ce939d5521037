"""Tiny fake copies of the four REAL dataset formats, with the quirks listed in datasets.md.

Each ``make_*`` writes annotation files and small frame folders under a folder and returns the
dataset root plus what a correct loader must read (used by tests/test_data_real.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from openpyxl import Workbook


def frames(folder: Path, names, size=(12, 16), gray=False, bad=()):
    """Write small JPEGs; names in ``bad`` get undecodable bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    for name in names:
        if name in bad:
            (folder / name).write_bytes(b"not a jpeg")
            continue
        img = rng.integers(0, 255, size if gray else (*size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / name), img)


def _sheet(wb, title, rows, first=True):
    ws = wb.active if first else wb.create_sheet(title)
    ws.title = title
    for r in rows:
        ws.append(r)
    return ws


# CASME II: (Subject, Filename, onset, apex, offset, AUs, emotion); quirks: text subject '01'-style,
# '/' apex, apex == offset, apex == onset, irregular folder names, int and text AUs, all 7 emotions.
CASME2_ROWS = [
    (1, "EP02_01f", 9, 11, 13, "6+12", "happiness"),
    ("01", "EP03_02", 20, "/", 24, 4, "disgust"),
    (3, "EP01_2", 5, 7, 8, "4+L10", "disgust"),
    (3, "EP08_1", 30, 33, 33, "14", "repression"),
    (4, "EP12_01f", 40, 41, 44, "1+2", "surprise"),
    (5, "EP09_05f", 69, 69, 72, "4", "others"),
    (7, "EP06_02_01", 3, 4, 6, "R12", "happiness"),
    (7, "EP06_02_02", 8, 9, 12, "17", "repression"),
    (9, "EP09f", 98, 99, 101, "9", "others"),
    (9, "EP10_01", 10, 11, 12, "1+4+15", "sadness"),
    (9, "EP11_01", 10, 11, 12, "1+2+4", "fear"),
]


def _save_xls(path: Path, rows, sheet: str = "Sheet1") -> None:
    import xlwt

    book = xlwt.Workbook()
    ws = book.add_sheet(sheet)
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(i, j, v)
    book.save(str(path))


def make_casme2(base: Path, seven_columns: bool = False, layout: str = "selected", emotion_override=None,
                legacy_xls: bool = False) -> Path:
    root = base / "CASME2"
    wb = Workbook()
    if seven_columns:
        head = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
        rows = [[s, f, on, ap, off, au, em] for s, f, on, ap, off, au, em in CASME2_ROWS]
    else:
        head = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                "Estimated Emotion"]
        rows = [[s, f, None, on, ap, off, None, au, em] for s, f, on, ap, off, au, em in CASME2_ROWS]
    if emotion_override:
        rows[emotion_override[0]][-1] = emotion_override[1]
    root.mkdir(parents=True, exist_ok=True)
    if legacy_xls:  # CASME2_label_Ver_2.xls (legacy format)
        _save_xls(root / "CASME2_label_Ver_2.xls", [head] + rows)
    else:
        _sheet(wb, "Sheet1", [head] + rows)
        wb.save(root / "CASME2-coding-20140508.xlsx")
    for s, f, on, _, off, _, _ in CASME2_ROWS:
        sub = f"sub{int(s):02d}"
        if layout == "selected":
            frames(root / "CASME2_RAW_selected" / sub / f, [f"img{n}.jpg" for n in range(on, off + 1)])
        else:  # nested Cropped/Cropped with reg_ prefix
            frames(root / "Cropped" / "Cropped" / sub / f, [f"reg_img{n}.jpg" for n in range(on, off + 1)])
    return root


# SAMM: subject as text '006' and int 7; header below 13 title/notes rows; an 'or' AU; missing apex.
SAMM_ROWS = [
    ("006", "006_1_2", 5562, 5588, 5597, "R14A or 17A or 24A", "Contempt"),
    ("006", "006_1_3", 100, None, 110, "4+7", "Anger"),
    (7, "007_3_1", 20, 22, 25, "12", "Happiness"),
    (7, "007_5_1", 9, 10, 12, "1+2", "Surprise"),
    ("011", "011_2_1", 300, 302, 305, "9", "Disgust"),
    ("011", "011_2_4", 40, 41, 43, "4", "Other"),
    ("011", "011_3_1", 40, 41, 43, "1+4", "Fear"),
    ("011", "011_3_2", 40, 41, 43, "15", "Sadness"),
]


def make_samm(base: Path, preamble: int = 13, drop_column: str | None = None, rows=SAMM_ROWS) -> Path:
    root = base / "SAMM_dataset"
    head = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
            "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
    keep = [i for i, h in enumerate(head) if h != drop_column]
    sheet = [["SAMM micro-movement FACS codes"], ["notes row"]] + [[]] * (preamble - 2)
    sheet.append([head[i] for i in keep])
    for k, (s, f, on, ap, off, au, em) in enumerate(rows):
        r = preamble + 2 + k
        full = [s, f, 1, on, ap, off, f"=F{r}-D{r}+1", "Micro", au, em, "", ""]
        sheet.append([full[i] for i in keep])
    wb = Workbook()
    _sheet(wb, "MICRO_ONLY", sheet)
    root.mkdir(parents=True, exist_ok=True)
    wb.save(root / "SAMM_Micro_FACS_Codes_v2.xlsx")
    for s, f, on, _, off, _, _ in rows:
        sub = f"{int(s):03d}"
        frames(root / "SAMM" / sub / f, [f"{sub}_{n:05d}.jpg" for n in range(on, off + 1)], gray=True)
    return root


# CAS(ME)^3: numbers as text, 'J' filename, onset 0, offset 0, 'Others'/'others', several MEs per video,
# apex outside the interval; frame 7 of spNO.1/a is dropped.
CASME3_ROWS = [
    ("spNO.1", "a", "3", "5", "9", "R12", "happy"),
    ("spNO.1", "a", "20", "22", "25", "4+9", "disgust"),
    ("spNO.1", "b", "0", "2", "4", "T28+14", "Others"),
    ("spNO.14", "J", "10", "12", "14", "1+2", "surprise"),
    ("spNO.40", "e", "5", "8", "0", "4", "others"),
    ("spNO.40", "e", "15", "30", "18", "4+7", "anger"),
    ("spNO.40", "e", "21", "22", "24", "15", "sad"),
    ("spNO.40", "e", "26", "27", "28", "1+4", "fear"),
]


# The full annotation's `AU+Emotion` sheet as the release has it: 8 columns, no emotion column.
CASME3_FULL_HEAD = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class"]
CASME3_FULL_ROWS = [["spNO.1", "a", 12, 15, 19, "6+12", "Macro-expression", ""],
                    ["spNO.1", "a", 3, 5, 9, "R12", "Micro-expression", ""]]


def make_casme3(base: Path, with_full: bool = True, full_emotion: bool = False, real_layout: bool = False,
                extra_rows=(), gap_videos=("a",)) -> Path:
    """``full_emotion`` adds a 9th column ``emotion`` to the full .xls (a shape some copies have);
    ``real_layout`` puts both annotation files in ``part_A/annotation/`` as the release does;
    ``extra_rows`` are appended to the ME label sheet; frame 7 is dropped in the videos ``gap_videos``."""
    root = base / "CASME3"
    wb = Workbook()
    _sheet(wb, "label", [["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]]
           + [list(r[:6]) + ["", r[6]] for r in list(CASME3_ROWS) + list(extra_rows)])
    ann_dir = root / "part_A" / "annotation" if real_layout else root
    ann_dir.mkdir(parents=True, exist_ok=True)
    wb.save(ann_dir / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    data = root / "part_A" / "data" / "part_A_split" / "part_A"
    for sub, vid, n in [("spNO.1", "a", 30), ("spNO.1", "b", 10), ("spNO.14", "j", 20), ("spNO.40", "e", 40)]:
        frames(data / sub / vid / "color", [f"{k}.jpg" for k in range(1, n + 1) if k != 7 or vid not in gap_videos])
    if with_full:
        head = CASME3_FULL_HEAD + (["emotion"] if full_emotion else [])
        body = [r + (["happy"] if full_emotion else []) for r in CASME3_FULL_ROWS]
        _save_xls(ann_dir / "CAS(ME)3_part_A_v2.xls", [head] + body, sheet="AU+Emotion")
    return root


# SAMM-LV: 9 preamble rows; float frames in macro rows; apex -1; onset 0 (dropped); offset 0 (-> apex).
SAMM_LV_ROWS = [
    ("006", "006_1_1", 10.4, 20.6, 60.5, "Macro"),
    ("006", "006_1_2", 70, 75, 80, "Micro - 1/2"),
    ("006", "006_1_3", 0, 40, 120, "Macro"),
    ("006", "006_1_4", 85, -1, 95, "Micro - 1/2"),
    ("007", "007_3_1", 5, 12, 0, "Micro - 1/2"),
    ("007", "007_3_2", 30, 40, 90, "Macro"),
]


def make_samm_lv(base: Path, with_samm: bool = True, extra_rows=(), samm_rows=SAMM_ROWS) -> Path:
    """``extra_rows`` are appended to the release sheet; ``samm_rows`` go to the sibling SAMM file."""
    root = base / "SAMM_LV"
    rows = [["SAMM Long Videos"], ["Release"], [], ["Apex frames not annotated are -1"], [], [], [], [], []]
    rows.append(["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
                 "Action Units", "Notes"])
    rows += [[s, f, 1, on, ap, off, None, t, "4", ""] for s, f, on, ap, off, t in SAMM_LV_ROWS + list(extra_rows)]
    wb = Workbook()
    _sheet(wb, "FACS_Movement_Only", rows)
    root.mkdir(parents=True, exist_ok=True)
    wb.save(root / "SAMM_LongVideos_V1_Release.xlsx")
    frames(root / "SAMM_longvideos" / "006_1", [f"006_1_{n:04d}.jpg" for n in range(1, 131)], gray=True)
    frames(root / "SAMM_longvideos" / "007_3", [f"007_3_{n:04d}.jpg" for n in range(1, 101)], gray=True)
    if with_samm:  # the SAMM file the emotions come from, one level up (like a sibling dataset)
        make_samm(base, rows=samm_rows)
    return root
