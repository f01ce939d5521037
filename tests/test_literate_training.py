"""The training and scoring code notebooks 06-09 write out (cells ``# literate: <name>``) equals what melib
runs: each cell is executed here (:func:`test_literate.literate`) and compared with the library on fresh
small input; a deliberately broken copy of each cell (one mutation a student could make) must fail the
same comparison, so the comparison is sharp enough to catch it."""

import copy
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
import torch
from test_literate import literate

from melib.run import NOTEBOOKS


def broken(notebook: str, name: str, old: str, new: str, **namespace) -> dict:
    """:func:`literate` on the cell with ``old`` replaced by ``new`` (which must occur in it)."""
    nb = nbformat.read(next(NOTEBOOKS.glob(f"{notebook}_*.ipynb")), as_version=4)
    src = next(c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(f"# literate: {name}\n"))
    assert old in src, f"notebook {notebook}, cell {name}: the mutation target {old!r} is gone; update this test"
    exec(compile(src.replace(old, new), f"{notebook}:{name}:broken", "exec"), namespace)
    return namespace


@pytest.fixture(autouse=True)
def one_thread():
    """The models here are tiny: one intra-op thread runs their steps ~10x faster than two on a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --- notebook 06: one AMMSM training step (Mixup, eq. 2, MESA, AdamW, EMA teacher) -------------------------

def _ammsm_setup():
    from melib.models.ammsm import AMMSM, AMMSMConfig
    from melib.params import profile_section
    from melib.train.search import SearchSpace

    hp = SimpleNamespace(**{**vars(profile_section("smoke", "ammsm")), "size": 32, "mixup": 0.8, "lr": 1e-2})
    mcfg = AMMSMConfig.from_profile(hp, n_classes=3)
    torch.manual_seed(1)
    model = AMMSM(mcfg).train()
    g = torch.Generator().manual_seed(2)
    batch = (torch.randn(4, 2, 32, 32, generator=g), torch.randn(4, 3, 32, 32, generator=g), torch.tensor([0, 1, 2, 1]))
    return hp, model, batch, SearchSpace(mcfg.genes_per_stage).sample(g)


def _run_steps(step, model, hp, n_steps=2):
    """``n_steps`` steps from a copy of ``model`` with a fresh AdamW and EMA teacher; the global RNG (drop
    path) and the step's generator seeded alike -> (losses, student state, teacher state)."""
    from melib.train.regularizers import EMATeacher

    m = copy.deepcopy(model)
    opt = torch.optim.AdamW(m.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    teacher = EMATeacher(m, 0.5)
    g = torch.Generator().manual_seed(7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(8)
        losses = [step(m, opt, teacher, g) for _ in range(n_steps)]
    return losses, m.state_dict(), teacher.model.state_dict()


def _same(a, b) -> bool:
    return np.allclose(a[0], b[0], rtol=1e-6, atol=1e-7) and all(
        torch.allclose(x.double(), y.double(), atol=1e-6) for s, r in ((a[1], b[1]), (a[2], b[2]))
        for x, y in zip(s.values(), r.values()))


def _written(ns, e, e_r, hp, batch, cand):
    flow, onset, y = batch
    return lambda m, opt, teacher, g: ns["ammsm_step_written_out"](m, opt, teacher.model, teacher.decay, flow, onset,
                                                                  y, cand, e, e_r, hp, g)


@pytest.mark.parametrize("e", [0, 3])  # e_r = 6, mesa_start 0.25: MESA off at e = 0, on at e = 3
def test_notebook_06_training_step_equals_train_step(e):
    from melib.train.ammsm import train_step

    hp, model, batch, cand = _ammsm_setup()
    e_r = 6
    ns = literate("06", "ammsm_step", **literate("06", "mixup"))
    ref = _run_steps(lambda m, opt, t, g: train_step(m, opt, batch, lambda: cand, hp, 3, e, e_r, g, t)["loss"],
                     model, hp)
    mine = _run_steps(_written(ns, e, e_r, hp, batch, cand), model, hp)
    assert _same(mine, ref)
    assert not torch.allclose(ref[1]["head.weight"], model.state_dict()["head.weight"])  # the step did move


@pytest.mark.parametrize("cell,old,new", [
    ("mixup", "lam * t + (1 - lam) * t[perm]", "(1 - lam) * t + lam * t[perm]"),  # lambda on the wrong term
    ("ammsm_step", "t.mul_(d).add_(s, alpha=1 - d) if t.is_floating_point() else t.copy_(s)", "None"),  # no EMA
    ("ammsm_step", "(e_r - e) / e_r", "e / e_r"),  # eq. 2's schedule reversed
    ("ammsm_step", "else 0.0", "else l_cls"),  # MESA's term before mesa_start
])
def test_notebook_06_a_broken_step_differs(cell, old, new):
    from melib.train.ammsm import train_step

    hp, model, batch, cand = _ammsm_setup()
    e, e_r = (1, 6) if new == "else l_cls" else (2, 6)  # e = 2: MESA on, (e_r - e) / e_r != e / e_r
    ns = literate("06", "mixup")
    ns = broken("06", "mixup", old, new, **ns) if cell == "mixup" else ns
    ns = broken("06", cell, old, new, **ns) if cell != "mixup" else literate("06", "ammsm_step", **ns)
    ref = _run_steps(lambda m, opt, t, g: train_step(m, opt, batch, lambda: cand, hp, 3, e, e_r, g, t)["loss"],
                     model, hp)
    assert not _same(_run_steps(_written(ns, e, e_r, hp, batch, cand), model, hp), ref)


# --- notebook 07: one generation of the evolutionary search ------------------------------------------------

def _toy_fitness(c):
    """Prefers alpha near 2.5 and small early ratios (any fixed function of the genome will do)."""
    return -abs(c.alpha - 2.5) - sum(r / (i + 1) for i, r in enumerate(c.ratios))


def _generations(ns, seed, population=10, parents=3, prob=0.3):
    from melib.train.search import SearchSpace, next_generation

    space = SearchSpace([1, 2, 3, 1])
    pop = [space.sample(torch.Generator().manual_seed(seed + i)) for i in range(population)]
    args = (_toy_fitness, space, parents, prob)
    return (ns["generation_written_out"](pop, *args, torch.Generator().manual_seed(seed)),
            next_generation(pop, *args, torch.Generator().manual_seed(seed)), pop)


def test_notebook_07_generation_equals_next_generation():
    ns = literate("07", "search_generation", **literate("07", "search_operators"))
    for seed in range(5):
        mine, ref, pop = _generations(ns, seed)
        assert mine == ref, seed
        assert sum(c not in pop for c in ref) >= 1  # the generation made new candidates
    mine, ref, _ = _generations(ns, 9, population=7, parents=7)  # all survive: nothing is drawn
    assert mine == ref


def test_notebook_07_search_is_repeated_next_generation():
    """evolutionary_search's final population is next_generation applied `generations` times."""
    from melib.train.search import SearchSpace, evolutionary_search, next_generation

    space, g = SearchSpace([2, 2]), torch.Generator().manual_seed(4)
    res = evolutionary_search(_toy_fitness, space, 8, 2, 3, 0.3, g)
    g = torch.Generator().manual_seed(4)
    pop = [space.sample(g) for _ in range(8)]
    for _ in range(3):
        pop = next_generation(pop, _toy_fitness, space, 2, 0.3, g)
    assert max(pop, key=_toy_fitness) == res.best


@pytest.mark.parametrize("cell,old,new", [
    ("search_generation", "reverse=True", "reverse=False"),  # the least fit survive
    ("search_operators", "fresh.alpha if flips[-1] else c.alpha", "c.alpha"),  # alpha never mutates
    ("search_operators", "< prob", "< 0.5"),  # mutation rate ignored
    ("search_operators", "a.alpha if pick[-1] else b.alpha", "a.alpha"),  # alpha always from the first parent
    ("search_operators", "Candidate(space.repair(ratios),", "Candidate(tuple(ratios),"),  # stage order not kept
])
def test_notebook_07_a_broken_generation_differs(cell, old, new):
    ns = broken("07", cell, old, new) if cell == "search_operators" else literate("07", "search_operators")
    ns = broken("07", cell, old, new, **ns) if cell == "search_generation" else literate("07", "search_generation", **ns)
    assert any(mine != ref for mine, ref, _ in (_generations(ns, seed) for seed in range(5)))


# --- notebook 08: the ME-TST loss --------------------------------------------------------------------------

def _metst_batches(seed):
    """Random batches whose classes are unbalanced (mean frame weight far from 1), one class absent."""
    g = torch.Generator().manual_seed(seed)
    B, T = 3 + seed, 10 + 3 * seed
    y_recog = torch.where(torch.rand(B, T, generator=g) < 0.7, 4, torch.randint(0, 3, (B, T), generator=g))
    return (torch.rand(B, T, generator=g), torch.randn(B, T, 5, generator=g), (y_recog < 4).float(), y_recog)


def _metst_agree(ns, seeds=range(4)) -> bool:
    from melib.train.metst import CE_NORMS, class_weights, metst_loss

    for seed in seeds:
        spot, logits, y_spot, y_recog = _metst_batches(seed)
        for trained in (True, False):
            w = ns["class_weights_written_out"](y_recog.numpy(), 5, neutral_trained=trained)
            if not np.allclose(w, class_weights(y_recog.numpy(), 5, neutral_trained=trained), rtol=1e-12):
                return False
            wt = torch.as_tensor(w, dtype=torch.float32)
            for norm in CE_NORMS:
                mine = ns["metst_loss_written_out"](spot, logits, y_spot, y_recog, wt, norm)
                if not torch.isclose(mine, metst_loss(spot, logits, y_spot, y_recog, wt, norm), rtol=1e-6):
                    return False
    return True


def test_notebook_08_loss_equals_metst_loss():
    assert _metst_agree(literate("08", "metst_loss"))


def test_notebook_08_default_is_the_frame_averaged_ce():
    """The cell's default and metst_loss's default are both the authors' frame average."""
    from melib.train.metst import class_weights, metst_loss

    ns = literate("08", "metst_loss")
    spot, logits, y_spot, y_recog = _metst_batches(1)
    w = torch.as_tensor(class_weights(y_recog.numpy(), 5), dtype=torch.float32)
    assert torch.isclose(ns["metst_loss_written_out"](spot, logits, y_spot, y_recog, w),
                         metst_loss(spot, logits, y_spot, y_recog, w, "frames"))


@pytest.mark.parametrize("old,new", [
    ("w.numel() if ce_norm == \"frames\" else w.sum()", "w.sum()"),  # CE divided by the weights, not the frames
    ("w[-1] * neutral_factor if", "w[-1] if"),  # neutral not up-weighted
    ("return 0.9 * mse + 0.1 * ce", "return 0.1 * mse + 0.9 * ce"),  # the two terms' weights swapped
    ("(counts > 0).sum()", "n_classes"),  # K counts absent classes too
])
def test_notebook_08_a_broken_loss_differs(old, new):
    assert not _metst_agree(broken("08", "metst_loss", old, new))


# --- notebook 09: STRS from matched intervals and labels -------------------------------------------------

def _scored_videos(seed, n_videos=6):
    """Random videos: true MEs, spotted intervals near some of them (some shifted past IoU 0.5, some twice
    on one truth, some false alarms), labels in 0..4 (4 = neutral), strategy 1's veto flags."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_videos):
        on = np.sort(rng.choice(np.arange(0, 400, 40), size=rng.integers(1, 4), replace=False))
        gt = np.stack([on, on + rng.integers(8, 20, on.size)], 1)
        near = [g + rng.integers(-6, 7) for g in gt[rng.random(len(gt)) < 0.8] for _ in range(rng.integers(1, 3))]
        far = [np.array([a, a + 12]) for a in rng.integers(0, 400, rng.integers(0, 3))]
        iv = np.array(near + far, int).reshape(-1, 2)
        iv = np.stack([np.minimum(iv[:, 0], iv[:, 1]), np.maximum(iv[:, 0], iv[:, 1])], 1)
        out.append((iv, rng.integers(0, 5, len(iv)), rng.random(len(iv)) < 0.25 * (seed % 2), gt,
                    rng.integers(0, 4, len(gt))))
    return out


def _strs_agree(ns, seeds=range(6)) -> bool:
    from melib.metrics.spotting import score_videos

    for seed in seeds:
        vids = _scored_videos(seed)
        ref_in = [{"spotted": SimpleNamespace(intervals=iv, labels=lab, vetoed=vet), "gt": gt, "gt_labels": gl}
                  for iv, lab, vet, gt, gl in vids]
        for drop in (None, 3):
            ref = score_videos(ref_in, 4, drop)
            try:
                mine = ns["strs_written_out"](vids, 4, drop)
            except ValueError:  # e.g. a neutral label handed to the recognition scores
                return False
            if not np.allclose(mine, (ref["spot_f1"], ref["recog_f1"], ref["strs"]), rtol=0, atol=1e-12):
                return False
    return True


def test_notebook_09_strs_equals_melib_scorer():
    from melib.metrics.spotting import match

    ns = literate("09", "strs", **literate("09", "match"))
    assert _strs_agree(ns)
    for iv, _, _, gt, _ in _scored_videos(3):
        assert ns["match_written_out"](iv, gt) == match(iv, gt).pairs
    assert ns["strs_written_out"]([(np.zeros((0, 2), int), [], [], np.array([[5, 9]]), [1])]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("cell,old,new", [
    ("match", "ious[j] >= 0.5", "ious[j] > 0.0"),  # an interval that overlaps too little counted as a TP
    ("match", " and j not in {b for _, b in pairs}", ""),  # one truth matched twice
    ("match", "min(a[1], b[1]) - max(a[0], b[0]) + 1", "min(a[1], b[1]) - max(a[0], b[0])"),  # exclusive ends
    ("strs", " - int(np.sum(vetoed))", ""),  # vetoed false alarms still counted as FPs
    ("strs", "yp[yp == n_classes] = -1", "pass"),  # a neutral label scored as a class
    ("strs", "f1_spot * f1_recog", "f1_spot * f1_spot"),
])
def test_notebook_09_a_broken_strs_differs(cell, old, new):
    ns = broken("09", "match", old, new) if cell == "match" else literate("09", "match")
    ns = broken("09", "strs", old, new, **ns) if cell == "strs" else literate("09", "strs", **ns)
    assert not _strs_agree(ns)
