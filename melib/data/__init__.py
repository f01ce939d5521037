"""Datasets: SynthME generation, loaders of the four real formats, class protocols and LOSO folds.

``prepare(cfg)`` -> the roots of the datasets to use; ``open_dataset(root)`` -> a
:class:`ClipDataset` (CASME II, SAMM) or :class:`LongVideoDataset` (CAS(ME)^3, SAMM-LV), recognised
by its annotation file; ``protocol(dataset, name)`` and ``loso_folds(subjects)`` for evaluation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from melib.data.clips import CASME2_PATTERNS, SAMM_PATTERNS, load_casme2, load_samm
from melib.data.errors import DataError, MissingAnnotationError
from melib.data.protocols import PROTOCOLS, Fold, Protocol, loso_folds, protocol
from melib.data.records import Clip, ClipDataset, Event, LongVideoDataset, Video, read_image
from melib.data.tables import find_file
from melib.data.videos import CASME3_PATTERNS, SAMM_LV_PATTERNS, events_frame, load_casme3, load_samm_lv
from melib.params import stable_hash

__all__ = ["Clip", "ClipDataset", "DataError", "Event", "Fold", "LongVideoDataset", "MissingAnnotationError",
           "PROTOCOLS", "Protocol", "Video", "events_frame", "loso_folds", "open_dataset", "prepare", "protocol",
           "read_image"]

NAMES = ("casme2", "samm", "casme3", "samm_lv")
# Long-video formats first: a SAMM-LV folder may hold a SAMM file for its emotions.
_DETECT = [("samm_lv", SAMM_LV_PATTERNS), ("casme3", CASME3_PATTERNS), ("casme2", CASME2_PATTERNS),
           ("samm", SAMM_PATTERNS)]
_LOADERS = {"casme2": load_casme2, "samm": load_samm, "casme3": load_casme3, "samm_lv": load_samm_lv}
COMPLETE = "COMPLETE.json"


def detect(root, depth: int = 2) -> list[str]:
    """Names of the datasets whose annotation file lies in ``root`` or ``depth`` levels below it."""
    return [name for name, pats in _DETECT if find_file(Path(root), pats, depth) is not None]


def open_dataset(root, kind: str | None = None, **kwargs) -> ClipDataset | LongVideoDataset:
    """Open a dataset root; which dataset it is comes from its annotation file (or ``kind``)."""
    root = Path(root)
    if not root.is_dir():
        raise MissingAnnotationError("dataset root is not a folder", file=root, expected="an existing folder")
    if kind is None:
        found = detect(root)
        if not found:
            pats = [p for _, ps in _DETECT for p in ps]
            raise MissingAnnotationError("no annotation file of a known dataset", file=root,
                                         expected="one of " + ", ".join(pats))
        if found[:2] == ["samm_lv", "samm"] and len(found) == 2:
            found = ["samm_lv"]
        if len(found) > 1:
            raise DataError(f"several datasets found ({found})", file=root,
                            expected="one dataset per root (use melib.data.prepare or kind=...)")
        kind = found[0]
    if kind not in _LOADERS:
        raise ValueError(f"kind must be one of {NAMES}, got {kind!r}")
    return _LOADERS[kind](root, **kwargs)


def _real_roots(data: Path) -> dict[str, Path]:
    roots = {}
    for name, pats in _DETECT:
        ann = find_file(data, pats, depth=2)
        if ann is not None:
            rel = ann.relative_to(data).parts
            roots[name] = data / rel[0] if len(rel) > 1 else data
    return {k: roots[k] for k in NAMES if k in roots}


def prepare(cfg, **overrides) -> dict[str, Path]:
    """Roots of the datasets to use: SynthME (generated once, cached) or those found under cfg.data.

    SynthME goes to ``cfg.out/synthme/<profile>[-capped]-seed<seed>[-<hash of overrides>]`` (``-capped``: the
    smaller SynthME of a capped dry run, :data:`melib.params.CAPPED`, which must never replace or be taken
    for the full one); it is regenerated when the completion marker (written last) is missing or holds other parameters. The data
    seed is ``cfg.seed`` unless ``cfg.synth.data_seed`` fixes it (the ``study`` profile: every training
    seed reads the same clips, so runs of different seeds are paired).
    ``overrides`` replace keys of ``cfg.synth`` (e.g. ``amplitude=[2, 2]``, ``parts=["casme2"]``).
    """
    if not cfg.is_synth:
        if overrides:
            raise ValueError("SynthME overrides given, but DATA is a real dataset path")
        roots = _real_roots(Path(cfg.data))
        if not roots:
            raise MissingAnnotationError("no dataset annotation file found (searched 2 folder levels)",
                                         file=cfg.data, expected="files of CASME II, SAMM, CAS(ME)^3 or SAMM-LV")
        return roots
    from melib.data.synth import generate

    params = {**vars(cfg.synth), **overrides}
    if not params:
        raise ValueError(f"PROFILES['synth'][{cfg.profile!r}] is empty; SynthME needs its parameters")
    key = json.dumps(params, sort_keys=True)
    seed = cfg.seed if params.get("data_seed") is None else int(params["data_seed"])
    name = f"{cfg.profile}{'-capped' if getattr(cfg, 'cap', None) else ''}-seed{seed}"  # never the full copy
    if overrides:
        name += "-" + stable_hash(overrides, 8)
    out = cfg.out / "synthme" / name
    marker = out / COMPLETE
    if marker.is_file():
        done = json.loads(marker.read_text())
        if done.get("params") == key:
            return {k: out / v for k, v in done["roots"].items()}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    roots = generate(out, params, seed)
    marker.write_text(json.dumps({"params": key, "roots": {k: str(v.relative_to(out)) for k, v in roots.items()}}))
    return roots
