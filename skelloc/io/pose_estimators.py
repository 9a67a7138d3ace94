"""2D/3D pose-estimator output: MMPose inferencer JSON, OpenPose per-frame JSON, MediaPipe Pose.

Scores become a confidence channel (the last channel, ``meta["confidence"] = True``).  When
the file carries no track ids, persons are selected per frame by ``select``: ``"largest"``
(keypoint bounding-box area, the default) or ``"confident"`` (mean keypoint score); with
``max_persons > 1`` the selected persons are linked frame to frame by nearest centre.
Frames without a detection are zeros.  Convert to the model's layout with
``read(..., to_layout="ntu25")``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import SkeletonFormatError, in_cli_words
from skelloc.io._limits import MAX_ABS_COORDINATE, frame_budget
from skelloc.io._text import as_float, load_json, read_text
from skelloc.skeleton.layouts import LAYOUT_BY_JOINTS
from skelloc.skeleton.sequence import SkeletonSequence, assume_fps

__all__ = ["read_mmpose", "read_openpose", "read_mediapipe", "track_persons", "Detection"]

logger = logging.getLogger(__name__)

_SELECT = ("largest", "confident")
_MP_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip


@dataclass
class Detection:
    """One person in one frame: ``points`` ``(V, C)`` with the score as the last channel."""

    points: np.ndarray
    track_id: int | None = None

    @property
    def confidence(self) -> float:
        return float(self.points[:, -1].mean())

    @property
    def area(self) -> float:
        valid = self.points[self.points[:, -1] > 0, :2]
        if len(valid) < 2:
            return 0.0
        span = valid.max(axis=0) - valid.min(axis=0)
        return float(span[0] * span[1])

    @property
    def centre(self) -> np.ndarray:
        valid = self.points[self.points[:, -1] > 0, :-1]
        return valid.mean(axis=0) if len(valid) else self.points[:, :-1].mean(axis=0)


def track_persons(frames: list[list[Detection]], num_joints: int, channels: int,
                  max_persons: int = 1, select: str = "largest") -> np.ndarray:
    """Build ``(T, max_persons, V, C)`` from per-frame detections.

    With track ids: the ``max_persons`` ids with the largest summed ``select`` criterion keep a
    fixed slot.  Without: the best ``max_persons`` detections per frame, linked greedily to the
    previous frame's persons by centre distance.
    """
    if select not in _SELECT:
        raise ValueError(f"select must be one of {_SELECT}, got {select!r}")
    if max_persons < 1:
        raise ValueError("max_persons must be >= 1")

    def key(d: Detection) -> float:
        return d.area if select == "largest" else d.confidence

    out = np.zeros((len(frames), max_persons, num_joints, channels), dtype=np.float32)
    ids = [d.track_id for dets in frames for d in dets]
    if ids and all(i is not None for i in ids):
        totals: dict[int, float] = {}
        for dets in frames:
            for d in dets:
                tid = int(d.track_id)  # type: ignore[arg-type]  # all ids are set (checked above)
                totals[tid] = totals.get(tid, 0.0) + key(d)
        keep = sorted(totals, key=lambda i: (-totals[i], i))[:max_persons]
        slot = {tid: s for s, tid in enumerate(keep)}
        for t, dets in enumerate(frames):
            for d in dets:
                if d.track_id in slot:
                    out[t, slot[d.track_id]] = d.points
        return out
    last: list[np.ndarray | None] = [None] * max_persons
    for t, dets in enumerate(frames):
        best = sorted(dets, key=lambda d: -key(d))[:max_persons]
        free = list(range(max_persons))
        pairs = []
        for bi, d in enumerate(best):
            for s in range(max_persons):
                dist = np.inf if last[s] is None else float(np.linalg.norm(d.centre - last[s]))
                pairs.append((dist, bi, s))
        used: set[int] = set()
        for _dist, bi, s in sorted(pairs, key=lambda p: (p[0], p[1], p[2])):
            if bi in used or s not in free:
                continue
            out[t, s] = best[bi].points
            last[s] = best[bi].centre
            used.add(bi)
            free.remove(s)
    return out


def _points(values: Any, scores: Any, path: Path, where: str) -> np.ndarray:
    try:
        pts = np.asarray(values, dtype=np.float64)
        sc = None if scores is None else np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise SkeletonFormatError(f"{where}: keypoints are not numeric arrays", path=path) \
            from None
    if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(pts) == 0:
        raise SkeletonFormatError(f"{where}: keypoints must be a [K, 2|3] list, got shape "
                                  f"{pts.shape}", path=path)
    if sc is None:
        sc = np.ones(len(pts))
    if sc.shape != (len(pts),):
        raise SkeletonFormatError(f"{where}: {sc.size} scores for {len(pts)} keypoints",
                                  path=path)
    out = np.concatenate([pts, sc[:, None]], axis=1)
    if not np.all(np.isfinite(out)):
        raise SkeletonFormatError(f"{where}: NaN or infinite keypoint value", path=path)
    if np.abs(out).max() >= MAX_ABS_COORDINATE:
        raise SkeletonFormatError(f"{where}: keypoint value {np.abs(out).max():.3g} outside the "
                                  f"plausible range |x| < {MAX_ABS_COORDINATE:g}", path=path)
    return out


def _layout_for(num_joints: int, path: Path, given: str | None) -> str:
    if given:
        return given
    table = {**LAYOUT_BY_JOINTS, 25: "body25"}  # 25 keypoints from a pose estimator: BODY_25
    if num_joints not in table:
        raise in_cli_words(SkeletonFormatError(
            f"{num_joints} keypoints match no known layout; pass layout=", path=path),
            ("pass layout=", "pass --layout NAME"))
    return table[num_joints]


def _finish(frames: list[list[Detection]], path: Path, layout: str | None, fps: float | None,
            max_persons: int, select: str, fmt_meta: dict[str, Any]) -> SkeletonSequence:
    shapes = {d.points.shape for dets in frames for d in dets}
    if not frames:
        raise SkeletonFormatError("no frames", path=path)
    if not shapes:
        raise SkeletonFormatError("no person detected in any frame", path=path)
    if len(shapes) > 1:
        raise SkeletonFormatError(f"inconsistent keypoint shapes across frames: {sorted(shapes)}",
                                  path=path)
    v, c = shapes.pop()
    joints = track_persons(frames, v, c, max_persons=max_persons, select=select)
    crowded = sum(len(dets) > max_persons for dets in frames)
    if crowded and max_persons == 1:
        logger.warning("%s: %d of %d frames show more than one person and max_persons=1 keeps "
                       "one; a two-person action needs max_persons=2 (the bundled models take "
                       "2; skelloc localize reads as many as the model takes)", path, crowded,
                       len(frames))
    meta = {"confidence": True, **fmt_meta}
    rate = assume_fps() if fps is None else as_float(fps, path, "fps")
    if not 0 < rate <= 100_000:
        raise SkeletonFormatError(f"fps must be positive and at most 100000, got {rate}",
                                  path=path)
    return SkeletonSequence(joints, layout=_layout_for(v, path, layout), fps=rate, meta=meta)


# --------------------------------------------------------------------------- MMPose
def read_mmpose(path: Path, *, fps: float | None = None, layout: str | None = None,
                max_persons: int = 1, select: str = "largest", body_only: bool = True,
                ) -> SkeletonSequence:
    """MMPose inferencer JSON: ``[{frame_id, instances: [{keypoints, keypoint_scores, bbox,
    bbox_score}]}]`` (or the demo's ``{meta_info, instance_info: [...]}``, or one frame's
    instance list).  133-keypoint whole-body output keeps the 17 COCO body joints when
    ``body_only``.  2D gives ``(x, y, score)``, 3D gives ``(x, y, z, score)``.
    """
    data = load_json(path)
    if isinstance(data, dict):
        data = data.get("instance_info", data.get("instances"))
        if data is None:
            raise SkeletonFormatError("JSON object without 'instance_info'", path=path)
    if not isinstance(data, list):
        raise SkeletonFormatError(f"expected a list of frames, got {type(data).__name__}",
                                  path=path)
    if data and isinstance(data[0], dict) and "keypoints" in data[0]:
        data = [{"frame_id": 0, "instances": data}]  # one image's instance list
    by_id: dict[int, list[Detection]] = {}
    for n, frame in enumerate(data):
        where = f"frame entry {n}"
        if not isinstance(frame, dict) or not isinstance(frame.get("instances"), list):
            raise SkeletonFormatError(f"{where}: expected {{frame_id, instances: [...]}}",
                                      path=path)
        fid = frame.get("frame_id", n)
        if isinstance(fid, bool) or not isinstance(fid, int) or fid < 0:
            raise SkeletonFormatError(f"{where}: frame_id must be a non-negative integer",
                                      path=path)
        dets = by_id.setdefault(fid, [])
        for k, inst in enumerate(frame["instances"]):
            if not isinstance(inst, dict) or "keypoints" not in inst:
                raise SkeletonFormatError(f"{where}, instance {k}: no 'keypoints'", path=path)
            pts = _points(inst["keypoints"], inst.get("keypoint_scores"), path,
                          f"{where}, instance {k}")
            if body_only and len(pts) == 133:
                pts = pts[:17]
            tid = inst.get("track_id")
            dets.append(Detection(pts, int(tid) if isinstance(tid, int) else None))
    if not by_id:
        raise SkeletonFormatError("no frames", path=path)
    first, last = min(by_id), max(by_id)
    budget = frame_budget(path.stat().st_size)
    if last - first + 1 > budget:
        raise SkeletonFormatError(
            f"frame_id range {first}..{last} ({last - first + 1} frames) is more than a file "
            f"of this size can describe (at most {budget} frames)", path=path)
    frames = [by_id.get(i, []) for i in range(first, last + 1)]
    return _finish(frames, path, layout, fps, max_persons, select, {"first_frame_id": first})


# --------------------------------------------------------------------------- OpenPose
def _frame_number(p: Path) -> tuple[int, str]:
    nums = re.findall(r"\d+", p.stem)
    return (int(nums[-1]) if nums else -1, p.name)


def _openpose_frame(data: Any, path: Path, key: str) -> list[Detection]:
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise SkeletonFormatError("expected an OpenPose object {people: [...]}", path=path)
    dets = []
    for k, person in enumerate(data["people"]):
        flat = person.get(key) if isinstance(person, dict) else None
        if not isinstance(flat, list):
            raise SkeletonFormatError(f"person {k}: no {key!r} list", path=path)
        width = 4 if key.endswith("3d") else 3
        if len(flat) == 0:
            continue
        if len(flat) % width:
            raise SkeletonFormatError(f"person {k}: {key} has {len(flat)} values, not a "
                                      f"multiple of {width}", path=path)
        coords = [flat[i:i + width - 1] for i in range(0, len(flat), width)]
        pts = _points(coords, flat[width - 1::width], path, f"person {k}")
        pid = person.get("person_id", -1)
        if isinstance(pid, list):
            pid = pid[0] if pid else -1
        dets.append(Detection(pts, int(pid) if isinstance(pid, int) and pid >= 0 else None))
    return dets


def read_openpose(path: Path, *, fps: float | None = None, layout: str | None = None,
                  max_persons: int = 1, select: str = "largest", use_3d: bool = False,
                  ) -> SkeletonSequence:
    """OpenPose JSON: a folder of per-frame ``*_keypoints.json`` files (sorted by the frame
    number in the name), or one file holding one frame or a list of frames.  BODY_25 (75
    values per person) or COCO-18 (54); ``(x, y, c)`` or, with ``use_3d``, ``(x, y, z, c)``."""
    key = "pose_keypoints_3d" if use_3d else "pose_keypoints_2d"
    frames: list[list[Detection]] = []
    if path.is_dir():
        files = sorted(path.glob("*_keypoints.json")) or sorted(path.glob("*.json"))
        if not files:
            raise SkeletonFormatError("folder holds no OpenPose *.json files", path=path)
        for f in sorted(files, key=_frame_number):
            frames.append(_openpose_frame(load_json(f), f, key))
        meta: dict[str, Any] = {"num_files": len(files)}
    else:
        data = load_json(path)
        items = data if isinstance(data, list) else [data]
        frames = [_openpose_frame(d, path, key) for d in items]
        meta = {}
    return _finish(frames, path, layout, fps, max_persons, select, meta)


# --------------------------------------------------------------------------- MediaPipe
def _mp_pose(value: Any, path: Path, where: str) -> np.ndarray:
    """One pose: a list of 33 landmarks, each {x, y, z, visibility} or [x, y, z(, vis)]."""
    if not isinstance(value, list) or len(value) != 33:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise SkeletonFormatError(f"{where}: expected 33 landmarks, got {got}", path=path)
    rows = []
    for lm in value:
        if isinstance(lm, dict):
            row = [lm.get("x"), lm.get("y"), lm.get("z", 0.0), lm.get("visibility", 1.0)]
        elif isinstance(lm, list) and len(lm) in (3, 4):
            row = list(lm) + ([1.0] if len(lm) == 3 else [])
        else:
            raise SkeletonFormatError(f"{where}: a landmark must be {{x, y, z, visibility}} or "
                                      "[x, y, z(, visibility)]", path=path)
        rows.append(row)
    return _points([r[:3] for r in rows], [r[3] for r in rows], path, where)


def _mp_frame(frame: Any, path: Path, where: str, world: bool) -> list[Detection]:
    if isinstance(frame, list):
        if frame and isinstance(frame[0], list) and frame[0] and not isinstance(
                frame[0][0], (int, float)):
            return [Detection(_mp_pose(p, path, where)) for p in frame]
        return [Detection(_mp_pose(frame, path, where))] if frame else []
    if not isinstance(frame, dict):
        raise SkeletonFormatError(f"{where}: expected a frame object or landmark list", path=path)
    keys = (("pose_world_landmarks", "world_landmarks") if world else
            ("pose_landmarks", "landmarks"))
    value = next((frame[k] for k in keys if k in frame), None)
    if value is None:
        raise SkeletonFormatError(f"{where}: none of the keys {keys}", path=path)
    if not value:
        return []
    if isinstance(value[0], dict) or (isinstance(value[0], list) and value[0]
                                      and isinstance(value[0][0], (int, float))):
        return [Detection(_mp_pose(value, path, where))]
    return [Detection(_mp_pose(p, path, f"{where}, pose {i}")) for i, p in enumerate(value)]


def _mp_csv(path: Path) -> list[list[Detection]]:
    try:
        rows = list(csv.reader(io.StringIO(read_text(path), newline="")))
    except csv.Error as err:
        raise SkeletonFormatError(f"malformed CSV ({err})", path=path) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise SkeletonFormatError("CSV needs a header and at least one row", path=path)
    header = [h.strip().lower() for h in rows[0]]
    names = {n: i for i, n in enumerate(_MP_NAMES)}
    cols: dict[tuple[int, str], int] = {}
    for ci, h in enumerate(header):
        m = (re.fullmatch(r"(x|y|z|visibility|vis)_?(\d+)", h)
             or re.fullmatch(r"(?:landmark_?)?(\d+)_(x|y|z|visibility|vis)", h))
        if m:
            a, b = m.groups()
            idx, ch = (int(b), a) if a.isalpha() else (int(a), b)
        else:
            m2 = re.fullmatch(r"([a-z_]+)_(x|y|z|visibility|vis)", h)
            if not m2 or m2.group(1) not in names:
                continue
            idx, ch = names[m2.group(1)], m2.group(2)
        cols[(idx, "visibility" if ch == "vis" else ch)] = ci
    if not all((i, c) in cols for i in range(33) for c in ("x", "y")):
        raise SkeletonFormatError(
            "CSV header lacks x/y columns for the 33 landmarks (expected e.g. x0,y0,z0,"
            "visibility0,... or nose_x,nose_y,...)", path=path, line=1)
    frame_col = next((header.index(k) for k in ("frame", "frame_id", "frame_idx")
                      if k in header), None)
    frames: list[list[Detection]] = []
    for ln, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SkeletonFormatError(f"expected {len(header)} columns, found {len(row)}",
                                      path=path, line=ln)

        def cell(i: int, c: str, default: float, row: list[str] = row, ln: int = ln) -> float:
            if (i, c) not in cols or not row[cols[(i, c)]].strip():
                return default
            try:
                v = float(row[cols[(i, c)]])
            except ValueError:
                raise SkeletonFormatError(f"not a number in column {header[cols[(i, c)]]!r}",
                                          path=path, line=ln) from None
            if not np.isfinite(v):
                raise SkeletonFormatError("NaN or infinite value", path=path, line=ln)
            if abs(v) >= MAX_ABS_COORDINATE:
                raise SkeletonFormatError(f"value {v:.3g} outside the plausible range |x| < "
                                          f"{MAX_ABS_COORDINATE:g}", path=path, line=ln)
            return v

        if all(not row[cols[(i, "x")]].strip() for i in range(33)):
            frames.append([])  # no detection in this frame
            continue
        pts = np.array([[cell(i, "x", 0), cell(i, "y", 0), cell(i, "z", 0.0),
                         cell(i, "visibility", 1.0)] for i in range(33)])
        if frame_col is not None and frames and row[frame_col] == rows[ln - 2][frame_col]:
            frames[-1].append(Detection(pts))  # several poses in one frame
        else:
            frames.append([Detection(pts)])
    return frames


def read_mediapipe(path: Path, *, fps: float | None = None, layout: str | None = None,
                   max_persons: int = 1, select: str = "largest", world: bool = False,
                   ) -> SkeletonSequence:
    """MediaPipe Pose landmarks (33 joints, ``(x, y, z, visibility)``).

    JSON: a list of frames, each a list of 33 landmarks, or an object with ``pose_landmarks``
    / ``landmarks`` (``pose_world_landmarks`` / ``world_landmarks`` with ``world=True``) holding
    one pose or a list of poses (the Tasks API's ``PoseLandmarkerResult``); a top-level
    ``{"fps": ..., "frames": [...]}`` wrapper is accepted.  CSV: one row per frame (rows
    sharing a ``frame`` value are several poses) with columns ``x0, y0, z0, visibility0, ...``
    or ``nose_x, nose_y, ...``; empty cells mean no detection.
    """
    if path.suffix.lower() == ".csv":
        frames = _mp_csv(path)
    else:
        data = load_json(path)
        if isinstance(data, dict) and "frames" in data:
            if fps is None and isinstance(data.get("fps"), (int, float)):
                fps = as_float(data["fps"], path, "fps")
            data = data["frames"]
        elif isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise SkeletonFormatError("expected a list of frames", path=path)
        frames = [_mp_frame(f, path, f"frame {i}", world) for i, f in enumerate(data)]
    return _finish(frames, path, layout or "mediapipe33", fps, max_persons, select,
                   {"world": world})
