"""ME-TST ROI-feature extraction speed from JPEG frames of a 1280x720 long video (issue 4 goal: at least
half the JPEG-decode-only rate and at least 100 frames/s on 2 cores).

    python benchmarks/roi_features.py --frames 300 --workers 2

Generates (once, cached under --out) a SynthME CAS(ME)^3-style video at 1280x720 with a face of
--face x the width, then times: grey JPEG decode alone (1 and --workers threads), the plain reference
path (full 320x320 Farneback, one thread) and the fast path (ROI regions, --workers threads), with
the breakdown decode / face+landmarks / flow / pooling (flow and pooling are summed over threads, so
they can exceed wall time). Features are not cached here.
Besides wall-clock rates it prints CPU-time rates (frames / CPU seconds x cores): what the same work
gives on dedicated cores when the machine is shared and wall time is inflated.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

import melib
from melib import faces
from melib.data import open_dataset, prepare
from melib.flow import roi


def decode_rate(paths, workers: int) -> tuple[float, float]:
    """(wall frames/s, CPU-time frames/s per core) of grey JPEG decoding."""
    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda p: cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), paths))
    return len(paths) / (time.perf_counter() - t0), len(paths) / (time.process_time() - c0)


def timed(video, fast: bool, workers: int, k: int):
    stats = {}
    t0, c0 = time.perf_counter(), time.process_time()
    feats = roi.roi_features(video, k, fast=fast, workers=workers, stats=stats)
    return feats, time.perf_counter() - t0, time.process_time() - c0, stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--face", type=float, default=0.25, help="jaw width / frame width")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--k", type=int, default=50, help="window length (CAS(ME)^3: 50)")
    p.add_argument("--out", default="build/bench_roi")
    p.add_argument("--skip-plain", action="store_true")
    a = p.parse_args()
    cfg = melib.setup("smoke", "synth", "cpu", 0, a.out)
    roots = prepare(cfg, parts=["casme3"], casme3_subjects=1, casme3_videos=1, casme3_frames=a.frames,
                    video_size=[1280, 720], video_face=a.face)
    video = open_dataset(roots["casme3"]).videos[0]
    n = video.n_frames
    print(f"video {video.read_frame(0).shape[::-1]} px, {n} JPEG frames, k={a.k}, workers={a.workers}, "
          f"{cv2.getNumThreads()} OpenCV threads")
    faces.landmarks(video.read_frame(0))  # load the dlib models outside the timings
    (d1, c1), (dw, _) = decode_rate(video.frame_paths, 1), decode_rate(video.frame_paths, a.workers)
    print(f"decode only     : {d1:7.1f} frames/s wall (1 thread), {dw:7.1f} frames/s wall ({a.workers} threads); "
          f"CPU time: {c1:.1f} frames/s per core = {a.workers * c1:.1f} on {a.workers} dedicated cores")
    rows = [("fast", True, a.workers)] + ([] if a.skip_plain else [("plain", False, 1)])
    out = {}
    for name, fast, workers in rows:
        feats, wall, cpu, st = timed(video, fast, workers, a.k)
        out[name] = feats
        parts = ", ".join(f"{key} {st.get(key, 0):.2f} s" for key in ("decode", "landmarks", "flow", "pooling"))
        print(f"{name:5s} path      : {n / wall:7.1f} frames/s wall end to end with {workers} thread(s) "
              f"({wall:.1f} s); CPU {cpu:.1f} s = {workers * n / cpu:.1f} frames/s on {workers} dedicated core(s)\n"
              f"                  breakdown: {parts}; JPEG reduce 1/{st.get('reduce', 1)}; "
              f"{st.get('realignments', 0)} re-alignments")
    if "plain" in out:
        print(f"max |fast - plain| = {np.abs(out['fast'] - out['plain']).max():.4f} px "
              f"(tolerance {roi.FAST_TOLERANCE})")


if __name__ == "__main__":
    main()
