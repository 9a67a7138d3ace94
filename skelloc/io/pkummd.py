"""PKU-MMD skeleton text files and label files.

**Skeleton text** (``PKU_Skeleton_Renew/XXXX-V.txt``): one frame per line, 150
whitespace-separated floats = person 1's 25 Kinect v2 joints × (x, y, z) in NTU order, then
person 2's (all zeros when absent); camera metres, 30 fps.

**Label files** (``Train_Label_PKU_final/XXXX-V.txt``): one action instance per line,
``class,start,end,confidence`` with classes 1..51 and confidence 0/1/2.

Frame convention: the official label frames are read as **1-based and inclusive** (the reading of
AimCLR's converter and of the dataset README), and every label skelloc hands out is **0-based with
an exclusive end**: official ``26,229,293,2`` is the instance ``[228, 293)``, i.e. 65 frames,
the 229th to the 293rd line of the skeleton file.  Other conventions are available through
``index_base`` and ``inclusive_end``; writing uses the same parameters, so read → write is exact.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._limits import check_coordinates
from skelloc.io._text import parse_floats, parse_int, read_text, text_lines
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "PKUMMD_FPS",
    "LabelInstance",
    "read_pkummd_skeleton",
    "read_pkummd_labels",
    "format_pkummd_labels",
    "write_pkummd_labels",
    "read_pkummd_classes",
    "read_pkummd_split",
    "PKUMMD_CLASSES",
]

logger = logging.getLogger(__name__)

PKUMMD_FPS = 30.0
_VIDEO_ID = re.compile(r"\d{4}-[LMR]")
_VALUES_PER_LINE = 150


@dataclass(frozen=True)
class LabelInstance:
    """One labelled action instance: 0-based frames, ``end`` exclusive, ``label`` 1-based class id
    as in the file (PKU-MMD 1..51)."""

    label: int
    start: int
    end: int
    confidence: int = 0

    @property
    def num_frames(self) -> int:
        return self.end - self.start


def read_pkummd_skeleton(path: Path, *, fps: float | None = None) -> SkeletonSequence:
    """Read a PKU-MMD skeleton text file into ``(T, 2, 25, 3)`` ``ntu25`` joints."""
    lines = text_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    tokens: list[str] = []
    for i, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) != _VALUES_PER_LINE:
            raise SkeletonFormatError(
                f"expected {_VALUES_PER_LINE} values per frame line (2 persons x 25 joints x xyz), "
                f"found {len(parts)}", path=path, line=i)
        tokens.extend(parts)
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        for i, line in enumerate(lines, start=1):  # find the culprit line for the message
            parse_floats(line, path, i, _VALUES_PER_LINE)
        raise SkeletonFormatError("unparseable numbers", path=path) from None
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0]) // _VALUES_PER_LINE + 1
        raise SkeletonFormatError("NaN or infinite value", path=path, line=bad)
    frames = values.reshape(len(lines), 2, 25, 3)
    check_coordinates(frames, path, line_of_frame=1)  # also keeps the float32 cast finite
    joints = frames.astype(np.float32)
    meta = {"video_id": path.stem}
    return SkeletonSequence(joints, layout="ntu25", fps=float(fps or PKUMMD_FPS), meta=meta)


def read_pkummd_labels(path: Path | str, *, index_base: int = 1, inclusive_end: bool = True,
                       num_frames: int | None = None,
                       invalid: Literal["skip", "keep"] = "skip") -> list[LabelInstance]:
    """Read a PKU-MMD label file into :class:`LabelInstance` (0-based, end exclusive).

    ``index_base``/``inclusive_end`` describe the file (official: 1 and True).

    Messy rows never abort the read; each kind is logged once per file as a warning naming the
    file and line:

    - a row that is empty or reversed after the convention (the official ``0043-L`` holds
      ``1,4925,4036,2``, which ends before it starts), or has a negative class or start, is
      dropped (``invalid="skip"``, for training and display) or kept as it is
      (``invalid="keep"``: evaluation counts such a ground truth and never matches it, as the
      ActivityNet code does);
    - with ``num_frames``, a row running past the video's end is clipped to it, and one that
      starts after the end is dropped.
    """
    path = Path(path)
    if index_base not in (0, 1):
        raise ValueError(f"index_base must be 0 or 1, got {index_base}")
    if invalid not in ("skip", "keep"):
        raise ValueError(f"invalid must be 'skip' or 'keep', got {invalid!r}")
    text = read_text(path, allow_empty=True)
    out: list[LabelInstance] = []
    reversed_rows: list[tuple[int, str]] = []
    clipped: list[tuple[int, str]] = []
    outside: list[tuple[int, str]] = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.replace(" ", "").split(",")
        if len(parts) != 4:
            raise SkeletonFormatError(
                f"expected 'class,start,end,confidence', found {len(parts)} fields",
                path=path, line=i)
        label, start, end, conf = (parse_int(p, path, i, "an integer") for p in parts)
        start0 = start - index_base
        end_excl = end - index_base + (1 if inclusive_end else 0)
        if label < 0 or start0 < 0 or end_excl <= start0:
            reversed_rows.append((i, line.strip()))
            if invalid == "skip":
                continue
        elif num_frames is not None and end_excl > num_frames:
            if start0 >= num_frames:
                outside.append((i, line.strip()))
                continue
            clipped.append((i, line.strip()))
            end_excl = num_frames
        out.append(LabelInstance(label, start0, end_excl, conf))
    convention = f"{index_base}-based{', inclusive' if inclusive_end else ''}"
    _warn_rows(path, reversed_rows, "negative, empty or ending before it starts (as "
               + convention + " frames): "
               + ("dropped" if invalid == "skip" else "kept; evaluation never matches it"))
    _warn_rows(path, clipped, f"running past the video's {num_frames} frames: clipped to its end")
    _warn_rows(path, outside, f"starting after the video's {num_frames} frames: dropped")
    return out


def _warn_rows(path: Path, rows: list[tuple[int, str]], what: str) -> None:
    """One warning for all the rows of one kind in one file (file:line of the first)."""
    if not rows:
        return
    line, text = rows[0]
    more = ""
    if len(rows) > 1:
        others = ", ".join(str(r[0]) for r in rows[1:6]) + (", ..." if len(rows) > 6 else "")
        more = f" (and {len(rows) - 1} more: lines {others})"
    logger.warning("%s:%d: label row %r %s%s", path, line, text, what, more)


def format_pkummd_labels(instances: Iterable[LabelInstance], *, index_base: int = 1,
                         inclusive_end: bool = True) -> str:
    """PKU-MMD label lines (``class,start,end,confidence``) for 0-based, end-exclusive instances."""
    lines = []
    for inst in instances:
        start = inst.start + index_base
        end = inst.end + index_base - (1 if inclusive_end else 0)
        lines.append(f"{int(inst.label)},{start},{end},{int(inst.confidence)}")
    return "".join(line + "\n" for line in lines)


def write_pkummd_labels(path: Path | str, instances: Iterable[LabelInstance], *,
                        index_base: int = 1, inclusive_end: bool = True) -> Path:
    """Write a PKU-MMD label file atomically."""
    from skelloc._atomic import atomic_write_text

    return atomic_write_text(Path(path), format_pkummd_labels(
        instances, index_base=index_base, inclusive_end=inclusive_end))


def read_pkummd_classes(path: Path | str) -> dict[int, str]:
    """``classes.txt`` (``class_id,name`` lines) -> ``{class_id: name}``."""
    path = Path(path)
    out: dict[int, str] = {}
    for i, line in enumerate(text_lines(path), start=1):
        if not line.strip():
            continue
        cid, sep, name = line.partition(",")
        if not sep or not name.strip():
            raise SkeletonFormatError("expected 'class_id,name'", path=path, line=i)
        out[parse_int(cid, path, i, "a class id")] = name.strip()
    return out

#: the 51 PKU-MMD phase-1 action classes, ids 1..51 (``classes.txt`` of the dataset)
PKUMMD_CLASSES: tuple[str, ...] = (
    "bow", "brushing hair", "brushing teeth", "check time (from watch)", "cheer up", "clapping",
    "cross hands in front (say stop)", "drink water", "drop", "eat meal/snack", "falling",
    "giving something to other person", "hand waving", "handshaking",
    "hopping (one foot jumping)", "hugging other person", "jump up", "kicking other person",
    "kicking something", "make a phone call/answer phone", "pat on back of other person",
    "pickup", "playing with phone/tablet", "point finger at the other person",
    "pointing to something with finger", "punching/slapping other person",
    "pushing other person", "put on a hat/cap", "put something inside pocket", "reading",
    "rub two hands together", "salute", "sitting down", "standing up", "take off a hat/cap",
    "take off glasses", "take off jacket", "take out something from pocket", "taking a selfie",
    "tear up paper", "throw", "touch back (backache)", "touch chest (stomachache/heart pain)",
    "touch head (headache)", "touch neck (neckache)", "typing on a keyboard",
    "use a fan (with hand or paper)/feeling warm", "wear jacket", "wear on glasses",
    "wipe face", "writing",
)  # fmt: skip


def read_pkummd_split(path: Path | str) -> dict[str, list[str]]:
    """Official split file (``cross-subject.txt`` / ``cross-view.txt``): line 2 lists the
    training videos, line 4 the test videos, comma separated -> ``{"train": [...],
    "test": [...]}``."""
    path = Path(path)
    lines = text_lines(path)
    if len(lines) < 4:
        raise SkeletonFormatError("expected 4 lines (header, train ids, header, test ids)",
                                  path=path, line=len(lines))
    out: dict[str, list[str]] = {}
    for name, ln in (("train", 2), ("test", 4)):
        ids = [t.strip() for t in lines[ln - 1].split(",") if t.strip()]
        for t in ids:
            if not _VIDEO_ID.fullmatch(t):
                raise SkeletonFormatError(f"not a PKU-MMD video id: {t[:20]!r}", path=path,
                                          line=ln)
        out[name] = ids
    return out


