"""The one in-memory record for a skeleton recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SkeletonSequence"]


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
    fps: float = 30.0
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
