"""Loaders of the long-video datasets: CAS(ME)^3 Part A and SAMM Long Videos (datasets.md).

Events are converted to 0-based indices into the video's frame list (index = number - 1; files are
1-based and dropped frames are filled by the next existing frame). Documented repairs, each logged:
onset 0 -> dropped for SAMM-LV macros (as common loaders do), first frame for CAS(ME)^3 (``onset_zero=
"drop"`` drops them as the ME-TST authors do); offset 0 -> the apex; apex missing / -1 -> middle frame;
apex outside the interval -> clipped; an interval ending past the last frame on disk -> clipped to it
(one starting past it is a DataError); dropped frames -> the next frame (logged once per video). MEs
longer than ``LONG_ME`` frames at 30 fps are kept and logged (CAS(ME)^3 has ten such rows).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from melib.data.clips import SAMM_COLUMNS, SAMM_EMOTIONS, SAMM_PATTERNS, fix_apex, subject_samm
from melib.data.errors import DataError, repaired
from melib.data.records import TRUTH_DIR, Event, LongVideoDataset, Video
from melib.data.tables import (
    emotion_cell,
    find_dirs,
    find_file,
    frame_files,
    int_cell,
    read_sheet,
    require_file,
    subject_cell,
    text_cell,
)

CASME3_PATTERNS = ["cas(me)3_part_A_ME_label*.xlsx", "cas(me)^3_part_A_ME_label*.xlsx", "*part_A_ME_label*.xlsx",
                   "part_A/annotation/*part_A_ME_label*.xlsx"]  # the release's place, one level deeper
CASME3_FULL_PATTERNS = ["CAS(ME)3_part_A*.xls", "*part_A_v*.xls"]
SAMM_LV_PATTERNS = ["SAMM_LongVideos_*Release*.xlsx", "SAMM_LongVideos*.xlsx"]
CASME3_EMOTIONS = {"disgust", "surprise", "others", "fear", "anger", "sad", "happy"}
CASME3_COLUMNS = {"subject": ["Subject"], "filename": ["Filename"], "onset": ["Onset"], "apex": ["Apex"],
                  "offset": ["Offset"], "aus": ["AU", "Action Units"], "emotion": ["emotion", "Emotion"]}
CASME3_FULL_COLUMNS = {**CASME3_COLUMNS, "type": ["Expression type", "Expression Type", "Type"]}
SAMM_LV_COLUMNS = {"subject": ["Subject"], "filename": ["Filename"], "onset": ["Onset"], "apex": ["Apex"],
                   "offset": ["Offset"], "type": ["Type"], "aus": ["Action Units", "AU"]}
LONG_ME = 200
ONSET_ZERO = ("first", "drop")
log = logging.getLogger(__name__)


def _interval(rec, file, cols, kind, onset_zero: str):
    """(onset, apex, offset) frame numbers of one row with the documented repairs; None = drop row."""
    row = rec["_row"]
    onset = int_cell(rec["onset"], file, row, cols["onset"][0])
    apex = int_cell(rec["apex"], file, row, cols["apex"][0], minus_one_missing=True)
    offset = int_cell(rec["offset"], file, row, cols["offset"][0])
    if onset is None:
        raise DataError(f"got {rec['onset']!r}", file, row, cols["onset"][0], "an onset frame number")
    if offset in (None, 0):
        if apex is None:
            raise DataError(f"offset {rec['offset']!r} and no apex", file, row, cols["offset"][0],
                            "an offset frame number (or an apex to use in its place)")
        repaired(f"offset {rec['offset']!r}; using the apex {apex} as offset", file, row, cols["offset"][0])
        offset = apex
    if onset == 0:
        if onset_zero == "drop":
            repaired("onset 0; row dropped", file, row, cols["onset"][0])
            return None
        repaired("onset 0; using the first frame", file, row, cols["onset"][0])
        onset = 1
    if offset < onset:
        raise DataError(f"offset {offset} < onset {onset}", file, row, cols["offset"][0], "onset <= offset")
    apex = fix_apex(onset, apex, offset, file, row, cols["apex"][0])
    if kind == "micro" and offset - onset + 1 > LONG_ME:
        repaired(f"micro-expression spans {offset - onset + 1} frames (kept)", file, row, cols["offset"][0])
    return onset, apex, offset


def _video_frames(folder: Path, pattern: str) -> list[Path]:
    """1-based numbered files -> list indexed by number - 1; gaps filled by the next existing frame
    (logged once per video, naming the missing numbers)."""
    files = frame_files(folder, pattern)
    if not files:
        raise DataError("no frame images", file=folder, expected="numbered JPEG frames")
    out, nxt = [None] * max(files), None
    for n in range(max(files), 0, -1):
        nxt = files.get(n, nxt)
        out[n - 1] = nxt
    missing = [n for n in range(1, max(files) + 1) if n not in files]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        log.warning("%s: %d missing frame(s) (%s) filled by the next existing frame", folder, len(missing), shown)
    return out


def _fit_video(numbers, video: Video, file, row, cols):
    """Frame numbers of one event checked against the frames on disk: an interval that starts inside
    the video but ends past its last frame is clipped to it (warning naming file, row, field); one
    that starts past the last frame is a DataError (the copy lacks its frames or the row is wrong)."""
    onset, apex, offset = numbers
    last = video.n_frames
    if onset > last:
        raise DataError(f"onset {onset} is past the last frame {last} of video {video.subject}/{video.name}",
                        file, row, cols["onset"][0], f"a frame number in 1..{last} (frames on disk)")
    if offset > last:
        repaired(f"offset {offset} is past the last frame {last} of video {video.subject}/{video.name}; "
                 f"clipped to {last}", file, row, cols["offset"][0])
        offset, apex = last, min(apex, last)
    return onset, apex, offset


def _event(numbers, kind, rec, emotion, subject, video) -> Event:
    on, ap, off = (n - 1 for n in numbers)
    return Event(on, ap, off, kind, emotion, text_cell(rec["aus"]), subject, video,
                 text_cell(rec["filename"]), rec["_row"])


def subject_casme3(value, file, row) -> str:
    """'spNO.1', 'spNO1' or 1 -> 'spNO.1'."""
    return subject_cell(value, file, row, r"spNO\.?", "spNO.{}", "'spNO.<n>' or a number")


def load_casme3(root: Path, onset_zero: str = "first") -> LongVideoDataset:
    """CAS(ME)^3 Part A: ME label xlsx (sheet ``label``) + ``spNO.N/<video>/color/N.jpg``; macros from
    the full annotation .xls (sheet ``AU+Emotion``, Expression type column; its emotion column is
    optional: the release's sheet has 8 columns without one) when present.

    ``onset_zero``: rows with onset 0 (spNO.216 e) start at the first frame (``"first"``, default: the
    event is annotated, so it stays in the ground truth) or are dropped (``"drop"``, as the ME-TST
    authors' loader does).
    """
    if onset_zero not in ONSET_ZERO:
        raise ValueError(f"onset_zero must be one of {ONSET_ZERO}, got {onset_zero!r}")
    root = Path(root)
    ann = require_file(root, CASME3_PATTERNS, "CAS(ME)^3 Part A ME label")
    table = read_sheet(ann, CASME3_COLUMNS, sheet="label")
    subjects = {p.name: p for p in find_dirs(root, r"spNO\.\d+", skip=(TRUTH_DIR,))
                if any((v / "color").is_dir() for v in p.iterdir())}
    videos: dict[tuple[str, str], Video] = {}
    for sdir in subjects.values():
        for vdir in sorted(p for p in sdir.iterdir() if (p / "color").is_dir()):
            truth = root / TRUTH_DIR / sdir.name / f"{vdir.name}.json"
            videos[(sdir.name, vdir.name.lower())] = Video(
                sdir.name, vdir.name, 30.0, _video_frames(vdir / "color", r"^(\d+)\.jpe?g$"),
                dataset="casme3", truth_file=truth if truth.is_file() else None)
    rows = [("micro", ann, CASME3_COLUMNS, r) for r in table.to_dict("records")]
    full = find_file(root, CASME3_FULL_PATTERNS)
    if full is not None:
        extra = read_sheet(full, CASME3_FULL_COLUMNS, sheet="AU+Emotion", optional=("emotion",))
        rows += [("macro", full, CASME3_FULL_COLUMNS, r) for r in extra.to_dict("records")
                 if "macro" in text_cell(r["type"]).lower()]
    for kind, file, cols, rec in rows:
        subject = subject_casme3(rec["subject"], file, rec["_row"])
        name = text_cell(rec["filename"])
        video = videos.get((subject, name.lower()))
        if video is None:
            raise DataError(f"no frames folder for video {subject}/{name}", file, rec["_row"], "Filename",
                            f"a folder {subject}/{name.lower()}/color with frames under {root}")
        numbers = _interval(rec, file, cols, kind, onset_zero=onset_zero)
        if numbers is None:
            continue
        numbers = _fit_video(numbers, video, file, rec["_row"], cols)
        emotion = (emotion_cell(rec["emotion"], CASME3_EMOTIONS, file, rec["_row"], cols["emotion"][0])
                   if kind == "micro" else text_cell(rec["emotion"]).lower())
        event = _event(numbers, kind, rec, emotion, subject, video.name)
        (video.mes if kind == "micro" else video.macros).append(event)
    return LongVideoDataset("casme3", root, 30.0, list(videos.values()), ann)


def _samm_emotions(root: Path, ann_lv: Path, me_names: set[str]) -> dict[str, str]:
    """Filename -> emotion from a SAMM FACS-codes file near the SAMM-LV root (the inner merge).

    The file used is logged (its path); one whose Filenames match none of the SAMM-LV MEs
    (``me_names``) is a DataError: it belongs to another dataset copy.
    """
    for base in (root, root.parent):
        ann = find_file(base, SAMM_PATTERNS, depth=2)
        if ann is not None:
            table = read_sheet(ann, SAMM_COLUMNS)
            emotions = {text_cell(r["filename"]): emotion_cell(r["emotion"], SAMM_EMOTIONS, ann, r["_row"],
                                                               "Estimated Emotion")
                        for r in table.to_dict("records") if text_cell(r["filename"])}
            shared = me_names & set(emotions)
            if me_names and not shared:
                raise DataError(f"none of its {len(emotions)} Filenames matches any of the {len(me_names)} "
                                f"SAMM-LV micro-expressions of {ann_lv}", file=ann, field="Filename",
                                expected="the SAMM FACS-codes file of the same release (Filenames like "
                                         f"{sorted(me_names)[0]!r}), or no SAMM file near the SAMM-LV root")
            log.warning("%s: SAMM-LV ME emotions taken from this SAMM FACS-codes file (%d of %d MEs matched "
                        "on Filename)", ann, len(shared), len(me_names))
            return emotions
    repaired("no SAMM FACS-codes file found near the SAMM-LV root; ME emotions left empty", root)
    return {}


def load_samm_lv(root: Path) -> LongVideoDataset:
    """SAMM-LV: release xlsx (sheet ``FACS_Movement_Only``, header searched) + ``{video}/{video}_{n:04d}.jpg``.

    Emotions come from the SAMM FACS-codes file (matched on Filename) when one is found next to it.
    """
    root = Path(root)
    ann = require_file(root, SAMM_LV_PATTERNS, "SAMM Long Videos")
    table = read_sheet(ann, SAMM_LV_COLUMNS, sheet="FACS_Movement_Only")
    me_names = {text_cell(r["filename"]) for r in table.to_dict("records")
                if text_cell(r["type"]).lower().startswith("micro")}
    emotions = _samm_emotions(root, ann, me_names)
    folders = {p.name: p for p in find_dirs(root, r"\d+_\d+", skip=(TRUTH_DIR,))}
    videos = {}
    for name, folder in folders.items():
        sub = subject_samm(name.split("_")[0], folder, None)
        truth = root / TRUTH_DIR / f"{name}.json"
        videos[name] = Video(sub, name, 200.0, _video_frames(folder, r"_(\d+)\.jpe?g$"), dataset="samm_lv",
                             truth_file=truth if truth.is_file() else None)
    for rec in table.to_dict("records"):
        filename, row = text_cell(rec["filename"]), rec["_row"]
        if not filename:
            continue
        kind_text = text_cell(rec["type"]).lower()
        if kind_text.startswith("micro"):
            kind = "micro"
        elif kind_text.startswith("macro"):
            kind = "macro"
        else:
            raise DataError(f"got {rec['type']!r}", ann, row, "Type", "'Macro' or 'Micro - 1/2'")
        m = re.fullmatch(r"(\d+)_(\d+)_\d+", filename)
        if m is None:
            raise DataError(f"got {filename!r}", ann, row, "Filename", "'{subject}_{video}_{event}' like '006_1_2'")
        vname = f"{int(m.group(1)):03d}_{m.group(2)}"
        video = videos.get(vname) or videos.get(f"{m.group(1)}_{m.group(2)}")
        if video is None:
            raise DataError(f"no frames folder for video {vname}", ann, row, "Filename",
                            f"a folder {vname} with {vname}_NNNN.jpg frames under {root}")
        numbers = _interval(rec, ann, SAMM_LV_COLUMNS, kind, onset_zero="drop")
        if numbers is None:
            continue
        numbers = _fit_video(numbers, video, ann, row, SAMM_LV_COLUMNS)
        emotion = emotions.get(filename, "") if kind == "micro" else ""
        event = _event(numbers, kind, rec, emotion, video.subject, video.name)
        (video.mes if kind == "micro" else video.macros).append(event)
    return LongVideoDataset("samm_lv", root, 200.0, list(videos.values()), ann)


def events_frame(dataset: LongVideoDataset) -> pd.DataFrame:
    """All annotated events of a long-video dataset as a table (one row per event)."""
    rows = [vars(e) | {"fps": v.fps} for v in dataset.videos for e in v.mes + v.macros]
    return pd.DataFrame(rows)
