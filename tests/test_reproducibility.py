"""Same SEED, same thread count, same machine -> identical numbers (issue 10, item 9): one short AMMSM
fold and one short ME-TST fold (smoke settings, seconds each) are trained twice and compared bit for bit.
(Different thread counts may change the numbers: README, "Reproducibility".)"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from melib.params import profile_section


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _clips(n_subjects=3, per_class=2, size=32, seed=0):
    """Flow fields whose direction encodes one of 3 classes, plus onset images (AMMSM's two inputs)."""
    import melib.train.ammsm as tr

    g = torch.Generator().manual_seed(seed)
    dirs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    labels = [k for _ in range(n_subjects) for k in range(3) for _ in range(per_class)]
    subjects = np.array([f"sub{s:02d}" for s in range(n_subjects) for _ in range(3 * per_class)])
    flow = torch.stack([dirs[k].reshape(2, 1, 1) + 0.3 * torch.randn(2, size, size, generator=g) for k in labels])
    onset = torch.randn(len(labels), 3, size, size, generator=g)
    return tr.ClipTensors(flow, onset, torch.tensor(labels), subjects, ["a", "b", "c"])


def _fold(subjects, name):
    return SimpleNamespace(name=name, train_idx=np.flatnonzero(subjects != name),
                           test_idx=np.flatnonzero(subjects == name))


def test_ammsm_fold_is_identical_when_run_twice(tmp_path, one_thread):
    import melib.train.ammsm as tr
    from melib.models.ammsm import AMMSMConfig

    hp = SimpleNamespace(**{**vars(profile_section("smoke", "ammsm")), "population": 2, "parents": 1,
                            "generations": 1})
    data = _clips()
    fold = _fold(data.subjects, "sub00")
    mcfg = AMMSMConfig.from_profile(hp, n_classes=3)
    runs = {}
    for run, seed in (("a", 7), ("b", 7), ("c", 8)):
        (tmp_path / run).mkdir()
        runs[run] = tr.train_fold(fold, tmp_path / run, data, hp, mcfg, seed=seed)
    a, b, c = runs.values()
    for key in ("logits", "loss_adapt", "loss_ft", "ratios", "alpha", "search_best"):
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["logits"], c["logits"])  # a different SEED does change them


def test_metst_fold_is_identical_when_run_twice(tmp_path, one_thread):
    from melib.data.windows import WindowSettings
    from melib.train.metst import VideoSeq, fold_trainer

    rng = np.random.default_rng(0)
    videos = []
    for s in range(2):
        for v in range(2):
            seq = rng.normal(0, 0.05, (10, 120)).astype(np.float32)
            ivs = [(on, on + 11) for on in (20, 70)]
            for on, off in ivs:
                seq[:, on:off + 1] += np.linspace(0, 1, off - on + 1)[None] * 2
            videos.append(VideoSeq(f"s{s}", f"v{v}", np.cumsum(seq, 1), np.array(ivs), np.array([0, 2])))
    hp = SimpleNamespace(**{**vars(profile_section("smoke", "metst")), "dim": 8, "depth": 1, "epochs": 2,
                            "batch": 16})
    ws = WindowSettings(skip=1, k=20, ratio=1.0, batch=16)
    fold = _fold(np.array([v.subject for v in videos]), "s0")
    runs = []
    for run, seed in (("a", 3), ("b", 3), ("c", 4)):
        (tmp_path / run).mkdir()
        runs.append(fold_trainer(videos, ws, hp, torch.device("cpu"), seed=seed, progress=False)(fold, tmp_path / run))
    a, b, c = runs
    floats = [k for k, v in a.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    assert floats
    for key in a:
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), key
    assert any(not np.array_equal(a[k], c[k]) for k in floats)  # the seed is what fixes them
