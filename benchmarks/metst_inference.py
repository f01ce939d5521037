"""ME-TST whole-video inference time vs video length (the paper's linear-complexity claim, Sec. II-B).

    python benchmarks/metst_inference.py --profile paper --device auto --lengths 1000 10000 100000

One forward of the whole (10, T) sequence per length, the lengths interleaved over --reps rounds and the
fastest round kept (robust to other jobs sharing the CPU), printed as seconds and microseconds per frame, then time(T_max) / time(T_prev) against the length ratio: linear
scaling gives the length ratio (the README's goal: time(100k) / time(10k) <= 12).
"""

from __future__ import annotations

import argparse

import torch

from melib.models.metst_cost import inference_seconds
from melib.params import pick_device, profile_section
from melib.train.metst import build_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="paper", choices=["smoke", "teach", "paper"])
    p.add_argument("--device", default="auto")
    p.add_argument("--lengths", type=int, nargs="+", default=None, help="default: the profile's bench_lengths")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    hp, dev = profile_section(a.profile, "metst"), pick_device(a.device)
    lengths = a.lengths or hp.bench_lengths
    model = build_model(hp).to(dev).eval()
    print(f"profile={a.profile} d={hp.dim} depth={hp.depth} d_state={hp.d_state} device={dev} "
          f"threads={torch.get_num_threads()}")
    secs = inference_seconds(model, lengths, a.reps, dev)
    for T, s in zip(lengths, secs):
        print(f"T={T:>7d}  {s:9.3f} s  {1e6 * s / T:8.1f} us/frame")
    if len(lengths) > 1:
        r_t, r_n = secs[-1] / secs[-2], lengths[-1] / lengths[-2]
        print(f"time({lengths[-1]}) / time({lengths[-2]}) = {r_t:.2f} for a length ratio of {r_n:.0f} "
              f"({'linear' if r_t <= 1.2 * r_n else 'SUPER-LINEAR'})")


if __name__ == "__main__":
    main()
