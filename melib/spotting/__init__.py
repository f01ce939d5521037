"""ME-TST post-processing: score curves -> smoothing -> threshold -> peaks -> intervals
(:mod:`~melib.spotting.postprocess`), window stitching (:mod:`~melib.spotting.stitch`) and the synergy
strategies 0/1/2 (:mod:`~melib.spotting.synergy`). Metrics live in :mod:`melib.metrics.spotting`.
"""

from melib.spotting.postprocess import (
    P_THRESHOLD,
    interval_labels,
    peak_half_width,
    smooth,
    spot_intervals,
    threshold,
)
from melib.spotting.stitch import fold_videos, stitch
from melib.spotting.synergy import STRATEGIES, Spotted, analyse, frame_labels, neutral_weight_trained

__all__ = ["P_THRESHOLD", "STRATEGIES", "Spotted", "analyse", "fold_videos", "frame_labels", "interval_labels",
           "neutral_weight_trained", "peak_half_width", "smooth", "spot_intervals", "stitch", "threshold"]
