"""Optical-flow estimators: milliseconds per onset/apex pair at 256x256 (issue 4), with the end-point
error against the known displacement of the pair.

    python benchmarks/flow_speed.py --size 256 --reps 5

The pair is a face (scikit-image's astronaut portrait, grey, cropped to the head and resized to
--size) and the same face moved by a smooth synthetic field of about 1.5 px (micro-expression scale).
Prints the median over --reps runs after one warm-up, per estimator: wall time and CPU time (all
threads), the latter being what a shared machine inflates least.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from melib.flow import METHODS, epe, estimate


def face_pair(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from skimage import data

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[20:260, 120:360]
    prev = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    truth = np.stack([1.2 * np.sin(2 * np.pi * yy / size), 0.9 * np.cos(2 * np.pi * xx / size)], -1)
    nxt = cv2.remap(prev, xx - truth[..., 0], yy - truth[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return prev, nxt, truth.astype(np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's)")
    a = p.parse_args()
    if a.threads is not None:
        cv2.setNumThreads(a.threads)
    prev, nxt, truth = face_pair(a.size)
    inner = np.zeros(truth.shape[:2], bool)
    inner[16:-16, 16:-16] = True
    print(f"{a.size}x{a.size} pair, {cv2.getNumThreads()} OpenCV threads, median of {a.reps}")
    for method in METHODS:
        estimate(prev, nxt, method)
        times, cpu = [], []
        for _ in range(a.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            flow = estimate(prev, nxt, method)
            times.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
        print(f"{method:10s} {np.median(times):8.1f} ms/pair wall, {np.median(cpu):8.1f} ms CPU   "
              f"EPE {epe(flow, truth, inner):.3f} px")


if __name__ == "__main__":
    main()
