"""Read detection results and ground truth from the field's file formats.

- ActivityNet-style JSON: predictions ``{"results": {video: [{"label", "segment": [s, e],
  "score"}]}}``, ground truth ``{"database": {video: {"annotations": [{"label", "segment"}]}}}``.
  Segments are taken as they are (seconds or frames, end exclusive).
- PKU-MMD label folders: one ``<video>.txt`` per video, one instance per line,
  ``class,start,end,confidence`` (commas or spaces).  The files use **1-based, inclusive** frames
  (docs/design/conventions.md#formats: AimCLR slices ``[start-1:end]``); they become 0-based, end-exclusive records
  ``(start - 1, end)``.  Labels are ints.  In ground-truth files the fourth column (1 or 2, the
  annotators' confidence) is ignored.  A single ``.txt`` file is read the same way.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from skelloc.errors import InputError, SkeletonFormatError
from skelloc.io._text import read_text
from skelloc.metrics.records import Instance

__all__ = ["read_instances", "read_anet_json", "read_pkummd_folder", "path_units"]

logger = logging.getLogger(__name__)


def _label(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError(f"bad label {value!r}")
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"bad label {value!r}")


def read_anet_json(path: str | os.PathLike, *, predictions: bool,
                   frames_fps: float | None = None) -> list[Instance]:
    """Instances of an ActivityNet-style results (``predictions=True``) or database JSON.

    Also reads the list ``skelloc localize --format json`` writes (``[{input, fps, segments}]``,
    keyed by file stem).  Segments are seconds; with ``frames_fps`` they become frames (to
    compare with a PKU-MMD label folder): an instance's ``frames`` ``[start, end)`` when it has
    one (skelloc writes it), else seconds × the file's ``fps`` entry for the video, else ×
    ``frames_fps``.
    """
    path = Path(path)

    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise SkeletonFormatError(f"invalid JSON: {err.msg}", path=path, line=err.lineno) from None
    except RecursionError:
        raise SkeletonFormatError("JSON nested too deeply", path=path) from None
    key = "results" if predictions else "database"
    fps_of: dict[str, float] = {}
    if predictions and isinstance(data, list):
        data, fps_of = _from_localize_list(data, path)
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        other = "database" if predictions else "results"
        hint = (f" (it has {other!r}: did you swap predictions and ground truth?)"
                if isinstance(data, dict) and other in data else "")
        raise SkeletonFormatError(f"expected a top-level {key!r} object{hint}", path=path)
    if isinstance(data.get("fps"), dict):
        fps_of.update({str(k): float(v) for k, v in data["fps"].items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0})
    out: list[Instance] = []
    for video, entry in data[key].items():
        items = entry if predictions else (entry or {}).get("annotations", [])
        if not isinstance(items, list):
            raise SkeletonFormatError(f"video {video!r}: expected a list of instances", path=path)
        for k, item in enumerate(items):
            try:
                s, e = item["segment"]
                if frames_fps is not None:
                    if "frames" in item:
                        s, e = item["frames"]
                    else:
                        rate = fps_of.get(str(video), frames_fps)
                        s, e = float(s) * rate, float(e) * rate
                score = float(item["score"]) if predictions else None
                if not all(math.isfinite(v) for v in (float(s), float(e), score or 0.0)):
                    raise ValueError("NaN or infinite value")
                out.append(Instance(str(video), _label(item["label"]), float(s), float(e), score))
            except (KeyError, TypeError, ValueError, OverflowError) as err:
                raise SkeletonFormatError(
                    f"video {video!r}, instance {k}: {type(err).__name__}: {err}",
                    path=path) from None
    return out


def _from_localize_list(data: list[Any], path: Path) -> tuple[Any, dict[str, float]]:
    """``skelloc localize --format json`` output -> an ActivityNet results dict by file stem."""
    results: dict[str, list[dict[str, Any]]] = {}
    fps_of: dict[str, float] = {}
    for n, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("segments"), list) \
                or "input" not in entry:
            raise SkeletonFormatError(f"entry {n}: expected {{input, segments}} (skelloc "
                                      "localize --format json) or an ActivityNet results "
                                      "object", path=path)
        stem = Path(str(entry["input"])).stem
        video, k = stem, 2
        while video in results:
            video, k = f"{stem}-{k}", k + 1
        results[video] = [{"label": s.get("label"), "score": s.get("score"),
                           "segment": [s.get("start_s"), s.get("end_s")],
                           "frames": [s.get("start"), s.get("end")]}
                          for s in entry["segments"] if isinstance(s, dict)]
        if isinstance(entry.get("fps"), (int, float)):
            fps_of[video] = float(entry["fps"])
    return {"results": results}, fps_of


def path_units(path: str | os.PathLike) -> str:
    """``"frames"`` for a PKU-MMD label folder or ``.txt`` file, ``"seconds"`` for JSON."""
    p = Path(path)
    return "frames" if p.is_dir() or p.suffix.lower() == ".txt" else "seconds"


def _read_label_file(path: Path, *, predictions: bool) -> list[Instance]:
    out: list[Instance] = []
    reversed_rows: list[int] = []
    for lineno, line in enumerate(read_text(path, allow_empty=True).splitlines(), start=1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        try:
            if len(fields) < (4 if predictions else 3):
                raise ValueError("expected class,start,end,confidence")
            cls, start, end = (float(x) for x in fields[:3])
            if not cls.is_integer():
                raise ValueError(f"class {fields[0]!r} is not an integer")
            score = float(fields[3]) if predictions else None
            if not all(math.isfinite(v) for v in (cls, start, end, score or 0.0)):
                raise ValueError("NaN or infinite value")
        except ValueError as err:
            raise SkeletonFormatError(str(err), path=path, line=lineno) from None
        if end < start:
            reversed_rows.append(lineno)
        out.append(Instance(path.stem, int(cls), start - 1.0, end, score))
    if reversed_rows:
        what = "prediction" if predictions else "ground-truth"
        more = f" (and {len(reversed_rows) - 1} more)" if len(reversed_rows) > 1 else ""
        logger.warning("%s:%d: %s row ends before it starts%s: counted, never matched (as the "
                       "ActivityNet code)", path, reversed_rows[0], what, more)
    return out


def read_pkummd_folder(path: str | os.PathLike, *, predictions: bool) -> list[Instance]:
    """Instances of a PKU-MMD label folder (``*.txt``) or single label file (see module doc)."""
    path = Path(path)
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise InputError(f"{path}: no .txt label files in this folder")
    out: list[Instance] = []
    for f in files:
        out.extend(_read_label_file(f, predictions=predictions))
    return out


def read_instances(path: str | os.PathLike, *, predictions: bool,
                   frames_fps: float | None = None) -> list[Instance]:
    """Read a JSON file or a PKU-MMD label folder/file, chosen by what the path is
    (``frames_fps``: see :func:`read_anet_json`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path_units(path) == "frames":
        return read_pkummd_folder(path, predictions=predictions)
    return read_anet_json(path, predictions=predictions, frames_fps=frames_fps)
