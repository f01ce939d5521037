"""Loaders of the short-clip datasets: CASME II and SAMM (layouts and quirks: datasets.md).

Repairs of documented quirks are logged as warnings: a missing or ``'/'`` apex becomes the middle
frame ``(onset + offset) // 2``; an apex outside [onset, offset] is clipped into it.
"""

from __future__ import annotations

from pathlib import Path

from melib.data.errors import DataError, repaired
from melib.data.records import TRUTH_DIR, Clip, ClipDataset
from melib.data.tables import (
    emotion_cell,
    frame_files,
    int_cell,
    read_sheet,
    require_file,
    subject_cell,
    text_cell,
)

CASME2_PATTERNS = ["CASME2-coding-*.xlsx", "CASME2-coding*.xls*", "CASME2_label*.xls*"]
SAMM_PATTERNS = ["SAMM_Micro_FACS_Codes*.xls*"]
CASME2_EMOTIONS = {"happiness", "disgust", "repression", "surprise", "others", "sadness", "fear"}
SAMM_EMOTIONS = {"anger", "contempt", "disgust", "fear", "happiness", "other", "sadness", "surprise"}
CASME2_COLUMNS = {
    "subject": ["Subject"], "filename": ["Filename"], "onset": ["OnsetFrame", "Onset Frame", "Onset"],
    "apex": ["ApexFrame", "Apex Frame", "Apex"], "offset": ["OffsetFrame", "Offset Frame", "Offset"],
    "aus": ["Action Units", "ActionUnits", "AU"],
    "emotion": ["Estimated Emotion", "EstimatedEmotion", "Emotion"],
}
SAMM_COLUMNS = {
    "subject": ["Subject"], "filename": ["Filename"], "onset": ["Onset Frame", "Onset"],
    "apex": ["Apex Frame", "Apex"], "offset": ["Offset Frame", "Offset"],
    "aus": ["Action Units", "AU"], "emotion": ["Estimated Emotion", "Emotion"],
}


def fix_apex(onset, apex, offset, file, row, field="apex") -> int:
    """The documented apex repairs (missing -> middle frame; outside the interval -> clipped)."""
    if apex is None:
        apex = (onset + offset) // 2
        repaired(f"apex missing; using the middle frame {apex}", file, row, field)
    elif not onset <= apex <= offset:
        new = min(max(apex, onset), offset)
        repaired(f"apex {apex} outside [{onset}, {offset}]; clipped to {new}", file, row, field)
        apex = new
    return apex


def subject_casme2(value, file, row) -> str:
    """1, 1.0, '01' or 'sub01' -> 'sub01'."""
    return subject_cell(value, file, row, "sub", "sub{:02d}", "a subject number like 1 or '01'")


def subject_samm(value, file, row) -> str:
    """'006', 6 or 6.0 -> '006'."""
    return subject_cell(value, file, row, "", "{:03d}", "a subject number like '006'")


def _frames_base(root: Path, names: list[str], depth: int = 3) -> Path:
    """The first folder named one of ``names`` under root (breadth-first), or root itself."""
    for level in range(depth + 1):
        for name in names:
            hits = sorted(p for p in root.glob("/".join(["*"] * level + [name])) if p.is_dir())
            if hits:
                inner = hits[0] / name  # some copies nest Cropped/Cropped
                return inner if inner.is_dir() else hits[0]
    return root


def _load_clips(name, root, ann, cols, emotions, subject_fn, folder_fn, fps) -> ClipDataset:
    table = read_sheet(ann, cols)
    samples = []
    for rec in table.to_dict("records"):
        row = rec["_row"]
        if all(text_cell(rec[k]) == "" for k in ("subject", "filename")):
            continue
        subject = subject_fn(rec["subject"], ann, row)
        clip = text_cell(rec["filename"])
        onset = int_cell(rec["onset"], ann, row, cols["onset"][0])
        offset = int_cell(rec["offset"], ann, row, cols["offset"][0])
        if onset is None or offset is None or offset < onset:
            raise DataError(f"onset {rec['onset']!r} / offset {rec['offset']!r}", ann, row, cols["onset"][0],
                            "numeric onset <= offset")
        apex = fix_apex(onset, int_cell(rec["apex"], ann, row, cols["apex"][0]), offset, ann, row, cols["apex"][0])
        emotion = emotion_cell(rec["emotion"], emotions, ann, row, cols["emotion"][0])
        folder = folder_fn(subject, clip)
        if not folder.is_dir():
            raise DataError(f"clip folder {folder} not found", ann, row, cols["filename"][0],
                            "a folder per annotated clip under the frames root")
        files = frame_files(folder)
        if not files:
            raise DataError(f"no frame images in {folder}", ann, row, cols["filename"][0], "imgN.jpg frames")
        truth = root / TRUTH_DIR / subject / f"{clip}.npz"
        samples.append(Clip(subject, clip, onset, apex, offset, emotion, text_cell(rec["aus"]), fps, folder,
                            files, name, row, truth if truth.is_file() else None))
    return ClipDataset(name, Path(root), fps, samples, ann)


def load_casme2(root: Path, variant: str | None = None) -> ClipDataset:
    """CASME II: coding xlsx (9 or 7 columns) + ``CASME2_RAW_selected`` / ``CASME2-RAW`` / ``Cropped``.

    ``variant`` picks a frame layout ("selected", "raw", "cropped"); default: the first present.
    """
    root = Path(root)
    ann = require_file(root, CASME2_PATTERNS, "CASME II")
    layouts = {"selected": ["CASME2_RAW_selected"], "raw": ["CASME2-RAW", "CASME2_RAW"], "cropped": ["Cropped"]}
    order = [variant] if variant else list(layouts)
    if variant and variant not in layouts:
        raise ValueError(f"variant must be one of {list(layouts)}, got {variant!r}")
    base = root
    for v in order:
        base = _frames_base(root, layouts[v])
        if base != root:
            break
    return _load_clips("casme2", root, ann, CASME2_COLUMNS, CASME2_EMOTIONS, subject_casme2,
                       lambda s, c: base / s / c, 200.0)


def load_samm(root: Path) -> ClipDataset:
    """SAMM: FACS-codes xlsx (header row searched) + ``SAMM/{subject}/{Filename}/{subject}_{frame:05d}.jpg``."""
    root = Path(root)
    ann = require_file(root, SAMM_PATTERNS, "SAMM")
    base = _frames_base(root, ["SAMM", "SAMM_CROP", "SAMM_Cropped"])
    return _load_clips("samm", root, ann, SAMM_COLUMNS, SAMM_EMOTIONS, subject_samm,
                       lambda s, c: base / s / c, 200.0)
