"""Profiles resolve into a Config; seeding is reproducible; bad parameters are refused clearly."""

import random

import numpy as np
import pytest
import torch

import melib
from melib.params import PROFILE_NAMES, PROFILES, pick_device, profile_section, seed_everything


def test_every_topic_has_the_three_profiles_with_the_same_keys():
    for topic, by_profile in PROFILES.items():
        assert set(by_profile) == set(PROFILE_NAMES), topic
        keys = {p: set(v) for p, v in by_profile.items()}
        assert keys["smoke"] == keys["teach"] == keys["paper"], f"{topic}: {keys}"


def test_setup_resolves_sections_and_paths(tmp_path):
    cfg = melib.setup("smoke", "synth", "cpu", 3, tmp_path / "out")
    assert cfg.profile == "smoke" and cfg.seed == 3 and cfg.device == torch.device("cpu")
    assert cfg.out == (tmp_path / "out").resolve() and cfg.out.is_dir()
    assert cfg.figures == cfg.out / "figures"  # smoke never overwrites the repo's figures
    for topic in PROFILES:
        assert vars(getattr(cfg, topic)) == PROFILES[topic]["smoke"]
    assert cfg.cache("flow").is_dir() and cfg.cache("flow").parent == cfg.out / "cache"
    with pytest.raises(AttributeError, match="no field or profile section 'nope'"):
        _ = cfg.nope


def test_only_the_runner_writes_the_tracked_figures(tmp_path, monkeypatch):
    import os

    from melib.run import figures_for

    monkeypatch.delenv(melib.params.FIGURES_ENV, raising=False)
    cfg = melib.setup("teach", "synth", "cpu", 0, tmp_path)  # a notebook run by hand in JupyterLab
    assert cfg.figures == tmp_path.resolve() / "figures"
    with figures_for("teach"):  # `make notebooks`: the kernels papermill starts inherit the variable
        cfg = melib.setup("teach", "synth", "cpu", 0, tmp_path)
        assert cfg.figures.name == "figures" and cfg.figures.parent == melib.params.REPO_ROOT
    with figures_for("smoke"):
        assert melib.setup("smoke", "synth", "cpu", 0, tmp_path).figures == tmp_path.resolve() / "figures"
    assert melib.params.FIGURES_ENV not in os.environ  # restored afterwards


def test_seeding_is_reproducible():
    seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    seed_everything(8)
    assert torch.rand(1).item() != a[2][0].item()


def test_bad_parameters_are_named(tmp_path):
    with pytest.raises(ValueError, match="PROFILE must be one of"):
        melib.setup("fast", out=tmp_path)
    with pytest.raises(FileNotFoundError, match="DATA="):
        melib.setup("smoke", str(tmp_path / "no_such_dataset"), out=tmp_path)
    with pytest.raises(ValueError, match="DEVICE must be one of"):
        pick_device("tpu")
    with pytest.raises(TypeError, match="SEED must be an int"):
        melib.setup("smoke", seed="0", out=tmp_path)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            pick_device("cuda")
        assert pick_device("auto") == torch.device("cpu")


def test_real_data_path_is_resolved(tmp_path):
    (tmp_path / "CASME2").mkdir()
    cfg = melib.setup("smoke", str(tmp_path / "CASME2"), "cpu", 0, tmp_path / "out")
    assert cfg.data == str((tmp_path / "CASME2").resolve()) and not cfg.is_synth


def test_profile_section_reads_one_topic():
    assert vars(profile_section("teach", "metst")) == PROFILES["metst"]["teach"]
    with pytest.raises(ValueError):
        profile_section("huge", "metst")


def test_stable_hash_keys_caches_by_value():
    from pathlib import Path

    from melib.params import stable_hash

    a = stable_hash({"k": 50, "path": Path("/x"), "alpha": np.float32(2.0)})
    assert a == stable_hash({"alpha": 2.0, "path": "/x", "k": 50})  # key order, Path/numpy spellings
    assert a != stable_hash({"k": 30, "path": "/x", "alpha": 2.0})  # a changed parameter: a new key
    assert len(a) == 16 and len(stable_hash([1, 2], 8)) == 8


SYNTH_AMOUNTS = {"casme2_subjects", "casme2_clips", "samm_subjects", "samm_clips", "casme3_subjects", "casme3_videos",
                 "casme3_frames", "casme3_mes", "samm_lv_subjects", "samm_lv_videos", "samm_lv_frames", "samm_lv_mes"}


def test_capped_paper_run_shrinks_synthme_amounts_but_keeps_paper_sizes(tmp_path, monkeypatch):
    from melib.data.synth.generate import CASME2_MAIN, CASME3_MAIN, SAMM_MAIN

    full = {t: profile_section("paper", t) for t in ("synth", "ammsm", "magnify", "metst", "flow")}
    before = {t: dict(PROFILES[t]["paper"]) for t in PROFILES}
    cfg = melib.setup("paper", "synth", "cpu", 0, tmp_path, executor="inline", cap=1)
    s, p = vars(cfg.synth), vars(full["synth"])
    assert {k: v for k, v in s.items() if k not in SYNTH_AMOUNTS} == {k: v for k, v in p.items() if k not in SYNTH_AMOUNTS}
    assert (s["clip_size"], s["video_size"], s["clip_frames"]) == (160, [640, 360], [40, 100])  # paper frames
    def clips(d):
        return d["casme2_subjects"] * d["casme2_clips"] + d["samm_subjects"] * d["samm_clips"]

    def frames(d):
        return (d["casme3_subjects"] * d["casme3_videos"] * d["casme3_frames"]
                + d["samm_lv_subjects"] * d.get("samm_lv_videos", 1) * d["samm_lv_frames"])

    assert clips(s) <= 30 < clips(p) and frames(s) <= 3000 < frames(p)  # 30 vs 384 clips, 3000 vs 48400 frames
    # ... yet enough for every notebook: every class of every protocol, a LOSO test, validation and fitting
    # subject, two long-video subjects (ME-TST fold and training), SAMM-LV's subjects among SAMM's
    assert s["casme2_subjects"] >= 3 and s["samm_subjects"] >= 3 and s["samm_lv_subjects"] >= 2
    assert s["casme2_clips"] >= len(CASME2_MAIN) and s["samm_clips"] >= len(SAMM_MAIN)
    assert s["casme3_subjects"] >= 2 and s["casme3_mes"] * s["casme3_videos"] >= len(CASME3_MAIN)
    assert s["samm_lv_subjects"] <= s["samm_subjects"]
    for topic, keys in {"ammsm": ("size", "depths", "dims", "heads", "d_state", "res_width", "mag_base",
                                  "mag_levels", "image_channels", "window", "flow_method"),
                        "magnify": ("base", "levels", "size"), "metst": ("dim", "depth", "d_state", "expand"),
                        "flow": ("size", "methods", "k")}.items():
        assert {k: getattr(cfg.sections[topic], k) for k in keys} == {k: getattr(full[topic], k) for k in keys}
    assert cfg.ammsm.batch < full["ammsm"].batch and cfg.report.seeds == [0] and len(cfg.metst.bench_lengths) == 2
    assert {t: dict(PROFILES[t]["paper"]) for t in PROFILES} == before  # the profile itself is untouched


def test_capped_synthme_has_its_own_folder(tmp_path, monkeypatch):
    import melib.data.synth as synth
    from melib.data import prepare

    made = []
    monkeypatch.setattr(synth, "generate", lambda out, params, seed: made.append((out.name, params)) or {})
    full = melib.setup("paper", "synth", "cpu", 0, tmp_path)
    capped = melib.setup("paper", "synth", "cpu", 0, tmp_path, cap=1)
    prepare(full)
    prepare(capped)
    prepare(full)  # still complete: the capped run did not replace it
    assert [name for name, _ in made] == ["paper-seed0", "paper-capped-seed0"]
    assert made[1][1]["casme2_subjects"] < made[0][1]["casme2_subjects"]
