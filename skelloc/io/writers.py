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
from typing import Any, Literal, Union

import numpy as np

from skelloc._atomic import atomic_path, atomic_write_text
from skelloc.errors import SkeletonFormatError
from skelloc.inference.segments import Segment

__all__ = [
    "atomic_write_text",
    "atomic_save_npy",
    "segments_to_activitynet",
    "segments_json_text",
    "write_segments_json",
    "read_segments_json",
    "segments_csv_text",
    "write_segments_csv",
    "read_segments_csv",
    "pkummd_class_id",
    "segments_pkummd_text",
    "write_segments_pkummd",
    "write_segments_pkummd_folder",
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
                            video: str | None = None, *,
                            fps: Mapping[str, float] | None = None) -> dict[str, Any]:
    """ActivityNet results dict: ``{"version", "results": {video: [{label, score, segment:
    [t0, t1] (seconds)}, ...]}, "external_data"}`` (plus ``label_id`` and ``frames`` =
    ``[start, end)`` input frames, which the official evaluator ignores). With ``fps`` (video
    -> the input's frame rate) the dict ends with ``"fps": {video: rate}``, which `skelloc
    evaluate` uses to compare the seconds with label-folder frames."""
    results = {
        vid: [{"label": s.label, "label_id": int(s.label_id), "score": float(s.score),
               "segment": [float(s.start_s), float(s.end_s)],
               "frames": [int(s.start), int(s.end)]} for s in segs]
        for vid, segs in _as_results(segments, video).items()
    }
    doc: dict[str, Any] = {"version": "skelloc-1", "results": results,
                           "external_data": {"used": False, "details": "skeleton input only"}}
    if fps is not None:
        doc["fps"] = {str(k): float(v) for k, v in fps.items()}
    return doc


def segments_json_text(segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                       video: str | None = None, *, fps: Mapping[str, float] | None = None,
                       indent: int = 1) -> str:
    """The text :func:`write_segments_json` writes (:func:`segments_to_activitynet` as JSON,
    ending in a newline), e.g. for stdout."""
    return json.dumps(segments_to_activitynet(segments, video, fps=fps), indent=indent) + "\n"


def write_segments_json(path: Path | str,
                        segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                        video: str | None = None, *, fps: Mapping[str, float] | None = None,
                        indent: int = 1) -> Path:
    """Write segments as an ActivityNet results JSON (:func:`segments_json_text`)."""
    return atomic_write_text(Path(path), segments_json_text(segments, video, fps=fps,
                                                            indent=indent))


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


def segments_csv_text(segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                      video: str | None = None, *, key: str = "video") -> str:
    """The CSV :func:`write_segments_csv` writes, as text. ``key`` names the first column,
    which holds the mapping's keys (``skelloc localize --format csv`` calls it ``input`` and
    keys by input path)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow((key, *CSV_FIELDS[1:]))
    for vid, segs in _as_results(segments, video).items():
        for s in segs:
            writer.writerow([vid, s.label, s.label_id, s.start, s.end, repr(float(s.start_s)),
                             repr(float(s.end_s)), repr(float(s.score))])
    return buf.getvalue()


def write_segments_csv(path: Path | str,
                       segments: Sequence[Segment] | Mapping[str, Sequence[Segment]],
                       video: str | None = None, *, key: str = "video") -> Path:
    """Write segments as CSV with the header ``video,label,label_id,start,end,start_s,end_s,
    score`` (frames 0-based, ``end`` exclusive; seconds = frame / input fps; the first
    column's name is ``key``)."""
    return atomic_write_text(Path(path), segments_csv_text(segments, video, key=key))


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


ClassIds = Union[Mapping[str, int], Literal["pkummd"], None]


def pkummd_class_id(segment: Segment, class_ids: ClassIds = None) -> int:
    """The class number of ``segment`` in a PKU-MMD label line: ``class_ids[label]`` for a
    mapping; for ``"pkummd"`` the 1-based PKU-MMD id of the label's name when it is one of the
    51 PKU-MMD classes; else (and for ``None``) ``label_id + 1`` (PKU-MMD classes are
    1-based)."""
    if class_ids == "pkummd":
        from skelloc.io.pkummd import PKUMMD_CLASSES

        if segment.label in PKUMMD_CLASSES:
            return PKUMMD_CLASSES.index(segment.label) + 1
    elif class_ids is not None:
        return int(class_ids[segment.label])
    return int(segment.label_id) + 1


def segments_pkummd_text(segments: Iterable[Segment], *, class_ids: ClassIds = None) -> str:
    """PKU-MMD detection lines ``class,start,end,score``: 1-based inclusive frames (the
    official label convention), the class from :func:`pkummd_class_id`."""
    return "".join(f"{pkummd_class_id(s, class_ids)},{s.start + 1},{s.end},"
                   f"{float(s.score):.6g}\n" for s in segments)


def write_segments_pkummd(path: Path | str, segments: Iterable[Segment], *,
                          class_ids: ClassIds = None) -> Path:
    """Write segments in the PKU-MMD detection format (:func:`segments_pkummd_text`)."""
    return atomic_write_text(Path(path), segments_pkummd_text(segments, class_ids=class_ids))


def write_segments_pkummd_folder(folder: Path | str,
                                 segments: Mapping[str, Sequence[Segment]], *,
                                 class_ids: ClassIds = None) -> list[Path]:
    """A PKU-MMD label folder: ``<folder>/<video>.txt`` per video (created as needed), the
    form `skelloc evaluate` and :func:`skelloc.metrics.read_pkummd_folder` read."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_segments_pkummd(folder / f"{vid}.txt", segs, class_ids=class_ids)
            for vid, segs in segments.items()]


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
