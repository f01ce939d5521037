"""Speed of the state-space core on the CPU (README "State-space core").

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ssm_speed.py            # one to two minutes
    .venv/bin/python benchmarks/ssm_speed.py --quick                      # seconds (smaller grid)

1. Selective scan (d_inner 128, d_state 16 and 64), forward: recurrence vs numba kernel vs fused vs
   chunked, L 256..8192; float32 accuracy against the float64 recurrence.
2. Forward + backward at ME-TST's training shape (batch 32, L 50, d_inner 128, d_state 64).
3. The numba kernel's multiply-adds per second against one core's matmul (the arithmetic limit).
4. Linear scaling: time(L=16384) / time(L=1024) for causal SSD and NC-SSD; softmax attention for contrast.
5. The whole machine: the loop and the kernel at L = 4096, the kernel's numba threads on every core,
   wall-clock seconds, interleaved repeats, median and range. Run it on an idle machine.

Sections 1-4 run on one thread (torch and numba), so their CPU seconds are one core's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from melib.ssm.bench import MIXERS, scan_accuracy, scan_inputs, time_call, timings
from melib.ssm.cpu_kernel import available, selective_scan_numba
from melib.ssm.scan import selective_scan_fused, selective_scan_ref

CLOCK = time.process_time  # steadier than wall-clock time on a shared machine


def scan_table(lengths, d_state, ref_max_len):
    fast = [m for m in ("numba kernel (CPU default)", "fused scan (pure PyTorch)", "chunked parallel scan")
            if m in MIXERS]
    t = timings(lengths, 128, d_state, repeats=2, ref_max_len=ref_max_len, clock=CLOCK,
                methods=["recurrence (loop)", *fast])
    wide = t.pivot(index="L", columns="method", values="seconds")
    for m in fast:
        wide[f"speed-up {m.split()[0]}"] = wide["recurrence (loop)"] / wide[m]
    return wide


def arithmetic_limit():
    """Multiply-adds per second: one core's float32 matmul (1024^3) and the kernel's recurrence.

    Per state and step the kernel does the recurrence's 2 multiply-adds (h = a h + (Delta u) B, y += C h)
    and exp(Delta A): ~13 vector operations in all (range reduction, a degree-5 polynomial, scaling)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    mm = 1024**3 / time_call(lambda: a @ b, 5, CLOCK)
    L, d, n = 4096, 128, 64
    args = scan_inputs(L, d, n)
    with torch.no_grad():
        s = time_call(lambda: selective_scan_numba(*args), 5, CLOCK)
    return mm, L * d * n / s


def train_step(fn, b=32, L=50):
    u, delta, A, B, C = (a.requires_grad_() for a in scan_inputs(L, 128, 64, batch=b))
    return time_call(lambda: fn(u, delta, A, B, C).square().sum().backward(), 3, CLOCK)


def whole_machine(threads, d_states=(16, 64), L=4096, rounds=7):
    """Wall-clock seconds of the loop and the kernel (forward, batch 1, d_inner 128), the kernel on ``threads``
    numba threads. torch stays on one thread: the loop's small per-step operations gain nothing from more
    (0.133 s at 2 threads against 0.126 s at 1, L 4096, d_state 16), and torch's idle OpenMP threads spin
    on the cores numba's threads need (the kernel's wrapper then ran 1.5x slower). The two alternate in each
    round, a pause before each, so a load change hits both. Median and range over rounds; the ratio is the
    median of the per-round ratios."""
    import numba

    torch.set_num_threads(1)
    numba.set_num_threads(threads)
    rows = []
    with torch.no_grad():
        for n in d_states:
            args = scan_inputs(L, 128, n)
            selective_scan_numba(*args)  # compiled and warm
            loop, kern = [], []
            for _ in range(rounds):
                for fn, out in ((selective_scan_ref, loop), (selective_scan_numba, kern)):
                    time.sleep(0.25)  # the other's idle threads stop spinning (OpenMP's do for ~0.2 s)
                    t = time.perf_counter()
                    fn(*args)
                    out.append(time.perf_counter() - t)
            ratios = [a / b for a, b in zip(loop, kern)]
            rows.append((n, loop, kern, ratios))
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small grid (a smoke run)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="threads for section 5, the whole machine (default: every core)")
    args = ap.parse_args()
    lengths = [256, 1024] if args.quick else [256, 1024, 4096, 8192]
    torch.set_num_threads(1)  # CPU-time figures below are single-threaded
    if available():
        import numba

        numba.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; times are CPU seconds of this process (best of repeats)\n")
    for n in (16, 64):
        print(f"## selective scan forward, d_inner 128, d_state {n} (seconds)")
        print(scan_table(lengths, n, ref_max_len=lengths[-1]).round(4).to_string(), "\n")
        L = 1024 if args.quick else 4096
        errs = scan_accuracy(L, 128, n)
        print(f"float32 max relative error vs float64 recurrence at L={L}: "
              + ", ".join(f"{k}: {v:.1e}" for k, v in errs.items()), "\n")
    print("## forward + backward, batch 32, L 50, d_inner 128, d_state 64 (ME-TST training shape)")
    ref, fused = train_step(selective_scan_ref), train_step(selective_scan_fused)
    print(f"recurrence + autograd {ref:.3f} s, fused scan {fused:.3f} s, speed-up {ref / fused:.1f}x")
    if available():
        nb = train_step(selective_scan_numba)
        print(f"numba kernel {nb:.4f} s: {ref / nb:.1f}x the recurrence, {fused / nb:.1f}x the fused scan")
        mm, kern = arithmetic_limit()
        print(f"\n## arithmetic: one core's float32 matmul {mm / 1e9:.1f} G multiply-adds/s; numba forward "
              f"(L 4096, d 128, d_state 64) {kern / 1e9:.2f} G state-steps/s = {2 * kern / 1e9:.2f} G recurrence "
              f"multiply-adds/s ({2 * kern / mm:.1%} of the matmul). With exp(Delta A) a state-step is ~13 vector "
              f"operations: {13 * kern / mm:.0%} of the matmul's operation rate")
    if available():
        print(f"\n## the whole machine: L 4096, d_inner 128, numba on {args.threads} threads (torch on 1), wall-clock "
              "seconds (median [min, max] of 7 interleaved rounds; idle machine assumed)")
        for n, loop, kern, ratios in whole_machine(args.threads, rounds=3 if args.quick else 7):
            print(f"d_state {n}: loop {statistics.median(loop):.4f} [{min(loop):.4f}, {max(loop):.4f}], numba "
                  f"{statistics.median(kern):.4f} [{min(kern):.4f}, {max(kern):.4f}]: {statistics.median(ratios):.1f}x "
                  f"[{min(ratios):.1f}, {max(ratios):.1f}]")
    print()
    long = [1024, 4096] if args.quick else [1024, 4096, 16384]
    t = timings(long, 128, 64, repeats=5, ref_max_len=4096, clock=CLOCK,
                methods=["causal SSD (chunked)", "NC-SSD", "softmax attention"])
    wide = t.pivot(index="L", columns="method", values="seconds")
    print("## linear scaling, d_inner 128 (2 heads x 64), d_state 64 (seconds)")
    print(wide.round(4).to_string())
    for m in ("causal SSD (chunked)", "NC-SSD"):
        print(f"{m}: time(L={long[-1]}) / time(L={long[0]}) = {wide[m].iloc[-1] / wide[m].iloc[0]:.1f}")
    att = t[t.method == "softmax attention"].set_index("L").seconds
    if len(att) >= 2:
        print(f"softmax attention: time(4096) / time(1024) = {att.iloc[-1] / att.iloc[0]:.1f} "
              f"(quadratic: x16 per 4x length; x256 expected at 16384, not run)")


if __name__ == "__main__":
    main()
