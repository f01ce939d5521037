"""Kernel backend switch: compiled kernels when usable, else the pure-PyTorch paths.

- CUDA tensors: mamba-ssm's fused kernels ("mamba_ssm"). mamba-ssm builds CUDA extensions and imports
  them at package import, so it is imported lazily, only for CUDA tensors, and only once.
- CPU tensors: the numba selective-scan kernel ("numba", :mod:`melib.ssm.cpu_kernel`) when numba is
  importable. The SSD/NC-SSD paths have no CPU kernel and stay pure PyTorch.
- "torch": the pure-PyTorch paths everywhere (the teaching references, and the fallback).

``use_backend("auto" | "torch" | "numba" | "mamba_ssm")`` forces a choice (also usable as
``with use_backend("torch"): ...``); ``backend(device)`` says what will run.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

BACKENDS = ("auto", "torch", "numba", "mamba_ssm")
_state = {"mode": "auto", "kernels": None, "error": None}


def kernels(require: bool = False):
    """The mamba-ssm functions (selective_scan_fn, mamba_chunk_scan_combined), or None if unavailable."""
    if _state["kernels"] is None and _state["error"] is None:
        if not torch.cuda.is_available():
            _state["error"] = "torch sees no CUDA device"
        else:
            try:
                from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
                from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
            except Exception as exc:  # ImportError, or the CUDA extension failing to load
                _state["error"] = f"mamba_ssm not importable: {exc!r}"
            else:
                _state["kernels"] = SimpleNamespace(
                    selective_scan_fn=selective_scan_fn, mamba_chunk_scan_combined=mamba_chunk_scan_combined
                )
    if require and _state["kernels"] is None:
        raise RuntimeError(
            f"the mamba_ssm backend was asked for but is unavailable ({_state['error']}); install it on a CUDA "
            "machine with `pip install --no-build-isolation mamba-ssm`, or use_backend('torch')"
        )
    return _state["kernels"]


def _require_numba() -> None:
    from melib.ssm.cpu_kernel import available

    if not available():
        raise RuntimeError("the numba backend was asked for but numba is not importable; install it with "
                           "`pip install numba`, or use_backend('torch')")


class use_backend:  # noqa: N801 (a function-like switch that is also a context manager)
    """Force the backend: ``use_backend("torch")`` now, or ``with use_backend("torch"):`` for a block."""

    def __init__(self, name: str):
        if name not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}; got {name!r}")
        if name == "mamba_ssm":
            kernels(require=True)
        if name == "numba":
            _require_numba()
        self.previous, _state["mode"] = _state["mode"], name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state["mode"] = self.previous


def backend(device: torch.device | str | None = None) -> str:
    """'mamba_ssm', 'numba' or 'torch': what Mamba/selective_scan will run for tensors on ``device``.

    ``device=None`` asks about CUDA (the only place the mamba-ssm kernels can run). On CPU "numba"
    concerns the selective scan (Mamba blocks); SSD and NC-SSD are pure PyTorch on CPU.
    """
    from melib.ssm.cpu_kernel import available

    mode = _state["mode"]
    if mode == "torch":
        return "torch"
    on_cuda = device is None or torch.device(device).type == "cuda"
    if not on_cuda:
        if mode == "mamba_ssm":
            raise RuntimeError(f"use_backend('mamba_ssm') is set but the tensors are on {device} (CUDA only)")
        if mode == "numba":
            _require_numba()
        return "numba" if available() else "torch"
    if mode == "numba":
        raise RuntimeError("use_backend('numba') is set but the tensors are on CUDA (the numba kernel is CPU only)")
    if mode == "mamba_ssm":
        kernels(require=True)
        return "mamba_ssm"
    return "mamba_ssm" if kernels() is not None else "torch"
