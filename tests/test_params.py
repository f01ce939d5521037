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
