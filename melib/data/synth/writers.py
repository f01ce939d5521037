"""Annotation files in the four real formats (datasets.md), as SynthME writes them.

Each writer takes plain row dicts; column names, sheet names, header offsets and cell types follow
the real files (CASME II: 9 columns with two blank ones; SAMM: 13 title/notes rows above the header,
a formula Duration cell, subject as text; CAS(ME)^3: sheet ``label``, numbers as text, plus the
legacy .xls full annotation; SAMM-LV: sheet ``FACS_Movement_Only`` with 9 preamble rows).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

CASME2_FILE = "CASME2-coding-20140508.xlsx"
SAMM_FILE = "SAMM_Micro_FACS_Codes_v2.xlsx"
CASME3_FILE = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
CASME3_FULL_FILE = "CAS(ME)3_part_A_v2.xls"
SAMM_LV_FILE = "SAMM_LongVideos_V1_Release.xlsx"


def _au_cell(aus: str):
    return int(aus) if aus.isdigit() else aus  # CASME II: int 4 or text '4+L10'


def write_casme2(path: Path, rows: list[dict]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
               "Estimated Emotion"])
    for r in rows:
        ws.append([r["subject_no"], r["clip"], None, r["onset"], r["apex"], r["offset"], None, _au_cell(r["aus"]),
                   r["emotion"]])
    wb.save(path)


def write_samm(path: Path, rows: list[dict]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "MICRO_ONLY"
    ws.append(["SAMM - Spontaneous Actions and Micro-Movements: FACS codes (SynthME imitation)"])
    ws.append(["Notes: frame numbers are absolute indices in the recording."])
    for _ in range(11):
        ws.append([])
    ws.append(["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"])
    for r in rows:
        i = ws.max_row + 1
        ws.append([r["subject"], r["clip"], 1, r["onset"], r["apex"], r["offset"], f"=F{i}-D{i}+1", "Micro",
                   r["aus"], r["emotion"].capitalize(), r.get("objective", ""), ""])
    wb.save(path)


def write_casme3(path: Path, rows: list[dict]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "label"
    ws.append(["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"])
    for r in rows:  # numbers stored as text, as in the real file
        ws.append([r["subject"], r["video"], str(r["onset"]), str(r["apex"]), str(r["offset"]), r["aus"], "",
                   r["emotion"]])
    wb.save(path)


def write_casme3_full(path: Path, rows: list[dict], blinks: list[dict]) -> None:
    """The legacy .xls full annotation: sheet ``AU+Emotion`` (micro and macro) and ``eye blink``."""
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("AU+Emotion")
    head = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion", "Expression type"]
    for j, h in enumerate(head):
        ws.write(0, j, h)
    for i, r in enumerate(rows, 1):
        vals = [r["subject"], r["video"], r["onset"], r["apex"], r["offset"], r["aus"], "", r["emotion"],
                "Micro-expression" if r["kind"] == "micro" else "Macro-expression"]
        for j, v in enumerate(vals):
            ws.write(i, j, v)
    wb2 = wb.add_sheet("eye blink")
    for j, h in enumerate(["Subject", "Filename", "Onset", "Offset"]):
        wb2.write(0, j, h)
    for i, r in enumerate(blinks, 1):
        for j, v in enumerate([r["subject"], r["video"], r["onset"], r["offset"]]):
            wb2.write(i, j, v)
    wb.save(str(path))


def write_samm_lv(path: Path, rows: list[dict]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "FACS_Movement_Only"
    pre = ["SAMM Long Videos (SynthME imitation)", "Release V1", "", "Frame numbers are 1-based per video.",
           "Apex frames that were not annotated are written as -1.", "Type: Macro or Micro - 1/2", "", "", ""]
    for line in pre:
        ws.append([line] if line else [])
    ws.append(["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
               "Action Units", "Notes"])
    for r in rows:
        ws.append([r["subject"], r["name"], 1, r["onset"], r["apex"], r["offset"], r["offset"] - r["onset"] + 1,
                   "Micro - 1/2" if r["kind"] == "micro" else "Macro", r["aus"], ""])
    wb.save(path)
