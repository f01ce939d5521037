"""Architecture diagrams drawn from the model objects (AMMSM Figs. 2-3, ME-TST Fig. 2b).

:func:`trace` runs one forward pass with hooks on the model's named sub-modules and records, in the
order they start, each module's name, class, output shape, parameter count and number of calls;
:func:`diagram` draws the records as a column of boxes indented by depth. Both come from the live
model, so the figure cannot drift from the code: rename a module or change a width and the figure
changes with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from torch import nn


@dataclass
class Node:
    name: str  # dotted module name ("stages.0")
    kind: str  # class name
    shape: tuple | None  # output shape of the last call (first tensor of a tuple/dataclass output)
    params: int  # parameters of the module (shared ones counted where they are owned)
    depth: int  # number of its ancestors among the recorded modules (the indentation)
    calls: int  # times it ran in the traced forward


def _first_tensor(out):
    if torch.is_tensor(out):
        return out
    if isinstance(out, (tuple, list)):
        return next((t for t in (_first_tensor(o) for o in out) if t is not None), None)
    if hasattr(out, "__dataclass_fields__"):
        return next((t for t in (_first_tensor(getattr(out, f)) for f in out.__dataclass_fields__) if t is not None), None)
    return None


def depth_at_most(depth: int, expand: tuple[str, ...] = ()) -> Callable[[str], bool]:
    """Keep modules up to ``depth`` dots, and one level more under each prefix in ``expand``."""
    def keep(name: str) -> bool:
        extra = any(name.startswith(p + ".") for p in expand)
        return name.count(".") <= depth + (1 if extra else 0)
    return keep


def trace(model: nn.Module, *inputs, include: Callable[[str], bool] | None = None, **kwargs) -> list[Node]:
    """One forward pass of ``model(*inputs, **kwargs)`` (eval mode, no grad) -> the modules that ran.

    ``include(name)`` picks the sub-modules to record (default: the direct children). Containers that
    are never called (``ModuleList``) do not appear; a module called several times appears once with
    its call count.
    """
    include = include or depth_at_most(0)
    modules = {n: m for n, m in model.named_modules() if n and include(n)}
    order: list[str] = []
    outs: dict[str, object] = {}
    calls: dict[str, int] = {}

    def pre(name):
        def hook(mod, args):
            if name not in calls:
                order.append(name)
            calls[name] = calls.get(name, 0) + 1
        return hook

    def post(name):
        def hook(mod, args, out):
            outs[name] = out
        return hook

    handles = [h for n, m in modules.items()
               for h in (m.register_forward_pre_hook(pre(n)), m.register_forward_hook(post(n)))]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(*inputs, **kwargs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    nodes = []
    for name in order:
        t = _first_tensor(outs.get(name))
        depth = sum(name.startswith(a + ".") for a in order)  # recorded ancestors
        nodes.append(Node(name, type(modules[name]).__name__, tuple(t.shape) if t is not None else None,
                          sum(p.numel() for p in modules[name].parameters()), depth, calls[name]))
    return nodes


def _label(n: Node) -> str:
    shape = "(" + ", ".join(str(s) for s in n.shape) + ")" if n.shape else "-"
    times = f" x{n.calls}" if n.calls > 1 else ""
    return f"{n.name}: {n.kind}{times}  -> {shape}  {n.params:,} params"


def diagram(nodes: list[Node], title: str = "", inputs: str = "", columns: dict[str, int] | None = None,
            joins: tuple[tuple[str, str], ...] = (), width: float = 7.5):
    """Boxes in the order the modules start, indented by depth, one column per stream.

    ``columns`` maps a top-level module name to its column (default: all in column 0); rows follow the
    call order, arrows join consecutive top-level modules of a column, and ``joins`` adds arrows between
    named modules of different columns (a fusion). ``inputs`` is printed above the first row."""
    columns = columns or {}
    col = [columns.get(n.name.split(".")[0], 0) for n in nodes]
    ncol = max(col) + 1
    fig, ax = plt.subplots(figsize=(width * ncol, 0.42 * (len(nodes) + 1.5)))
    ax.set_xlim(0, ncol)
    ax.set_ylim(-len(nodes) - 0.5, 1.0)
    ax.axis("off")
    palette = ["#dbe9f6", "#fde6cf", "#e3f1dc", "#f3dcef", "#eeeeee", "#fff3b0", "#d9f2f2", "#f6d8d8"]
    groups = list(dict.fromkeys(n.name.split(".")[0].rstrip("s") for n in nodes))  # downs/stages, ... share
    where, last_top = {}, {}
    for i, (n, c) in enumerate(zip(nodes, col)):
        y, x = -i, c + 0.02 + 0.06 * n.depth
        where[n.name] = (c + 0.01, y)
        fc = palette[groups.index(n.name.split(".")[0].rstrip("s")) % len(palette)]
        ax.text(x, y, _label(n), fontsize=7.5, family="monospace", va="center",
                bbox=dict(boxstyle="round,pad=0.3", fc=fc, ec="0.4", lw=0.6))
        if n.depth == 0:
            if c in last_top:
                ax.annotate("", xy=(c + 0.01, y + 0.25), xytext=(c + 0.01, last_top[c] - 0.25),
                            arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))
            last_top[c] = y
    for a, b in joins:
        (xa, ya), (xb, yb) = where[a], where[b]
        ax.annotate("", xy=(xb + 0.55, yb + 0.1), xytext=(xa, ya - 0.2),
                    arrowprops=dict(arrowstyle="->", color="tab:red", lw=0.9, connectionstyle="arc3,rad=-0.15"))
    if inputs:
        ax.text(0.02, 0.75, f"input: {inputs}", fontsize=7.5, family="monospace", va="center", color="0.25")
    ax.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    return fig

def ammsm_figure(model, batch: int = 2, alpha: float = 2.0, ratio: float = 0.5):
    """AMMSM Fig. 2 from ``model`` (melib.models.ammsm.AMMSM): magnifier, spatial stream (ResNet18
    parts), stem, the four down-sampling + SSSD stages, fusion and head, with output shapes."""
    S = model.cfg.size
    flow, onset = torch.randn(batch, 2, S, S), torch.randn(batch, model.cfg.image_channels, S, S)
    nodes = trace(model, flow, onset, alpha=torch.full((batch,), alpha), ratios=[ratio] * model.cfg.n_genes,
                  include=lambda n: depth_at_most(0, ("downs", "stages"))(n) or n in ("spatial.stem", "spatial.layers.0",
                                                                                           "spatial.layers.1"))
    return diagram(nodes, f"AMMSM (paper Fig. 2), drawn from the model: size {S}, sparsity {ratio} in every block\n"
                   "left: magnifier and temporal stream, right: spatial stream (ResNet18 stem + layers 1-2)",
                   f"OF_ori {tuple(flow.shape)}, I_onset {tuple(onset.shape)}, alpha {alpha}",
                   columns={"spatial": 1}, joins=(("spatial.layers.1", "fusion"),), width=5.2), nodes


def block_figure(block, x: torch.Tensor, keep: torch.Tensor | None = None, title: str = ""):
    """One block and its direct children (AMMSM Fig. 3: an SSSD block; pass ``keep`` for the sparse path)."""
    nodes = trace(block, x, keep, include=depth_at_most(1))
    return diagram(nodes, title, f"X {tuple(x.shape)}" + (f", kept windows {tuple(keep.shape)}" if keep is not None else "")), nodes


def metst_figure(model, frames: int = 120):
    """ME-TST Fig. 2b from ``model`` (melib.models.metst.METST): stem, residual Mamba blocks (the first
    one opened), spotting and recognition heads."""
    x = torch.randn(1, model.in_channels, frames)
    def keep(name):
        return name.count(".") == 0 or (name.count(".") == 2 and ".blocks." in name) or \
            (name.count(".") == 3 and ".blocks.0." in name)
    nodes = trace(model, x, include=keep)
    last = next(n.name for n in reversed(nodes) if ".blocks." in n.name and n.depth == 1)
    return diagram(nodes, f"ME-TST (paper Fig. 2b), drawn from the model: one video of {frames} frames\n"
                   "left: stem, Mamba trunk, spotting head; right: recognition head (emotions + neutral)",
                   f"X_flow {tuple(x.shape)}", columns={"fc_recog": 1}, joins=((last, "fc_recog"),), width=5.5), nodes
