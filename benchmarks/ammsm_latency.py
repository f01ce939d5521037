"""Training-step latency of AMMSM with the SSD backbone vs the Transformer backbone, same run (Table III).

    python benchmarks/ammsm_latency.py --profile paper --device auto --reps 5

Prints both medians (ms) and their ratio (the paper: SSD at 72.4% of Transformer, RTX A6000).
"""

from __future__ import annotations

import argparse

from melib.models.ammsm import AMMSMConfig
from melib.params import pick_device, profile_section
from melib.train.ammsm import step_latency


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="paper", choices=["smoke", "teach", "paper"])
    p.add_argument("--device", default="auto")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--batch", type=int, default=None, help="default: the profile's latency_batch")
    a = p.parse_args()
    hp, dev = profile_section(a.profile, "ammsm"), pick_device(a.device)
    batch = a.batch or hp.latency_batch
    ms = {bb: step_latency(AMMSMConfig.from_profile(hp, n_classes=5, backbone=bb), batch, a.reps, dev)
          for bb in ("transformer", "ssd")}
    print(f"profile={a.profile} size={hp.size} batch={batch} device={dev}")
    for bb, v in ms.items():
        print(f"{bb:12s} {v:9.1f} ms / training step")
    print(f"SSD / Transformer = {100 * ms['ssd'] / ms['transformer']:.1f}%  (paper: 72.4%)")


if __name__ == "__main__":
    main()
