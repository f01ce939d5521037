"""Executors (melib.train.executor): inline and local (one subprocess per job) give identical pooled LOSO
results; a failed job names itself and shows its log; only unfinished folds are submitted; settings."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import melib
from melib.params import cluster_overrides, profile_section
from melib.train import executor as ex
from melib.train.loso import DONE, _save_fold, run_loso

CASME2 = dict(parts=["casme2"], casme2_clips=4)  # SynthME's CASME II part only: seconds to generate


def _settings(kind, **kw):
    return SimpleNamespace(**{**vars(profile_section("smoke", "cluster")), "executor": kind, **kw})


def test_local_jobs_run_in_subprocesses_and_failures_name_the_job(tmp_path):
    jobs = [ex.Job(f"v{i}", Path.write_text, (tmp_path / f"v{i}.txt", f"video {i}")) for i in range(2)]
    jobs.append(ex.Job("broken", json.loads, ("{not json",)))
    with pytest.raises(ex.JobsFailed) as err:
        ex.run_jobs(jobs, _settings("local", poll_s=0.2), tmp_path / "logs", "roi-test", progress=False)
    assert [(tmp_path / f"v{i}.txt").read_text() for i in range(2)] == ["video 0", "video 1"]
    assert list(err.value.failures) == ["broken"]
    msg = str(err.value)
    assert "1 of 3 job(s) failed (broken)" in msg and "JSONDecodeError" in msg
    assert "log tail" in msg and str(tmp_path / "logs") in msg  # the log's path and its last lines
    assert len(list((tmp_path / "logs").glob("*_log.err"))) == 3  # one log per job under the folder


def test_submit_gets_only_unfinished_folds(tmp_path):
    folds = [SimpleNamespace(name=f"sub{i}", test_idx=np.array([i])) for i in range(4)]
    submitted = []

    def submit(names, fail=()):
        submitted.append(list(names))
        for n in names:
            if n not in fail:
                (tmp_path / n).mkdir(exist_ok=True)
                _save_fold(tmp_path / n, {"y": np.array([int(n[-1])])})

    with pytest.raises(FileNotFoundError):  # sub2's job "failed": the loop has no trainer for it either
        run_loso(folds, lambda f, d: (_ for _ in ()).throw(FileNotFoundError(f.name)), tmp_path,
                 progress=False, submit=lambda n: submit(n, fail=("sub2",)))
    res = run_loso(folds, None, tmp_path, progress=False, submit=submit)
    assert submitted == [["sub0", "sub1", "sub2", "sub3"], ["sub2"]]  # the re-run submits only the missing fold
    assert [r.resumed for r in res] == [True] * 4 and (tmp_path / "sub2" / DONE).is_file()


def test_ammsm_pooled_results_identical_inline_and_local(tmp_path):
    """Smoke AMMSM, two folds capped at one batch per phase: local subprocess jobs == the inline run, to
    the bit (same seed per fold), and a second local run resumes without submitting anything."""
    from melib.train.ammsm import run_protocol
    from melib.train.loso import pool

    pooled = {}
    for kind in ("inline", "local"):
        cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path / "out", executor=kind, cap=1)
        res, _ = run_protocol(cfg, "casme2", "megc2019-3class", tmp_path / kind, max_folds=2, synth=CASME2)
        assert [r.resumed for r in res] == [kind == "local"] * 2  # local: jobs trained, the runner loaded them
        pooled[kind] = {k: pool(res, k) for k in ("y_true", "y_pred", "logits")}
    for k in pooled["inline"]:
        np.testing.assert_array_equal(pooled["local"][k], pooled["inline"][k])
    logs = sorted((tmp_path / "out" / "jobs").glob("ammsm-*/*_log.err"))
    assert len(logs) == 2  # one job per fold, logs under OUT/jobs
    res, _ = run_protocol(cfg, "casme2", "megc2019-3class", tmp_path / "local", max_folds=2, synth=CASME2)
    assert all(r.resumed for r in res)
    assert len(list((tmp_path / "out" / "jobs").glob("ammsm-*/*_log.err"))) == 2  # nothing resubmitted


def test_auto_is_inline_without_slurm(monkeypatch):
    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    assert ex.resolve("auto") == "inline"
    assert ex.resolve("local") == "local"
    with pytest.raises(ValueError, match="executor must be one of"):
        ex.resolve("kubernetes")


def test_settings_from_profile_env_and_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("MELIB_EXECUTOR", "local")
    monkeypatch.setenv("MELIB_CLUSTER", "partition=gpu,gpus=1,timeout_min=90")
    cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path)
    assert (cfg.cluster.executor, cfg.cluster.partition, cfg.cluster.gpus, cfg.cluster.timeout_min) == \
        ("local", "gpu", 1, 90)
    assert melib.setup("smoke", "synth", "cpu", 0, tmp_path, executor="inline").cluster.executor == "inline"
    assert ex.inline_config(cfg).cluster.executor == "inline" and cfg.cluster.executor == "local"
    with pytest.raises(ValueError, match="key one of"):
        cluster_overrides(cfg.cluster, "partitoin=gpu")
    monkeypatch.setenv("MELIB_EXECUTOR", "k8s")
    with pytest.raises(ValueError, match="EXECUTOR must be one of"):
        melib.setup("smoke", "synth", "cpu", 0, tmp_path)


def test_cap_shrinks_run_lengths_not_sizes(tmp_path, monkeypatch):
    monkeypatch.setenv("MELIB_CAP", "1")
    cfg = melib.setup("paper", "synth", "cpu", 0, tmp_path, executor="inline")
    full = profile_section("paper", "ammsm")
    assert (cfg.ammsm.max_batches, cfg.ammsm.epochs, cfg.ammsm.max_folds, cfg.metst.max_folds) == (1, 1, 1, 1)
    assert (cfg.ammsm.size, cfg.ammsm.dims, cfg.metst.depth) == (full.size, full.dims, 12)  # paper-sized
    assert cfg.magnify.steps == 1
    monkeypatch.setenv("MELIB_CAP", "one")
    with pytest.raises(ValueError, match="MELIB_CAP"):
        melib.setup("paper", "synth", "cpu", 0, tmp_path)
