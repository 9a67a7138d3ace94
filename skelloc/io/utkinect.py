"""UTKinect-Action3D: Kinect v1 joints files and the action label file.

Joints files (``joints_sXX_eYY.txt``) hold one line per skeleton: the RGB-D frame id, then 20
joints × (x, y, z) in metres (camera coordinates, Kinect v1 SDK order = layout
``kinect_v1_20``).  The rows are sparse on the ~30 fps frame-id clock (ids advance by 2-4 and
sometimes repeat), so :func:`read_utkinect` puts them on a uniform timeline of that clock:
frame 0 of the result is the file's first frame id (``meta["first_frame_id"]``), rows sharing
an id are the same instant and are averaged, and the ids in between are linearly interpolated.
A label frame id ``f`` is therefore frame ``f - first_frame_id`` of the result.

The label file (``actionLabel.txt``, and the corrected ``actionLabel_modified.txt`` in
circulation; same syntax) is a ``sXX_eYY`` line followed by ``action: start end`` lines in
frame ids.  Rows whose start or end is not a number (the dataset has one ``NaN NaN``) are
skipped with a warning naming the line.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._limits import check_coordinates, frame_budget
from skelloc.io._text import parse_floats, text_lines
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "UTKINECT_CLASSES",
    "UTKINECT_FPS",
    "UtkAction",
    "read_utkinect",
    "read_utkinect_labels",
    "utkinect_segments",
]

logger = logging.getLogger(__name__)

UTKINECT_FPS = 30.0
UTKINECT_CLASSES: tuple[str, ...] = ("walk", "sitDown", "standUp", "pickUp", "carry", "throw",
                                     "push", "pull", "waveHands", "clapHands")
_NUM_JOINTS = 20
_NAME = re.compile(r"s(\d+)_e(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class UtkAction:
    """One labelled action: class name, first and last frame id (inclusive), label-file line."""

    label: str
    start_id: int
    end_id: int
    line: int


def read_utkinect(path: Path, *, fps: float | None = None) -> SkeletonSequence:
    """Read a UTKinect joints file onto a uniform timeline of its frame-id clock (``fps``,
    default 30): ``joints`` ``(last_id - first_id + 1, 1, 20, 3)``, layout ``kinect_v1_20``."""
    path = Path(path)
    ids: list[int] = []
    rows: list[np.ndarray] = []
    for i, line in enumerate(text_lines(path), start=1):
        if not line.strip():
            continue
        values = parse_floats(line, path, i, 1 + 3 * _NUM_JOINTS,
                              what="values (a frame id and 20 joints x 3)")
        if values[0] != round(values[0]) or values[0] < 0:
            raise SkeletonFormatError(f"frame id {values[0]:g} is not a non-negative integer",
                                      path=path, line=i)
        if ids and values[0] < ids[-1]:
            raise SkeletonFormatError(f"frame id {int(values[0])} goes back (after {ids[-1]})",
                                      path=path, line=i)
        ids.append(int(values[0]))
        rows.append(values[1:].reshape(_NUM_JOINTS, 3))
    if not ids:
        raise SkeletonFormatError("no skeleton rows", path=path)
    budget = frame_budget(path.stat().st_size)
    if ids[-1] - ids[0] + 1 > budget:  # ids never go back: the span is the timeline's length
        raise SkeletonFormatError(
            f"frame ids {ids[0]}..{ids[-1]} span more frames than a file of this size can "
            f"describe (at most {budget})", path=path)
    frame_ids = np.asarray(ids, dtype=np.int64)
    data = np.stack(rows)  # (R, 20, 3)
    unique, inverse, counts = np.unique(frame_ids, return_inverse=True, return_counts=True)
    merged = np.zeros((len(unique), _NUM_JOINTS, 3))
    np.add.at(merged, inverse, data)
    merged /= counts[:, None, None]
    first = int(unique[0])
    check_coordinates(data, path)
    timeline = np.arange(first, int(unique[-1]) + 1)
    flat = merged.reshape(len(unique), -1)
    out = np.empty((len(timeline), flat.shape[1]))
    for k in range(flat.shape[1]):
        out[:, k] = np.interp(timeline, unique, flat[:, k])
    joints = out.reshape(len(timeline), 1, _NUM_JOINTS, 3).astype(np.float32)
    meta: dict[str, object] = {
        "first_frame_id": first,
        "last_frame_id": int(unique[-1]),
        "num_rows": len(ids),
        "num_repeated_ids": int((counts > 1).sum()),
        "observed": (unique - first).tolist(),  # timeline frames that hold a real row
    }
    match = _NAME.search(path.stem)
    if match:
        meta["subject"] = int(match.group(1))
        meta["sequence_name"] = f"s{int(match.group(1)):02d}_e{int(match.group(2)):02d}"
    return SkeletonSequence(joints, layout="kinect_v1_20", fps=float(fps or UTKINECT_FPS),
                            meta=meta)


def read_utkinect_labels(path: Path | str) -> dict[str, list[UtkAction]]:
    """``{"sXX_eYY": [UtkAction, ...]}`` from ``actionLabel.txt`` (or its corrected variant).

    Frame ids stay as written (inclusive ends); actions keep the file's order.  A row whose
    start or end is not a number is skipped with a warning naming the line; any other
    malformed line raises :class:`SkeletonFormatError` with its line number.
    """
    path = Path(path)
    out: dict[str, list[UtkAction]] = {}
    current: str | None = None
    for i, raw in enumerate(text_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        if ":" not in line:
            match = _NAME.fullmatch(line)
            if not match:
                raise SkeletonFormatError(f"expected a sequence name sXX_eYY or 'action: start "
                                          f"end', found {line[:40]!r}", path=path, line=i)
            current = f"s{int(match.group(1)):02d}_e{int(match.group(2)):02d}"
            if current in out:
                raise SkeletonFormatError(f"sequence {current} listed twice", path=path, line=i)
            out[current] = []
            continue
        if current is None:
            raise SkeletonFormatError("action line before any sequence name", path=path, line=i)
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) != 2:
            raise SkeletonFormatError(f"expected 'action: start end', found {line[:40]!r}",
                                      path=path, line=i)
        try:
            start, end = float(parts[0]), float(parts[1])
        except ValueError:
            raise SkeletonFormatError(f"not a number in {line[:40]!r}", path=path,
                                      line=i) from None
        if not (math.isfinite(start) and math.isfinite(end)):
            logger.warning("%s line %d: %s of %s has no frames (%s); row skipped", path, i,
                           name.strip(), current, rest.strip())
            continue
        if start != round(start) or end != round(end) or end < start or start < 0:
            raise SkeletonFormatError(f"bad frame range {rest.strip()!r}", path=path, line=i)
        out[current].append(UtkAction(name.strip(), int(start), int(end), i))
    if not out:
        raise SkeletonFormatError("no sequences in the label file", path=path)
    return out


def utkinect_segments(actions: list[UtkAction], first_frame_id: int, num_frames: int,
                      classes: tuple[str, ...] = UTKINECT_CLASSES,
                      path: Path | None = None) -> list[list[int]]:
    """``[class index, start, end)`` on the timeline of :func:`read_utkinect` (0-based, end
    exclusive, clipped to ``num_frames``), sorted by start."""
    index = {c.lower(): k for k, c in enumerate(classes)}
    out = []
    for act in actions:
        k = index.get(act.label.lower())
        if k is None:
            raise SkeletonFormatError(f"unknown action {act.label!r}; known: {list(classes)}",
                                      path=path, line=act.line)
        s = max(0, act.start_id - first_frame_id)
        e = min(num_frames, act.end_id - first_frame_id + 1)
        if e > s:
            out.append([k, s, e])
        else:
            logger.warning("%s: %s (frame ids %d-%d) lies outside the joints (%d frames from "
                           "id %d); dropped", path, act.label, act.start_id, act.end_id,
                           num_frames, first_frame_id)
    return sorted(out, key=lambda r: (r[1], r[2], r[0]))
