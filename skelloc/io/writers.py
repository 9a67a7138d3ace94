"""Writers: detected segments (ActivityNet JSON, CSV, PKU-MMD lines) and features for
ActionFormer / OpenTAD (one ``[T, D]`` ``.npy`` per sequence plus an annotation JSON).

Every file is written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelloc._atomic import atomic_path, atomic_write_text
from skelloc.errors import SkeletonFormatError
from skelloc.inference.segments import Segment

__all__ = [
    "atomic_write_text",
    "atomic_save_npy",
    "segments_to_activitynet",
    "write_segments_json",
    "read_segments_json",
    "write_segments_csv",
    "read_segments_csv",
    "write_segments_pkummd",
    "FeatureRecord",
    "feature_grid",
    "write_features",
    "tad_annotations",
    "write_tad_annotations",
]

CSV_FIELDS = ("video", "label", "label_id", "start", "end", "start_s", "end_s", "score")


# --------------------------------------------------------------------------- atomic files
def atomic_save_npy(path: Path | str, array: np.ndarray) -> Path:
    """``np.save`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    return Path(path)


# --------------------------------------------------------------------------- segments
def _as_results(segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                video: str | None) -> dict[str, list[Segment]]:
    if isinstance(segments, Mapping):
        return {str(k): list(v) for k, v in segments.items()}
    return {video or "video": list(segments)}


def segments_to_activitynet(segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                            video: str | None = None) -> dict[str, Any]:
    """ActivityNet results dict: ``{"version", "results": {video: [{label, score, segment:
    [t0, t1] (seconds)}, ...]}, "external_data"}`` (plus ``label_id`` and ``frames`` =
    ``[start, end)`` input frames, which the official evaluator ignores)."""
    results = {
        vid: [{"label": s.label, "label_id": int(s.label_id), "score": float(s.score),
               "segment": [float(s.start_s), float(s.end_s)],
               "frames": [int(s.start), int(s.end)]} for s in segs]
        for vid, segs in _as_results(segments, video).items()
    }
    return {"version": "skelloc-1", "results": results,
            "external_data": {"used": False, "details": "skeleton input only"}}


def write_segments_json(path: Path | str,
                        segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                        video: str | None = None) -> Path:
    """Write segments as an ActivityNet results JSON."""
    return atomic_write_text(Path(path), json.dumps(segments_to_activitynet(segments, video),
                                                    indent=1) + "\n")


def _check_finite(segments: Sequence[Segment]) -> None:
    for s in segments:
        if not all(math.isfinite(v) for v in (s.start_s, s.end_s, s.score)):
            raise ValueError("NaN or infinite time or score")


def read_segments_json(path: Path | str) -> dict[str, list[Segment]]:
    """Read a results JSON written by :func:`write_segments_json` (frames needed)."""
    from skelloc.io._text import load_json

    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise SkeletonFormatError("expected an ActivityNet results object with 'results'",
                                  path=path)
    out: dict[str, list[Segment]] = {}
    for vid, items in data["results"].items():
        try:
            out[vid] = [Segment(str(d["label"]), int(d.get("label_id", -1)),
                                int(d["frames"][0]), int(d["frames"][1]),
                                float(d["segment"][0]), float(d["segment"][1]),
                                float(d["score"])) for d in items]
            _check_finite(out[vid])
        except (KeyError, IndexError, TypeError, ValueError, OverflowError) as err:
            raise SkeletonFormatError(f"malformed result for video {vid!r}: {err!r}",
                                      path=path) from None
    return out


def write_segments_csv(path: Path | str,
                       segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                       video: str | None = None) -> Path:
    """Write segments as CSV with the header ``video,label,label_id,start,end,start_s,end_s,
    score`` (frames 0-based, ``end`` exclusive; seconds = frame / input fps)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for vid, segs in _as_results(segments, video).items():
        for s in segs:
            writer.writerow([vid, s.label, s.label_id, s.start, s.end, repr(float(s.start_s)),
                             repr(float(s.end_s)), repr(float(s.score))])
    return atomic_write_text(Path(path), buf.getvalue())


def read_segments_csv(path: Path | str) -> dict[str, list[Segment]]:
    """Read a CSV written by :func:`write_segments_csv`."""
    from skelloc.io._text import read_text

    path = Path(path)
    try:
        rows = list(csv.DictReader(io.StringIO(read_text(path), newline="")))
    except csv.Error as err:
        raise SkeletonFormatError(f"malformed CSV ({err})", path=path) from None
    out: dict[str, list[Segment]] = {}
    for i, row in enumerate(rows, start=2):
        try:
            seg = Segment(str(row["label"]), int(row["label_id"]), int(row["start"]),
                          int(row["end"]), float(row["start_s"]), float(row["end_s"]),
                          float(row["score"]))
            _check_finite([seg])
            video = str(row["video"])
        except (KeyError, TypeError, ValueError, OverflowError) as err:
            raise SkeletonFormatError(f"malformed row ({err!r})", path=path, line=i) from None
        out.setdefault(video, []).append(seg)
    return out


def write_segments_pkummd(path: Path | str, segments: Iterable[Segment], *,
                          class_ids: Mapping[str, int] | None = None) -> Path:
    """Write segments in the PKU-MMD detection format ``class,start,end,score``: 1-based
    inclusive frames (the official label convention); the class is ``class_ids[label]`` or
    else ``label_id + 1`` (PKU-MMD classes are 1-based)."""
    lines = []
    for s in segments:
        cid = class_ids[s.label] if class_ids is not None else s.label_id + 1
        lines.append(f"{cid},{s.start + 1},{s.end},{float(s.score):.6g}\n")
    return atomic_write_text(Path(path), "".join(lines))


# --------------------------------------------------------------------------- features
@dataclass
class FeatureRecord:
    """One sequence's exported features, for the TAD annotation JSON.

    ``segments`` are ``(label, start, end)`` in frames of the input (end exclusive);
    ``fps`` is the input's frame rate.
    """

    video: str
    num_frames: int
    fps: float
    num_features: int
    feature_dim: int
    subset: str = "training"
    segments: list[tuple[str, int, int]] = field(default_factory=list)
    feat_stride: float | None = None  # input frames per feature row, when known


def feature_grid(num_features: int, num_frames: int, fps: float) -> tuple[int, float]:
    """``(feat_stride, fps)`` for ActionFormer/OpenTAD so that feature i sits at time
    ``i * feat_stride / fps``: the stride in input frames when features are a strided subsample
    (``ceil(T / s)`` of them), else stride 1 at the feature rate."""
    if num_features == num_frames:
        return 1, float(fps)
    stride = max(1, round(num_frames / max(num_features, 1)))
    if math.ceil(num_frames / stride) == num_features:
        return stride, float(fps)
    return 1, float(fps) * num_features / num_frames


def write_features(out_dir: Path | str, video: str, features: np.ndarray) -> Path:
    """Save one ``[T, D]`` float32 ``.npy`` (``<out_dir>/<video>.npy``), the layout ActionFormer's
    and OpenTAD's ``LoadFeats(feat_format="npy")`` read."""
    arr = np.asarray(features)
    if arr.ndim != 2:
        raise ValueError(f"features must be [T, D], got shape {arr.shape}")
    return atomic_save_npy(Path(out_dir) / f"{video}.npy", arr.astype(np.float32))


def tad_annotations(records: Iterable[FeatureRecord], classes: Sequence[str] | None = None,
                    ) -> dict[str, Any]:
    """ActivityNet-style annotation dict for ActionFormer and OpenTAD.

    ``database/<video>`` holds ``subset``, ``duration`` (s), ``fps``, ``frame`` (frame count,
    OpenTAD), ``feat_stride`` (feature i starts at input frame ``i * feat_stride``; ActionFormer
    maps seconds to feature rows as ``t * fps / feat_stride``), ``feat_num_frames`` (1),
    ``num_feats``,
    ``feat_dim`` and ``annotations`` = ``[{label, label_id, segment: [t0, t1] seconds,
    segment_frames: [start, end)}]``.
    """
    records = list(records)
    names = list(classes) if classes is not None else sorted(
        {lab for r in records for lab, _, _ in r.segments})
    index = {n: i for i, n in enumerate(names)}
    db: dict[str, Any] = {}
    for r in records:
        stride, fps = ((r.feat_stride, r.fps) if r.feat_stride is not None
                       else feature_grid(r.num_features, r.num_frames, r.fps))
        anns = []
        for label, start, end in r.segments:
            if label not in index:
                raise ValueError(f"label {label!r} of {r.video} is not in classes")
            anns.append({"label": label, "label_id": index[label],
                         "segment": [start / r.fps, end / r.fps],
                         "segment_frames": [int(start), int(end)]})
        db[r.video] = {"subset": r.subset, "duration": r.num_frames / r.fps, "fps": fps,
                       "frame": r.num_frames, "feat_stride": stride, "feat_num_frames": 1,
                       "num_feats": r.num_features, "feat_dim": r.feature_dim,
                       "annotations": anns}
    return {"version": "skelloc-features-1", "classes": names, "database": db}


def write_tad_annotations(out_dir: Path | str, records: Iterable[FeatureRecord],
                          classes: Sequence[str] | None = None, *,
                          missing: Iterable[str] = ()) -> Path:
    """Write ``annotations.json``, ``class_map.txt`` (one class per line, OpenTAD) and
    ``missing_files.txt`` (OpenTAD's block list) into ``out_dir``; returns the JSON path."""
    out_dir = Path(out_dir)
    data = tad_annotations(records, classes)
    path = atomic_write_text(out_dir / "annotations.json", json.dumps(data, indent=1) + "\n")
    atomic_write_text(out_dir / "class_map.txt", "".join(c + "\n" for c in data["classes"]))
    atomic_write_text(out_dir / "missing_files.txt", "".join(m + "\n" for m in missing))
    return path
