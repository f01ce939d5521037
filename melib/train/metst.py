"""ME-TST training and LOSO inference (ME-TST Sec. III-B; me-tst-reference.md "Training").

Loss (Sec. III-B): ``L = 0.9 * MSE(spot, y_spot) + 0.1 * CE(logits, y_recog; w)`` with sklearn-style
"balanced" class weights over the training frames, w_c = N / (K * N_c), the neutral weight then x6
(synergy strategy 0 sets it to 0). The weighted CE is averaged over the N frames, as the authors' code
does by passing one-hot probability targets (``ce_norm="frames"``, :func:`recognition_ce`);
``ce_norm="weights"`` divides by the sum of the frames' weights instead (PyTorch's rule for class
indices, melib's earlier form). Negatives are sampled from every training window of the fold pooled
(``neg_pool="fold"``, the authors' ``downSampling``); ``neg_pool="video"`` samples per video.
Adam (no weight decay) + OneCycleLR(max_lr=lr) stepped per batch; the last epoch is kept. LOSO: a fresh
model per held-out subject, through :func:`melib.train.loso.run_loso`.

``PROFILES["metst"]`` keys (``cfg.metst``):
- ``dim``, ``depth``, ``d_state``, ``d_conv``, ``expand``, ``drop_path``: the network (paper: 64, 12, 64,
  4, 2, 0.2).
- ``epochs``, ``lr``, ``batch`` (None = the dataset's reference batch: 256 CAS(ME)^3, 32 SAMM-LV).
- ``p``: the spotting threshold factor (0.55).
- ``ce_norm``: "frames" (the authors' weighted CE averaged over frames) | "weights" (divided by the summed
  weights; see :func:`recognition_ce`).
- ``neg_pool``: "fold" (the authors': negatives drawn from all training windows of the fold) | "video"
  (drawn per video; see :func:`training_windows`).
- ``paths``: "shared" | "reference" | "separate" (see :mod:`melib.models.metst`).
- ``max_folds``: train at most this many LOSO folds (None = every subject; smoke/teach keep it small).
- ``subjects``: use only the first this many subjects of each dataset (None = all).
- ``strategies``: the synergy strategies notebook 09 compares ([0, 2]: 1 and 2 share a trained model).
- ``bench_lengths``: video lengths (frames) of the whole-video inference benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from melib.data.windows import (
    NEUTRAL,
    WindowSettings,
    augment,
    cut_targets,
    cut_windows,
    frame_targets,
    sample_windows,
    window_starts,
)
from melib.models.metst import METST
from melib.params import stable_hash
from melib.train.executor import Job, add_cluster_args, cluster_config, inline_config, resolve, run_jobs, submitter
from melib.train.loso import run_loso

SPOT_WEIGHT, RECOG_WEIGHT, NEUTRAL_FACTOR = 0.9, 0.1, 6.0


@dataclass
class VideoSeq:
    """One long video ready for ME-TST: features and targets after the frame skip."""

    subject: str
    name: str
    seq: np.ndarray  # (C, n) float32 ROI-flow displacement sequence (chained; whole-video inference)
    intervals: np.ndarray  # (m, 2) ME [onset, offset], 0-based, after the skip
    labels: np.ndarray  # (m,) emotion index 0..emo-1
    # (n_w + 1, C, k) features of every window computed from its own first frame, rows at
    # melib.flow.roi.video_window_starts(n, k) (the last: the window ending at the last frame); None: cut
    # windows out of ``seq`` (synthetic sequences in tests)
    windows: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.seq.shape[1])

    def window_x(self, starts: np.ndarray, k: int) -> np.ndarray:
        """(len(starts), C, k) inputs of the windows at ``starts``: each window's own features (``windows``;
        a start must be a multiple of k // 2 or the last window's n - k) or, without them, cut from ``seq``."""
        starts = np.asarray(starts, dtype=int)
        if self.windows is None:
            return cut_windows(self.seq, starts, k)
        if self.windows.shape[-1] != k:
            raise ValueError(f"video {self.subject}/{self.name}: features were computed for windows of "
                             f"{self.windows.shape[-1]} frames, not k={k}")
        last = len(self.windows) - 1
        rows = np.where(starts == self.n - k, last, starts // (k // 2))
        bad = (starts % (k // 2) != 0) & (starts != self.n - k) | (rows > last)
        if bad.any():
            raise ValueError(f"video {self.subject}/{self.name}: no own features for windows starting at "
                             f"{starts[bad].tolist()} (k={k}, {self.n} frames)")
        return self.windows[rows]

    def targets(self) -> tuple[np.ndarray, np.ndarray]:
        return frame_targets(self.n, self.intervals, self.labels, skip=1)


def class_weights(recog: np.ndarray, n_classes: int, neutral_factor: float = NEUTRAL_FACTOR,
                  neutral_trained: bool = True) -> np.ndarray:
    """'Balanced' weights N / (K N_c) over the present classes (absent ones 0); neutral x factor or 0."""
    recog = np.asarray(recog).ravel()
    counts = np.bincount(recog, minlength=n_classes).astype(float)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = recog.size / (present.sum() * counts[present])
    w[n_classes - 1] = w[n_classes - 1] * neutral_factor if neutral_trained else 0.0
    return w


CE_NORMS = ("frames", "weights")


def recognition_ce(logits: torch.Tensor, y_recog: torch.Tensor, weight: torch.Tensor,
                   ce_norm: str = "frames") -> torch.Tensor:
    """Class-weighted cross-entropy of logits (..., K) against class indices y_recog (...).

    ``"frames"`` (the authors'): sum_i w_{y_i} (-log p_i[y_i]) / N over the N frames; this is what
    ``CrossEntropyLoss(weight)`` computes for one-hot probability targets. ``"weights"``: the same sum
    divided by sum_i w_{y_i} (PyTorch's rule for class-index targets), which rescales the CE against
    the MSE term whenever the mean weight of a batch's frames is not 1.
    """
    if ce_norm not in CE_NORMS:
        raise ValueError(f"ce_norm must be one of {CE_NORMS}, got {ce_norm!r}")
    flat, y = logits.reshape(-1, logits.shape[-1]), y_recog.reshape(-1)  # (N, K), (N,)
    if ce_norm == "weights":
        return F.cross_entropy(flat, y, weight=weight)
    return F.cross_entropy(flat, y, weight=weight, reduction="sum") / y.numel()


def metst_loss(spot: torch.Tensor, logits: torch.Tensor, y_spot: torch.Tensor, y_recog: torch.Tensor,
               weight: torch.Tensor, ce_norm: str = "frames") -> torch.Tensor:
    """0.9 MSE(spot (B, T), y_spot) + 0.1 weighted CE(logits (B, T, K), y_recog (B, T))."""
    return SPOT_WEIGHT * F.mse_loss(spot, y_spot) + RECOG_WEIGHT * recognition_ce(logits, y_recog, weight,
                                                                                  ce_norm)


def sampled_starts(videos: Sequence[VideoSeq], k: int, ratio: float, rng: np.random.Generator,
                   neg_pool: str = "fold") -> list[np.ndarray]:
    """Start frames of the training windows kept per video (:func:`sample_windows`'s rule).

    ``neg_pool="fold"`` (the authors'): every positive window of every video, plus int(n_pos * ratio)
    negatives drawn from ALL the videos' negative windows pooled (n_pos counted over the fold).
    ``"video"``: the same rule applied to each video on its own.
    """
    if neg_pool not in ("fold", "video"):
        raise ValueError(f"neg_pool must be 'fold' or 'video', got {neg_pool!r}")
    starts = [window_starts(v.n, k) for v in videos]
    spots = [cut_targets(v.targets()[0], s, k) for v, s in zip(videos, starts)]  # (n_w, k) each
    if neg_pool == "video":
        return [s[sample_windows(w, ratio, rng)] if s.size else s for s, w in zip(starts, spots)]
    ends = np.cumsum([0] + [len(s) for s in starts])[1:]
    keep = sample_windows(np.concatenate(spots) if len(spots) else np.zeros((0, k)), ratio, rng)
    return [s[keep[(keep >= e - len(s)) & (keep < e)] - (e - len(s))] for s, e in zip(starts, ends)]


def training_windows(videos: Sequence[VideoSeq], k: int, ratio: float, rng: np.random.Generator,
                     neg_pool: str = "fold"):
    """Windows (N, C, k), spot (N, k), recog (N, k) of the sampled windows of ``videos``
    (:func:`sampled_starts`)."""
    xs, ss, rs = [], [], []
    for v, keep in zip(videos, sampled_starts(videos, k, ratio, rng, neg_pool)):
        if not keep.size:
            continue
        spot, recog = v.targets()
        xs.append(v.window_x(keep, k))  # each window's own features (from its first frame)
        ss.append(cut_targets(spot, keep, k))
        rs.append(cut_targets(recog, keep, k))
    if not xs:
        raise ValueError(f"no training windows: every training video is shorter than 2 half-windows (k={k}) "
                         "or none was sampled")
    return np.concatenate(xs), np.concatenate(ss).astype(np.float32), np.concatenate(rs).astype(np.int64)


def build_model(hp, n_emotions: int = 4, in_channels: int = 10) -> METST:
    """A METST sized by the profile section ``hp`` (cfg.metst)."""
    return METST(in_channels, n_emotions, hp.dim, hp.depth, hp.d_state, hp.d_conv, hp.expand,
                 hp.drop_path, hp.paths)


def fit(model: METST, X: np.ndarray, S: np.ndarray, R: np.ndarray, weight: np.ndarray, epochs: int,
        lr: float, batch: int, seed: int, device: torch.device, progress: bool = False,
        ce_norm: str = "frames", max_batches: int | None = None) -> list[float]:
    """Adam + OneCycleLR (per batch) for ``epochs``; augmentation per batch; returns mean loss per epoch."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = max(1, -(-len(X) // batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps)
    w = torch.as_tensor(weight, dtype=torch.float32, device=device)
    losses = []
    for _ in tqdm(range(epochs), desc="epochs", leave=False, disable=not progress):
        order = torch.randperm(len(X), generator=g).numpy()
        total = 0.0
        for b in range(steps)[:max_batches]:  # max_batches: a capped dry run (melib.params.CAPPED)
            idx = order[b * batch:(b + 1) * batch]
            x = torch.from_numpy(augment(X[idx], rng)).to(device)  # (b, C, k)
            spot, logits = model(x)  # (b, k), (b, k, K)
            loss = metst_loss(spot, logits, torch.from_numpy(S[idx]).to(device),
                              torch.from_numpy(R[idx]).to(device), w, ce_norm)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(X))
    return losses


@torch.no_grad()
def predict_windows(model: METST, seq: np.ndarray, k: int, batch: int, device: torch.device,
                    where: str = "video", windows: np.ndarray | None = None):
    """Window outputs of one (C, n) video: spot (n_w + 1, k), logits (n_w + 1, k, K).

    Rows are the windows at :func:`window_starts` followed by one window aligned to the video's end
    (the fixed stitcher's tail); the video must have at least k frames. ``windows`` (n_w + 1, C, k): each
    window's own features (:attr:`VideoSeq.windows`); without them the windows are cut from ``seq``.
    """
    n = seq.shape[1]
    if n < k:
        raise ValueError(f"{where}: {n} frames after the skip, fewer than the window length k={k}")
    model.to(device).eval()
    starts = np.concatenate([window_starts(n, k), [n - k]])
    x = cut_windows(seq, starts, k) if windows is None else np.asarray(windows, np.float32)  # (n_w + 1, C, k)
    if len(x) != len(starts):
        raise ValueError(f"{where}: {len(x)} window feature rows for {len(starts)} windows (k={k}, {n} frames)")
    spots, logits = [], []
    for b in range(0, len(x), batch):
        s, lg = model(torch.from_numpy(x[b:b + batch]).to(device))  # (b, k), (b, k, K)
        spots.append(s.cpu().numpy())
        logits.append(lg.cpu().numpy())
    return np.concatenate(spots), np.concatenate(logits)


def fold_trainer(videos: Sequence[VideoSeq], ws: WindowSettings, hp, device: torch.device, seed: int,
                 strategy: int = 2, n_emotions: int = 4, progress: bool = True) -> Callable:
    """A ``train_fold(fold, fold_dir)`` for :func:`run_loso` over video indices (fold.train_idx/test_idx).

    Saves ``model.pt``; returns :func:`predict_videos`'s arrays plus ``losses`` per epoch and ``k_p``
    (from the training MEs) / ``k_p_all`` (the reference's leak: every ME of the dataset).
    """
    raise_if_empty(videos)
    all_iv = np.concatenate([v.intervals for v in videos if len(v.intervals)])
    batch = hp.batch or ws.batch

    def train_fold(fold, fold_dir: Path) -> dict[str, np.ndarray]:
        fold_seed = seed + int(np.asarray(fold.test_idx)[0])
        torch.manual_seed(fold_seed)
        train = [videos[i] for i in fold.train_idx]
        test = [videos[i] for i in fold.test_idx]
        X, S, R = training_windows(train, ws.k, ws.ratio, np.random.default_rng(fold_seed),
                                   getattr(hp, "neg_pool", "fold"))
        w = class_weights(R, n_emotions + 1, neutral_trained=strategy != 0)
        model = build_model(hp, n_emotions, X.shape[1])
        losses = fit(model, X, S, R, w, hp.epochs, hp.lr, batch, fold_seed, device, progress,
                     getattr(hp, "ce_norm", "frames"), getattr(hp, "max_batches", None))
        torch.save(model.state_dict(), Path(fold_dir) / "model.pt")
        tr_iv = np.concatenate([v.intervals for v in train if len(v.intervals)])
        return {**predict_videos(model, test, ws.k, batch, device), "losses": np.asarray(losses),
                "k_p": np.asarray(_k_p(tr_iv)), "k_p_all": np.asarray(_k_p(all_iv))}

    return train_fold


def _k_p(intervals: np.ndarray) -> int:
    return max(1, int((float(np.mean(intervals[:, 1] - intervals[:, 0])) + 1) / 2))


def raise_if_empty(videos: Sequence[VideoSeq]) -> None:
    if not videos or not any(len(v.intervals) for v in videos):
        raise ValueError("ME-TST needs at least one video with an annotated micro-expression")


def predict_videos(model: METST, test: Sequence[VideoSeq], k: int, batch: int,
                   device: torch.device) -> dict[str, np.ndarray]:
    """Raw outputs for the test videos: window outputs (stitched later by :mod:`melib.spotting`) and
    whole-video curves, plus the ground truth, as flat arrays for ``predictions.npz``."""
    win_s, win_l, vid_s, vid_l = [], [], [], []
    for v in test:
        s_w, l_w = predict_windows(model, v.seq, k, batch, device, f"video {v.subject}/{v.name}", v.windows)
        win_s.append(s_w)
        win_l.append(l_w)
        s_v, l_v = model.predict_video(v.seq)  # (n,), (n, K)
        vid_s.append(s_v.numpy())
        vid_l.append(l_v.numpy())
    return {
        "win_spot": np.concatenate(win_s).astype(np.float32),  # (sum n_w + 1, k)
        "win_logits": np.concatenate(win_l).astype(np.float32),  # (sum n_w + 1, k, K)
        "win_counts": np.asarray([len(w) - 1 for w in win_s]),  # windows per video, tail excluded
        "scores_video": np.concatenate(vid_s).astype(np.float32),  # (sum n,)
        "logits_video": np.concatenate(vid_l).astype(np.float32),  # (sum n, K)
        "lengths": np.asarray([v.n for v in test]),
        "names": np.asarray([f"{v.subject}/{v.name}" for v in test]),
        "gt": np.concatenate([np.asarray(v.intervals, int).reshape(-1, 2) for v in test]),
        "gt_labels": np.concatenate([np.asarray(v.labels, int).ravel() for v in test]),
        "gt_counts": np.asarray([len(v.intervals) for v in test]),
        "k": np.asarray(k), "batch": np.asarray(batch),
    }


def loso_dir(cfg, dataset: str, strategy: int) -> Path:
    """The run_loso folder of one dataset and model kind under cfg.out, keyed by data, profile, seed and
    every ``cfg.metst`` setting (a changed size retrains). Strategies 1 and 2 share the neutral-trained
    model ("strategy2"); strategy 0 trains with neutral weight 0 ("strategy0")."""
    hp = {k: v for k, v in sorted(vars(cfg.metst).items()) if k not in ("strategies", "bench_lengths")}
    key = stable_hash([str(cfg.data), cfg.profile, cfg.seed, hp], 10)
    return Path(cfg.out) / "metst" / dataset / f"strategy{2 if strategy else 0}-{key}"


def video_sequences(dataset, cache_dir=None, max_subjects: int | None = None,
                    progress: bool = True, cfg=None) -> list[VideoSeq]:
    """ROI-flow sequences and ME annotations of a long-video dataset's videos that contain an ME.

    The dataset's frame skip is applied before the features (SAMM-LV keeps every 7th frame), so the
    sequence, the windows and the ME indices (onset // skip, offset // skip) share one time axis.
    ``max_subjects`` keeps the first subjects (sorted) for short runs. With ``cfg`` whose executor is not
    inline (:mod:`melib.train.executor`), the features are first extracted as one job per video into
    ``cache_dir`` (videos already extracted by an earlier job are skipped), then read from it.
    """
    from melib.data.windows import emotion_class, settings
    from melib.flow.roi import chain_windows, video_windows

    ws = settings(dataset.name)
    keep = sorted({v.subject for v in dataset.videos if v.mes})[:max_subjects]
    out = []
    videos = [v for v in dataset.videos if v.mes and v.subject in keep]
    views = [SimpleNamespace(subject=v.subject, name=v.name, frame_paths=list(v.frame_paths)[::ws.skip])
             for v in videos]
    if cfg is not None and cache_dir is not None:
        extract_as_jobs(cfg, dataset.name, views, ws.k, cache_dir, progress)
    for v, view in zip(tqdm(videos, desc=f"{dataset.name} ROI features", unit="video", disable=not progress),
                       views):
        wins = video_windows(view, ws.k, cache_dir=cache_dir)  # (n_w + 1, 10, k), each from its own first frame
        seq = chain_windows(wins, len(view.frame_paths))  # (10, n): whole-video inference only
        iv = np.array([(e.onset // ws.skip, e.offset // ws.skip) for e in v.mes], dtype=int)
        labels = np.array([emotion_class(e.emotion, f"{dataset.name} video {v.subject}/{v.name}, ME at "
                                         f"frame {e.onset} (annotation row {e.row})") for e in v.mes])
        out.append(VideoSeq(v.subject, v.name, seq, iv, labels, wins))
    return out


def run_dataset(cfg, dataset, strategy: int = 2, videos: Sequence[VideoSeq] | None = None,
                only: str | None = None, progress: bool = True) -> list:
    """LOSO for one dataset (``cfg.metst.max_folds`` first subjects as test folds), cached and resumable
    under :func:`loso_dir`; a finished fold is loaded, not retrained."""
    from melib.data import loso_folds
    from melib.data.windows import settings

    if videos is None:
        videos = video_sequences(dataset, cfg.cache("flow"), getattr(cfg.metst, "subjects", None), progress, cfg)
    folds = loso_folds([v.subject for v in videos])[: cfg.metst.max_folds]
    trainer = fold_trainer(videos, settings(dataset.name), cfg.metst, cfg.device, cfg.seed, strategy,
                           progress=progress)
    out_dir = loso_dir(cfg, dataset.name, strategy)
    submit = submitter(cfg, f"metst-{out_dir.parent.name}-{out_dir.name}", lambda name: Job(
        name, fold_job, (inline_config(cfg), str(dataset.root), strategy, name)), progress)
    return run_loso(folds, trainer, out_dir, only=only, progress=progress, submit=submit)


def fold_job(cfg, root: str, strategy: int, fold: str) -> str:
    """One fold as a submitted job: :func:`run_dataset` with ``only=fold`` on the dataset at ``root``.
    The job derives the videos as :func:`run_dataset` does without ``videos`` (``cfg.metst.subjects``,
    features from ``cfg.cache("flow")``), which is how notebooks 08 and 09 build them too."""
    from melib.data import open_dataset

    run_dataset(cfg, open_dataset(root), strategy, only=fold, progress=False)
    return fold


def roi_job(view, k: int, cache_dir: str, marker: str, workers: int = 1) -> str:
    """One video's ROI features as a submitted job (:func:`melib.flow.roi.extract_video`: the windows
    :func:`video_sequences` reads, into the cache), then a marker file."""
    from melib.flow.roi import extract_video

    extract_video(view, k, cache_dir, workers=workers)
    Path(marker).write_text("ok\n")
    return view.name


def extract_as_jobs(cfg, dataset_name: str, views, k: int, cache_dir, progress: bool = True) -> None:
    """Run :func:`roi_job` for ``views`` as jobs with ``cfg``'s executor (nothing when it
    is inline); a video whose marker (keyed by its frames' paths, sizes and mtimes, and k) exists is skipped."""
    from melib.flow.cache import file_stamp

    if resolve(cfg.cluster.executor) == "inline":
        return
    label = f"roi-{dataset_name}"
    folder = Path(cfg.out) / "jobs" / label
    (folder / "done").mkdir(parents=True, exist_ok=True)
    jobs = []
    for view in views:
        marker = folder / "done" / stable_hash([view.subject, view.name, file_stamp(view.frame_paths), k])
        if not marker.is_file():
            jobs.append(Job(f"{view.subject}/{view.name}", roi_job,
                            (view, k, str(cache_dir), str(marker), cfg.cluster.cpus)))
    run_jobs(jobs, cfg.cluster, folder, label, progress)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m melib.train.metst --dataset casme3 --strategy 2 --fold spNO.1 ...``: one LOSO fold
    (or all without ``--fold``) into the same cached folder notebooks 08 and 09 read."""
    import argparse

    from melib.data import open_dataset, prepare

    ap = argparse.ArgumentParser(description="ME-TST LOSO training, one fold or all")
    ap.add_argument("--dataset", required=True, choices=["casme3", "samm_lv"])
    ap.add_argument("--strategy", type=int, default=2, choices=[0, 1, 2])
    ap.add_argument("--fold", default=None, help="held-out subject (default: every fold)")
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--data", default="synth")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="build")
    add_cluster_args(ap)
    a = ap.parse_args(argv)
    cfg = cluster_config(a)
    roots = prepare(cfg)
    if a.dataset not in roots:
        raise FileNotFoundError(f"DATA={a.data!r}: no {a.dataset} dataset found (found: {sorted(roots)})")
    res = run_dataset(cfg, open_dataset(roots[a.dataset]), a.strategy, only=a.fold)
    print(f"{len(res)} fold(s) in {loso_dir(cfg, a.dataset, a.strategy)}")


__all__ = ["CE_NORMS", "NEUTRAL", "VideoSeq", "class_weights", "metst_loss", "recognition_ce", "sampled_starts",
           "training_windows", "build_model", "fit",
           "predict_windows", "fold_trainer", "predict_videos", "loso_dir", "video_sequences", "run_dataset", "main"]


if __name__ == "__main__":
    main()
