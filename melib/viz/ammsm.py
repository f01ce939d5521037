"""AMMSM plots and tables (notebooks 06-07). They receive arrays and scores; they compute nothing of substance.

The paper's numbers (AMMSM Tables I-III, real CASME II / SAMM) are kept here so that every table shows
them beside ours, each row labelled with the data it was measured on.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from melib.viz import pct

DATA_PAPER = "paper (real CASME II)"
# (method, classes, UF1 %, UAR %) as printed in the paper
PAPER_TABLE_I = [
    ("CapsuleNet", 3, 70.68, 70.18), ("EMRNet", 3, 82.93, 82.09), ("FR", 3, 89.15, 88.73),
    ("Micron-BERT", 3, 90.34, 89.14), ("SelfME", 3, 90.78, 92.90), ("LAENet", 3, 91.01, 91.19),
    ("AMMSM", 3, 93.76, 93.45), ("SMA-STN", 5, 82.59, 79.46), ("GEME", 5, 73.54, 75.20),
    ("Micron-BERT", 5, 85.53, 83.48), ("AMMSM", 5, 85.23, 84.48),
]
PAPER_TABLE_II = [
    ("CapsuleNet", 3, 62.09, 59.89), ("EMRNet", 3, 77.54, 71.52), ("FR", 3, 73.72, 71.55),
    ("LAENet", 3, 68.14, 66.20), ("AMMSM", 3, 76.40, 76.22),
]
# (AMM, SA, backbone, UF1, UAR, latency ms or None); CASME II 5-class (Sec. IV-E)
PAPER_TABLE_III = [
    (False, False, "Transformer", 77.42, 74.66, 5.79), (True, False, "Transformer", 82.25, 80.94, None),
    (False, True, "Transformer", 77.86, 74.87, None), (True, True, "Transformer", 84.94, 83.42, 9.56),
    (False, False, "Mamba", 73.84, 70.85, 3.21), (True, False, "Mamba", 82.94, 80.94, None),
    (False, True, "Mamba", 74.97, 72.84, None), (True, True, "Mamba", 85.23, 84.48, 6.92),
]


def results_table(paper_rows, ours: list[tuple], paper_data: str) -> pd.DataFrame:
    """Tables I/II layout: Method, Classes, UF1 (%), UAR (%), chance, Data. ``ours`` = (method, K, uf1, uar,
    data[, chance_uf1]) with uf1/uar as fractions or :class:`melib.metrics.uncertainty.Interval` (shown as
    "estimate [low, high]"); chance_uf1 is the UF1 of uniform guessing on the same labels. The paper
    reports single numbers (no interval); its rows show them as printed."""
    rows = [{"Method": f"{m} (paper)", "Classes": k, "UF1 (%)": f"{u:.2f}", "UAR (%)": f"{r:.2f}",
             "Chance UF1 (%)": "", "Data": paper_data} for m, k, u, r in paper_rows]
    for m, k, u, r, d, *chance in ours:
        rows.append({"Method": f"{m} (ours)", "Classes": k, "UF1 (%)": pct(u), "UAR (%)": pct(r),
                     "Chance UF1 (%)": pct(chance[0]) if chance else "", "Data": d})
    return pd.DataFrame(rows).sort_values(["Classes"], kind="stable").reset_index(drop=True)


def ablation_table(ours: list[dict], data: str) -> pd.DataFrame:
    """Table III layout, paper and ours side by side. ``ours`` rows: amm, sa, backbone, uf1, uar, latency_ms;
    scores as fractions or Intervals, latency as ms or an Interval (median [lower, upper quartile])."""
    rows = []
    for amm, sa, bb, u, r, lat in PAPER_TABLE_III:
        rows.append({"AMM": "yes" if amm else "-", "SA": "yes" if sa else "-", "Backbone": bb,
                     "UF1 paper (%)": u, "UAR paper (%)": r, "Latency paper (ms)": lat})
    df = pd.DataFrame(rows)
    key = {(o["amm"], o["sa"], o["backbone"]): o for o in ours}
    bb_name = {"Transformer": "transformer", "Mamba": "ssd"}
    for col, f in (("UF1 ours (%)", "uf1"), ("UAR ours (%)", "uar"), ("Latency ours (ms)", "latency_ms")):
        vals = []
        for amm, sa, bb, *_ in PAPER_TABLE_III:
            o = key.get((amm, sa, bb_name[bb]))
            v = None if o is None or o.get(f) is None else o[f]
            vals.append(_latency(v) if f == "latency_ms" else pct(v))
        df[col] = vals
    df["Data (ours)"] = data
    return df


def _latency(v) -> str:
    if v is None:
        return ""
    return f"{v.estimate:.1f} [{v.low:.1f}, {v.high:.1f}]" if hasattr(v, "low") else f"{v:.1f}"


def confusion_plot(cm: np.ndarray, classes: list[str], title: str, ax=None):
    """Row-normalised confusion matrix with counts in the cells (rows = true class)."""
    ax = ax or plt.subplots(figsize=(3.6, 3.2))[1]
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax.figure


def fig4_search(ratios: np.ndarray, alphas: np.ndarray, stage_of_gene: list[int], inert=None):
    """Paper Fig. 4: distribution of the chosen sparsity ratio per layer (pair of blocks, blue) and of
    alpha (orange). ratios (n_runs, n_genes) chosen by the search in each run (fold); alphas (n_runs,).
    ``inert`` (n_genes,) bools: genes whose stage holds a single window (they cannot prune), drawn grey."""
    ratios, alphas = np.atleast_2d(ratios), np.atleast_1d(alphas)
    inert = np.zeros(ratios.shape[1], bool) if inert is None else np.asarray(inert, bool)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3.2), gridspec_kw={"width_ratios": [4, 1]})
    rng = np.random.default_rng(0)
    for j in range(ratios.shape[1]):
        jit = rng.uniform(-0.15, 0.15, len(ratios))
        ax.scatter(np.full(len(ratios), j) + jit, ratios[:, j], color="tab:gray" if inert[j] else "tab:blue",
                   alpha=0.6, s=18, label="no effect (1 window)" if inert[j] and not inert[:j].any() else None)
    if inert.any():
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xticks(range(ratios.shape[1]), [f"S{s + 1}.{k}" for s, k in _gene_labels(stage_of_gene)], rotation=45)
    ax.set_ylim(0, 0.9)
    ax.set_ylabel("sparsity ratio")
    ax.set_xlabel("stage.pair of blocks")
    bx.scatter(rng.uniform(-0.15, 0.15, len(alphas)), alphas, color="tab:orange", s=18)
    bx.set_xticks([0], ["alpha"])
    bx.set_ylim(0.8, 4.2)
    bx.set_ylabel("magnification factor")
    fig.suptitle("chosen configurations (one dot per search run)")
    fig.tight_layout()
    return fig


def _gene_labels(stage_of_gene):
    out, count = [], {}
    for s in stage_of_gene:
        count[s] = count.get(s, 0) + 1
        out.append((s, count[s]))
    return out


def search_trajectory(best: np.ndarray, mean: np.ndarray, ax=None):
    """Fitness (minus validation loss) per generation: best and population mean, one line per fold."""
    ax = ax or plt.subplots(figsize=(5, 3))[1]
    for i, (b, m) in enumerate(zip(np.atleast_2d(best), np.atleast_2d(mean))):
        ax.plot(b, color="tab:blue", label="best" if i == 0 else None)
        ax.plot(m, color="tab:gray", ls="--", label="population mean" if i == 0 else None)
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness = -L_cls (validation subjects)")
    ax.legend()
    return ax.figure


def loss_curves(curves: dict[str, np.ndarray], ax=None):
    """Training loss per epoch, one line per named run."""
    ax = ax or plt.subplots(figsize=(5, 3))[1]
    for name, c in curves.items():
        ax.plot(np.arange(1, len(c) + 1), c, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (eq. 2)")
    ax.legend()
    return ax.figure


TERM_TITLES = {"total": "total loss (eq. 2 + MESA)", "loss_cls": "L_cls (soft-target cross-entropy)",
               "loss_mag": "(e_r - e) / e_r * L_mag (eq. 2)", "loss_mesa": "MESA weight * CE(teacher, student)"}


def loss_terms(runs: dict[str, dict[str, np.ndarray]], fine_tune_at: float | None = None,
               mesa_at: float | None = None):
    """Per-epoch training loss and its terms in separate panels, one line per fold. ``runs``: fold name ->
    {"total", "loss_cls", "loss_mag", "loss_mesa"} (terms missing from runs cached before they were
    recorded are left out); vertical lines mark where fine-tuning starts and where MESA switches on."""
    keys = [k for k in TERM_TITLES if all(k in r for r in runs.values())]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, r in runs.items():
            ax.plot(np.arange(1, len(r[key]) + 1), r[key], lw=1, label=name)
        for x, style, label in ((fine_tune_at, ":", "fine-tuning starts"), (mesa_at, "--", "MESA term on")):
            if x is not None:
                ax.axvline(x, color="0.3", lw=0.8, ls=style, label=label)
        ax.set_title(TERM_TITLES[key], fontsize=8)
        ax.set_xlabel("epoch")
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig

def amplitude_plot(amplitudes, with_mag, without_mag, ax=None, chance: float | None = None):
    """UF1 vs micro-expression amplitude with and without the magnifier (SynthME only). Values are floats
    or Intervals (drawn as error bars); ``chance`` draws the chance level."""
    ax = ax or plt.subplots(figsize=(5, 3))[1]
    for vals, fmt, label, shift in ((with_mag, "o-", "magnifier on", 0.97), (without_mag, "s--", "magnifier off", 1.03)):
        est = np.array([getattr(v, "estimate", v) for v in vals], float)
        err = np.array([[e - getattr(v, "low", e), getattr(v, "high", e) - e] for v, e in zip(vals, est)]).T
        ax.errorbar(np.asarray(amplitudes, float) * shift, est, yerr=err.reshape(2, -1), fmt=fmt, capsize=3,
                    label=label)
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xscale("log")
    ax.set_xticks(list(amplitudes), [f"{a:g}" for a in amplitudes])
    ax.minorticks_off()
    ax.set_xlabel("SynthME micro-expression amplitude (px)")
    ax.set_ylabel("UF1")
    ax.legend()
    return ax.figure
