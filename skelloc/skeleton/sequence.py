"""The one in-memory record for a skeleton recording."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skelloc.errors import FrameRateAssumedWarning

__all__ = ["DEFAULT_FPS", "MAX_ABS_COORDINATE", "SkeletonSequence", "assume_fps"]

#: the plausible range of a coordinate, ``|x| <`` this, in the input's own unit (metres,
#: centimetres or pixels): readers refuse files past it, the inference API arrays past it.
MAX_ABS_COORDINATE = 1e4

#: the frame rate taken for inputs that carry none (raw arrays, ``.npy`` files, pose-estimator
#: output without a rate): Kinect v1/v2, NTU RGB+D, PKU-MMD and most video run at 30 fps. A
#: model's own frame rate is never the assumption: inputs are resampled to it.
DEFAULT_FPS = 30.0


def assume_fps() -> float:
    """Return :data:`DEFAULT_FPS` and emit the one :class:`FrameRateAssumedWarning` about it.

    Every place that meets an input without a frame rate (the inference API for raw arrays,
    :func:`skelloc.read` for formats without one, training caches without ``fps``) calls this,
    so the rule and the message are the same everywhere. The warning is attributed to the first
    caller outside skelloc and does not name the input, so Python's default filter shows it
    once per calling line, not once per file or per window.
    """
    warnings.warn(
        f"the input has no frame rate: assuming {DEFAULT_FPS:g} fps (Kinect, NTU RGB+D, PKU-MMD); "
        + FrameRateAssumedWarning.remedy,
        FrameRateAssumedWarning,
        stacklevel=_outside_stacklevel(),
    )
    return DEFAULT_FPS


def _outside_stacklevel() -> int:
    """``stacklevel`` for a ``warnings.warn`` in the caller of this function that points at
    the first frame outside the ``skelloc`` package."""
    frame = sys._getframe(2)  # the caller of the function that warns
    level = 2
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("skelloc"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


@dataclass
class SkeletonSequence:
    """A skeleton recording.

    Attributes:
        joints: float32 array ``(T, M, V, C)``: frames, persons, joints, channels (xyz, or
            xy / xyz plus a confidence channel as the last channel when ``meta["confidence"]``).
        layout: name of the joint layout (``"ntu25"``, ``"coco17"``, ...; see
            :mod:`skelloc.skeleton.layouts`).
        fps: frame rate of ``joints``.
        meta: free-form provenance (source path, format, subject/camera ids, labels...).
    """

    joints: np.ndarray
    layout: str = "ntu25"
    fps: float = DEFAULT_FPS
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def num_persons(self) -> int:
        return int(self.joints.shape[1])

    @property
    def num_joints(self) -> int:
        return int(self.joints.shape[2])

    @property
    def num_channels(self) -> int:
        return int(self.joints.shape[3])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_frames / float(self.fps)

    def __repr__(self) -> str:
        t, m, v, c = self.joints.shape
        return (
            f"SkeletonSequence(T={t}, M={m}, V={v}, C={c}, layout={self.layout!r}, "
            f"fps={self.fps:g}, meta_keys={sorted(self.meta)})"
        )
