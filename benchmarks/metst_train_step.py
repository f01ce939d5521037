"""CPU time of one ME-TST training step with the numba selective scan vs the pure-PyTorch scan (issue 12).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/metst_train_step.py --profile teach
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/metst_train_step.py --profile paper --steps 2

One step = forward of a batch of CAS(ME)^3 windows (10 channels, k = 50 frames; batch = the profile's,
or the reference's 256 when the profile leaves it to the dataset), the ME-TST loss, backward, Adam.
The backends alternate step by step in one process and the fastest step of each is kept, as CPU seconds
of this process (time.process_time: steadier than wall time while other jobs share the machine). The
numba kernel runs with as many threads as torch (one under OMP_NUM_THREADS=1), so the ratio is per core.
"""

from __future__ import annotations

import argparse
import time

import numba
import torch

from melib.data.windows import settings
from melib.params import profile_section
from melib.ssm import use_backend
from melib.train.metst import build_model, metst_loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="teach", choices=["smoke", "teach", "paper"])
    p.add_argument("--steps", type=int, default=5, help="timed steps per backend (after one warm-up each)")
    p.add_argument("--backends", nargs="+", default=["torch", "numba"], choices=["torch", "numba"])
    a = p.parse_args()
    hp, ws = profile_section(a.profile, "metst"), settings("casme3")
    batch = hp.batch or ws.batch
    numba.set_num_threads(min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    torch.manual_seed(0)
    model = build_model(hp).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, model.in_channels, ws.k)
    y_spot, y_recog = torch.rand(batch, ws.k), torch.randint(0, model.n_emotions + 1, (batch, ws.k))
    weight = torch.ones(model.n_emotions + 1)

    def step():
        spot, logits = model(x)
        loss = metst_loss(spot, logits, y_spot, y_recog, weight)
        opt.zero_grad()
        loss.backward()
        opt.step()

    best = {name: float("inf") for name in a.backends}
    for i in range(a.steps + 1):
        for name in best:
            with use_backend(name):
                t = time.process_time()
                step()
                if i:  # the first round warms up (and compiles numba's kernels on a fresh checkout)
                    best[name] = min(best[name], time.process_time() - t)
    print(f"profile={a.profile} d={hp.dim} depth={hp.depth} d_state={hp.d_state} batch={batch} k={ws.k} "
          f"torch threads={torch.get_num_threads()} numba threads={numba.get_num_threads()}")
    for name, s in best.items():
        print(f"{name:>5}: {s:.3f} CPU s/step")
    if len(best) == 2:
        print(f"speed-up numba / torch: {best['torch'] / best['numba']:.1f}x")


if __name__ == "__main__":
    main()
