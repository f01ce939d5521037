"""LOSO runner: per-fold files, DONE written last, resume after a crash skips finished folds, --fold."""

from types import SimpleNamespace

import numpy as np
import pytest

from melib.train.loso import DONE, PREDICTIONS, pool, run_loso


def _folds(n=5):
    return [SimpleNamespace(name=f"sub{i:02d}", test_idx=np.array([2 * i, 2 * i + 1])) for i in range(n)]


def _trainer(calls, crash_on=None):
    def train_fold(fold, fold_dir):
        calls.append(fold.name)
        if fold.name == crash_on:
            raise RuntimeError("killed mid-run")
        (fold_dir / "ckpt.pt").write_bytes(b"x")
        return {"y_true": fold.test_idx % 3, "y_pred": (fold.test_idx + 1) % 3}
    return train_fold


def test_kill_and_restart_skips_finished_folds(tmp_path):
    calls = []
    with pytest.raises(RuntimeError, match="killed"):
        run_loso(_folds(), _trainer(calls, crash_on="sub03"), tmp_path, progress=False)
    assert calls == ["sub00", "sub01", "sub02", "sub03"]
    assert [p.name for p in sorted(tmp_path.glob(f"*/{DONE}"))] == [DONE] * 3
    assert not (tmp_path / "sub03" / DONE).exists()  # the crashed fold is not marked finished

    calls2 = []
    res = run_loso(_folds(), _trainer(calls2), tmp_path, progress=False)
    assert calls2 == ["sub03", "sub04"]  # finished folds are loaded, not re-run
    assert [r.resumed for r in res] == [True, True, True, False, False]
    np.testing.assert_array_equal(pool(res, "y_true"), np.arange(10) % 3)
    np.testing.assert_array_equal(pool(res, "y_pred"), (np.arange(10) + 1) % 3)


def test_done_marker_without_predictions_is_an_error(tmp_path):
    run_loso(_folds(1), _trainer([]), tmp_path, progress=False)
    (tmp_path / "sub00" / PREDICTIONS).unlink()
    with pytest.raises(FileNotFoundError, match="predictions"):
        run_loso(_folds(1), _trainer([]), tmp_path, progress=False)


def test_only_runs_one_named_fold(tmp_path):
    calls = []
    res = run_loso(_folds(), _trainer(calls), tmp_path, only="sub02", progress=False)
    assert calls == ["sub02"] and [r.name for r in res] == ["sub02"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub02"]
    with pytest.raises(KeyError, match="sub99"):
        run_loso(_folds(), _trainer(calls), tmp_path, only="sub99", progress=False)


def test_pool_names_missing_key(tmp_path):
    res = run_loso(_folds(2), _trainer([]), tmp_path, progress=False)
    with pytest.raises(KeyError, match="scores"):
        pool(res, "scores")
