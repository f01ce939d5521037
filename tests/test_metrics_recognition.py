"""UF1/UAR on pooled predictions equal sklearn's macro-F1 and balanced accuracy; confusion layout."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

from melib.metrics.recognition import confusion, uar, uf1


@pytest.mark.parametrize("seed", range(5))
def test_pooled_uf1_uar_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    folds = [(rng.integers(0, 5, n), rng.integers(0, 5, n)) for n in rng.integers(1, 9, 12)]
    y_true = np.concatenate([t for t, _ in folds])
    y_pred = np.concatenate([p for _, p in folds])
    assert uf1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert uar(y_true, y_pred) == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    # pooling differs from averaging per-fold scores (the MEGC protocol pools)
    per_fold = np.mean([f1_score(t, p, average="macro", labels=np.unique(np.r_[t, p])) for t, p in folds])
    assert abs(per_fold - uf1(y_true, y_pred)) > 1e-6


def test_confusion_rows_are_truth():
    cm = confusion([0, 0, 1, 2], [0, 1, 1, 1], n_classes=3)
    np.testing.assert_array_equal(cm, confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], labels=[0, 1, 2]))
    assert cm[0, 1] == 1 and cm[2, 1] == 1 and cm.sum() == 4


def test_known_values_and_errors():
    assert uf1([0, 1, 1], [0, 1, 0]) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert uar([0, 1, 1], [0, 1, 0]) == pytest.approx((1 + 0.5) / 2)
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        uf1([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="expected 0..1"):
        uf1([0, 1], [0, 2], n_classes=2)
    with pytest.raises(TypeError, match="integer"):
        uar([0.0, 1.0], [0, 1])
