"""Errors and warnings for dataset input: every message names the file, row and field and what was expected."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("melib.data")


def where(file=None, row=None, field=None) -> str:
    """``'file.xlsx, row 12, field 'ApexFrame''`` (the parts that are known)."""
    parts = []
    if file is not None:
        parts.append(str(Path(file)))
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts) or "input"


class DataError(ValueError):
    """Bad dataset input. ``str(err)`` = "<file>, row <n>, field '<f>': <problem>; expected <what>"."""

    def __init__(self, problem: str, file=None, row=None, field=None, expected: str | None = None):
        self.file, self.row, self.field, self.expected = file, row, field, expected
        msg = f"{where(file, row, field)}: {problem}"
        if expected:
            msg += f"; expected {expected}"
        super().__init__(msg)


class MissingAnnotationError(DataError, FileNotFoundError):
    """No annotation file of a known dataset was found under a root."""


def repaired(what: str, file=None, row=None, field=None) -> None:
    """Log a documented repair of a known quirk (datasets.md) as a warning."""
    log.warning("%s: %s", where(file, row, field), what)
