"""Shared pytest set-up: GPU tests are skipped without CUDA, Slurm tests without a Slurm, the paper dry run
unless asked for."""

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    _skip_slurm_and_paper(config, items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (run on a GPU machine: see README, 'GPU')")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _skip_slurm_and_paper(config, items):
    """`slurm` tests need a Slurm that answers (tools/slurm-local.sh start); the `paper` dry run (minutes)
    runs only when asked for with -m paper (make paper-check)."""
    if any("slurm" in item.keywords for item in items):
        from melib.train.executor import slurm_available

        if not slurm_available():
            skip = pytest.mark.skip(reason="no Slurm answers `sinfo`: start one with `tools/slurm-local.sh start` "
                                           "(as root), then `pytest -m slurm`")
            for item in items:
                if "slurm" in item.keywords:
                    item.add_marker(skip)
    if "paper" not in (config.getoption("markexpr") or ""):
        skip = pytest.mark.skip(reason="the capped paper-profile dry run takes minutes: `make paper-check` "
                                       "or `pytest -m paper`")
        for item in items:
            if "paper" in item.keywords:
                item.add_marker(skip)
