"""On-disk cache for flow results, keyed by inputs and parameters (design.md, "Engineering rules").

A key is a dict of JSON-able values (video identity, frame range, every parameter); its SHA-1 names
the file, so a changed parameter gives a new file and the result is recomputed. Writes go through a
temporary file and an atomic rename, so an interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from melib.params import stable_hash


def cache_key(key: dict) -> str:
    """Stable hex digest of a JSON-able dict (keys sorted; Paths and numpy scalars turned to str/float)."""
    return stable_hash(key)


def file_stamp(paths) -> str:
    """Digest of (path, size, mtime) of files: a regenerated or replaced frame changes the key."""
    stamps = []
    for p in paths:
        st = os.stat(p)
        stamps.append(f"{p}|{st.st_size}|{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(stamps).encode()).hexdigest()[:16]


def cache_path(folder: str | Path, prefix: str, key: dict) -> Path:
    """The file :func:`cached_array` uses for ``key``: ``folder/prefix-<hash>.npy``."""
    return Path(folder) / f"{prefix}-{cache_key(key)}.npy"


def cached_array(folder: str | Path | None, prefix: str, key: dict,
                 compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Load ``folder/prefix-<hash>.npy`` if present, else ``compute()``, save it and return it.
    ``folder=None`` disables caching."""
    if folder is None:
        return compute()
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = cache_path(folder, prefix, key)
    if path.exists():
        return np.load(path)
    arr = np.asarray(compute())
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(key, sort_keys=True, default=str, indent=1))
    return arr
