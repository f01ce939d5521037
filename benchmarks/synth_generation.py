"""Benchmark: wall-clock time to generate SynthME for one profile (issue 3 target: teach < 60 s).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synth_generation.py --profile teach

Generates into a temporary folder (deleted afterwards unless --keep) and prints the time per part
and the number of frames written.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from melib.data.synth import generate
from melib.params import PROFILES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="teach", choices=list(PROFILES["synth"]))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, help="write here and keep the data")
    args = ap.parse_args()
    params = PROFILES["synth"][args.profile]
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="synthme-bench-"))
    total = 0.0
    try:
        for part in params["parts"]:
            t0 = time.perf_counter()
            roots = generate(out / part, {**params, "parts": [part]}, args.seed)
            dt = time.perf_counter() - t0
            total += dt
            frames = sum(1 for _ in roots[part].rglob("*.jpg"))
            print(f"{part:8s} {dt:6.1f} s  {frames:6d} frames")
        print(f"total    {total:6.1f} s  (profile {args.profile}, seed {args.seed})")
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
