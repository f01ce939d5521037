"""Profiles: the one place where PROFILE/DATA/DEVICE/SEED/OUT become sizes, epochs and folds.

Every notebook's `parameters` cell holds plain literals; the next cell calls :func:`setup`, which
returns a :class:`Config`. Topic settings live in :data:`PROFILES` under one section per topic
(``cfg.synth``, ``cfg.flow``, ``cfg.magnify``, ``cfg.ssm``, ``cfg.ammsm``, ``cfg.metst``), so no
notebook hard-codes a size that a profile should set.

- ``smoke``: CI. Tiny sizes; each notebook runs in seconds.
- ``teach``: the default. A laptop CPU, minutes per notebook.
- ``paper``: the papers' hyperparameters; meant for a GPU and real data.
- ``study``: ``teach``'s models on a larger SynthME, every LOSO fold, several seeds (:data:`STUDY`): the
  replication report's runs (``make report``), sized for about 2 hours on a 2-core CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

PROFILE_NAMES = ("smoke", "teach", "paper", "study")
DEVICE_NAMES = ("auto", "cpu", "cuda")
EXECUTOR_NAMES = ("inline", "local", "slurm", "auto")
REPO_ROOT = Path(__file__).resolve().parent.parent
# Set by melib.run (`make notebooks`) to the repo's figures/: only the headless runner rewrites the
# tracked figures; a notebook run interactively writes its figures under OUT/figures.
FIGURES_ENV = "MELIB_FIGURES"

# Topic -> profile -> settings. Each topic's block is owned by the module that reads it, which
# documents its keys; a profile is the same key set at a different scale.
PROFILES: dict[str, dict[str, dict]] = {
    "synth": {  # SynthME generator; keys documented in melib/data/synth/generate.py
        "smoke": dict(
            parts=["casme2", "samm", "casme3", "samm_lv"], clip_size=64, clip_face=0.72, clip_frames=[12, 20],
            casme2_subjects=3, casme2_clips=5, samm_subjects=3, samm_clips=5,
            casme3_subjects=2, casme3_videos=1, casme3_frames=150, casme3_mes=4,
            samm_lv_subjects=2, samm_lv_frames=600, samm_lv_mes=2, video_size=[320, 180], video_face=0.25,
            me_seconds=[0.2, 0.45], macro_seconds=[0.3, 0.6], head_seconds=[0.2, 0.4],
            amplitude=[0.8, 2.0], video_amplitude=[1.2, 2.5],
            macro_amplitude=[3.0, 6.0], noise=1.5, drift=0.2, jpeg_quality=95,
        ),
        "teach": dict(
            parts=["casme2", "samm", "casme3", "samm_lv"], clip_size=128, clip_face=0.72, clip_frames=[30, 60],
            casme2_subjects=8, casme2_clips=10, samm_subjects=6, samm_clips=8,
            casme3_subjects=6, casme3_videos=2, casme3_frames=450, casme3_mes=2,
            samm_lv_subjects=4, samm_lv_frames=1200, samm_lv_mes=2, video_size=[640, 360], video_face=0.15,
            me_seconds=[0.2, 0.45], macro_seconds=[0.6, 1.5], head_seconds=[0.4, 0.8],
            amplitude=[0.6, 2.0], video_amplitude=[1.0, 2.5],
            macro_amplitude=[3.0, 6.0], noise=1.5, drift=0.2, jpeg_quality=95,
        ),
        "paper": dict(
            parts=["casme2", "samm", "casme3", "samm_lv"], clip_size=160, clip_face=0.72, clip_frames=[40, 100],
            casme2_subjects=16, casme2_clips=15, samm_subjects=12, samm_clips=12,
            casme3_subjects=12, casme3_videos=3, casme3_frames=900, casme3_mes=3,
            samm_lv_subjects=8, samm_lv_frames=2000, samm_lv_mes=3, video_size=[640, 360], video_face=0.15,
            me_seconds=[0.2, 0.5], macro_seconds=[0.6, 2.0], head_seconds=[0.4, 1.0],
            amplitude=[0.5, 2.0], video_amplitude=[0.8, 2.5],
            macro_amplitude=[3.0, 8.0], noise=1.5, drift=0.2, jpeg_quality=95,
        ),
    },
    "flow": {  # optical flow and ROI features; keys documented in melib/flow/__init__.py
        "smoke": dict(size=64, methods=["farneback", "tvl1", "dis"], n_clips=4, k=30, max_videos=1,
                      fast=True, workers=2),
        "teach": dict(size=128, methods=["farneback", "tvl1", "dis"], n_clips=12, k=30, max_videos=2,
                      fast=True, workers=2),
        "paper": dict(size=224, methods=["farneback", "tvl1", "dis"], n_clips=None, k=50, max_videos=None,
                      fast=True, workers=8),
    },
    "magnify": {  # flow magnifier; keys documented in melib/magnify.py
        "smoke": dict(base=8, levels=3, alpha_code="constant", size=32, n_flows=8, steps=300, batch=4, lr=5e-3,
                      alpha_low=1.0, alpha_high=4.0, method="tvl1"),
        "teach": dict(base=16, levels=4, alpha_code="constant", size=64, n_flows=48, steps=400, batch=8, lr=3e-3,
                      alpha_low=1.0, alpha_high=4.0, method="tvl1"),
        "paper": dict(base=64, levels=5, alpha_code="constant", size=224, n_flows=None, steps=20000, batch=16,
                      lr=1e-4, alpha_low=1.0, alpha_high=4.0, method="tvl1"),
    },
    "ssm": {  # keys documented in melib/ssm/__init__.py (notebooks 04, 05)
        "smoke": {"lengths": [64, 128, 256], "ref_max_len": 256, "d_inner": 32, "d_state": 16, "chunk": 32,
                  "repeats": 1, "map_size": 16, "dim": 32, "sparsities": [0.0, 0.5, 0.75]},
        "teach": {"lengths": [256, 512, 1024, 2048, 4096, 8192], "ref_max_len": 4096, "d_inner": 128,
                  "d_state": 16, "chunk": 64, "repeats": 2, "map_size": 56, "dim": 64,
                  "sparsities": [0.0, 0.2, 0.4, 0.6, 0.8]},
        "paper": {"lengths": [256, 1024, 4096, 16384], "ref_max_len": 4096, "d_inner": 128, "d_state": 64,
                  "chunk": 64, "repeats": 5, "map_size": 56, "dim": 64,
                  "sparsities": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]},
    },
    "ammsm": {  # keys documented in melib/train/ammsm.py
        "smoke": {
            "size": 32, "depths": [1, 1, 1, 1], "dims": [8, 16, 16, 16], "heads": [1, 1, 1, 1], "d_state": 8,
            "drop_path": 0.0, "res_width": 4, "image_channels": 3, "mag_base": 4, "mag_levels": 2,
            "alpha_code": "constant", "fusion": "concat", "window": 4,
            "score": "paper", "head": "norm_pool", "init": "trunc_normal", "flow_method": "farneback",
            "epochs": 1, "finetune_epochs": 1, "batch": 16, "lr": 1e-3, "weight_decay": 0.05, "mixup": 0.8,
            "mesa_weight": 1.0, "mesa_start": 0.25, "ema_decay": 0.9, "ema_horizon": 0.05,
            "lr_schedule": "restart", "mag_reduction": "mean", "val_frac": 0.2, "population": 4,
            "parents": 2, "generations": 2, "mutation_prob": 0.1, "max_folds": 2,
            "protocols": [["casme2", "megc2019-3class"]], "amplitudes": [0.5, 2.0], "latency_batch": 2,
            "latency_reps": 1, "ablation_folds": 1,
        },
        "teach": {
            "size": 64, "depths": [2, 2, 2, 2], "dims": [16, 32, 64, 64], "heads": [1, 2, 2, 4], "d_state": 16,
            "drop_path": 0.0, "res_width": 8, "image_channels": 3, "mag_base": 8, "mag_levels": 3,
            "alpha_code": "constant", "fusion": "concat", "window": 4,
            "score": "paper", "head": "norm_pool", "init": "trunc_normal", "flow_method": "farneback",
            "epochs": 12, "finetune_epochs": 4, "batch": 8, "lr": 2e-3, "weight_decay": 0.05, "mixup": 0.2,
            "mesa_weight": 1.0, "mesa_start": 0.25, "ema_decay": 0.95, "ema_horizon": 0.05,
            "lr_schedule": "restart", "mag_reduction": "mean", "val_frac": 0.2, "population": 12,
            "parents": 4, "generations": 4, "mutation_prob": 0.1, "max_folds": 4,
            "protocols": [["casme2", "megc2019-3class"], ["casme2", "casme2-5class"], ["samm", "megc2019-3class"]],
            "amplitudes": [0.3, 0.8, 2.0], "latency_batch": 16, "latency_reps": 3, "ablation_folds": 2,
        },
        "paper": {
            "size": 224, "depths": [2, 4, 8, 4], "dims": [64, 128, 256, 512], "heads": [2, 4, 8, 16],
            "d_state": 64, "drop_path": 0.2, "res_width": 64, "image_channels": 3, "mag_base": 64,
            "mag_levels": 5, "alpha_code": "sinusoidal", "fusion": "concat", "window": 4,
            "score": "paper", "head": "norm_pool", "init": "trunc_normal", "flow_method": "tvl1",
            "epochs": 70, "finetune_epochs": 30, "batch": 16, "lr": 3e-5, "weight_decay": 0.05, "mixup": 0.8,
            "mesa_weight": 1.0, "mesa_start": 0.25, "ema_decay": 0.9998, "ema_horizon": 0.05,
            "lr_schedule": "restart", "mag_reduction": "mean", "val_frac": 0.2, "population": 100,
            "parents": 25, "generations": 20, "mutation_prob": 0.1, "max_folds": None,
            "protocols": [["casme2", "megc2019-3class"], ["casme2", "casme2-5class"], ["samm", "megc2019-3class"]],
            "amplitudes": [0.25, 0.5, 1.0, 2.0], "latency_batch": 16, "latency_reps": 5, "ablation_folds": None,
        },
    },
    "cluster": {  # where LOSO folds and per-video feature jobs run; keys documented in melib/train/executor.py
        "smoke": dict(executor="inline", partition=None, timeout_min=30, cpus=1, gpus=0, mem_gb=4,
                      parallelism=2, poll_s=0.5),
        "teach": dict(executor="inline", partition=None, timeout_min=120, cpus=2, gpus=0, mem_gb=8,
                      parallelism=4, poll_s=2.0),
        "paper": dict(executor="auto", partition=None, timeout_min=1440, cpus=8, gpus=1, mem_gb=32,
                      parallelism=32, poll_s=10.0),
    },
    "metst": {  # keys documented in melib/train/metst.py
        "smoke": {"dim": 16, "depth": 2, "d_state": 8, "d_conv": 4, "expand": 2, "drop_path": 0.2,
                  "epochs": 2, "lr": 3e-3, "batch": 64, "p": 0.55, "paths": "shared", "max_folds": 2,
                  "subjects": None, "strategies": [0, 2], "bench_lengths": [1000, 4000],
                  "ce_norm": "frames", "neg_pool": "fold"},
        "teach": {"dim": 32, "depth": 4, "d_state": 16, "d_conv": 4, "expand": 2, "drop_path": 0.2,
                  "epochs": 10, "lr": 3e-3, "batch": 64, "p": 0.55, "paths": "shared", "max_folds": None,
                  "subjects": None, "strategies": [0, 2], "bench_lengths": [1000, 3000, 10000],
                  "ce_norm": "frames", "neg_pool": "fold"},
        "paper": {"dim": 64, "depth": 12, "d_state": 64, "d_conv": 4, "expand": 2, "drop_path": 0.2,
                  "epochs": 30, "lr": 1e-4, "batch": None, "p": 0.55, "paths": "shared", "max_folds": None,
                  "subjects": None, "strategies": [0, 2], "bench_lengths": [1000, 10000, 100000],
                  "ce_norm": "frames", "neg_pool": "fold"},
    },
}

# The replication report (notebook 10, melib.report; keys documented in melib/report.py): the training seeds
# whose runs it pools, random search-space configurations per fold, interleaved timing repetitions.
PROFILES["report"] = {
    "smoke": dict(seeds=[0], random_configs=4, timing_reps=5, bench_reps=3),
    "teach": dict(seeds=[0], random_configs=16, timing_reps=6, bench_reps=5),  # timing: 3 models x 7 teach steps
    "paper": dict(seeds=[0, 1, 2], random_configs=32, timing_reps=10, bench_reps=5),
}

# The `study` profile (issue 13): each topic's `teach` block with these keys replaced. Teach's models and
# epochs; a larger SynthME (10 CASME II x 10 clips, 10 SAMM x 10, 10 CAS(ME)^3 x 2 videos x 4 MEs = 80 MEs,
# 8 SAMM-LV subjects x 3 videos x 3 MEs = 72 MEs, 64 distinct noise frames per video, half the subjects on
# the mirrored portrait) generated once
# (data_seed) and shared by the training seeds, so runs of different seeds are paired on the same clips;
# every LOSO fold of every protocol, ablation and amplitude run (the smallest and largest teach amplitude);
# 3 seeds; two local processes of one thread. 107 min on the 2-core CPU (README "Replication report").
STUDY = {
    "synth": dict(casme2_subjects=10, casme2_clips=10, samm_subjects=10, samm_clips=10, casme3_subjects=10,
                  casme3_videos=2, casme3_mes=4, samm_lv_subjects=8, samm_lv_videos=3, samm_lv_mes=3,
                  noise_fields=16, mirror_faces=0.5, data_seed=0),
    "ammsm": dict(max_folds=None, ablation_folds=None, latency_reps=10, amplitudes=[0.3, 2.0]),
    "metst": dict(max_folds=None),
    "cluster": dict(executor="local", cpus=1, parallelism=2, timeout_min=60),
    "report": dict(seeds=[0, 1, 2], random_configs=32, timing_reps=20, bench_reps=5),
}
for _topic, _by_profile in PROFILES.items():
    _by_profile["study"] = {**_by_profile["teach"], **STUDY.get(_topic, {})}


# A capped dry run (MELIB_CAP=n or setup(cap=n); `make paper-check`): every training phase stops after n
# batches, one LOSO fold, one search generation, one timing repeat, one report seed. What it shrinks are run
# lengths and data amounts, never sizes: frame, clip and video sides, model widths/depths and input sizes stay
# the profile's, so the paper-sized shapes and data paths run end to end on a CPU. Amounts: a SynthME of
# smoke's counts (3 subjects x 5 clips per clip dataset, so every protocol class occurs and LOSO has a test,
# a validation and a fitting subject; 2 subjects x 1 video per long-video dataset, long enough for the
# profile's event durations) at the profile's frame sizes, written under its own name (melib.data.prepare);
# 2 samples per training batch and 1 per timed step (a paper-size AMMSM step at batch 16 takes about a minute
# of CPU); timing and bootstrap benchmarks at their shortest. The key ``max_batches`` (read by the training
# loops) is part of the training cache keys, so capped runs never resume into or out of full ones.
CAPPED = {
    "ammsm": dict(epochs=1, finetune_epochs=1, max_folds=1, ablation_folds=1, population=2, parents=1,
                  generations=1, latency_reps=1, batch=2, latency_batch=1),
    "metst": dict(epochs=1, max_folds=1, subjects=2),  # two subjects' ROI features: the extraction path
    "magnify": dict(steps=None, n_flows=32, batch=2),  # None: the cap itself
    "ssm": dict(repeats=1),
    "flow": dict(max_videos=1, n_clips=16),
    "synth": dict(casme2_subjects=3, casme2_clips=5, samm_subjects=3, samm_clips=5, casme3_subjects=2,
                  casme3_videos=1, casme3_frames=300, casme3_mes=4, samm_lv_subjects=2, samm_lv_videos=1,
                  samm_lv_frames=1200, samm_lv_mes=2),
    "report": dict(random_configs=2, timing_reps=2, bench_reps=1),
}


def apply_cap(sections: dict[str, SimpleNamespace], cap: int) -> None:
    """Shrink run lengths and data amounts (not sizes) in place for a dry run of ``cap`` batches per phase
    (see CAPPED)."""
    for name, overrides in CAPPED.items():
        for key, value in overrides.items():
            setattr(sections[name], key, cap if value is None else value)
    sections["ammsm"].max_batches = cap
    sections["metst"].max_batches = cap
    amps = sections["ammsm"].amplitudes
    sections["ammsm"].amplitudes = [amps[0], amps[-1]]  # notebook 07's sweep: its two ends
    sections["metst"].bench_lengths = sections["metst"].bench_lengths[:2]  # the two shortest (>= 2: a slope)
    sections["report"].seeds = sections["report"].seeds[:1]  # the runs notebooks 06-09 made


def _env_cap(cap: int | None) -> int | None:
    if cap is None:
        text = os.environ.get("MELIB_CAP", "").strip()
        if not text:
            return None
        if not text.isdigit():
            raise ValueError(f"MELIB_CAP must be a whole number of batches (or empty for no cap), got {text!r}")
        cap = int(text)
    if not isinstance(cap, int) or cap < 0:
        raise ValueError(f"cap must be a non-negative int (0 = no cap), got {cap!r}")
    return cap or None


@dataclass(frozen=True)
class Config:
    """Resolved run settings. Topic sections are attributes: ``cfg.ammsm.epochs``."""

    profile: str
    data: str  # "synth" or the absolute path of a real dataset root (or a folder of roots)
    device: torch.device
    seed: int
    out: Path  # executed notebooks, caches, checkpoints (absolute)
    figures: Path  # where save_figure writes (repo figures/ for teach/paper, OUT/figures for smoke)
    sections: dict[str, SimpleNamespace] = field(repr=False, default_factory=dict)
    cap: int | None = None  # a capped dry run (MELIB_CAP, :data:`CAPPED`): checks of learnt quality skip

    def __getattr__(self, name: str) -> SimpleNamespace:
        sections = object.__getattribute__(self, "sections")
        if name in sections:
            return sections[name]
        raise AttributeError(f"Config has no field or profile section {name!r}; sections: {sorted(sections)}")

    @property
    def is_synth(self) -> bool:
        return self.data == "synth"

    def cache(self, *parts: str) -> Path:
        """A folder under OUT/cache for one kind of cached result; created on demand."""
        path = self.out.joinpath("cache", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def generator(self, offset: int = 0) -> torch.Generator:
        """A torch generator seeded from SEED (plus an offset for independent streams)."""
        return torch.Generator().manual_seed(self.seed + offset)

    def summary(self) -> str:
        return (
            f"profile={self.profile} data={self.data} device={self.device} seed={self.seed}\n"
            f"out={self.out}\nfigures={self.figures}"
        )


def stable_hash(obj, length: int = 16) -> str:
    """Hex digest of a JSON-able value (dict keys sorted; numpy scalars as numbers, Paths and the rest as
    str): the one key function of every on-disk cache, so a changed parameter gives a new key."""
    text = json.dumps(obj, sort_keys=True, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def pick_device(name: str) -> torch.device:
    """'auto' -> cuda if available else cpu; 'cuda' without CUDA is an error, not a silent fallback."""
    if name not in DEVICE_NAMES:
        raise ValueError(f"DEVICE must be one of {DEVICE_NAMES}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("DEVICE='cuda' was asked for, but torch sees no CUDA device (use 'auto' or 'cpu')")
    return torch.device(name)


def cluster_overrides(section: SimpleNamespace, text: str, where: str = "--cluster") -> SimpleNamespace:
    """Apply ``"key=value,key=value"`` overrides to a ``cluster`` section in place (values: int, float,
    'none' or text); an unknown key is an error naming the known ones."""
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in vars(section):
            raise ValueError(f"{where}: expected key=value with key one of {sorted(vars(section))}, got {item!r}")
        value = value.strip()
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
        setattr(section, key, None if value in ("none", "None", "") else value)
    return section


def profile_section(profile: str, section: str) -> SimpleNamespace:
    """One topic's settings for a profile, without the side effects of :func:`setup` (for tests)."""
    if profile not in PROFILE_NAMES:
        raise ValueError(f"PROFILE must be one of {PROFILE_NAMES}, got {profile!r}")
    return SimpleNamespace(**PROFILES[section][profile])


def setup(
    profile: str = "teach",
    data: str = "synth",
    device: str = "auto",
    seed: int = 0,
    out: str | os.PathLike = "../build",
    figures: str | os.PathLike | None = None,
    executor: str | None = None,
    cap: int | None = None,
) -> Config:
    """Resolve the notebook parameters into a :class:`Config`, seed everything and create OUT.

    ``executor`` (inline | local | slurm | auto; default: env MELIB_EXECUTOR, else the profile's
    ``cluster.executor``) says where LOSO folds and per-video feature jobs run; env MELIB_CLUSTER
    (``"partition=gpu,gpus=1"``) overrides other ``cluster`` keys. ``cap`` (default: env MELIB_CAP) makes a
    dry run of that many batches per training phase (:data:`CAPPED`); 0 or unset = the full profile.

    Relative OUT is taken from the current directory (a notebook runs in notebooks/, so the
    default "../build" is the repo's build/). Figures go to ``figures`` if given, else to the folder
    named by the ``MELIB_FIGURES`` environment variable (which ``melib.run`` sets to the repo's
    figures/ for teach and paper runs), else to OUT/figures (interactive and smoke runs).
    """
    if profile not in PROFILE_NAMES:
        raise ValueError(f"PROFILE must be one of {PROFILE_NAMES}, got {profile!r}")
    if not isinstance(seed, int):
        raise TypeError(f"SEED must be an int, got {seed!r}")
    if data != "synth":
        root = Path(data).expanduser().resolve()
        if not root.exists():
            raise FileNotFoundError(f"DATA={data!r}: no such folder (give 'synth' or a real dataset root)")
        data = str(root)
    out_path = Path(out).expanduser().resolve()
    out_path.mkdir(parents=True, exist_ok=True)
    cap = _env_cap(cap)
    if figures is None:  # a capped dry run's figures are throw-away: never the tracked figures/
        figures = (None if cap else os.environ.get(FIGURES_ENV)) or out_path / "figures"
    fig_path = Path(figures).resolve()
    fig_path.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    sections = {name: SimpleNamespace(**by_profile[profile]) for name, by_profile in PROFILES.items()}
    cluster_overrides(sections["cluster"], os.environ.get("MELIB_CLUSTER", ""), "MELIB_CLUSTER")
    executor = executor or os.environ.get("MELIB_EXECUTOR") or sections["cluster"].executor
    if executor not in EXECUTOR_NAMES:
        raise ValueError(f"EXECUTOR must be one of {EXECUTOR_NAMES}, got {executor!r}")
    sections["cluster"].executor = executor
    if cap:
        apply_cap(sections, cap)
    return Config(profile, data, pick_device(device), seed, out_path, fig_path, sections, cap)
