"""How the numbers of one short training fold move with the torch thread count (README, "Reproducibility").

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/thread_reproducibility.py --threads 1 2 --profile smoke

Trains one AMMSM fold (toy flows whose direction encodes the class) and one ME-TST fold (toy ROI
sequences with rising ramps) with the same seed, twice per thread count, and prints per model: whether
the two runs at one thread count agree bit for bit, and the largest difference of the test logits and
of the final training loss between thread counts.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from melib.params import profile_section


def ammsm_fold(profile: str, seed: int, out: Path) -> dict:
    import melib.train.ammsm as tr
    from melib.models.ammsm import AMMSMConfig

    hp = profile_section(profile, "ammsm")
    g = torch.Generator().manual_seed(0)
    n, size = 36, hp.size
    labels = torch.arange(n) % 3
    angle = labels.float() * 2.1 + 0.2 * torch.randn(n, generator=g)  # one direction per class
    flow = torch.stack([angle.cos(), angle.sin()], 1)[:, :, None, None] + 0.3 * torch.randn(n, 2, size, size,
                                                                                            generator=g)
    data = tr.ClipTensors(flow, torch.randn(n, 3, size, size, generator=g), labels,
                          np.array([f"s{i % 4}" for i in range(n)]), ["a", "b", "c"])
    subjects = data.subjects
    fold = SimpleNamespace(name="s0", train_idx=np.flatnonzero(subjects != "s0"), test_idx=np.flatnonzero(subjects == "s0"))
    out.mkdir()
    res = tr.train_fold(fold, out, data, hp, AMMSMConfig.from_profile(hp, n_classes=3), seed=seed)
    return {"logits": res["logits"], "loss": res["loss_ft"][-1]}


def metst_fold(profile: str, seed: int, out: Path) -> dict:
    from melib.data.windows import WindowSettings
    from melib.train.metst import VideoSeq, fold_trainer

    hp = profile_section(profile, "metst")
    rng = np.random.default_rng(0)
    videos = []
    for i in range(6):
        seq = rng.normal(0, 0.05, (10, 300)).astype(np.float32)
        starts = rng.choice(np.arange(10, 260, 50), 3, replace=False)
        for on in starts:
            seq[:, on:on + 15] += np.linspace(0, 2, 15)[None]
        videos.append(VideoSeq(f"s{i % 3}", f"v{i}", np.cumsum(seq, 1), np.array([(s, s + 14) for s in starts]),
                               rng.integers(0, 4, 3)))
    subjects = np.array([v.subject for v in videos])
    fold = SimpleNamespace(name="s0", train_idx=np.flatnonzero(subjects != "s0"), test_idx=np.flatnonzero(subjects == "s0"))
    ws = WindowSettings(skip=1, k=30, ratio=1.0, batch=hp.batch or 64)
    out.mkdir()
    res = fold_trainer(videos, ws, hp, torch.device("cpu"), seed=seed, progress=False)(fold, out)
    logits = np.concatenate([np.ravel(v) for k, v in sorted(res.items())
                             if isinstance(v, np.ndarray) and v.dtype.kind == "f"])
    return {"logits": logits, "loss": float(np.ravel(res.get("losses", [np.nan]))[-1])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--profile", default="smoke", choices=["smoke", "teach"])
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    for name, run in (("AMMSM", ammsm_fold), ("ME-TST", metst_fold)):
        by_threads = {}
        for t in a.threads:
            torch.set_num_threads(t)
            with tempfile.TemporaryDirectory() as d:
                first, second = (run(a.profile, a.seed, Path(d, f"r{r}")) for r in range(2))
            same = np.array_equal(first["logits"], second["logits"]) and first["loss"] == second["loss"]
            by_threads[t] = first
            print(f"{name:7s} threads={t}: two runs identical: {same}")
        t0 = a.threads[0]
        for t in a.threads[1:]:
            dl = np.abs(by_threads[t]["logits"] - by_threads[t0]["logits"]).max()
            print(f"{name:7s} threads {t0} vs {t}: max |d logits| = {dl:.3g}, "
                  f"final loss {by_threads[t0]['loss']:.6g} vs {by_threads[t]['loss']:.6g}")


if __name__ == "__main__":
    main()
