"""Evaluation metrics: detection mAP under three protocols, and frame-level metrics.

>>> from skelloc.metrics import Instance, detection_map
>>> gt = [Instance("v1", "wave", 10, 50)]
>>> pred = [Instance("v1", "wave", 12, 50, score=0.9)]
>>> detection_map(pred, gt, protocol="anet").average_mAP
1.0

See :mod:`skelloc.metrics.detection` for the ``anet`` and ``frameset`` rules and
:mod:`skelloc.metrics.pkummd` for the official PKU-MMD metric; :func:`match_segments` pairs one
video's ground truth with its predictions for a side-by-side report.
"""

from __future__ import annotations

from skelloc.metrics.detection import (
    DEFAULT_THRESHOLDS,
    PROTOCOLS,
    detection_map,
    interpolated_ap,
    segment_iou,
)
from skelloc.metrics.frame import (
    boundary_accuracy,
    edit_score,
    frame_accuracy,
    frame_metrics,
    per_class_f1,
    segments_from_labels,
)
from skelloc.metrics.io import read_anet_json, read_instances, read_pkummd_folder
from skelloc.metrics.match import Match, match_segments
from skelloc.metrics.records import Instance, Label, as_instances
from skelloc.metrics.result import DetectionResult

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PROTOCOLS",
    "DetectionResult",
    "Instance",
    "Label",
    "Match",
    "as_instances",
    "boundary_accuracy",
    "detection_map",
    "edit_score",
    "frame_accuracy",
    "frame_metrics",
    "interpolated_ap",
    "match_segments",
    "per_class_f1",
    "read_anet_json",
    "read_instances",
    "read_pkummd_folder",
    "segment_iou",
    "segments_from_labels",
]
