"""Evaluation metrics: detection mAP under three protocols, and frame-level metrics.

>>> from skelloc.metrics import Instance, detection_map
>>> gt = [Instance("v1", "wave", 10, 50)]
>>> pred = [Instance("v1", "wave", 12, 50, score=0.9)]
>>> detection_map(pred, gt, protocol="anet").average_mAP
1.0

See :mod:`skelloc.metrics.detection` for the ``anet`` and ``frameset`` rules and
:mod:`skelloc.metrics.pkummd` for the official PKU-MMD metric.
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
from skelloc.metrics.records import Instance, Label, as_instances
from skelloc.metrics.result import DetectionResult

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PROTOCOLS",
    "DetectionResult",
    "Instance",
    "Label",
    "as_instances",
    "boundary_accuracy",
    "detection_map",
    "edit_score",
    "frame_accuracy",
    "frame_metrics",
    "interpolated_ap",
    "per_class_f1",
    "read_anet_json",
    "read_instances",
    "read_pkummd_folder",
    "segment_iou",
    "segments_from_labels",
]
