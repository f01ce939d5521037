"""GPU measurements in one run (issue 16): mamba-ssm's kernels against melib's pure-PyTorch paths (parity and
speed), ME-TST and AMMSM at the paper profile.
    python benchmarks/gpu.py --out build/gpu          # a CUDA machine; mamba-ssm optional (GPU=1 builds it)

1. Parity, float32, largest absolute difference from the pure path: the selective scan (b 2, d 128, n 16,
   L 512), chunked SSD (b 2, L 300, h 4, p 64, n 64) and one Mamba layer (d_model 64, d_state 64).
2. One Mamba layer, forward + backward, tokens/s per backend at ME-TST's training shape (256 windows x 50
   frames, d_model 64, d_state 64) and at a long shape (8 x 4,096).
3. ME-TST, paper profile: one training step (batch 256, k 50) and whole-video inference for T = 10^3..10^5
   per backend (the linear-in-T claim on a GPU).
4. AMMSM, paper profile: SSD vs Transformer backbone training steps, interleaved, median ratio with its
   bootstrap interval (the paper: 72.4% on an RTX A6000).
Timings are wall clock around torch.cuda.synchronize(); the backends alternate so drift hits both alike.
Writes OUT/gpu.json and prints each figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from melib.metrics.uncertainty import interleaved_timing, ratio_interval
from melib.models.ammsm import AMMSMConfig
from melib.models.metst_cost import inference_seconds
from melib.params import profile_section
from melib.ssm import Mamba, kernels, selective_scan, ssd_chunked, use_backend
from melib.train.ammsm import training_step
from melib.train.metst import build_model, metst_loss


def synced(fn):
    def run():
        fn()
        torch.cuda.synchronize()
    return run


def _diff(a: torch.Tensor, ref: torch.Tensor) -> dict:
    a, ref = a.detach().double(), ref.detach().double()
    return {"max_abs": float((a - ref).abs().max()), "rel": float((a - ref).norm() / ref.norm())}


def parity(backends: list[str]) -> dict:
    """Differences of mamba-ssm's kernels from the pure path; the chunked SSD also against float64."""
    if "mamba_ssm" not in backends:
        return {}
    g = torch.Generator(device="cuda").manual_seed(0)
    r = lambda *s: torch.randn(*s, device="cuda", generator=g)  # noqa: E731
    b, d, n, L = 2, 128, 16, 512
    u, delta, B, C, z = r(b, d, L), r(b, d, L), r(b, n, L), r(b, n, L), r(b, d, L)
    A, D, bias = -torch.rand(d, n, device="cuda", generator=g) * 4, r(d), r(d)
    ys = {m: selective_scan(u, delta, A, B, C, D, z, bias, True, method=m) for m in ("fused", "mamba_ssm")}
    out = {"selective_scan": _diff(ys["mamba_ssm"], ys["fused"])}
    b, L, h, p, n = 2, 300, 4, 64, 64
    x, dt, B, C = r(b, L, h, p), r(b, L, h), r(b, L, 1, n), r(b, L, 1, n)
    A, bias = -torch.rand(h, device="cuda", generator=g) * 4, r(h)
    y = {}
    for name in ("torch", "mamba_ssm"):
        with use_backend(name):
            y[name] = ssd_chunked(x, dt, A, B, C, 64, dt_bias=bias, dt_softplus=True)
    with use_backend("torch"):
        y64 = ssd_chunked(*(t.double() for t in (x, dt, A, B, C)), 64, dt_bias=bias.double(), dt_softplus=True)
    out["ssd_chunked"] = _diff(y["mamba_ssm"], y["torch"])
    out["ssd_chunked_vs_float64"] = {name: _diff(v, y64) for name, v in y.items()}
    torch.manual_seed(0)
    m, xm = Mamba(64, d_state=64).cuda(), torch.randn(4, 50, 64, device="cuda")
    for name in ("torch", "mamba_ssm"):
        with use_backend(name), torch.no_grad():
            y[name] = m(xm)
    out["mamba_layer"] = _diff(y["mamba_ssm"], y["torch"])
    return out


def mamba_tokens_per_s(backends: list[str], shape: tuple[int, int], reps: int) -> dict:
    torch.manual_seed(0)
    m = Mamba(64, d_state=64).cuda()
    x = torch.randn(*shape, 64, device="cuda")

    def step(name):
        def run():
            with use_backend(name):
                m(x).sum().backward()
        return synced(run)

    t = interleaved_timing({name: step(name) for name in backends}, reps=reps, warmup=2)
    return {name: shape[0] * shape[1] / float(np.median(v)) for name, v in t.items()}


def metst(backends: list[str], reps: int, lengths: list[int]) -> dict:
    hp = profile_section("paper", "metst")
    torch.manual_seed(0)
    model = build_model(hp).cuda().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    batch, k = 256, 50
    x = torch.randn(batch, model.in_channels, k, device="cuda")
    y_spot = torch.rand(batch, k, device="cuda")
    y_recog = torch.randint(0, model.n_emotions + 1, (batch, k), device="cuda")
    weight = torch.ones(model.n_emotions + 1, device="cuda")

    def step(name):
        def run():
            with use_backend(name):
                spot, logits = model(x)
                loss = metst_loss(spot, logits, y_spot, y_recog, weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
        return synced(run)

    t = interleaved_timing({name: step(name) for name in backends}, reps=reps, warmup=2)
    out = {"config": dict(dim=hp.dim, depth=hp.depth, d_state=hp.d_state, batch=batch, k=k),
           "train_step_ms": {name: 1000 * float(np.median(v)) for name, v in t.items()}, "inference_s": {}}
    model.eval()
    for name in backends:
        with use_backend(name), torch.no_grad():
            secs = inference_seconds(model, lengths, reps=3, device=torch.device("cuda"))
        out["inference_s"][name] = dict(zip(map(str, lengths), secs))
    return out


def ammsm(reps: int) -> dict:
    hp = profile_section("paper", "ammsm")
    batch = hp.latency_batch
    steps = {bb: training_step(AMMSMConfig.from_profile(hp, n_classes=5, backbone=bb), batch, "cuda")
             for bb in ("ssd", "transformer")}
    t = interleaved_timing(steps, reps=reps, warmup=2)
    ratio = ratio_interval(t["ssd"], t["transformer"])
    return {"size": hp.size, "batch": batch, "reps": reps,
            "step_ms": {bb: 1000 * float(np.median(v)) for bb, v in t.items()},
            "ssd_over_transformer": dict(median=ratio.estimate, low=ratio.low, high=ratio.high),
            "paper_ssd_over_transformer": 0.724}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="build/gpu")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--lengths", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--parts", nargs="+", default=["parity", "mamba", "metst", "ammsm"])
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("benchmarks/gpu.py: skipped, torch sees no CUDA device")  # `make bench` runs every benchmark
        return
    backends = ["torch"] + (["mamba_ssm"] if kernels() is not None else [])
    res = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "python": platform.python_version(), "backends": backends, "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(res), flush=True)
    parts = {
        "parity": lambda: parity(backends),
        "mamba": lambda: {f"{b}x{L}": mamba_tokens_per_s(backends, (b, L), a.reps) for b, L in ((256, 50), (8, 4096))},
        "metst": lambda: metst(backends, a.reps, a.lengths),
        "ammsm": lambda: ammsm(a.reps),
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in a.parts:
        t0 = time.perf_counter()
        try:
            res[name] = parts[name]()
        except Exception as exc:  # one failing part must not lose the others' figures
            res[name] = {"error": repr(exc)}
        res[name + "_wall_s"] = round(time.perf_counter() - t0, 1)
        print(f"== {name}: {json.dumps(res[name])}", flush=True)
        (out / "gpu.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
