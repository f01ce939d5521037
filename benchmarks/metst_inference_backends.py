"""Whole-video ME-TST inference per scan backend, in CPU seconds (numba kernel vs pure-PyTorch scan).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/metst_inference_backends.py --profile teach

Same forward as benchmarks/metst_inference.py (:meth:`METST.predict_video` of a random (10, T) sequence;
above 4,096 frames the Mamba layers run chunk by chunk with their states carried), but timed with
time.process_time on one thread (torch and numba), so other jobs on the machine do not distort the
length scaling; best of --reps rounds with the lengths interleaved.
"""

from __future__ import annotations

import argparse
import time

import numba
import torch

from melib.params import profile_section
from melib.ssm import use_backend
from melib.train.metst import build_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="teach", choices=["smoke", "teach", "paper"])
    p.add_argument("--lengths", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--backends", nargs="+", default=["numba", "torch"], choices=["numba", "torch"])
    a = p.parse_args()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    hp = profile_section(a.profile, "metst")
    torch.manual_seed(0)
    model = build_model(hp).eval()
    xs = {T: torch.randn(model.in_channels, T) for T in a.lengths}
    print(f"profile={a.profile} d={hp.dim} depth={hp.depth} d_state={hp.d_state}; CPU seconds, one thread")
    for name in a.backends:
        with use_backend(name), torch.no_grad():
            model.predict_video(xs[a.lengths[0]][:, :256])  # warm-up (and numba's compile on a fresh checkout)
            best = {T: float("inf") for T in xs}
            for _ in range(a.reps):
                for T, x in xs.items():
                    t = time.process_time()
                    model.predict_video(x)
                    best[T] = min(best[T], time.process_time() - t)
        rows = ", ".join(f"T={T}: {s:.3f} s ({1e6 * s / T:.1f} us/frame)" for T, s in best.items())
        ratio = best[a.lengths[-1]] / best[a.lengths[-2]] if len(a.lengths) > 1 else float("nan")
        print(f"{name:>5}: {rows}; time({a.lengths[-1]}) / time({a.lengths[-2] if len(a.lengths) > 1 else '-'}) "
              f"= {ratio:.2f}")


if __name__ == "__main__":
    main()
