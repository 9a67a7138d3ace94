"""Ground-truth label files as :class:`~skelloc.inference.segments.Segment` records.

PKU-MMD label files number classes from 1 into the model's label list; these helpers map them
to the model's labels so that ground truth and predictions can be drawn and compared side by
side. No matplotlib is needed here (``skelloc localize --ground-truth`` uses it without plots).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from skelloc.errors import ConfigError
from skelloc.inference.segments import Segment

__all__ = ["instances_to_segments", "read_ground_truth"]


def instances_to_segments(
    instances: Iterable[object],
    labels: Sequence[str],
    fps: float,
    *,
    index_base: int = 1,
    source: object | None = None,
) -> list[Segment]:
    """Map labelled instances (``label`` = class id counted from ``index_base``, ``start`` /
    ``end`` 0-based frames, end exclusive) to segments named by ``labels``.

    Ground truth has no score: ``score`` is 1.0. A class id outside ``labels`` raises
    :class:`ConfigError` naming ``source``.
    """
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    out: list[Segment] = []
    for inst in instances:
        label_id = int(inst.label) - index_base  # type: ignore[attr-defined]
        if not 0 <= label_id < len(labels):
            where = f"{source}: " if source is not None else ""
            raise ConfigError(f"{where}class {int(inst.label)} is outside "  # type: ignore[attr-defined]
                              f"the model's {len(labels)} labels")
        start, end = int(inst.start), int(inst.end)  # type: ignore[attr-defined]
        out.append(Segment(label=str(labels[label_id]), label_id=label_id, start=start,
                           end=end, start_s=start / fps, end_s=end / fps, score=1.0))
    return out


def read_ground_truth(
    path: str | os.PathLike[str],
    labels: Sequence[str],
    fps: float,
    num_frames: int | None = None,
) -> list[Segment]:
    """Read a PKU-MMD label file (``class,start,end,confidence``; 1-based inclusive frames,
    class = 1-based index into ``labels``) into segments of the model's labels.

    With ``num_frames`` every instance must lie inside the sequence.
    """
    from skelloc.io.pkummd import read_pkummd_labels

    instances = read_pkummd_labels(Path(path), num_frames=num_frames)
    return instances_to_segments(instances, labels, fps, source=path)
