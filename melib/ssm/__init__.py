"""State-space core (pure PyTorch, CPU and GPU; a numba CPU kernel and mamba-ssm's CUDA kernels as backends).

- :mod:`melib.ssm.scan`: selective scan (Mamba-1) -- recurrence, fused CPU path, chunked parallel form.
- :mod:`melib.ssm.cpu_kernel`: the selective scan compiled for CPUs with numba (forward and backward).
- :mod:`melib.ssm.mamba`: :class:`Mamba` with mamba_simple's parameter layout.
- :mod:`melib.ssm.ssd`: causal chunked SSD (Mamba-2) and non-causal NC-SSD (VSSD).
- :mod:`melib.ssm.mixers`: token mixers for 2-D maps (:class:`NCSSDMixer`, :class:`AttentionMixer`).
- :mod:`melib.ssm.windows`: 4x4-window gather/scatter used by the sparse blocks.
- :mod:`melib.ssm.backend`: :func:`backend`, :func:`use_backend`.
- :mod:`melib.ssm.bench`: timing/accuracy helpers (benchmarks/ssm_speed.py, notebook 04).

Profile keys (``cfg.ssm``, notebooks 04 and 05): ``lengths`` (sequence lengths of the timing plot),
``ref_max_len`` (longest length the step-by-step recurrence is timed at), ``d_inner``, ``d_state``,
``chunk`` (SSD chunk size), ``repeats`` (timing repeats), ``map_size`` (side of the feature map in
notebook 05), ``dim`` (its channels), ``sparsities`` (the cost-vs-sparsity grid).
"""

from melib.ssm.backend import backend, kernels, use_backend
from melib.ssm.cpu_kernel import selective_scan_numba
from melib.ssm.mamba import Mamba
from melib.ssm.mixers import AttentionMixer, NCSSDMixer
from melib.ssm.scan import (
    selective_scan,
    selective_scan_chunked,
    selective_scan_fused,
    selective_scan_ref,
)
from melib.ssm.ssd import nc_ssd, nc_ssd_ref, ssd_chunked, ssd_matrix, ssd_ref, ssd_steps

__all__ = [
    "AttentionMixer",
    "Mamba",
    "NCSSDMixer",
    "backend",
    "kernels",
    "nc_ssd",
    "nc_ssd_ref",
    "selective_scan",
    "selective_scan_chunked",
    "selective_scan_fused",
    "selective_scan_numba",
    "selective_scan_ref",
    "ssd_chunked",
    "ssd_matrix",
    "ssd_ref",
    "ssd_steps",
    "use_backend",
]
