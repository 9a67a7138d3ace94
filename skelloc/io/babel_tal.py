"""BABEL-TAL (the LocATe benchmark's BT20/BT60 ground truth) and its join to motion files.

``BT_action.json`` maps a key ``...-NNNNNN.mp4@IDX`` (``NNNNNN`` = the BABEL sequence id) to
``{"duration", "subset", "actions": [[class, start, end], ...]}``.  The benchmark's generator
writes times **normalised** to the motion's length (``start / duration * 100``, ends clipped to
99) and sets every ``duration`` to the dummy 99.0, so a value ``v`` is frame
``v / 99 × num_frames`` of the motion itself.  Actions overlap (BABEL is multi-label) and can
repeat; all are kept.  The generator keeps at most 20 actions per sequence: an entry holding
exactly 20 may have lost later ones (``BtEntry.maybe_truncated``; logged).

``amass_to_babel.json`` maps the AMASS path ``CMU/SS/SS_TT_poses`` to the sequence id; the CMU
trial ``SS_TT`` is the file ``SSS_TT.bvh`` (subject zero-padded to three digits) in the
retargeted BVH set.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from skelloc.errors import SkeletonFormatError
from skelloc.io._text import as_float, load_json, text_lines

__all__ = [
    "BT20_CLASSES",
    "BT_MAX_ACTIONS",
    "BtEntry",
    "bt_segments",
    "cmu_bvh_name",
    "load_amass_to_babel",
    "load_bt_actions",
    "read_bt_classes",
]

logger = logging.getLogger(__name__)

BT_MAX_ACTIONS = 20
BT_TIME_SCALE = 99.0
#: BT20 classes in id order (the benchmark's ``action_mapping.txt``)
BT20_CLASSES: tuple[str, ...] = (
    "walk", "hit_or_punch", "kick", "run_or_jog", "jump_or_hop_or_leap", "throw", "catch", "step",
    "greet", "dance", "stretch_or_yoga_or_exercise_/_training", "turn_or_spin", "bend", "stand",
    "sit", "kneel", "place_something", "grasp_object",
    "take/pick_something_up_or_lift_something",
    "scratch_or_touching_face_or_touching_body_parts",
)  # fmt: skip
_KEY = re.compile(r"-(\d+)\.mp4@\d+$")
_AMASS = re.compile(r"(?:^|/)CMU/(\d+)/(\d+)_(\d+)_poses$")


@dataclass
class BtEntry:
    """One ground-truth entry: normalised ``[class, start, end]`` actions (0-99)."""

    key: str
    babel_sid: str
    subset: str
    actions: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def maybe_truncated(self) -> bool:
        return len(self.actions) >= BT_MAX_ACTIONS


def load_bt_actions(path: Path | str, num_classes: int = len(BT20_CLASSES)) -> dict[str, BtEntry]:
    """``{babel_sid: BtEntry}`` from ``BT_action.json`` (typed errors name the key)."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict):
        raise SkeletonFormatError("expected an object keyed by video key", path=path)
    out: dict[str, BtEntry] = {}
    for key, entry in data.items():
        match = _KEY.search(str(key))
        if not match:
            raise SkeletonFormatError(f"key {key!r} does not end in -NNNNNN.mp4@IDX", path=path)
        if not isinstance(entry, dict) or not isinstance(entry.get("actions"), list):
            raise SkeletonFormatError(f"{key}: expected {{'actions': [...], ...}}", path=path)
        sid = str(int(match.group(1)))
        acts = []
        for i, act in enumerate(entry["actions"]):
            where = f"{key}, action {i}"
            if not isinstance(act, list) or len(act) != 3:
                raise SkeletonFormatError(f"{where}: expected [class, start, end]", path=path)
            cls = as_float(act[0], path, f"{where} class")
            start = as_float(act[1], path, f"{where} start")
            end = as_float(act[2], path, f"{where} end")
            if cls != int(cls) or not 0 <= cls < num_classes:
                raise SkeletonFormatError(f"{where}: class {act[0]!r} outside 0..{num_classes - 1}",
                                          path=path)
            if not 0.0 <= start <= end <= BT_TIME_SCALE + 1.0:
                raise SkeletonFormatError(f"{where}: times {start:g}-{end:g} outside 0-99",
                                          path=path)
            acts.append((int(cls), start, end))
        if sid in out:
            raise SkeletonFormatError(f"BABEL sequence {sid} appears under two keys", path=path)
        out[sid] = BtEntry(str(key), sid, str(entry.get("subset", "")), acts)
        if out[sid].maybe_truncated:
            logger.warning("%s: %s holds %d actions, the benchmark's cap; later actions of this "
                           "sequence may have been dropped by its generator", path, sid,
                           len(acts))
    return out


def read_bt_classes(path: Path | str) -> list[str]:
    """Class names in id order from ``action_mapping.txt`` (``<id> <name>`` lines)."""
    path = Path(path)
    table: dict[int, str] = {}
    for i, line in enumerate(text_lines(path), start=1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not (parts[0].isascii() and parts[0].isdigit()):
            raise SkeletonFormatError(f"expected '<id> <name>', found {line[:40]!r}", path=path,
                                      line=i)
        table[int(parts[0])] = parts[1].strip()
    if sorted(table) != list(range(len(table))):
        raise SkeletonFormatError(f"class ids are not 0..{len(table) - 1}", path=path)
    return [table[k] for k in range(len(table))]


def load_amass_to_babel(path: Path | str) -> dict[str, tuple[int, int]]:
    """``{babel_sid: (cmu_subject, trial)}`` from ``amass_to_babel.json`` (CMU entries only)."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict):
        raise SkeletonFormatError("expected an object {amass path: babel_sid}", path=path)
    out: dict[str, tuple[int, int]] = {}
    for amass, sid in data.items():
        match = _AMASS.search(str(amass))
        if not match:
            logger.info("%s: %s is not a CMU motion; skipped", path, amass)
            continue
        if isinstance(sid, bool) or not (isinstance(sid, int) or (
                isinstance(sid, str) and sid.isascii() and sid.isdigit())):
            raise SkeletonFormatError(f"{amass}: babel_sid {str(sid)[:20]!r} is not an integer",
                                      path=path)
        out[str(int(sid))] = (int(match.group(2)), int(match.group(3)))
    return out


def cmu_bvh_name(subject: int, trial: int) -> str:
    """``SSS_TT.bvh``: the retargeted CMU trial's file name."""
    return f"{subject:03d}_{trial:02d}.bvh"


def bt_segments(entry: BtEntry, num_frames: int) -> list[list[int]]:
    """``[class, start, end)`` frames of the motion (``num_frames`` long): ``v / 99 ×
    num_frames``, starts rounded down and ends up; overlaps and repeats kept; sorted."""
    out = []
    for cls, s, e in entry.actions:
        start = max(0, min(num_frames, math.floor(s / BT_TIME_SCALE * num_frames)))
        end = max(0, min(num_frames, math.ceil(e / BT_TIME_SCALE * num_frames)))
        if end > start:
            out.append([cls, start, end])
    return sorted(out, key=lambda r: (r[1], r[2], r[0]))
