"""melib.viz.architecture: figures traced from the live models (AMMSM Figs. 2-3, ME-TST Fig. 2b)."""

import matplotlib
import torch
from torch import nn

from melib.models.ammsm import AMMSM, AMMSMConfig
from melib.models.metst import METST
from melib.sparse import select_windows, window_importance
from melib.viz import architecture as va

matplotlib.use("Agg")


def test_trace_records_call_order_shapes_params_and_repeated_calls():
    lin = nn.Linear(4, 3)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(5, 4), lin

        def forward(self, x):
            return self.b(torch.relu(self.b(torch.zeros(2, 4)) @ torch.zeros(3, 4) + self.a(x)))

    nodes = va.trace(Twice(), torch.randn(2, 5))
    assert [(n.name, n.kind, n.shape, n.params, n.calls) for n in nodes] == [
        ("b", "Linear", (2, 3), 15, 2), ("a", "Linear", (2, 4), 24, 1)]  # b starts first and runs twice


def test_ammsm_figure_follows_the_model():
    cfg = AMMSMConfig(n_classes=3, size=32, dims=[8, 16, 16, 16], depths=[2, 2, 2, 2], heads=[1, 1, 1, 1], d_state=4,
                      mag_base=4, mag_levels=2, res_width=4)
    model = AMMSM(cfg)
    fig, nodes = va.ammsm_figure(model)
    shapes = [n.shape for n in nodes if n.name.startswith("stages.")]
    assert shapes == [tuple(s) for s in model.stage_shapes(batch=2)]
    assert [n.name for n in nodes][-1] == "head" and nodes[-1].shape == (2, 3)
    assert {"magnifier", "fusion", "spatial.stem"} <= {n.name for n in nodes}
    x = torch.randn(1, 8, 8, 8)
    keep = select_windows(window_importance(x), 0.5)  # 2 of 4 windows
    _, blk = va.block_figure(model.stages[0].blocks[0], x, keep)
    assert next(n for n in blk if n.name == "mixer").shape == (1, 2 * 16, 8)  # the mixer sees kept tokens only


def test_metst_figure_has_every_block_and_both_heads():
    fig, nodes = va.metst_figure(METST(depth=3, dim=16, d_state=4), frames=20)
    names = [n.name for n in nodes]
    assert [f"spot_path.blocks.{i}" for i in range(3)] == [n for n in names if n.count(".") == 2]
    assert nodes[names.index("fc_recog")].shape == (1, 20, 5) and nodes[names.index("fc_spot")].shape == (1, 20, 1)


def test_synergy_figure_drops_only_under_strategy_1():
    import numpy as np

    from melib.data.windows import EMOTIONS
    from melib.viz.metst import plot_synergy

    t = np.arange(200)
    scores = sum(a * np.exp(-0.5 * ((t - c) / 5.0) ** 2) for c, a in ((50, 1.0), (140, 0.8)))
    logits = np.zeros((200, 5))
    logits[:, 1] = 1.0  # every frame "positive" ...
    logits[130:151, 4] = 3.0  # ... except around frame 140, which recognition calls neutral
    fig = plot_synergy(scores, logits, 6, 0.3, EMOTIONS)
    hatched = [sum(bool(p.get_hatch()) for p in ax.patches) for ax in fig.axes[1:4]]
    labels = [[t.get_text() for t in ax.texts] for ax in fig.axes[1:4]]
    assert hatched == [0, 1, 0]
    assert labels == [["positive", "positive"], ["positive"], ["positive", "positive"]]
