"""AMMSM training (Sec. III-C, IV-C): adaptive phase -> evolutionary search -> fine-tuning, per LOSO fold.

- Optimiser: AdamW (``lr``, ``weight_decay``), cosine decay, batch ``batch``, Mixup, MESA (Sec. IV-C).
- Loss (eq. 2): L = L_cls + (e_r - e)/e_r * L_mag, L_mag = ||alpha * OF_ori - OF_mag||_1 (eq. 1), e the
  epoch counted over both training phases and e_r their total.

The paper names the optimiser, the cosine schedule, Mixup and MESA but not how they meet the three
phases; these are melib's choices, each with the flag that gives the other reading:

- ``lr_schedule``: "restart" (default) = a fresh AdamW and a full cosine decay per phase, as SparseViT
  fine-tunes its searched model in a run of its own; "continuous" = one AdamW and one cosine curve over
  adaptive phase + fine-tuning (the paper's "a cosine decay scheduler" read literally).
- ``mag_reduction``: "mean" (default) = L_mag averaged over the flow's elements; "sample_sum" = eq. 1 as
  written (an L1 norm sums over 2 x S x S values per sample, which outweighs L_cls by that factor).
- ``mixup`` = Beta(a, a) parameter (0.8 in ``paper``: VSSD's recipe, see :mod:`melib.train.regularizers`).
- MESA = VSSD's form (soft-target CE against the EMA teacher, weight ``mesa_weight`` from ``mesa_start``
  of training). The teacher's decay is scaled to the fold's step count: ``ema_horizon`` = its time constant
  as a fraction of all training steps (:func:`melib.train.regularizers.ema_decay_for`); ``ema_horizon=None``
  uses the fixed ``ema_decay`` instead (VSSD's 0.9998 in ``paper``: the teacher would keep ~77 % of its
  initial weights after a fold's ~1,300 steps).
- Adaptive phase (``epochs``): every step draws alpha in [1, 4] and one sparsity ratio per pair of blocks
  from {0.1..0.8}, non-decreasing within a stage (:class:`melib.train.search.SearchSpace`).
- Search: fitness = minus the mean classification loss on VALIDATION subjects, which are held-out
  TRAINING subjects (``val_frac`` of them, at least one); the adaptive phase trains on the others. The
  LOSO test subject is never read before the final prediction.
- Fine-tuning (``finetune_epochs``) on all training subjects under the found configuration.

Profile keys (``cfg.ammsm``): the model's (:attr:`melib.models.ammsm.AMMSMConfig.KEYS`: ``size``,
``depths``, ``dims``, ``heads``, ``d_state``, ``drop_path``, ``res_width``, ``image_channels``,
``mag_base``, ``mag_levels``, ``alpha_code``, ``fusion``, ``window``), and ``flow_method``, ``epochs``,
``finetune_epochs``, ``batch``, ``lr``, ``weight_decay``, ``mixup`` (Beta parameter, 0 = off),
``mesa_weight``, ``mesa_start`` (fraction of training), ``ema_horizon``, ``ema_decay``, ``lr_schedule``,
``mag_reduction``, ``val_frac``, ``population``,
``parents``, ``generations``, ``mutation_prob``, ``max_folds`` (None = every subject), ``protocols``,
``amplitudes`` (notebook 07's sweep), ``ablation_folds`` (folds per Table III / amplitude run), ``latency_batch``,
``latency_reps`` (timed training steps per model in Table III).

CLI (one fold per call, to spread folds over machines)::

    python -m melib.train.ammsm --protocol casme2-5class --fold sub01 --profile paper --data PATH --out DIR

Without ``--fold``, every fold; ``--executor slurm`` submits them as one Slurm job array (``--cluster
partition=gpu,gpus=1`` overrides the profile's Slurm settings, ``--cap 1`` makes a dry run).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from melib.magnify import loss_weight, magnification_loss
from melib.models.ammsm import AMMSM, AMMSMConfig
from melib.params import stable_hash
from melib.train.executor import Job, add_cluster_args, cluster_config, inline_config, submitter
from melib.train.regularizers import (
    EMATeacher,
    ema_decay_for,
    initial_weight_fraction,
    mesa_loss,
    mixup,
    soft_cross_entropy,
)
from melib.train.search import Candidate, SearchSpace, evolutionary_search


@dataclass
class ClipTensors:
    """A protocol's samples as tensors: flow (N, 2, S, S), onset (N, C, S, S), labels (N,), subjects (N,)."""

    flow: torch.Tensor
    onset: torch.Tensor
    labels: torch.Tensor
    subjects: np.ndarray
    classes: list[str]

    def batch(self, idx) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The only way training code reads samples (tests record the indices it asks for)."""
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return self.flow[idx], self.onset[idx], self.labels[idx]  # (b, 2, S, S), (b, C, S, S), (b,)


def onset_image(clip, size: int, channels: int) -> np.ndarray:
    """The onset frame resized to (channels, size, size), standardised to about zero mean, unit spread."""
    img = clip.read_frame(clip.onset, gray=channels == 1)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)  # (S, S[, 3])
    img = img[None] if channels == 1 else img.transpose(2, 0, 1)  # (C, S, S)
    return (img / 255.0 - 0.5) / 0.25


def load_tensors(proto, size: int, method: str, channels: int = 3, cache_dir=None) -> ClipTensors:
    """Onset->apex flows (cached by melib.flow) and onset frames for every sample of a protocol."""
    from melib.flow import onset_apex_flow

    flows = [onset_apex_flow(c, method, size, cache_dir=cache_dir) for c in proto.samples]  # each (2, S, S)
    onsets = [onset_image(c, size, channels) for c in proto.samples]  # each (C, S, S)
    # np.stack keeps the inputs' memory order, so (C, S, S) views of HWC images would give a channels-last
    # tensor; torch 2.13's multi-threaded CPU backward corrupted the heap on such batches (kernel died in
    # notebook 06): store plain contiguous tensors.
    flow_t = torch.from_numpy(np.ascontiguousarray(np.stack(flows)))  # (N, 2, S, S)
    onset_t = torch.from_numpy(np.ascontiguousarray(np.stack(onsets)))  # (N, C, S, S)
    return ClipTensors(flow_t, onset_t,
                       torch.as_tensor(np.asarray(proto.labels), dtype=torch.long),
                       np.asarray(proto.subjects).astype(str), list(proto.classes))


def split_validation(train_idx: np.ndarray, subjects: np.ndarray, frac: float, generator: torch.Generator):
    """Hold out whole TRAINING subjects for the search: -> (fit_idx, val_idx), disjoint by subject."""
    train_idx = np.asarray(train_idx)
    subs = np.unique(subjects[train_idx])
    if len(subs) < 2:
        raise ValueError(f"the search needs >= 2 training subjects to hold one out, got {list(subs)}")
    n_val = min(len(subs) - 1, max(1, round(frac * len(subs))))
    perm = torch.randperm(len(subs), generator=generator).numpy()
    val_subs = set(subs[perm[:n_val]])
    in_val = np.array([s in val_subs for s in subjects[train_idx]])
    return train_idx[~in_val], train_idx[in_val]


def _forward(model: AMMSM, flow, onset, cand: Candidate):
    dev = next(model.parameters()).device
    flow, onset = flow.to(dev), onset.to(dev)
    alpha = torch.full((flow.shape[0],), float(cand.alpha), device=dev)  # (b,)
    return model(flow, onset, alpha, list(cand.ratios)), alpha


@torch.no_grad()
def predict(model: AMMSM, data: ClipTensors, idx, cand: Candidate, batch: int = 64) -> torch.Tensor:
    """Logits (n, K) for the samples ``idx`` under one configuration (eval mode)."""
    model.eval()
    idx = np.asarray(idx)
    outs = [_forward(model, *data.batch(idx[i:i + batch])[:2], cand)[0].logits for i in range(0, len(idx), batch)]
    return torch.cat(outs).cpu()  # (n, K)


def fitness(model: AMMSM, data: ClipTensors, val_idx, cand: Candidate) -> float:
    """Search fitness: minus the mean classification loss on the validation (training) subjects."""
    logits = predict(model, data, val_idx, cand)  # (n, K)
    return -float(F.cross_entropy(logits, data.batch(val_idx)[2]))


def batch_slices(n: int, size: int) -> list[slice]:
    """Mini-batches covering range(n); a last batch of one sample joins the one before it (BatchNorm
    cannot train on a single sample when the last stage's map is 1x1)."""
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(a, b) for a, b in zip(starts, starts[1:] + [n])]


def cosine_lr(lr: float, step: int, total: int) -> float:
    """Cosine decay from ``lr`` at step 0 to 0 at step ``total``: lr * (1 + cos(pi * step / total)) / 2."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(1, total)))


def phase_steps(n: int, batch: int, epochs: int, max_batches: int | None = None) -> int:
    """Optimiser steps of a phase of ``epochs`` epochs over ``n`` samples (see :func:`batch_slices`), at
    most ``max_batches`` per epoch (a capped dry run)."""
    return max(1, len(batch_slices(n, batch)[:max_batches])) * epochs


def train_step(model: AMMSM, opt: torch.optim.Optimizer, batch, sample, hp, n_classes: int, epoch: int,
               e_r: int, generator: torch.Generator, teacher: EMATeacher | None = None) -> dict:
    """One optimiser step of the adaptive phase or fine-tuning (Sec. III-C, IV-C).

    Mixup of ``batch`` = (flow, onset, y) with ``generator``, then ``sample()`` -> Candidate (ratios, alpha),
    eq. 2's loss L_cls + (e_r - e)/e_r L_mag at ``epoch`` e, MESA's term against the EMA teacher from
    ``mesa_start`` of training, the AdamW step (at the optimiser's current lr), the teacher's EMA update.
    Returns the terms as they entered the loss (batch means: ``loss``, ``cls``, ``mag``, ``mesa``) and the
    arg-max hits of student and teacher against the mixed targets.
    """
    device = next(model.parameters()).device
    flow, onset, y = (t.to(device) for t in batch)  # (b,2,S,S), (b,C,S,S), (b,)
    (flow, onset), target, _ = mixup([flow, onset], F.one_hot(y, n_classes).float(), hp.mixup, generator)
    cand = sample()
    out, alpha = _forward(model, flow, onset, cand)
    loss = soft_cross_entropy(out.logits, target)
    parts = {"cls": float(loss.detach()), "mag": 0.0, "mesa": 0.0, "hits_teacher": 0}
    if model.magnifier is not None:
        l_mag = loss_weight(epoch, e_r) * magnification_loss(out.flow_mag, flow, alpha, hp.mag_reduction)
        loss = loss + l_mag
        parts["mag"] = float(l_mag.detach())
    if teacher is not None:
        with torch.no_grad():
            t_logits = _forward(teacher.model, flow, onset, cand)[0].logits  # (b, K)
        parts["hits_teacher"] = int((t_logits.argmax(1) == target.argmax(1)).sum())
        if epoch >= hp.mesa_start * e_r:
            l_mesa = hp.mesa_weight * mesa_loss(out.logits, t_logits)
            loss = loss + l_mesa
            parts["mesa"] = float(l_mesa.detach())
    parts["hits_student"] = int((out.logits.detach().argmax(1) == target.argmax(1)).sum())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if teacher is not None:
        teacher.update(model)
    return {"loss": float(loss.detach()), **parts}


def train_phase(model: AMMSM, data: ClipTensors, idx, hp, epochs: int, sample, epoch0: int, e_r: int,
                generator: torch.Generator, teacher: EMATeacher | None = None, desc: str = "train",
                opt: torch.optim.Optimizer | None = None, lr_steps: tuple[int, int] | None = None) -> dict:
    """Train ``epochs`` epochs on ``idx``; ``sample()`` -> Candidate gives each step's (ratios, alpha).

    ``epoch0``/``e_r`` place the phase on eq. 2's schedule; ``opt`` (default: a fresh AdamW) and
    ``lr_steps`` = (first step, total steps) of the cosine curve (default: this phase alone) let two phases
    share one optimiser and one schedule. Returns per-epoch lists: ``loss`` (mean total loss) and its terms
    ``loss_cls``, ``loss_mag`` (weighted by eq. 2's (e_r - e) / e_r) and ``loss_mesa`` (weighted by
    ``mesa_weight``; 0 before ``mesa_start``), which add up to ``loss``,
    ``acc_student`` and ``acc_teacher`` (agreement of the arg-max with the batches' mixed targets, on the
    training batches as they were trained; the teacher's in eval mode, NaN without a teacher).
    """
    idx = np.asarray(idx)
    steps = phase_steps(len(idx), hp.batch, epochs, getattr(hp, "max_batches", None))
    opt = opt or torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    step, total_steps = lr_steps or (0, steps)
    n_cls = len(data.classes)
    log = {"loss": [], "acc_student": [], "acc_teacher": [], "loss_cls": [], "loss_mag": [], "loss_mesa": []}
    for ep in tqdm(range(epochs), desc=desc, leave=False):
        model.train()
        perm = idx[torch.randperm(len(idx), generator=generator).numpy()]
        total, hits_s, hits_t = 0.0, 0, 0
        parts = {"cls": 0.0, "mag": 0.0, "mesa": 0.0}  # each term as it enters the loss, summed over samples
        for sl in batch_slices(len(perm), hp.batch)[:getattr(hp, "max_batches", None)]:  # capped dry run
            for group in opt.param_groups:
                group["lr"] = cosine_lr(hp.lr, step, total_steps)
            out = train_step(model, opt, data.batch(perm[sl]), sample, hp, n_cls, epoch0 + ep, e_r, generator,
                             teacher)
            step += 1
            n = sl.stop - sl.start
            total += out["loss"] * n
            for key in parts:
                parts[key] += out[key] * n
            hits_s, hits_t = hits_s + out["hits_student"], hits_t + out["hits_teacher"]
        log["loss"].append(total / len(perm))
        for key, value in parts.items():
            log[f"loss_{key}"].append(value / len(perm))
        log["acc_student"].append(hits_s / len(perm))
        log["acc_teacher"].append(hits_t / len(perm) if teacher is not None else float("nan"))
    return log


def teacher_decay(hp, n_steps: int) -> float:
    """The EMA teacher's decay for a fold of ``n_steps`` optimiser steps: scaled so that its time constant
    is ``hp.ema_horizon`` of them (:func:`ema_decay_for`), or the fixed ``hp.ema_decay`` when
    ``ema_horizon`` is None (VSSD's 0.9998 in ``paper``)."""
    return hp.ema_decay if hp.ema_horizon is None else ema_decay_for(n_steps, hp.ema_horizon)


def space_for(model_cfg: AMMSMConfig) -> SearchSpace:
    return SearchSpace(model_cfg.genes_per_stage)


def train_fold(fold, fold_dir: Path, data: ClipTensors, hp, model_cfg: AMMSMConfig, seed: int = 0,
               device: str | torch.device = "cpu") -> dict:
    """One LOSO fold: adaptive phase, search on held-out training subjects, fine-tuning, test prediction.

    Saves ``model.pt`` (state dict + config) and ``search.json`` in ``fold_dir``; returns the predictions
    (``y_true``, ``y_pred``, ``logits``, ``ratios``, ``alpha``, ``loss_adapt``, ``loss_ft``; per epoch of both
    phases ``acc_student``/``acc_teacher`` on the training batches; ``teacher_y_pred`` on the test subject,
    ``teacher_decay`` and ``teacher_initial_fraction`` = decay**updates, the teacher's share of its initial
    weights at the end).
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    train_idx, test_idx = np.asarray(fold.train_idx), np.asarray(fold.test_idx)
    model = AMMSM(model_cfg).to(device)
    space = space_for(model_cfg)
    fit_idx, val_idx = split_validation(train_idx, data.subjects, hp.val_frac, g)
    e_r = hp.epochs + hp.finetune_epochs
    cap = getattr(hp, "max_batches", None)
    n_adapt = phase_steps(len(fit_idx), hp.batch, hp.epochs, cap)
    n_steps = n_adapt + phase_steps(len(train_idx), hp.batch, hp.finetune_epochs, cap)
    teacher = EMATeacher(model, teacher_decay(hp, n_steps)) if hp.mesa_weight > 0 else None
    if hp.lr_schedule not in ("restart", "continuous"):
        raise ValueError(f"lr_schedule must be 'restart' or 'continuous', got {hp.lr_schedule!r}")
    continuous = hp.lr_schedule == "continuous"
    opt = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay) if continuous else None
    log_adapt = train_phase(model, data, fit_idx, hp, hp.epochs, lambda: space.sample(g), 0, e_r, g, teacher,
                            desc=f"{fold.name} adaptive", opt=opt, lr_steps=(0, n_steps) if continuous else None)
    result = evolutionary_search(lambda c: fitness(model, data, val_idx, c), space, hp.population, hp.parents,
                                 hp.generations, hp.mutation_prob, g)
    best = result.best
    log_ft = train_phase(model, data, train_idx, hp, hp.finetune_epochs, lambda: best, hp.epochs, e_r, g,
                         teacher, desc=f"{fold.name} fine-tune", opt=opt,
                         lr_steps=(n_adapt, n_steps) if continuous else None)
    logits = predict(model, data, test_idx, best)  # (n_test, K): the first read of the test subject
    t_pred = predict(teacher.model, data, test_idx, best).argmax(1).numpy() if teacher else np.zeros(0, int)
    torch.save({"state_dict": model.state_dict(), "config": model.config_dict()}, Path(fold_dir) / "model.pt")
    (Path(fold_dir) / "search.json").write_text(json.dumps(
        {"best": {"ratios": best.ratios, "alpha": best.alpha}, "best_fitness": result.best_fitness,
         "history": [{"generation": h["generation"], "best": h["best"], "mean": h["mean"]}
                     for h in result.history],
         "val_subjects": sorted(set(data.subjects[val_idx]))}, indent=1))
    return {"y_true": data.labels[test_idx].numpy(), "y_pred": logits.argmax(1).numpy(),
            "logits": logits.numpy(), "ratios": np.asarray(best.ratios), "alpha": np.asarray(best.alpha),
            "loss_adapt": np.asarray(log_adapt["loss"]), "loss_ft": np.asarray(log_ft["loss"]),
            **{k: np.asarray(log_adapt[k] + log_ft[k]) for k in ("loss_cls", "loss_mag", "loss_mesa")},
            "acc_student": np.asarray(log_adapt["acc_student"] + log_ft["acc_student"]),
            "acc_teacher": np.asarray(log_adapt["acc_teacher"] + log_ft["acc_teacher"]),
            "teacher_y_pred": t_pred, "teacher_decay": np.asarray(teacher.decay if teacher else np.nan),
            "teacher_initial_fraction": np.asarray(
                initial_weight_fraction(teacher.decay, teacher.updates) if teacher else np.nan),
            "search_best": np.asarray([h["best"] for h in result.history]),
            "search_mean": np.asarray([h["mean"] for h in result.history])}


def run_protocol(cfg, dataset_key: str, protocol_name: str, out_dir: Path, only: str | None = None,
                 max_folds: int | None = None, synth: dict | None = None, **switches):
    """LOSO over one protocol with the profile's settings -> (list[FoldResult], ClipTensors).

    Folds live in ``out_dir/run-<hash>/<subject>/`` (:func:`run_key`): a re-run with the same settings
    resumes, a changed setting trains afresh.

    ``max_folds`` overrides ``cfg.ammsm.max_folds``; ``synth`` = SynthME overrides (e.g. a fixed
    ``amplitude``); ``switches`` = model switches (``magnifier``, ``sparse``, ``backbone``).
    """
    from melib.data import loso_folds, open_dataset, prepare, protocol
    from melib.train.loso import run_loso

    hp = cfg.ammsm
    roots = prepare(cfg, **(synth or {}))
    if dataset_key not in roots:
        raise FileNotFoundError(f"dataset {dataset_key!r} not found under DATA={cfg.data!r}; found {sorted(roots)}")
    proto = protocol(open_dataset(roots[dataset_key]), protocol_name)
    data = load_tensors(proto, hp.size, hp.flow_method, hp.image_channels, cfg.cache("flow"))
    folds = loso_folds(proto.subjects)
    limit = hp.max_folds if max_folds is None else max_folds
    if limit is not None:
        folds = folds[:limit]
    model_cfg = AMMSMConfig.from_profile(hp, n_classes=len(proto.classes), **switches)
    key = run_key(hp, model_cfg, cfg.seed, synth, data_identity(cfg, roots[dataset_key]))
    submit = submitter(cfg, f"ammsm-{dataset_key}-{protocol_name}-{key}", lambda name: Job(
        name, fold_job, (inline_config(cfg), dataset_key, protocol_name, str(out_dir), name, max_folds, synth,
                         switches)))
    results = run_loso(folds, lambda f, d: train_fold(f, d, data, hp, model_cfg, cfg.seed, cfg.device),
                       Path(out_dir) / key, only=only, submit=submit)
    return results, data


def fold_job(cfg, dataset_key: str, protocol_name: str, out_dir: str, fold: str, max_folds, synth, switches) -> str:
    """One fold as a submitted job (:mod:`melib.train.executor`): :func:`run_protocol` with ``only=fold``,
    which writes the fold's DONE folder that the submitting run then loads."""
    run_protocol(cfg, dataset_key, protocol_name, Path(out_dir), only=fold, max_folds=max_folds, synth=synth,
                 **switches)
    return fold


NOT_TRAINING = ("max_folds", "protocols", "amplitudes", "latency_batch", "latency_reps", "ablation_folds")


def run_key(hp, model_cfg: AMMSMConfig, seed: int, synth: dict | None = None, data: str = "") -> str:
    """Folder name keyed by everything a fold's training reads, so a changed setting re-trains instead of
    resuming stale folds (keys that only choose which runs to make are left out). ``data`` names the
    dataset copy (:func:`data_identity`): teach and study SynthME share training settings but not clips."""
    train = {k: v for k, v in sorted(vars(hp).items()) if k not in NOT_TRAINING}
    return "run-" + stable_hash([train, model_cfg.__dict__, seed, synth or {}] + ([data] if data else []), 10)


def data_identity(cfg, root) -> str:
    """The dataset folder a run trains on, relative to OUT when it lies there (generated SynthME), so the
    key survives moving OUT but differs between SynthME profiles/seeds and between real copies."""
    root = Path(root).resolve()
    try:
        return root.relative_to(Path(cfg.out).resolve()).as_posix()
    except ValueError:
        return root.as_posix()


def training_step(model_cfg: AMMSMConfig, batch: int, device="cpu", seed: int = 0):
    """A callable that runs one training step (forward, eq. 2 loss, backward, AdamW) on fixed random input
    under the sparse configuration of all ratios 0.5 and alpha 2 (Table III's latency column); it
    synchronises CUDA so a wall-clock timer around it measures the step."""
    torch.manual_seed(seed)
    model = AMMSM(model_cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    s = model_cfg.size
    flow, onset = torch.randn(batch, 2, s, s, device=device), torch.randn(batch, 3, s, s, device=device)  # (B, 2|3, S, S)
    y = torch.randint(0, model_cfg.n_classes, (batch,), device=device)
    cand = Candidate(tuple([0.5] * model_cfg.n_genes), 2.0)
    cuda = str(device) != "cpu" and torch.cuda.is_available()

    def step() -> None:
        out, alpha = _forward(model, flow, onset, cand)
        loss = F.cross_entropy(out.logits, y)
        if model.magnifier is not None:
            loss = loss + magnification_loss(out.flow_mag, flow, alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()

    return step


def step_latency(model_cfg: AMMSMConfig, batch: int, reps: int = 5, device="cpu", seed: int = 0) -> float:
    """Median wall time (ms) of :func:`training_step` over ``reps`` steps after one warm-up step. To compare
    configurations, time them interleaved (:func:`melib.metrics.uncertainty.interleaved_timing`)."""
    import time

    step = training_step(model_cfg, batch, device, seed)
    step()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append(1000 * (time.perf_counter() - t))
    return float(np.median(times))


DATASET_OF = {"casme2-5class": "casme2", "megc2019-3class": "casme2",
              "samm-5class": "samm"}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Train/evaluate AMMSM by LOSO (one fold with --fold).")
    p.add_argument("--protocol", required=True, help="e.g. casme2-5class, megc2019-3class")
    p.add_argument("--dataset", default=None, help="casme2 | samm (default: from the protocol name)")
    p.add_argument("--fold", default=None, help="held-out subject to run (default: every fold)")
    p.add_argument("--profile", default="paper", choices=["smoke", "teach", "paper"])
    p.add_argument("--data", default="synth", help="'synth' or a real dataset root")
    p.add_argument("--out", default="build", help="output folder (fold folders go below it)")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    add_cluster_args(p)
    a = p.parse_args(argv)
    cfg = cluster_config(a)
    key = a.dataset or DATASET_OF.get(a.protocol)
    if key is None:
        p.error(f"--dataset is needed for protocol {a.protocol!r} (casme2 or samm)")
    out = cfg.out / "ammsm" / f"{key}-{a.protocol}"
    results, _ = run_protocol(cfg, key, a.protocol, out, only=a.fold)
    for r in results:
        acc = float(np.mean(r.predictions["y_true"] == r.predictions["y_pred"]))
        print(f"{r.name}: {len(r.predictions['y_true'])} test samples, accuracy {acc:.3f} -> {r.fold_dir}")


if __name__ == "__main__":
    main()
