"""Reading annotation spreadsheets whose layout varies between copies (datasets.md).

- The header row is found by searching for its key cells (SAMM has title rows above it, SAMM-LV
  9 preamble rows); blank header cells become ``Unnamed: <i>`` as pandas names them.
- Columns are matched by name, ignoring case, spaces and underscores, with per-dataset aliases.
- Cells: numbers may be ints, floats (rounded with ``int(x + 0.5)``) or text (``'355'``); ``'/'``,
  ``-1`` (SAMM-LV: "apex not annotated"), blanks and NaN are "missing".
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pandas as pd

from melib.data.errors import DataError, MissingAnnotationError

MISSING_TEXT = {"", "/", "-", "nan", "none", "n/a", "na"}


def _norm(name) -> str:
    return re.sub(r"[\s_]+", "", str(name)).lower()


def find_file(root: Path, patterns: list[str], depth: int = 2) -> Path | None:
    """First file under ``root`` (itself and ``depth`` levels of sub-folders) matching a glob pattern."""
    root = Path(root)
    for level in range(depth + 1):
        prefix = "/".join(["*"] * level)
        for pattern in patterns:
            hits = sorted(p for p in root.glob(f"{prefix}/{pattern}" if prefix else pattern) if p.is_file())
            hits = [p for p in hits if not p.name.startswith("~$")]
            if hits:
                return hits[0]
    return None


def require_file(root: Path, patterns: list[str], what: str, depth: int = 2) -> Path:
    path = find_file(root, patterns, depth)
    if path is None:
        raise MissingAnnotationError(
            f"no {what} annotation file found (searched {depth} folder levels)", file=root,
            expected="a file matching " + " or ".join(patterns),
        )
    return path


# First bytes of the two workbook containers: .xlsx is a zip archive, legacy .xls an OLE2 compound file.
WORKBOOK_MAGIC = {b"PK\x03\x04": "xlsx (zip)", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "xls (OLE2)"}


def check_workbook(path: Path) -> None:
    """DataError naming ``path`` unless it starts like an Excel workbook (a CSV renamed to .xlsx does not)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not any(head.startswith(magic) for magic in WORKBOOK_MAGIC):
        hint = " (it looks like text: a CSV or TSV renamed?)" if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head) else ""
        raise DataError(f"not an Excel workbook{hint}; it starts with {head!r}", file=path,
                        expected="an .xlsx (zip) or legacy .xls (OLE2) workbook as the dataset ships it")


def read_sheet(path: Path, columns: dict[str, list[str]], sheet=0, optional=()) -> pd.DataFrame:
    """Read one sheet; return a frame with canonical column names plus ``_row`` (spreadsheet row).

    ``columns`` maps canonical names to accepted header spellings; the header row is the first of
    the top 40 rows that holds the first two canonical columns. ``optional`` names may be absent.
    """
    path = Path(path)
    check_workbook(path)
    try:
        with warnings.catch_warnings():  # pandas flags xlrd (legacy .xls) as deprecated
            warnings.simplefilter("ignore")
            book = pd.ExcelFile(path)
    except Exception as err:  # a zip / OLE2 container that is not a workbook, or a damaged one
        raise DataError(f"not a readable Excel workbook ({type(err).__name__}: {err})", file=path,
                        expected="an .xlsx or legacy .xls workbook as the dataset ships it") from err
    if sheet not in book.sheet_names and not (isinstance(sheet, int) and 0 <= sheet < len(book.sheet_names)):
        raise DataError("sheet is missing", file=path, field=f"sheet {sheet!r}",
                        expected=f"a sheet named {sheet!r} (found {book.sheet_names})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = book.parse(sheet_name=sheet, header=None, dtype=object)
    keys = list(columns)[:2]
    header_at = None
    for i in range(min(len(raw), 40)):
        cells = {_norm(v) for v in raw.iloc[i].tolist() if not pd.isna(v)}
        if all(any(_norm(a) in cells for a in columns[k]) for k in keys):
            header_at = i
            break
    if header_at is None:
        raise DataError(
            "no header row found in the first 40 rows", file=path, field=f"sheet {sheet!r}",
            expected="a row with cells " + " and ".join(repr(columns[k][0]) for k in keys),
        )
    header = [
        f"Unnamed: {j}" if pd.isna(v) or str(v).strip() == "" else str(v).strip()
        for j, v in enumerate(raw.iloc[header_at].tolist())
    ]
    body = raw.iloc[header_at + 1 :].copy()
    body.columns = header
    body = body.dropna(how="all")
    found = {_norm(h): h for h in header}
    out = pd.DataFrame(index=body.index)
    for canon, aliases in columns.items():
        hit = next((found[_norm(a)] for a in aliases if _norm(a) in found), None)
        if hit is None:
            if canon in optional:
                out[canon] = None
                continue
            raise DataError(
                "column is missing", file=path, row=header_at + 1, field=columns[canon][0],
                expected=f"a header cell {' or '.join(map(repr, aliases))} (found {header})",
            )
        out[canon] = body[hit].values
    out["_row"] = body.index + 1  # spreadsheet row numbers (1-based)
    return out.reset_index(drop=True)


def is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and pd.isna(value):
        return True
    return str(value).strip().lower() in MISSING_TEXT


def int_cell(value, file, row, field, minus_one_missing: bool = False) -> int | None:
    """A frame number from an int, float (rounded half up) or text cell; None when missing."""
    if is_missing(value):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise DataError(f"got {value!r}", file=file, row=row, field=field, expected="a frame number") from None
    if minus_one_missing and number == -1:
        return None
    if number < 0 or number != number:
        raise DataError(f"got {value!r}", file=file, row=row, field=field, expected="a frame number >= 0")
    return int(number + 0.5)


def text_cell(value) -> str:
    """A text cell as str ('' when missing); whole floats lose their '.0' (AU 4.0 -> '4')."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def emotion_cell(value, vocabulary, file, row, field) -> str:
    """Lower-cased emotion label, checked against the dataset's vocabulary."""
    label = text_cell(value).lower()
    if label not in vocabulary:
        raise DataError(f"unknown emotion {text_cell(value)!r}", file=file, row=row, field=field,
                        expected="one of " + ", ".join(sorted(vocabulary)))
    return label


def find_dirs(root: Path, pattern: str, max_depth: int = 6, skip=()) -> list[Path]:
    """Folders under ``root`` whose name fully matches ``pattern``, without descending into matches
    (they hold frames: a real long-video dataset has ~10^6 files) or into folders named in ``skip``."""
    rx, out = re.compile(pattern), []

    def walk(folder: Path, depth: int):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir() or entry.name in skip:
                continue
            if rx.fullmatch(entry.name):
                out.append(Path(entry.path))
            elif depth < max_depth:
                walk(Path(entry.path), depth + 1)

    walk(Path(root), 1)
    return out


def frame_files(folder: Path, pattern: str = r"(\d+)\.(?:jpe?g|png|bmp)$") -> dict[int, Path]:
    """Frame number -> file for the images in ``folder``; the number is the last digit run (unpadded ok)."""
    rx = re.compile(pattern, re.IGNORECASE)
    out = {}
    for p in Path(folder).iterdir():
        m = rx.search(p.name)
        if m and p.is_file():
            out[int(m.group(1))] = p
    return out


def subject_cell(value, file, row, prefix: str, template: str, expected: str) -> str:
    """A Subject cell in any of its spellings -> ``template.format(n)``; ``prefix`` is a regex for an
    optional text prefix ('sub', 'spNO\\.?', or '' for bare numbers such as SAMM's '006' / 6)."""
    text = text_cell(value)
    m = re.fullmatch(rf"(?:{prefix})?0*(\d+)", text, re.IGNORECASE)
    if not m:
        raise DataError(f"got {text!r}", file=file, row=row, field="Subject", expected=expected)
    return template.format(int(m.group(1)))

