"""NTU RGB+D ``.skeleton`` text files (Kinect v2, 25 joints, 30 fps, camera metres).

Layout of a file (st-gcn ``tools/utils/ntu_read_skeleton.py``)::

    <number of frames>
    per frame:  <number of bodies>
      per body: bodyID clippedEdges handLeftConfidence handLeftState handRightConfidence
                handRightState isRestricted leanX leanY trackingState
                <number of joints = 25>
                25 lines: x y z depthX depthY colorX colorY orientW orientX orientY orientZ
                          trackingState

Every body is parsed.  Bodies are identified by ``bodyID`` across frames; as in the NTU
preprocessing of 2s-AGCN / CTR-GCN, the ``max_persons`` (2) most *active* ones are kept, activity
being the summed per-coordinate variance of a body's joints over the frames it appears in; the
most active body goes to person slot 0.  Frames where a kept body is absent are zeros.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._text import parse_floats, parse_int, text_lines
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = ["read_ntu_skeleton", "parse_ntu_name", "NTU_FPS"]

NTU_FPS = 30.0
_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})", re.IGNORECASE)


def parse_ntu_name(name: str) -> dict[str, int]:
    """``"S001C002P003R002A013"`` -> ``{"setup": 1, "camera": 2, "performer": 3,
    "replication": 2, "action": 13}`` (``{}`` when the name does not follow the pattern)."""
    m = _NAME.search(name)
    if not m:
        return {}
    keys = ("setup", "camera", "performer", "replication", "action")
    return {k: int(v) for k, v in zip(keys, m.groups())}


class _Cursor:
    def __init__(self, lines: list[str], path: Path):
        self.lines, self.path, self.i = lines, path, 0

    def next(self, what: str) -> tuple[str, int]:
        if self.i >= len(self.lines):
            raise SkeletonFormatError(f"file ends early: expected {what}", path=self.path,
                                      line=len(self.lines))
        self.i += 1
        return self.lines[self.i - 1], self.i


def read_ntu_skeleton(path: Path, *, max_persons: int = 2, fps: float | None = None,
                      ) -> SkeletonSequence:
    """Read an NTU RGB+D ``.skeleton`` file into ``(T, max_persons, 25, 3)`` ``ntu25`` joints."""
    if max_persons < 1:
        raise ValueError("max_persons must be >= 1")
    cur = _Cursor(text_lines(path), path)
    text, ln = cur.next("the frame count")
    num_frames = parse_int(text, path, ln, "the frame count")
    if num_frames < 1:
        raise SkeletonFormatError(f"frame count must be positive, got {num_frames}",
                                  path=path, line=ln)
    # body id -> (frame indices, joint arrays)
    tracks: dict[str, tuple[list[int], list[np.ndarray]]] = {}
    for f in range(num_frames):
        text, ln = cur.next(f"the body count of frame {f + 1}")
        num_bodies = parse_int(text, path, ln, "a body count")
        if not 0 <= num_bodies <= 64:
            raise SkeletonFormatError(f"implausible body count {num_bodies}", path=path, line=ln)
        for _ in range(num_bodies):
            text, ln = cur.next("a body info line")
            info = text.split()
            if len(info) != 10:
                raise SkeletonFormatError(f"expected 10 body info values, found {len(info)}",
                                          path=path, line=ln)
            body_id = info[0]
            parse_floats(" ".join(info[1:]), path, ln, 9, what="body info values")
            text, ln = cur.next("the joint count")
            num_joints = parse_int(text, path, ln, "the joint count")
            if num_joints != 25:
                raise SkeletonFormatError(f"expected 25 joints (Kinect v2), found {num_joints}",
                                          path=path, line=ln)
            joints = np.empty((25, 3), dtype=np.float64)
            for j in range(25):
                text, ln = cur.next(f"joint {j + 1} of 25")
                joints[j] = parse_floats(text, path, ln, 12, what="joint values")[:3]
            frames, arrays = tracks.setdefault(body_id, ([], []))
            if frames and frames[-1] == f:  # the same id twice in one frame: a distinct body
                frames, arrays = tracks.setdefault(f"{body_id}#{f}", ([], []))
            frames.append(f)
            arrays.append(joints)
    rest = [n for n in range(cur.i, len(cur.lines)) if cur.lines[n].strip()]
    if rest:
        raise SkeletonFormatError("unexpected content after the last frame", path=path,
                                  line=rest[0] + 1)

    def activity(item: tuple[str, tuple[list[int], list[np.ndarray]]]) -> float:
        stacked = np.stack(item[1][1])
        return float(stacked.var(axis=0).sum()) if len(stacked) > 1 else 0.0

    ranked = sorted(tracks.items(), key=lambda kv: (-activity(kv), min(kv[1][0]), kv[0]))
    out = np.zeros((num_frames, max_persons, 25, 3), dtype=np.float32)
    for slot, (_, (frames, arrays)) in enumerate(ranked[:max_persons]):
        out[frames, slot] = np.stack(arrays)
    meta: dict[str, object] = {"num_bodies": len(tracks),
                               "body_ids": [k for k, _ in ranked[:max_persons]]}
    meta.update(parse_ntu_name(path.name))
    return SkeletonSequence(out, layout="ntu25", fps=float(fps or NTU_FPS), meta=meta)
