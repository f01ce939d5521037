"""Through a REAL Slurm (tools/slurm-local.sh: slurmctld + slurmd on localhost): smoke AMMSM LOSO folds as a
job array pool to exactly the inline numbers, one ROI-extraction job equals the inline features, and a
failing job names itself with its log tail. Marked `slurm`: skipped unless `sinfo` answers (conftest)."""

import json

import numpy as np
import pytest

import melib
from melib.train import executor as ex

pytestmark = pytest.mark.slurm

CASME2 = dict(parts=["casme2"], casme2_clips=4)


def test_ammsm_folds_as_a_slurm_array_equal_inline(tmp_path):
    from melib.train.ammsm import run_protocol
    from melib.train.loso import pool

    pooled = {}
    for kind in ("inline", "slurm"):
        cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path / "out", executor=kind, cap=1)
        res, _ = run_protocol(cfg, "casme2", "megc2019-3class", tmp_path / kind, max_folds=2, synth=CASME2)
        assert [r.resumed for r in res] == [kind == "slurm"] * 2
        pooled[kind] = {k: pool(res, k) for k in ("y_true", "y_pred", "logits")}
    for k in pooled["inline"]:
        np.testing.assert_array_equal(pooled["slurm"][k], pooled["inline"][k])
    subs = sorted(p.name for p in (tmp_path / "out" / "jobs").glob("ammsm-*/*_submitted.pkl"))
    assert len(subs) == 2 and all("_" in s.split("_submitted")[0] for s in subs)  # array tasks <id>_<i>


def test_one_roi_extraction_job_on_slurm_equals_inline(tmp_path):
    from melib.data import open_dataset, prepare
    from melib.train.metst import video_sequences

    cfg = melib.setup("smoke", "synth", "cpu", 0, tmp_path / "out", executor="slurm")
    roots = prepare(cfg, parts=["casme3"], casme3_subjects=1)
    ds = open_dataset(roots["casme3"])
    via_slurm = video_sequences(ds, tmp_path / "cache-slurm", max_subjects=1, progress=False, cfg=cfg)
    inline = video_sequences(ds, tmp_path / "cache-inline", max_subjects=1, progress=False)
    assert len(via_slurm) == 1 == len(list((tmp_path / "out" / "jobs").glob("roi-casme3/*_log.err")))
    np.testing.assert_array_equal(via_slurm[0].seq, inline[0].seq)
    assert len(list((tmp_path / "cache-slurm").glob("roi-*.npy"))) >= 1  # the job filled the cache
    video_sequences(ds, tmp_path / "cache-slurm", max_subjects=1, progress=False, cfg=cfg)
    assert len(list((tmp_path / "out" / "jobs").glob("roi-casme3/*_log.err"))) == 1  # done: not resubmitted


def test_failed_slurm_job_names_itself_with_its_log(tmp_path):
    settings = melib.setup("smoke", "synth", "cpu", 0, tmp_path, executor="slurm").cluster
    jobs = [ex.Job("sub07", json.loads, ("{broken",)), ex.Job("sub08", json.loads, ("[1]",))]
    with pytest.raises(ex.JobsFailed) as err:
        ex.run_jobs(jobs, settings, tmp_path / "logs", "ammsm-test", progress=False)
    assert list(err.value.failures) == ["sub07"]
    assert "JSONDecodeError" in str(err.value) and "log tail" in str(err.value)
