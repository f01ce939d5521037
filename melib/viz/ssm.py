"""Plots for the state-space core (notebooks 04 and 05). They receive arrays and draw them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def plot_discretisation(t_fine, h_fine, t_k, discrete: dict):
    """Continuous state h(t) against discretised recurrences sampled at t_k ({name: h_k})."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(t_fine, h_fine, color="k", lw=1.5, label="continuous h(t)")
    for (name, h), m in zip(discrete.items(), "os^"):
        ax.plot(t_k, h, m, ms=4, label=name)
    ax.set(xlabel="t", ylabel="h", title="Discretising h' = A h + B u (piecewise-constant u)")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_matrices(mats: dict, chunk: int | None = None):
    """Mixing matrices y = M x side by side (|M|, log colour), chunk boundaries dashed."""
    fig, axes = plt.subplots(1, len(mats), figsize=(3.6 * len(mats), 3.4), squeeze=False)
    for ax, (name, M) in zip(axes[0], mats.items()):
        M = np.abs(np.asarray(M))
        ax.imshow(np.log10(M + 1e-6), cmap="magma", vmin=-4)
        if chunk:
            for k in range(chunk, M.shape[0], chunk):
                ax.axhline(k - 0.5, color="c", lw=0.8, ls="--")
                ax.axvline(k - 0.5, color="c", lw=0.8, ls="--")
        ax.set(title=name, xlabel="s (input step)", ylabel="t (output step)")
    fig.tight_layout()
    return fig


def plot_chunk_steps(y_diag, y_off, y_ref, chunk: int):
    """One channel: the diagonal-block and off-diagonal-block parts of y and their sum vs the recurrence."""
    t = np.arange(len(y_ref))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(t, y_diag, lw=1, label="step 1: diagonal blocks")
    ax.plot(t, y_off, lw=1, label="step 4: from incoming states")
    ax.plot(t, np.asarray(y_diag) + np.asarray(y_off), lw=2, alpha=0.6, label="sum")
    ax.plot(t, y_ref, "k.", ms=3, label="recurrence")
    for k in range(chunk, len(t), chunk):
        ax.axvline(k - 0.5, color="grey", lw=0.6, ls="--")
    ax.set(xlabel="t", ylabel="y", title="Chunked SSD, one channel")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    return fig


def plot_timings(df, title="Forward time vs sequence length (CPU)"):
    """Log-log seconds vs L, one line per method, with O(L) and O(L^2) guides."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, g in df.groupby("method", sort=False):
        ax.loglog(g.L, g.seconds, "o-", label=name)
    L = np.array(sorted(df.L.unique()), dtype=float)
    base = df.seconds.min()
    ax.loglog(L, base * L / L[0], "k:", lw=0.8, label="O(L)")
    ax.loglog(L, base * (L / L[0]) ** 2, "k--", lw=0.8, label="O(L^2)")
    ax.set(xlabel="sequence length L", ylabel="seconds", title=title)
    ax.set_xticks(L, [str(int(v)) for v in L])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_importance(panels: dict, window: int = 4, grid: dict | None = None):
    """Heat maps ({title: (H, W) array}) with a window grid (``grid`` overrides the side per title, 0 = none)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.3), squeeze=False)
    for ax, (name, img) in zip(axes[0], panels.items()):
        im = ax.imshow(np.asarray(img), cmap="inferno")
        H, W = np.asarray(img).shape
        window = (grid or {}).get(name, window)
        if window:
            for k in range(window, H, window):
                ax.axhline(k - 0.5, color="w", lw=0.3)
            for k in range(window, W, window):
                ax.axvline(k - 0.5, color="w", lw=0.3)
        ax.set(title=name, xticks=[], yticks=[])
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_kept(background, mask, sparsity: float, n_kept: int, n_windows: int):
    """Kept windows (mask True) over a background map; pruned windows greyed out."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.imshow(np.asarray(background), cmap="inferno")
    ax.imshow(np.where(np.asarray(mask), np.nan, 1.0), cmap="gray", vmin=0, vmax=1.5, alpha=0.75)
    ax.set(title=f"S = {sparsity:.2f}: {n_kept}/{n_windows} windows kept", xticks=[], yticks=[])
    return fig


def plot_cost(df):
    """SSSD block cost vs sparsity: measured forward time and the fraction of tokens processed."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(df.sparsity, df.seconds / df.seconds.iloc[0], "o-", label="forward time (relative to S=0)")
    ax.plot(df.sparsity, df.tokens / df.tokens.iloc[0], "s--", label="tokens through mixer + MLP")
    ax.set(xlabel="sparsity S", ylabel="fraction of dense", ylim=(0, 1.15), title="SSSD block cost vs sparsity")
    ax.legend(frameon=False, fontsize=8)
    return fig
