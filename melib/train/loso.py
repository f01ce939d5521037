"""Leave-one-subject-out runner shared by AMMSM and ME-TST (MEGC protocol; datasets.md "Recognition").

One folder per fold, ``out_dir/<fold.name>/``. ``train_fold(fold, fold_dir)`` trains on the fold's
training subjects, saves its own checkpoint in ``fold_dir`` and returns its test predictions as a dict of
arrays (e.g. ``{"y_true": ..., "y_pred": ...}``). The runner writes them to ``predictions.npz`` and only
then a ``DONE`` marker, so an interrupted fold (no marker) is re-run and a finished one is loaded (resume).
``only`` runs one named fold: the ``--fold`` switch that spreads folds over machines. ``submit`` hands the
unfinished folds to an executor (:mod:`melib.train.executor`: local processes or a Slurm array) that runs
them elsewhere, each through this same runner; the loop then loads them like resumed folds. Metrics are not
computed here (train sits left of metrics): :func:`pool` concatenates a prediction array over folds and
the caller scores it with :mod:`melib.metrics`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

PREDICTIONS = "predictions.npz"
DONE = "DONE"


@dataclass
class FoldResult:
    """One fold's predictions; ``resumed`` is True when they were loaded from a finished earlier run."""

    name: str
    predictions: dict[str, np.ndarray]
    fold_dir: Path
    resumed: bool


def fold_done(fold_dir: str | os.PathLike) -> bool:
    """True when a fold folder holds the DONE marker (its predictions are complete)."""
    return (Path(fold_dir) / DONE).is_file()


def load_fold(fold_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The predictions a finished fold saved; a clear error when the file is missing or broken."""
    path = Path(fold_dir) / PREDICTIONS
    if not path.is_file():
        raise FileNotFoundError(f"{path}: fold marked {DONE} but its predictions file is missing")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _save_fold(fold_dir: Path, predictions: dict[str, np.ndarray]) -> None:
    if not isinstance(predictions, dict) or not predictions:
        raise TypeError(f"train_fold for {fold_dir.name!r} must return a non-empty dict of arrays, "
                        f"got {type(predictions).__name__}")
    tmp = fold_dir / (PREDICTIONS + ".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in predictions.items()})
    os.replace(tmp, fold_dir / PREDICTIONS)  # atomic: a killed write leaves no half file under the name
    (fold_dir / DONE).write_text("ok\n")  # written last: its presence means the fold is complete


def run_loso(
    folds: Sequence,
    train_fold: Callable[[object, Path], dict[str, np.ndarray]],
    out_dir: str | os.PathLike,
    only: str | None = None,
    progress: bool = True,
    submit: Callable[[list[str]], None] | None = None,
) -> list[FoldResult]:
    """Run (or resume) every fold, or just the fold named ``only``; return their results in fold order.

    ``folds`` are objects with a ``name`` (the held-out subject), e.g. :class:`melib.data.Fold`.
    ``submit(names)``, if given, first runs the unfinished folds elsewhere (each must end with its DONE
    marker; see :func:`melib.train.executor.submitter`); it raises if any fold failed.
    """
    names = [str(f.name) for f in folds]
    if len(set(names)) != len(names):
        raise ValueError(f"fold names must be unique (one per held-out subject), got {names}")
    if only is not None:
        if str(only) not in names:
            raise KeyError(f"--fold {only!r} is not a fold of this protocol; folds: {names}")
        folds = [f for f in folds if str(f.name) == str(only)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if submit is not None:
        todo = [str(f.name) for f in folds if not fold_done(out_dir / str(f.name))]
        if todo:
            submit(todo)
    results = []
    bar = tqdm(folds, desc="LOSO folds", unit="fold", disable=not progress)
    for fold in bar:
        fold_dir = out_dir / str(fold.name)
        bar.set_postfix_str(str(fold.name))
        if fold_done(fold_dir):
            results.append(FoldResult(str(fold.name), load_fold(fold_dir), fold_dir, True))
            continue
        fold_dir.mkdir(parents=True, exist_ok=True)
        preds = train_fold(fold, fold_dir)
        _save_fold(fold_dir, preds)
        results.append(FoldResult(str(fold.name), load_fold(fold_dir), fold_dir, False))
    return results


def pool(results: Sequence[FoldResult], key: str) -> np.ndarray:
    """Concatenate one prediction array over folds (MEGC: metrics are computed on the pooled arrays)."""
    missing = [r.name for r in results if key not in r.predictions]
    if missing:
        have = sorted(results[0].predictions) if results else []
        raise KeyError(f"prediction {key!r} missing in folds {missing}; keys present: {have}")
    if not results:
        raise ValueError("pool() got no fold results")
    return np.concatenate([np.atleast_1d(r.predictions[key]) for r in results])
