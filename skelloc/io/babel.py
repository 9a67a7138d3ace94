"""BABEL annotations (``babel_v1.0_release/*.json``) and the three 4-class localisation subsets.

Joint positions are not read here: BABEL labels AMASS motions, whose joints need the SMPL-H body
model (licence-gated, not shipped).  Convert AMASS to joints yourself, save one array per
``babel_sid`` (``<sid>.npy``: ``(T, 25, 3)`` NTU order via :func:`smplh_to_ntu25`, or already
NTU), and pair them with these labels (:func:`skelloc.io.prepare.prepare_babel`).

Per-frame labels follow LINE's ``prepare/create_dataset.py``: frame ``f`` at ``fps`` takes the
``act_cat`` entries of every frame-annotation segment with ``start_t <= f / fps < end_t``.

Subsets (docs/design/method.md#datasets): 1 = walk, stand, turn, jump; 2 = sit, run, stand up, kick;
3 = jog, wave, dance, gesture; background = index 4.  **Deviation from LINE** (docs/design/method.md#departures,
item 7): where several subset classes cover a frame, LINE takes the first element of a Python
``set`` (hash-order, different in every process); skelloc takes the class that comes first in the
subset's own order (e.g. "walk" over "turn"), the same in every process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._text import as_float, load_json

__all__ = [
    "BABEL_SUBSETS",
    "SMPLH_TO_NTU25",
    "BabelSegment",
    "BabelSequence",
    "load_babel",
    "frame_labels",
    "subset_frame_labels",
    "label_runs",
    "smplh_to_ntu25",
]

BABEL_FPS = 30.0
BABEL_SUBSETS: dict[int, tuple[str, str, str, str]] = {
    1: ("walk", "stand", "turn", "jump"),
    2: ("sit", "run", "stand up", "kick"),
    3: ("jog", "wave", "dance", "gesture"),
}
#: NTU joint k (0-based) <- SMPL-H extended-joint index (BABEL ``dutils.smpl_to_nturgbd``);
#: 63/64 and 68/69 (thumb and index tips) are kept swapped as upstream does.
SMPLH_TO_NTU25: tuple[int, ...] = (0, 3, 12, 15, 16, 18, 20, 22, 17, 19, 21, 37, 1, 4, 7, 10,
                                   2, 5, 8, 11, 9, 63, 64, 68, 69)


@dataclass(frozen=True)
class BabelSegment:
    start_t: float
    end_t: float
    act_cat: tuple[str, ...]


@dataclass
class BabelSequence:
    """One BABEL entry: ``segments`` from ``frame_ann`` (dense) or, when that is null, one
    whole-sequence segment per ``seq_ann`` label (``dense = False``)."""

    sid: str
    feat_p: str
    duration: float
    dense: bool
    segments: list[BabelSegment] = field(default_factory=list)


def _labels(ann: Any, path: Path, where: str, timed: bool, dur: float) -> list[BabelSegment]:
    if isinstance(ann, list):  # extra_*.json: a list of annotations; the first annotator's
        ann = ann[0] if ann else None
    if ann is None:
        return []
    if not isinstance(ann, dict) or not isinstance(ann.get("labels"), list):
        raise SkeletonFormatError(f"{where}: annotation without a 'labels' list", path=path)
    out = []
    for i, lab in enumerate(ann["labels"]):
        w = f"{where}, label {i}"
        if not isinstance(lab, dict):
            raise SkeletonFormatError(f"{w}: not an object", path=path)
        cats = lab.get("act_cat") or []
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise SkeletonFormatError(f"{w}: act_cat must be a list of strings", path=path)
        if timed:
            s = as_float(lab.get("start_t"), path, f"{w} start_t")
            e = as_float(lab.get("end_t"), path, f"{w} end_t")
        else:
            s, e = 0.0, dur
        out.append(BabelSegment(s, e, tuple(c.strip().lower() for c in cats)))
    return out


def load_babel(path: Path | str) -> dict[str, BabelSequence]:
    """Parse a BABEL JSON file (``train.json``, ``val.json``, ``extra_*.json``)."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict):
        raise SkeletonFormatError("expected an object keyed by babel_sid", path=path)
    out: dict[str, BabelSequence] = {}
    for key, entry in data.items():
        where = f"sequence {key}"
        if not isinstance(entry, dict):
            raise SkeletonFormatError(f"{where}: not an object", path=path)
        dur = as_float(entry.get("dur"), path, f"{where} dur")
        frame_ann = entry.get("frame_ann", entry.get("frame_anns"))
        seq_ann = entry.get("seq_ann", entry.get("seq_anns"))
        segs = _labels(frame_ann, path, where, True, dur)
        dense = bool(segs)
        if not dense:
            segs = _labels(seq_ann, path, where, False, dur)
        sid = str(entry.get("babel_sid", key))
        out[sid] = BabelSequence(sid, str(entry.get("feat_p", "")), dur, dense, segs)
    return out


def frame_labels(seq: BabelSequence, num_frames: int, fps: float = BABEL_FPS,
                 ) -> list[tuple[str, ...]]:
    """Per-frame sorted act_cat tuples: frame f has the categories of every segment with
    ``start_t <= f / fps < end_t`` (any fps)."""
    t = np.arange(num_frames) / float(fps)
    sets: list[set[str]] = [set() for _ in range(num_frames)]
    for seg in seq.segments:
        for f in np.flatnonzero((seg.start_t <= t) & (t < seg.end_t)):
            sets[f].update(seg.act_cat)
    return [tuple(sorted(s)) for s in sets]


def subset_frame_labels(labels: list[tuple[str, ...]], subset: int) -> np.ndarray:
    """Per-frame class index in subset ``subset`` (0..3; 4 = background), overlaps resolved by
    the subset's class order (deterministic)."""
    classes = BABEL_SUBSETS[subset]
    out = np.full(len(labels), len(classes), dtype=np.int64)
    for f, cats in enumerate(labels):
        hits = [k for k, c in enumerate(classes) if c in cats]
        if hits:
            out[f] = hits[0]
    return out


def label_runs(frame_label: np.ndarray, background: int) -> list[list[int]]:
    """``[label, start, end)`` runs of equal non-background labels."""
    runs: list[list[int]] = []
    start = 0
    for f in range(1, len(frame_label) + 1):
        if f == len(frame_label) or frame_label[f] != frame_label[start]:
            if frame_label[start] != background:
                runs.append([int(frame_label[start]), start, f])
            start = f
    return runs


def smplh_to_ntu25(joints: np.ndarray) -> np.ndarray:
    """SMPL-H extended joints ``(..., 73, C)`` -> NTU-25 ``(..., 25, C)`` (BABEL's map)."""
    arr = np.asarray(joints)
    if arr.ndim < 2 or arr.shape[-2] < 70:
        raise SkeletonFormatError(f"expected SMPL-H extended joints (..., 73, C), got {arr.shape}")
    return arr[..., list(SMPLH_TO_NTU25), :]
