"""Training caches from your own recordings and a label table (``skelloc prepare labels``).

The recordings are any files :func:`skelloc.read` reads (arrays, NTU, PKU-MMD, BVH, UTKinect,
MMPose / OpenPose / MediaPipe output; any layout, 2D or 3D), found in a folder by their file
*stem*, the ``video`` of the label table.  The table is either a CSV file with the header
``video,label,start_s,end_s`` and an optional ``group`` column (the subject: validation splits
never put one group on both sides), or ActivityNet-style JSON
(``{"database": {video: {"subset": "training" | "validation", "annotations": [{"label": ...,
"segment": [start_s, end_s]}]}}}``; a ``subset`` of ``validation`` puts the video on the
validation side).  Classes are the labels of the table, sorted by name.

Every bad row raises :class:`~skelloc.errors.LabelTableError` naming the file and the row (CSV:
the line number; JSON: the video and the annotation index).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import ConfigError, LabelTableError, SkellocError
from skelloc.io.prepare import CacheVideo, CacheWriter

__all__ = ["COLUMNS", "LabelRow", "prepare_labels", "read_label_table"]

logger = logging.getLogger(__name__)

COLUMNS = ("video", "label", "start_s", "end_s")
_OPTIONAL = ("group",)


@dataclass(frozen=True)
class LabelRow:
    """One labelled action: ``row`` is the CSV line (1-based) or ``video[index]`` in JSON."""

    video: str
    label: str
    start_s: float
    end_s: float
    group: str | None
    row: str
    subset: str | None = None  # "train" | "val" from ActivityNet JSON


def _time(value: str, what: str, path: Path, row: str) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise LabelTableError(f"row {row}: {what} {value!r} is not a number of seconds",
                              path=path) from None
    if not math.isfinite(t) or t < 0:
        raise LabelTableError(f"row {row}: {what} {value!r} must be a finite time >= 0",
                              path=path)
    return t


def _checked(path: Path, video: str, label: str, start: Any, end: Any, group: str | None,
             row: str, subset: str | None = None) -> LabelRow:
    video, label = str(video).strip(), str(label).strip()
    if not video:
        raise LabelTableError(f"row {row}: empty video", path=path)
    if not label:
        raise LabelTableError(f"row {row}: empty label (video {video})", path=path)
    s = _time(start, "start_s", path, row)
    e = _time(end, "end_s", path, row)
    if e <= s:
        raise LabelTableError(f"row {row}: end_s {e:g} is not after start_s {s:g} "
                              f"(video {video}, {label})", path=path)
    return LabelRow(video, label, s, e, (group or "").strip() or None, row, subset)


def _read_csv(path: Path, text: str) -> list[LabelRow]:
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        raise LabelTableError("empty label table", path=path)
    header = [h.strip().lower() for h in rows[0]]
    dup = sorted({h for h in header if header.count(h) > 1 and h})
    if dup:
        raise LabelTableError(f"row 1: duplicate column(s) {dup} in the header", path=path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise LabelTableError(f"row 1: the header lacks {missing}; expected columns "
                              f"{','.join(COLUMNS)}[,group]", path=path)
    idx = {c: header.index(c) for c in (*COLUMNS, *_OPTIONAL) if c in header}
    out = []
    for n, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if [c.strip().lower() for c in cells] == header:
            raise LabelTableError(f"row {n}: duplicate header (tables joined together?)",
                                  path=path)
        if len(cells) < len(header):
            raise LabelTableError(f"row {n}: {len(cells)} cells, the header has {len(header)}",
                                  path=path)
        out.append(_checked(path, cells[idx["video"]], cells[idx["label"]],
                            cells[idx["start_s"]], cells[idx["end_s"]],
                            cells[idx["group"]] if "group" in idx else None, str(n)))
    if not out:
        raise LabelTableError("the label table has a header but no rows", path=path)
    return out


def _read_anet(path: Path, data: Any) -> list[LabelRow]:
    db = data.get("database") if isinstance(data, dict) else None
    if not isinstance(db, dict):
        raise LabelTableError("ActivityNet JSON needs a 'database' object of videos", path=path)
    subsets = {"training": "train", "train": "train", "validation": "val", "val": "val"}
    out = []
    for video, entry in db.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("annotations"), list):
            raise LabelTableError(f"row {video}: no 'annotations' list", path=path)
        subset = subsets.get(str(entry.get("subset", "")).lower())
        for k, ann in enumerate(entry["annotations"]):
            row = f"{video}[{k}]"
            seg = ann.get("segment") if isinstance(ann, dict) else None
            if not isinstance(seg, list) or len(seg) != 2:
                raise LabelTableError(f"row {row}: 'segment' must be [start_s, end_s]", path=path)
            out.append(_checked(path, video, ann.get("label", ""), seg[0], seg[1],
                                entry.get("group"), row, subset))
    if not out:
        raise LabelTableError("no annotations in the label table", path=path)
    return out


def read_label_table(path: Path | str) -> list[LabelRow]:
    """Rows of a CSV label table or of ActivityNet-style JSON (see the module docstring).

    Raises:
        LabelTableError: a bad header or row (the message names it).
    """
    from skelloc.io._text import load_json, read_text

    p = Path(path)
    if p.suffix.lower() == ".json":
        return _read_anet(p, load_json(p))
    return _read_csv(p, read_text(p).lstrip("\ufeff"))


def _recordings(src: Path, exclude: Path) -> dict[str, Path]:
    from skelloc.io.registry import detect_format

    if not src.is_dir():
        raise ConfigError(f"{src} is not a folder of recordings")
    files = sorted(p for p in src.iterdir() if not p.name.startswith("."))
    out: dict[str, Path] = {}
    for f in files:
        if f.resolve() == exclude.resolve():
            continue
        try:
            detect_format(f)
        except SkellocError:
            continue
        if f.stem in out:
            raise ConfigError(f"two recordings named {f.stem!r}: {out[f.stem]} and {f}")
        out[f.stem] = f
    return out


def _groups_split(videos: list[CacheVideo], val_videos: Iterable[str] | None,
                  val_fraction: float | None, seed: int) -> list[str]:
    """Move videos to ``val`` by name or by a seeded fraction of the groups."""
    if val_videos is not None and val_fraction is not None:
        raise ConfigError("give either val_videos or val_fraction, not both")
    if val_videos is not None:
        names = set(val_videos)
        unknown = sorted(names - {v.id for v in videos})
        if unknown:
            raise ConfigError(f"validation videos without recording or labels: {unknown}")
        chosen = sorted({v.performance for v in videos if v.id in names})
    elif val_fraction is not None:
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
        groups = sorted({v.performance for v in videos if v.split == "train"})
        if len(groups) < 2:
            raise ConfigError("a validation fraction needs at least two groups (subjects)")
        n = min(len(groups) - 1, max(1, round(val_fraction * len(groups))))
        chosen = sorted(random.Random(seed).sample(groups, n))
    else:
        return sorted({v.performance for v in videos if v.split == "val"})
    keep = set(chosen)
    for v in videos:  # a group is never on both sides
        if v.performance in keep:
            v.split = "val"
    return chosen


def prepare_labels(recordings: Path | str, out: Path | str, labels: Path | str, *,
                   val_videos: Sequence[str] | None = None, val_fraction: float | None = None,
                   seed: int = 0, fps: float | None = None, dtype: str = "float32",
                   read_options: dict[str, Any] | None = None) -> Path:
    """Recordings + a label table -> a training cache; returns the path of ``dataset.json``.

    ``fps`` resamples every recording (default: the first recording's rate; others are
    resampled to it).  Validation: ``val_videos`` (names; their whole groups go along) or a
    seeded ``val_fraction`` of the groups (``group`` column, else one group per video), or the
    JSON's ``subset``.  Recordings without labels are skipped with a warning.

    Raises:
        LabelTableError: a bad row, a video without recording, times past a recording.
        ConfigError: recordings of different layouts or channels, a bad split request.
    """
    from skelloc.io.prepare import _resample
    from skelloc.io.registry import read
    from skelloc.skeleton.layouts import get_layout

    src, table_path = Path(recordings), Path(labels)
    rows = read_label_table(table_path)
    files = _recordings(src, table_path)
    by_video: dict[str, list[LabelRow]] = {}
    for r in rows:
        if r.video not in files:
            raise LabelTableError(f"row {r.row}: unknown video {r.video!r}: no recording with "
                                  f"that file stem in {src}", path=table_path)
        by_video.setdefault(r.video, []).append(r)
    for stem in sorted(set(files) - set(by_video)):
        logger.warning("%s has no labels in %s: skipped", files[stem], table_path)
    classes = sorted({r.label for r in rows})
    writer: CacheWriter | None = None
    for vid in sorted(by_video):
        seq = read(files[vid], **dict(read_options or {}))
        conf = bool(seq.meta.get("confidence"))
        duration = seq.num_frames / seq.fps
        for r in by_video[vid]:
            if r.start_s >= duration:
                raise LabelTableError(f"row {r.row}: start_s {r.start_s:g} is past the end of "
                                      f"{vid} ({duration:.3f} s)", path=table_path)
            if r.end_s > duration + 1.0 / seq.fps:
                raise LabelTableError(f"row {r.row}: end_s {r.end_s:g} is past the end of "
                                      f"{vid} ({duration:.3f} s)", path=table_path)
        if writer is None:
            writer = CacheWriter(out, dataset=src.name, fps=float(fps or seq.fps),
                                 layout=get_layout(seq.layout).name, classes=classes, dtype=dtype,
                                 extra={"confidence": conf, "channels": seq.num_channels,
                                        "labels": table_path.name})
        elif (get_layout(seq.layout).name, seq.num_channels, conf) != (writer.layout, writer.extra["channels"],
                                                      writer.extra["confidence"]):
            raise ConfigError(
                f"{files[vid]}: layout {seq.layout} with {seq.num_channels} channels differs "
                f"from the first recording's {writer.layout} with {writer.extra['channels']}; "
                "prepare them separately or convert them (skelloc.read(..., to_layout=...))")
        joints = _resample(np.asarray(seq.joints, dtype=np.float32), seq.fps, writer.fps)
        t = int(joints.shape[0])
        segs = [[classes.index(r.label), min(t - 1, math.floor(r.start_s * writer.fps)),
                 min(t, math.ceil(r.end_s * writer.fps))] for r in by_video[vid]]
        subsets = {r.subset for r in by_video[vid]}
        groups = {r.group for r in by_video[vid] if r.group is not None}
        if len(groups) > 1:
            raise LabelTableError(f"row {by_video[vid][0].row}: video {vid} has several groups "
                                  f"{sorted(groups)}", path=table_path)
        writer.add(CacheVideo(vid, t, next(iter(groups), vid),
                              "val" if subsets == {"val"} else "train", segs), joints)
    assert writer is not None  # read_label_table never returns an empty table
    chosen = _groups_split(writer.videos, val_videos, val_fraction, seed)
    writer.extra["val_groups"] = chosen
    path = writer.close()
    logger.info("wrote %s: %d videos, %d classes, %d validation groups", path,
                len(writer.videos), len(classes), len(chosen))
    return path
