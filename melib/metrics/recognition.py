"""Recognition metrics on pooled LOSO predictions (MEGC protocol; datasets.md "Recognition").

TP/FP/FN per class are summed over all folds first (the predictions are pooled), then
UF1 = mean_c 2TP_c / (2TP_c + FP_c + FN_c) and UAR = mean_c TP_c / n_c. A class with no samples and no
predictions is left out of the mean (it has no defined F1 or recall).
"""

from __future__ import annotations

import numpy as np


def _check(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("no predictions to score (empty y_true)")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
        if y.min() < 0 or (n_classes is not None and y.max() >= n_classes):
            raise ValueError(f"{name} holds class {y.min() if y.min() < 0 else y.max()}, "
                             f"expected 0..{(n_classes or 0) - 1}")
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
    return y_true, y_pred, n_classes


def confusion(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """(n_classes, n_classes) counts; rows = true class, columns = predicted class."""
    y_true, y_pred, k = _check(y_true, y_pred, n_classes)
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def uf1(y_true, y_pred, n_classes: int | None = None) -> float:
    """Unweighted F1: mean over classes of 2TP/(2TP+FP+FN) on pooled predictions (= sklearn macro-F1)."""
    cm = confusion(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(float)
    fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
    denom = 2 * tp + fp + fn
    present = denom > 0
    return float(np.mean(2 * tp[present] / denom[present]))


def uar(y_true, y_pred, n_classes: int | None = None) -> float:
    """Unweighted average recall: mean over present classes of TP/n_c (= sklearn balanced accuracy)."""
    cm = confusion(y_true, y_pred, n_classes)
    n = cm.sum(1)
    present = n > 0
    return float(np.mean(np.diag(cm)[present] / n[present]))
