"""ME-TST figures and tables (notebooks 08 and 09). Plots receive arrays; they compute nothing of substance.

Tables put the paper's numbers (ME-TST Tables I-IV, CAS(ME)^3 and SAMM-LV, real data) beside ours
(SynthME or the user's data), every row labelled with its data.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

EMOTION_COLOURS = ["tab:red", "tab:green", "tab:orange", "tab:purple", "0.6"]
PAPER = {  # ME-TST, ICASSP 2025 ("Ours"), real CAS(ME)^3 / SAMM-LV
    "table1": {"casme3": {"F1": 0.0802}, "samm_lv": {"Recall": 0.3019, "F1": 0.2167}},
    "table2": {"casme3": {"UF1": 0.4754, "UAR": 0.4878}},
    "table3": {"casme3": {"Analy": 0.0387, "Spot": 0.0802, "Recog": 0.4830},
               "samm_lv": {"Analy": 0.1356, "Spot": 0.2167, "Recog": 0.6259}},
    "table4": {"w/o": {"casme3": {"Analy": 0.0314, "Spot": 0.0753, "Recog": 0.4171},
                       "samm_lv": {"Analy": 0.1321, "Spot": 0.2130, "Recog": 0.6202}},
               "w.": {"casme3": {"Analy": 0.0387, "Spot": 0.0802, "Recog": 0.4830},
                      "samm_lv": {"Analy": 0.1356, "Spot": 0.2167, "Recog": 0.6259}}},
}
DATASET_LABEL = {"casme3": "CAS(ME)^3", "samm_lv": "SAMM-LV"}


def _shade(ax, intervals, colour="tab:blue", alpha=0.15, label="true ME"):
    for i, (on, off) in enumerate(np.asarray(intervals).reshape(-1, 2)):
        ax.axvspan(on, off, color=colour, alpha=alpha, lw=0, label=label if i == 0 else None)


def plot_roi_sequence(seq: np.ndarray, intervals, channels: list[str], title: str = ""):
    """The (10, T) ROI displacement sequence, one row per ROI (u and v), true ME intervals shaded."""
    n_roi = len(channels) // 2
    fig, axes = plt.subplots(n_roi, 1, figsize=(9, 1.3 * n_roi + 0.6), sharex=True)
    for r, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(seq[2 * r], lw=0.9, label="u (x)")
        ax.plot(seq[2 * r + 1], lw=0.9, label="v (y)")
        _shade(ax, intervals)
        ax.set_ylabel(channels[2 * r].rsplit("_", 1)[0], rotation=0, ha="right", fontsize=8)
    np.atleast_1d(axes)[0].legend(loc="upper right", fontsize=7, ncol=3)
    np.atleast_1d(axes)[-1].set_xlabel("frame (after the frame skip)")
    fig.suptitle(title or "ROI optical-flow displacement from frame 0 (px)")
    fig.tight_layout()
    return fig


def plot_curves(scores, smoothed, thr: float, probs, gt, gt_labels, pred, pred_labels, emotions,
                title: str = ""):
    """Paper Fig. 4: per-frame spotting score and emotion probabilities, true intervals shaded."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(11, 5.2), sharex=True)
    a1.plot(scores, lw=0.8, color="0.5", label="spotting score")
    a1.plot(smoothed, lw=1.5, color="k", label="smoothed (box 2 k_p)")
    a1.axhline(thr, color="tab:red", ls="--", lw=1, label="threshold")
    _shade(a1, gt)
    for i, (on, off) in enumerate(np.asarray(pred).reshape(-1, 2)):
        a1.plot([on, off], [1.04, 1.04], color="tab:green", lw=4, solid_capstyle="butt",
                label="spotted interval" if i == 0 else None)
    a1.set_ylim(-0.02, 1.1)
    a1.set_ylabel("spot")
    a1.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    names = list(emotions) + ["neutral"]
    for c in range(probs.shape[1]):
        a2.plot(probs[:, c], lw=1.1, color=EMOTION_COLOURS[c % len(EMOTION_COLOURS)], label=names[c])
    _shade(a2, gt)
    for (on, off), lab in zip(np.asarray(gt).reshape(-1, 2), gt_labels):
        a2.text((on + off) / 2, 1.02, f"true: {names[int(lab)]}", ha="center", fontsize=7, color="tab:blue")
    for (on, off), lab in zip(np.asarray(pred).reshape(-1, 2), pred_labels):
        a2.text((on + off) / 2, -0.12, f"spotted: {names[int(lab)]}", ha="center", fontsize=7, color="tab:green")
    a2.set_ylim(-0.17, 1.1)
    a2.set_ylabel("p(emotion)")
    a2.set_xlabel("frame")
    a2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_targets(y_spot, y_recog, emotions, title: str = ""):
    """One video's per-frame targets: ``y_spot`` (0/1) as a step curve above ``y_recog`` (class index,
    the last = neutral) as a colour strip with a legend: a class index is a category, not a level."""
    from matplotlib.patches import Patch

    names = list(emotions) + ["neutral"]
    colours = np.array([plt.matplotlib.colors.to_rgb(c) for c in EMOTION_COLOURS[: len(names)]])
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 2.8), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    a1.step(np.arange(len(y_spot)), y_spot, where="mid", lw=1, color="k")
    a1.set_yticks([0, 1])
    a1.set_ylabel("y_spot")
    a2.imshow(colours[np.asarray(y_recog, dtype=int)][None], aspect="auto", interpolation="nearest",
              extent=(-0.5, len(y_recog) - 0.5, 0, 1))
    a2.set_yticks([])
    a2.set_ylabel("y_recog")
    a2.set_xlabel("frame")
    a2.legend(handles=[Patch(color=c, label=n) for c, n in zip(colours, names)], ncol=len(names), fontsize=7,
              loc="upper center", bbox_to_anchor=(0.5, -0.9), frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig

def plot_synergy(scores, logits, k_p: int, p: float, emotions, title: str = ""):
    """ME-TST Fig. 3 drawn by running the rules: one video's smoothed spotting curve and threshold, then per
    synergy strategy the intervals it keeps (coloured by emotion, labelled) and the ones it drops (hatched)."""
    from matplotlib.patches import Patch

    from melib.spotting import analyse, smooth, threshold

    names = list(emotions) + ["neutral"]
    sm = smooth(scores, k_p)
    fig, axes = plt.subplots(4, 1, figsize=(10, 4.2), sharex=True, gridspec_kw={"height_ratios": [2, 1, 1, 1]})
    axes[0].plot(sm, color="k", lw=1.2)
    axes[0].axhline(threshold(sm, p), color="tab:red", ls="--", lw=1)
    axes[0].set_ylabel("spot\n(smoothed)", fontsize=8)
    for ax, st in zip(axes[1:], (0, 1, 2)):
        res = analyse(scores, logits, k_p, strategy=st, p=p)
        for (on, off), lab in zip(res.intervals, res.labels):
            ax.axvspan(on, off, color=EMOTION_COLOURS[int(lab) % len(EMOTION_COLOURS)], alpha=0.8, lw=0)
            ax.text((on + off) / 2, 0.5, names[int(lab)], ha="center", va="center", fontsize=7)
        for on, off in res.dropped:
            ax.axvspan(on, off, facecolor="none", edgecolor="0.4", hatch="///", lw=0.5)
        ax.set_yticks([])
        ax.set_ylabel(f"strategy {st}", fontsize=8, rotation=0, ha="right", va="center")
    axes[-1].set_xlabel("frame")
    handles = [Patch(color=c, label=n) for c, n in zip(EMOTION_COLOURS, names)]
    handles.append(Patch(facecolor="none", edgecolor="0.4", hatch="///", label="dropped (neutral)"))
    axes[0].legend(handles=handles, fontsize=7, ncol=len(handles), loc="lower center", bbox_to_anchor=(0.5, 1.02))
    fig.suptitle(title, fontsize=9, y=1.08)
    fig.tight_layout()
    return fig

def plot_threshold_view(smoothed, thr: float, pred, gt, title: str = ""):
    """One video's smoothed curve, a threshold, the intervals it yields and the truth (slider view)."""
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.plot(smoothed, color="k", lw=1.2)
    ax.axhline(thr, color="tab:red", ls="--", lw=1)
    _shade(ax, gt)
    for on, off in np.asarray(pred).reshape(-1, 2):
        ax.axvspan(on, off, ymin=0.9, ymax=1.0, color="tab:green", alpha=0.8, lw=0)
    ax.set_xlabel("frame")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_inference_time(lengths, seconds, title: str = "Whole-video inference time"):
    """Seconds vs video length on log-log axes, with the linear reference through the first point."""
    lengths, seconds = np.asarray(lengths, float), np.asarray(seconds, float)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog(lengths, seconds, "o-", label="measured")
    ax.loglog(lengths, seconds[0] * lengths / lengths[0], "k--", lw=0.8, label="linear")
    ax.set_xlabel("video length T (frames)")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def _row(source: str, data: str, values: dict, cols: list[str]) -> dict:
    return {"source": source, "data": data, **{c: values.get(c, np.nan) for c in cols}}


def table_spotting(ours: dict[str, dict], data_label: str) -> pd.DataFrame:
    """Table I layout: CAS(ME)^3 F1, SAMM-LV Recall and F1. ``ours[ds]`` holds spot_f1/spot_recall."""
    rows = [{"source": "ME-TST paper", "data": "real",
             "CAS(ME)^3 F1": PAPER["table1"]["casme3"]["F1"],
             "SAMM-LV Recall": PAPER["table1"]["samm_lv"]["Recall"],
             "SAMM-LV F1": PAPER["table1"]["samm_lv"]["F1"]}]
    c, s = ours.get("casme3", {}), ours.get("samm_lv", {})
    rows.append({"source": "melib", "data": data_label, "CAS(ME)^3 F1": c.get("spot_f1", np.nan),
                 "SAMM-LV Recall": s.get("spot_recall", np.nan), "SAMM-LV F1": s.get("spot_f1", np.nan)})
    return pd.DataFrame(rows).set_index(["source", "data"])


def table_recognition(ours_casme3: dict, data_label: str) -> pd.DataFrame:
    """Table II layout (CAS(ME)^3, 4 classes, correctly spotted intervals): UF1, UAR."""
    rows = [_row("ME-TST paper", "real CAS(ME)^3", PAPER["table2"]["casme3"], ["UF1", "UAR"]),
            _row("melib", f"{data_label} CAS(ME)^3", {"UF1": ours_casme3.get("recog_uf1", np.nan),
                                                     "UAR": ours_casme3.get("recog_uar", np.nan)}, ["UF1", "UAR"])]
    return pd.DataFrame(rows).set_index(["source", "data"])


def _analysis_cols(res: dict[str, dict]) -> dict:
    out = {}
    for ds, lab in DATASET_LABEL.items():
        r = res.get(ds, {})
        out |= {(lab, "Analy"): r.get("strs", np.nan), (lab, "Spot"): r.get("spot_f1", np.nan),
                (lab, "Recog"): r.get("recog_f1", np.nan)}
    return out


def _paper_cols(block: dict) -> dict:
    return {(DATASET_LABEL[ds], c): v for ds, vals in block.items() for c, v in vals.items()}


def table_analysis(ours: dict[str, dict], data_label: str) -> pd.DataFrame:
    """Table III layout: Analy (STRS), Spot F1, Recog F1 per dataset."""
    df = pd.DataFrame([_paper_cols(PAPER["table3"]), _analysis_cols(ours)],
                      index=pd.MultiIndex.from_tuples([("ME-TST paper", "real"), ("melib", data_label)],
                                                      names=["source", "data"]))
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df


def table_synergy(ours_by_row: dict[str, dict[str, dict]], data_label: str) -> pd.DataFrame:
    """Table IV layout: synergy w/o (strategy 0) and w. (strategy 2), paper rows beside ours."""
    rows, index = [], []
    for row in ("w/o", "w."):
        rows.append(_paper_cols(PAPER["table4"][row]))
        index.append(("ME-TST paper", "real", row))
    for row, res in ours_by_row.items():
        rows.append(_analysis_cols(res))
        index.append(("melib", data_label, row))
    df = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["source", "data", "synergy"]))
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df
