"""Spotting and spot-then-recognise metrics (ME-TST Sec. III-A; datasets.md "Evaluation protocols").

- :func:`iou`: intersection over union of two INCLUSIVE frame ranges (length = end - start + 1).
- :func:`match`: the reference's greedy one-to-one matching. Predictions are taken in their given order;
  each is compared with its best ground truth (highest IoU; on a tie the FIRST truth, melib's own rule:
  the authors' ``argsort(iou)[::-1]`` leaves ties to numpy's sort); it is a TP when that IoU is >= 0.5
  and that ground truth is not matched yet, else an FP. FN = #GT - TP.
- :func:`apply_veto`: synergy strategy 1 in the authors' order (match first, then remove the neutral intervals).
- :func:`spotting_scores`: P, R, F1 from TP/FP/FN pooled over every video of every fold.
- :func:`analysis_scores`: recognition over the correctly spotted intervals only (one-vs-rest per class:
  P, R, F1), UF1 = mean F1, UAR = mean recall, F1_recog = 2 mean(P) mean(R) / (mean(P) + mean(R)), and
  STRS = F1_spot x F1_recog (the paper's "Analysis" column, Tables III and IV).
- :func:`megc_scores`: the same quantities by the MEGC challenge's STRS-Metric evaluator (Liong et al.),
  a second protocol whose rules differ (``evaluate_folds(..., protocol="megc")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

IOU_THRESHOLD = 0.5


def _interval(x, what: str) -> tuple[int, int]:
    try:
        a, b = int(x[0]), int(x[1])
    except (TypeError, IndexError, ValueError) as err:
        raise ValueError(f"{what}: expected an (onset, offset) pair of frame indices, got {x!r}") from err
    if b < a:
        raise ValueError(f"{what}: offset {b} is before onset {a} (inclusive ranges need onset <= offset)")
    return a, b


def iou(a, b) -> float:
    """IoU of inclusive ranges [a0, a1] and [b0, b1]: |a n b| / |a u b| with |[s, e]| = e - s + 1."""
    a0, a1 = _interval(a, "interval a")
    b0, b1 = _interval(b, "interval b")
    inter = max(0, min(a1, b1) - max(a0, b0) + 1)
    return inter / ((a1 - a0 + 1) + (b1 - b0 + 1) - inter)


@dataclass
class Match:
    """Result of matching one video's predictions: counts and the matched (pred, gt) index pairs."""

    tp: int
    fp: int
    fn: int
    pairs: list[tuple[int, int]] = field(default_factory=list)


def match(preds: Sequence, gts: Sequence, threshold: float = IOU_THRESHOLD) -> Match:
    """Greedy one-to-one matching in prediction order against each prediction's best ground truth.

    Tie rule (melib's own): of several truths with the same best IoU, the first in ``gts`` is taken. The
    authors' matcher sorts the IoUs with numpy's (unstable) ``argsort`` and reverses, so its pick among
    ties is the sort's and can differ (e.g. the last tied truth).
    """
    preds = [_interval(p, f"prediction {i}") for i, p in enumerate(preds)]
    gts = [_interval(g, f"ground truth {j}") for j, g in enumerate(gts)]
    used: set[int] = set()
    pairs = []
    for i, p in enumerate(preds):
        if not gts:
            break
        scores = [iou(p, g) for g in gts]
        j = int(np.argmax(scores))  # first best on ties
        if scores[j] >= threshold and j not in used:
            used.add(j)
            pairs.append((i, j))
    tp = len(pairs)
    return Match(tp=tp, fp=len(preds) - tp, fn=len(gts) - tp, pairs=pairs)


def apply_veto(m: Match, vetoed: Sequence[bool]) -> Match:
    """Remove vetoed predictions AFTER matching (the authors' strategy 1): a vetoed TP becomes an FN
    (TP - TP_vetoed, FN + TP_vetoed), a vetoed FP disappears (FP - FP_vetoed); its truth stays taken."""
    vetoed = np.asarray(vetoed, dtype=bool).ravel()
    if vetoed.size != m.tp + m.fp:
        raise ValueError(f"apply_veto: {vetoed.size} flags for {m.tp + m.fp} matched predictions")
    pairs = [(i, j) for i, j in m.pairs if not vetoed[i]]
    matched = {i for i, _ in m.pairs}
    fp = sum(1 for i in range(vetoed.size) if not vetoed[i] and i not in matched)
    return Match(tp=len(pairs), fp=fp, fn=m.tp + m.fn - len(pairs), pairs=pairs)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else 0.0


def spotting_scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 of pooled counts (0 where a ratio is undefined)."""
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"tp": int(tp), "fp": int(fp), "fn": int(fn), "precision": p, "recall": r,
            "f1": _ratio(2 * p * r, p + r)}


def pool_matches(matches: Sequence[Match]) -> dict[str, float]:
    """Spotting scores of counts summed over videos (and folds): the MEGC pooled protocol."""
    return spotting_scores(sum(m.tp for m in matches), sum(m.fp for m in matches),
                           sum(m.fn for m in matches))


def per_class(y_true, y_pred, n_classes: int) -> dict[str, np.ndarray]:
    """One-vs-rest TP/FP/FN, precision, recall, F1 per class (undefined P or R -> 0, as the reference).

    ``y_pred`` may hold -1 ("none of these classes", e.g. an "others" prediction scored over 3 classes):
    it is an FN for its true class and an FP for no class.
    """
    y_true, y_pred = np.asarray(y_true, dtype=int).ravel(), np.asarray(y_pred, dtype=int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    for name, y, low in (("y_true", y_true, 0), ("y_pred", y_pred, -1)):
        if y.size and (y.min() < low or y.max() >= n_classes):
            bad = sorted(set(y.tolist()))
            raise ValueError(f"{name} holds a class outside {low}..{n_classes - 1}: {bad}")
    c = np.arange(n_classes)[:, None]  # (K, 1)
    tp = ((y_true == c) & (y_pred == c)).sum(1)  # (K,)
    fp = ((y_true != c) & (y_pred == c)).sum(1)  # (K,)
    fn = ((y_true == c) & (y_pred != c)).sum(1)  # (K,)
    den = 2 * tp + fp + fn
    return {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn,
            "precision": np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0),
            "recall": np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0),
            "f1": np.where(den > 0, 2 * tp / np.maximum(den, 1), np.nan)}


def recognition_scores(y_true, y_pred, n_classes: int) -> dict[str, float]:
    """UF1, UAR and the mean-P/mean-R F1 over correctly spotted intervals (ME-TST Tables II and III).

    As the reference: a class that occurs in neither ``y_true`` nor ``y_pred`` is left out of every mean
    (its one-vs-rest confusion matrix is degenerate); an undefined precision or recall counts 0 in mean P
    and mean R. UAR averages recall over the classes that have true samples. No sample at all scores 0.
    """
    if len(y_true) == 0:
        return {"uf1": 0.0, "uar": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "n": 0}
    pc = per_class(y_true, y_pred, n_classes)
    seen = ~np.isnan(pc["f1"])  # class present in y_true or y_pred
    has = pc["support"] > 0
    mp, mr = float(pc["precision"][seen].mean()), float(pc["recall"][seen].mean())
    return {"uf1": float(pc["f1"][seen].mean()), "uar": float(pc["recall"][has].mean()) if has.any() else 0.0,
            "precision": mp, "recall": mr, "f1": _ratio(2 * mp * mr, mp + mr), "n": int(len(y_true))}


def strs(f1_spot: float, f1_recog: float) -> float:
    """Spot-then-recognise score: STRS = F1_spot x F1_recog (Liong et al.; ME-TST Table III)."""
    return float(f1_spot) * float(f1_recog)


def analysis_scores(matches: Sequence[Match], pred_labels: Sequence, gt_labels: Sequence,
                    n_classes: int, drop_class: int | None = None) -> dict[str, float]:
    """Spotting, recognition-over-TPs and STRS for a list of videos' matches.

    ``pred_labels[v][i]`` is the emotion of prediction i of video v (``n_classes`` = neutral, wrong for
    every class), ``gt_labels[v][j]`` that of ground truth j. ``drop_class`` removes matched pairs whose TRUE label is that class before recognition
    (SAMM-LV: "others" removed, scored over 3 classes); classes above it shift down by one.
    """
    if not (len(matches) == len(pred_labels) == len(gt_labels)):
        raise ValueError(f"{len(matches)} matches, {len(pred_labels)} prediction-label lists and "
                         f"{len(gt_labels)} ground-truth-label lists: expected one of each per video")
    yt, yp = [], []
    for m, pl, gl in zip(matches, pred_labels, gt_labels):
        for i, j in m.pairs:
            yt.append(int(gl[j]))
            yp.append(int(pl[i]))
    yt, yp = np.asarray(yt, dtype=int), np.asarray(yp, dtype=int)
    yp = np.where(yp == n_classes, -1, yp)  # "neutral" (reference strategy 0): right for no class
    k = n_classes
    if drop_class is not None:
        keep = yt != drop_class
        yt, yp = yt[keep], yp[keep]
        yt = np.where(yt > drop_class, yt - 1, yt)
        yp = np.where(yp == drop_class, -1, np.where(yp > drop_class, yp - 1, yp))  # dropped class: wrong
        k = n_classes - 1
    rec = recognition_scores(yt, yp, k)
    spot = pool_matches(matches)
    return {"spot_" + key: v for key, v in spot.items()} | {"recog_" + key: v for key, v in rec.items()} | {
        "strs": strs(spot["f1"], rec["f1"])}


def match_megc(preds: Sequence, gts: Sequence, threshold: float = IOU_THRESHOLD,
               multi_match: bool = True) -> Match:
    """The MEGC STRS-Metric matching of one video. Each prediction, in order, is compared with every
    ground truth in order and is a TP for EVERY not-yet-matched truth with IoU >= threshold (so one
    prediction can take several; ``multi_match=False``: the first such truth only); a prediction that
    takes none is an FP; truths left unmatched are FNs. ``tp`` counts (prediction, truth) pairs."""
    preds = [_interval(p, f"prediction {i}") for i, p in enumerate(preds)]
    gts = [_interval(g, f"ground truth {j}") for j, g in enumerate(gts)]
    used: set[int] = set()
    pairs, fp = [], 0
    for i, p in enumerate(preds):
        hit = False
        for j, g in enumerate(gts):
            if j not in used and iou(p, g) >= threshold:
                used.add(j)
                pairs.append((i, j))
                hit = True
                if not multi_match:
                    break
        fp += not hit
    return Match(tp=len(pairs), fp=fp, fn=len(gts) - len(used), pairs=pairs)


def megc_class_scores(y_true, y_pred, classes: Sequence[int]) -> dict[str, np.ndarray]:
    """Per class one-vs-rest P, R, F1 as the MEGC evaluator computes them (sklearn ``confusion_matrix``
    unpacked as tn, fp, fn, tp): a class whose one-vs-rest truth and prediction vectors hold a single
    value (no sample is of it, or every sample is of it on both sides) or are empty counts 0 for P, R
    and F1, and so does any undefined ratio. Every class in ``classes`` enters the means."""
    y_true, y_pred = np.asarray(y_true, dtype=int).ravel(), np.asarray(y_pred, dtype=int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    out = {key: np.zeros(len(classes)) for key in ("precision", "recall", "f1")}
    for n, c in enumerate(classes):
        g, q = y_true == c, y_pred == c
        if np.unique(np.concatenate([g, q])).size < 2:  # the evaluator's 1x1 (or empty) confusion matrix
            continue
        tp, fp, fn = int((g & q).sum()), int((~g & q).sum()), int((g & ~q).sum())
        pr, rc = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        out["precision"][n], out["recall"][n], out["f1"][n] = pr, rc, _ratio(2 * pr * rc, pr + rc)
    return out


def megc_scores(videos: Sequence[dict], classes: Sequence[int] | None = None, *, multi_match: bool = True,
                skips: bool = True, uar_is_precision: bool = True) -> dict[str, float]:
    """Spotting, analysis and STRS by the MEGC STRS-Metric evaluator's rules (Liong et al.).

    ``videos``: one dict per video with ``subject``, ``intervals`` (n, 2) and ``labels`` (n,) of the
    predictions, ``gt`` (m, 2) and ``gt_labels`` (m,). ``classes``: the analysed emotions (default: every
    label in the truth, the evaluator's default). Its differences from ME-TST's protocol, each a flag:

    - ``multi_match``: one prediction may take several truths (:func:`match_megc`).
    - ``skips``: only subjects with at least one prediction are scored (the truths of a subject without
      predictions are never counted), and within them only videos with ground truth (predictions in a
      video without any are never counted). ``False`` counts every video.
    - ``uar_is_precision``: its "UAR" is the mean of the per-class PRECISIONS; ``False``: mean recall.

    Analysis over the spotted TPs whose true emotion is in ``classes`` (:func:`megc_class_scores`);
    F1 = 2 mean(P) mean(R) / (mean(P) + mean(R)) (0 where the evaluator's 0 / 0 would give NaN);
    UF1 = mean F1; STRS = spotting F1 x that F1.
    """
    if classes is None:
        classes = sorted({int(c) for v in videos for c in np.asarray(v["gt_labels"]).ravel()})
    with_preds = {v["subject"] for v in videos if len(v["intervals"])}
    tp = fp = fn = 0
    yt, yp = [], []
    for v in videos:
        if skips and (v["subject"] not in with_preds or not len(v["gt"])):
            continue
        m = match_megc(v["intervals"], v["gt"], multi_match=multi_match)
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        for i, j in m.pairs:
            if int(v["gt_labels"][j]) in classes:
                yt.append(int(v["gt_labels"][j]))
                yp.append(int(v["labels"][i]))
    spot = spotting_scores(tp, fp, fn)
    pc = megc_class_scores(yt, yp, classes)
    mp, mr = float(pc["precision"].mean()), float(pc["recall"].mean())
    rec = {"precision": mp, "recall": mr, "f1": _ratio(2 * mp * mr, mp + mr), "uf1": float(pc["f1"].mean()),
           "uar": mp if uar_is_precision else mr, "n": len(yt)}
    return {"spot_" + key: v for key, v in spot.items()} | {"recog_" + key: v for key, v in rec.items()} | {
        "strs": strs(spot["f1"], rec["f1"])}


def spotted_videos(fold_predictions: Sequence[dict], strategy: int = 2, source: str = "fixed",
                   reference: bool = False, p: float | None = None, veto: str | None = None) -> list[dict]:
    """Post-processed test videos of LOSO predictions: per video ``subject``, ``name``, ``spotted``
    (:class:`melib.spotting.Spotted`), ``gt``, ``gt_labels``. Arguments as :func:`evaluate_folds`."""
    from melib.spotting import P_THRESHOLD, analyse, fold_videos

    out = []
    for pred in fold_predictions:
        k_p = int(pred["k_p_all"] if reference else pred["k_p"])
        for v in fold_videos(pred, source):
            res = analyse(v["scores"], v["logits"], k_p, strategy, P_THRESHOLD if p is None else p, reference,
                          veto)
            out.append({"subject": v["name"].split("/")[0], "name": v["name"], "spotted": res, "gt": v["gt"],
                        "gt_labels": v["gt_labels"]})
    return out


PROTOCOLS = ("metst", "megc")


def evaluate_folds(fold_predictions: Sequence[dict], strategy: int = 2, source: str = "fixed",
                   reference: bool = False, p: float | None = None, drop_class: int | None = None,
                   n_classes: int = 4, protocol: str = "metst", veto: str | None = None,
                   megc: dict | None = None) -> dict[str, float]:
    """Spotting, recognition and STRS of LOSO predictions (one ``predictions.npz`` dict per fold).

    ``reference=True`` reproduces the authors' post-processing: k_p over every ME of the dataset
    (``k_p_all``, a test-subject leak), raw interval ends, the dummy [0, 0] prediction of a video
    without peaks, the arg-max over all 5 classes under strategy 0 and strategy 1's veto after matching;
    pair it with ``source="reference"`` for their stitching. ``strategy`` as in
    :mod:`melib.spotting.synergy` (0 needs a model trained with neutral weight 0); ``veto`` overrides
    strategy 1's order ("before" | "after").

    ``protocol``: "metst" (the ME-TST code's scoring, :func:`match` and :func:`analysis_scores`) or "megc"
    (the challenge's STRS-Metric evaluator, :func:`megc_scores`, over the intervals left after the veto,
    analysing the classes 0..n_classes-1 except ``drop_class``; ``megc``: its flags).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    videos = spotted_videos(fold_predictions, strategy, source, reference, p, veto)
    return score_videos(videos, n_classes, drop_class, protocol, megc)


def score_videos(videos: Sequence[dict], n_classes: int = 4, drop_class: int | None = None,
                 protocol: str = "metst", megc: dict | None = None) -> dict[str, float]:
    """Scores of post-processed videos (:func:`spotted_videos`): the second half of :func:`evaluate_folds`,
    so a bootstrap can score any subset of videos (:func:`evaluate_folds_intervals`)."""
    if protocol == "megc":
        recs = [{"subject": v["subject"], "intervals": v["spotted"].intervals[~v["spotted"].vetoed],
                 "labels": v["spotted"].labels[~v["spotted"].vetoed], "gt": v["gt"], "gt_labels": v["gt_labels"]}
                for v in videos]
        return megc_scores(recs, [c for c in range(n_classes) if c != drop_class], **(megc or {}))
    matches, pl, gl = [], [], []
    for v in videos:
        s = v["spotted"]
        m = match(s.intervals, v["gt"])
        matches.append(apply_veto(m, s.vetoed) if s.vetoed.any() else m)
        pl.append(s.labels)
        gl.append(v["gt_labels"])
    return analysis_scores(matches, pl, gl, n_classes, drop_class)


def evaluate_folds_intervals(fold_predictions: Sequence[dict], keys: Sequence[str] = ("spot_f1", "recog_uf1",
                             "recog_uar", "strs"), n_resamples: int = 1000, seed: int = 0, strategy: int = 2,
                             source: str = "fixed", reference: bool = False, p: float | None = None,
                             veto: str | None = None, **score_kw) -> dict:
    """:func:`evaluate_folds` with a 95% interval per score from a bootstrap over test subjects.

    Videos are post-processed once; each resample draws whole subjects with replacement and pools the
    TP/FP/FN and labels of their videos, as the point estimate pools all of them. Returns key ->
    :class:`melib.metrics.uncertainty.Interval`, plus ``"scores"`` (the plain :func:`evaluate_folds` dict).
    """
    videos = spotted_videos(fold_predictions, strategy, source, reference, p, veto)
    out = {"scores": score_videos(videos, **score_kw)}
    for key in keys:
        if key not in out["scores"]:
            raise KeyError(f"no score {key!r}; have {sorted(out['scores'])}")
        out[key] = _video_bootstrap([videos], lambda vs, key=key: score_videos(vs[0], **score_kw)[key],
                                    n_resamples, seed)
    return out


def paired_difference_intervals(fold_predictions_a: Sequence[dict], fold_predictions_b: Sequence[dict],
                                kw_a: dict, kw_b: dict, keys: Sequence[str] = ("spot_f1", "strs"),
                                n_resamples: int = 1000, seed: int = 0, **score_kw) -> dict:
    """Score(A) - score(B) per key with a paired bootstrap over test subjects: A and B are two runs or
    post-processings (``kw_a``/``kw_b``: :func:`spotted_videos` arguments, e.g. ``{"strategy": 0}``) of
    the SAME test videos, and every resample scores both on the same drawn subjects."""
    va = spotted_videos(fold_predictions_a, **kw_a)
    vb = spotted_videos(fold_predictions_b, **kw_b)
    if [v["name"] for v in va] != [v["name"] for v in vb]:
        raise ValueError("paired difference needs the same test videos in the same order in A and B")
    return {key: _video_bootstrap([va, vb], lambda vs, key=key: score_videos(vs[0], **score_kw)[key]
                                  - score_videos(vs[1], **score_kw)[key], n_resamples, seed) for key in keys}


def _video_bootstrap(video_lists: Sequence[Sequence[dict]], statistic, n_resamples: int, seed: int):
    """Cluster bootstrap over the subjects of aligned video lists; ``statistic(lists)`` scores a subset."""
    from melib.metrics.uncertainty import subject_bootstrap

    subjects = np.array([v["subject"] for v in video_lists[0]])

    def on_rows(idx):
        return statistic([[vl[i] for i in idx] for vl in video_lists])

    return subject_bootstrap(on_rows, subjects, np.arange(len(subjects)), n_resamples=n_resamples, seed=seed)
