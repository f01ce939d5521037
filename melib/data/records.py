"""The records every loader returns: :class:`Clip` (short-clip datasets), :class:`Video` and
:class:`Event` (long-video datasets), and the two dataset containers.

Frame indices of :class:`Event` are 0-based positions in the video's frame list; ``Clip.onset``,
``apex`` and ``offset`` are frame *numbers* as annotated (docs/architecture.md, Conventions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from melib.data.errors import DataError

TRUTH_DIR = "synthme_truth"  # SynthME's side files (absent in real datasets)


def truncation(data: bytes) -> str | None:
    """Why an encoded JPEG/PNG is cut short, or None. libjpeg decodes a truncated JPEG anyway (grey
    filler, only "Premature end of JPEG file" on stderr), so the container is checked: a JPEG's last
    start-of-scan (FFDA) must be followed by its end-of-image marker (FFD9; entropy-coded data cannot
    hold it, FF is stuffed as FF00); a PNG must hold its IEND chunk."""
    if data[:2] == b"\xff\xd8":
        sos = data.rfind(b"\xff\xda")
        if sos < 0:
            return "no start-of-scan marker"
        if data.find(b"\xff\xd9", sos) < 0:
            return f"no end-of-image marker after the last scan; {len(data)} bytes"
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-64:]:
        return f"no IEND chunk; {len(data)} bytes"
    return None


def read_image(path: Path, gray: bool = False, reduce: int = 1) -> np.ndarray:
    """Decode one frame file: uint8 (H, W) if gray else (H, W, 3) RGB; errors name the file (missing,
    truncated, undecodable). ``reduce`` in (1, 2, 4, 8): libjpeg's reduced decoding (1/reduce per side)."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise DataError("frame file is missing", file=path, expected="an existing image file")
    data = path.read_bytes()
    problem = truncation(data)
    if problem:
        raise DataError(f"frame file is truncated ({problem})", file=path, expected="a complete JPEG/PNG image")
    flags = {(1, True): cv2.IMREAD_GRAYSCALE, (1, False): cv2.IMREAD_COLOR,
             (2, True): cv2.IMREAD_REDUCED_GRAYSCALE_2, (2, False): cv2.IMREAD_REDUCED_COLOR_2,
             (4, True): cv2.IMREAD_REDUCED_GRAYSCALE_4, (4, False): cv2.IMREAD_REDUCED_COLOR_4,
             (8, True): cv2.IMREAD_REDUCED_GRAYSCALE_8, (8, False): cv2.IMREAD_REDUCED_COLOR_8}
    if (reduce, bool(gray)) not in flags:
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce!r}")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags[reduce, bool(gray)])
    if img is None:
        raise DataError("frame file cannot be decoded", file=path, expected="a readable JPEG/PNG/BMP image")
    return img if gray else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@dataclass
class Clip:
    """One short micro-expression clip (CASME II / SAMM)."""

    subject: str  # canonical: "sub01" (CASME II), "006" (SAMM)
    clip: str  # folder name as on disk
    onset: int  # frame numbers as annotated
    apex: int
    offset: int
    emotion: str  # lower-case
    aus: str
    fps: float
    folder: Path
    frame_files: dict[int, Path] = field(repr=False, default_factory=dict)
    dataset: str = ""
    row: int | None = None  # annotation row (1-based, as a spreadsheet shows it)
    truth_file: Path | None = field(default=None, repr=False)

    @property
    def frame_numbers(self) -> list[int]:
        return sorted(self.frame_files)

    def frame_path(self, number: int) -> Path:
        try:
            return self.frame_files[int(number)]
        except KeyError:
            nums = self.frame_numbers
            span = f"{nums[0]}..{nums[-1]} ({len(nums)} files)" if nums else "none"
            raise DataError(
                f"frame number {number} is not on disk for clip {self.subject}/{self.clip}",
                file=self.folder, expected=f"a frame number among {span}",
            ) from None

    def read_frame(self, number: int, gray: bool = False) -> np.ndarray:
        return read_image(self.frame_path(number), gray)

    def truth(self) -> dict | None:
        """SynthME ground truth (``flow`` (H, W, 2) float32 onset->apex, ``amplitude``, ``aus``) or None."""
        if self.truth_file is None or not Path(self.truth_file).is_file():
            return None
        with np.load(self.truth_file, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        out["amplitude"] = float(out["amplitude"])
        out["aus"] = str(out["aus"])
        return out


@dataclass
class Event:
    """One annotated interval in a long video; indices are 0-based positions in the video."""

    onset: int
    apex: int
    offset: int
    kind: str  # "micro" | "macro" | "blink" | "head"
    emotion: str = ""
    aus: str = ""
    subject: str = ""
    video: str = ""
    name: str = ""  # annotation Filename (e.g. SAMM-LV "006_1_2")
    row: int | None = None

    @property
    def length(self) -> int:
        return self.offset - self.onset + 1


@dataclass
class Video:
    """One long video (CAS(ME)^3 / SAMM-LV) with its annotated ME and macro intervals."""

    subject: str
    name: str
    fps: float
    frame_paths: list[Path] = field(repr=False)  # dropped frames filled by the next existing frame
    mes: list[Event] = field(default_factory=list)
    macros: list[Event] = field(default_factory=list)
    dataset: str = ""
    truth_file: Path | None = field(default=None, repr=False)

    @property
    def n_frames(self) -> int:
        return len(self.frame_paths)

    def read_frame(self, i: int, gray: bool = True) -> np.ndarray:
        if not 0 <= i < self.n_frames:
            raise IndexError(f"video {self.subject}/{self.name}: frame index {i} outside 0..{self.n_frames - 1}")
        return read_image(self.frame_paths[i], gray)

    def truth(self) -> dict | None:
        """SynthME ground truth: every event (micro, macro, blink, head) and per-frame activity."""
        if self.truth_file is None or not Path(self.truth_file).is_file():
            return None
        data = json.loads(Path(self.truth_file).read_text())
        data["events"] = [Event(**e) for e in data["events"]]
        return data


@dataclass
class ClipDataset:
    name: str  # "casme2" | "samm"
    root: Path
    fps: float
    samples: list[Clip]
    annotation: Path | None = None

    def __len__(self) -> int:
        return len(self.samples)


@dataclass
class LongVideoDataset:
    name: str  # "casme3" | "samm_lv"
    root: Path
    fps: float
    videos: list[Video]
    annotation: Path | None = None

    @property
    def mes(self) -> list[Event]:
        return [e for v in self.videos for e in v.mes]
