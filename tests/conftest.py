"""Shared pytest set-up: GPU tests are skipped without CUDA."""

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (run on a GPU machine: see README, 'GPU')")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
