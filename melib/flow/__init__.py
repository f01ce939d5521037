"""Optical flow for micro-expressions: estimators, strain, colour wheel, onset->apex flow, ROI features.

- :func:`estimate` (Farneback / TV-L1 / DIS, :data:`FARNEBACK_METST`), :func:`strain`, :func:`epe`,
  :func:`resize_flow`, :func:`warp` -- ``melib.flow.estimators``.
- :func:`flow_to_color`, :func:`color_wheel` -- ``melib.flow.color``.
- :func:`onset_apex_flow` (AMMSM input, cached) -- ``melib.flow.pairs``.
- :func:`roi_features` / :func:`video_windows` / :func:`roi_sequence` (ME-TST ROI motion features, cached;
  ``definition="reference"`` = the authors' extractor, :mod:`melib.flow.roi_reference`), the per-video entry
  point :func:`extract_video` -- ``melib.flow.roi`` (CLI: ``python -m melib.flow.roi``).

Profile keys (``cfg.flow``): ``size`` (onset/apex flow side, px), ``methods`` (estimators compared
in notebook 02), ``n_clips`` (SynthME clips in that comparison; None = all), ``k`` (ROI window length),
``max_videos`` (long videos featurised; None = all), ``fast`` (ROI fast path of the ``melib`` definition), ``workers`` (processes for the reference
definition, threads for ``melib``).
"""

from melib.flow.cache import cache_key, cached_array
from melib.flow.color import color_wheel, flow_to_color
from melib.flow.estimators import (
    FARNEBACK_METST,
    METHODS,
    check_flow,
    epe,
    estimate,
    resize_flow,
    strain,
    to_gray,
    warp,
)
from melib.flow.pairs import onset_apex_flow
from melib.flow.roi import CHANNELS, extract_video, roi_features, roi_sequence, video_windows

__all__ = [
    "CHANNELS", "FARNEBACK_METST", "METHODS", "cache_key", "cached_array", "check_flow", "color_wheel", "epe",
    "estimate", "extract_video", "flow_to_color", "onset_apex_flow", "resize_flow", "roi_features", "roi_sequence",
    "strain", "to_gray", "video_windows", "warp",
]
