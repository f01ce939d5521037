"""AMMSM training records the terms of its loss apart (L_cls, weighted L_mag, weighted MESA): they add up
to the total, L_mag's weight follows eq. 2 and MESA is 0 before ``mesa_start`` (notebook 07's curves)."""

import numpy as np
import torch
from test_ammsm_train import _hp, _separable

import melib.train.ammsm as tr
from melib.models.ammsm import AMMSM, AMMSMConfig
from melib.train.regularizers import EMATeacher


def test_loss_terms_add_up_and_follow_their_schedules():
    torch.manual_seed(0)
    d = _separable(n_subjects=1, per_class=2)  # 6 clips: one step per epoch
    hp = _hp(size=32, batch=6, mixup=0.0, mesa_weight=0.5, mesa_start=0.5)
    model = AMMSM(AMMSMConfig.from_profile(hp, n_classes=3))
    space = tr.space_for(model.cfg)
    g = torch.Generator().manual_seed(0)
    log = tr.train_phase(model, d, np.arange(len(d.labels)), hp, 2, lambda: space.sample(g), 0, 2, g,
                         EMATeacher(model, 0.9))
    total = np.add(np.add(log["loss_cls"], log["loss_mag"]), log["loss_mesa"])
    assert np.allclose(total, log["loss"], rtol=1e-5)
    assert log["loss_mesa"][0] == 0.0 and log["loss_mesa"][1] > 0  # MESA on from e >= mesa_start * e_r
    assert log["loss_mag"][0] > 0 and min(log["loss_cls"]) > 0
