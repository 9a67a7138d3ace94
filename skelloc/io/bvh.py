"""BVH motion capture: any hierarchy, any channel order, forward kinematics to joint positions.

Rotations compose in the order the ``CHANNELS`` line lists them (``Zrotation Xrotation
Yrotation`` -> ``R = Rz · Rx · Ry``, degrees); a joint's translation is its ``OFFSET`` plus its
position channels.  ``End Site`` positions are kept as joints named ``<parent>_end``.  With
``layout="ntu25"`` (default) the joints are mapped to NTU RGB+D 25 by name (CMU's cgspeed
conversion, SFU, Mixamo, Daz/Poser and Reallusion Character Creator ``CC_Base_*`` names are
known); joints the skeleton lacks (hand tips, thumbs) fall back to the nearest available joint.
``layout=None`` keeps every joint (``layout="bvh"``, names in ``meta["joint_names"]``).

Units: positions come back in metres.  ``units="auto"`` (default) tells centimetres, metres and
inches apart by the leg length (hip-knee-ankle, median over frames; an adult's is about
0.75-1.0 m): under 2 file units it is metres, 10-20 the CMU ASF unit of the cgspeed CMU
conversion (1/0.45 inch), 20-55 inches, 55-200 centimetres; anything else raises
:class:`SkeletonFormatError` asking for ``units``.  ``units="cm" | "m" | "mm" | "in" | "cmu"``
or a numeric ``scale`` (file units -> metres) overrides the detection.  The frame rate is
``1 / Frame Time``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._limits import MAX_BVH_DEPTH, check_coordinates, fk_budget
from skelloc.io._text import parse_floats, parse_int, text_lines
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = ["BvhJoint", "BvhMotion", "parse_bvh", "forward_kinematics", "read_bvh", "map_to_ntu25",
           "detect_units", "UNIT_SCALES"]

logger = logging.getLogger(__name__)

#: metres per file unit
UNIT_SCALES: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254,
                                 "cmu": 0.0254 / 0.45}  # CMU ASF length unit (cgspeed BVH)

_CHANNELS = {"xposition", "yposition", "zposition", "xrotation", "yrotation", "zrotation"}


@dataclass
class BvhJoint:
    name: str
    parent: int  # -1 for a root
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    channel_start: int = 0
    end_site: bool = False


@dataclass
class BvhMotion:
    joints: list[BvhJoint]
    motion: np.ndarray  # (T, total channels)
    frame_time: float

    @property
    def fps(self) -> float:
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 0.01 else fps


def parse_bvh(path: Path) -> BvhMotion:
    """Parse a BVH file (hierarchy and motion) with line-numbered errors."""
    lines = text_lines(path)
    tokens: list[tuple[str, int]] = []
    motion_line = None
    for i, line in enumerate(lines, start=1):
        if line.strip().upper() == "MOTION":
            motion_line = i
            break
        tokens.extend((t, i) for t in line.replace("{", " { ").replace("}", " } ").split())
    if motion_line is None:
        raise SkeletonFormatError("no MOTION section", path=path, line=len(lines))
    pos = 0

    def take(what: str) -> tuple[str, int]:
        nonlocal pos
        if pos >= len(tokens):
            raise SkeletonFormatError(f"hierarchy ends early: expected {what}", path=path,
                                      line=motion_line)
        pos += 1
        return tokens[pos - 1]

    def expect(word: str) -> int:
        tok, ln = take(repr(word))
        if tok.upper() != word.upper():
            raise SkeletonFormatError(f"expected {word!r}, found {tok[:30]!r}", path=path, line=ln)
        return ln

    expect("HIERARCHY")
    joints: list[BvhJoint] = []
    n_channels = 0

    def parse_joint(parent: int, name: str, end_site: bool, depth: int = 1) -> None:
        nonlocal n_channels
        if depth > MAX_BVH_DEPTH:
            raise SkeletonFormatError(f"hierarchy nested deeper than {MAX_BVH_DEPTH} joints",
                                      path=path, line=tokens[pos - 1][1])
        expect("{")
        ln = expect("OFFSET")
        offset = parse_floats(" ".join(take("an offset value")[0] for _ in range(3)), path, ln, 3)
        joint = BvhJoint(name, parent, offset, end_site=end_site, channel_start=n_channels)
        joints.append(joint)
        index = len(joints) - 1
        if not end_site:
            tok, ln = take("CHANNELS")
            if tok.upper() != "CHANNELS":
                raise SkeletonFormatError(f"expected 'CHANNELS', found {tok[:30]!r}", path=path,
                                          line=ln)
            count = parse_int(take("a channel count")[0], path, ln, "a channel count")
            if not 0 <= count <= 6:
                raise SkeletonFormatError(f"channel count {count} outside 0..6", path=path,
                                          line=ln)
            for _ in range(count):
                tok, ln2 = take("a channel name")
                if tok.lower() not in _CHANNELS or ln2 != ln:
                    raise SkeletonFormatError(
                        f"CHANNELS {count} lists fewer or other names than {count} channel names"
                        f" (found {tok[:30]!r})", path=path, line=ln)
                joint.channels.append(tok.lower())
            if pos < len(tokens) and tokens[pos][1] == ln:
                raise SkeletonFormatError(f"CHANNELS {count} lists more than {count} names",
                                          path=path, line=ln)
            n_channels += count
        while True:
            tok, ln = take("'}'")
            key = tok.upper()
            if key == "}":
                return
            if key in ("JOINT", "ROOT") and not end_site:
                parse_joint(index, take("a joint name")[0], False, depth + 1)
            elif key == "END" and not end_site:
                take("'Site'")
                parse_joint(index, f"{name}_end", True, depth + 1)
            else:
                raise SkeletonFormatError(f"unexpected {tok[:30]!r} in joint {name!r}", path=path,
                                          line=ln)

    while pos < len(tokens):
        tok, ln = take("ROOT")
        if tok.upper() != "ROOT":
            raise SkeletonFormatError(f"expected 'ROOT', found {tok[:30]!r}", path=path, line=ln)
        parse_joint(-1, take("a joint name")[0], False)
    if not joints:
        raise SkeletonFormatError("no joints in the hierarchy", path=path, line=motion_line)

    rest = lines[motion_line:]

    def header(k: int, prefix: str) -> str:
        if k >= len(rest) or not rest[k].strip().lower().startswith(prefix.lower()):
            raise SkeletonFormatError(f"expected '{prefix}'", path=path, line=motion_line + k + 1)
        return rest[k].split(":", 1)[1] if ":" in rest[k] else ""

    ln = motion_line + 1
    num_frames = parse_int(header(0, "Frames:"), path, ln, "the frame count")
    frame_time = float(parse_floats(header(1, "Frame Time:"), path, ln + 1, 1)[0])
    if num_frames < 1 or not frame_time >= 1e-5:
        raise SkeletonFormatError("need Frames >= 1 and Frame Time >= 0.00001 s (at most "
                                  "100,000 fps)", path=path, line=ln)
    data = list(rest[2:])
    while data and not data[-1].strip():
        data.pop()
    if len(data) < num_frames:
        raise SkeletonFormatError(f"Frames: {num_frames} but only {len(data)} motion lines",
                                  path=path, line=motion_line + 2 + len(data))
    if len(data) > num_frames:
        raise SkeletonFormatError(f"more motion lines than Frames: {num_frames}", path=path,
                                  line=motion_line + 3 + num_frames)
    budget = fk_budget(path.stat().st_size)
    if num_frames * len(joints) > budget:
        raise SkeletonFormatError(
            f"{len(joints)} joints x {num_frames} frames is more than forward kinematics may "
            f"compute for a file of this size ({budget} joint-frames)", path=path,
            line=motion_line + 1)
    motion = np.empty((num_frames, n_channels))
    for f, row in enumerate(data):
        motion[f] = parse_floats(row, path, motion_line + 3 + f, n_channels,
                                 what="channel values (the hierarchy's channel count)")
    return BvhMotion(joints, motion, frame_time)


def _rot(axis: str, deg: np.ndarray) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    if axis == "x":
        m = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        m = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        m = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def forward_kinematics(bvh: BvhMotion) -> np.ndarray:
    """World positions ``(T, J, 3)`` of every joint (end sites included), file units."""
    t = bvh.motion.shape[0]
    glob_r = np.zeros((len(bvh.joints), t, 3, 3))
    glob_p = np.zeros((len(bvh.joints), t, 3))
    for j, joint in enumerate(bvh.joints):
        rot = np.broadcast_to(np.eye(3), (t, 3, 3)).copy()
        trans = np.broadcast_to(joint.offset, (t, 3)).copy()
        for k, ch in enumerate(joint.channels):
            values = bvh.motion[:, joint.channel_start + k]
            if ch.endswith("position"):
                trans[:, "xyz".index(ch[0])] += values
            else:
                rot = rot @ _rot(ch[0], values)
        if joint.parent < 0:
            glob_r[j], glob_p[j] = rot, trans
        else:
            pr = glob_r[joint.parent]
            glob_r[j] = pr @ rot
            glob_p[j] = glob_p[joint.parent] + np.einsum("tij,tj->ti", pr, trans)
    return np.transpose(glob_p, (1, 0, 2))


def _norm(name: str) -> str:
    name = name.split(":")[-1]
    name = re.sub(r"^cc_base_", "", name.lower())  # Reallusion Character Creator rigs
    return re.sub(r"[^a-z0-9_]", "", name).replace("_end", "#end").replace("_", "") \
        .replace("#end", "_end")


# NTU joint -> candidate BVH names (normalised), in order of preference
_NTU_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("hips", "pelvis", "hip", "root"),
    ("spine", "spine1", "abdomen", "lowerback", "spine02"),
    ("neck", "neck1", "neckbase", "necktwist02"),
    ("head",),
    ("leftarm", "leftupperarm", "lshldr", "lhumerus", "upperarml", "lshoulder", "lupperarm"),
    ("leftforearm", "leftlowerarm", "lforearm", "lradius", "forearml", "leftelbow", "lelbow"),
    ("lefthand", "lhand", "handl", "leftwrist", "lwrist"),
    ("leftfingerbase", "lefthandmiddle1", "lefthandindex1", "lefthand_end", "lhand_end", "lmid1"),
    ("rightarm", "rightupperarm", "rshldr", "rhumerus", "upperarmr", "rshoulder", "rupperarm"),
    ("rightforearm", "rightlowerarm", "rforearm", "rradius", "forearmr", "rightelbow", "relbow"),
    ("righthand", "rhand", "handr", "rightwrist", "rwrist"),
    ("rightfingerbase", "righthandmiddle1", "righthandindex1", "righthand_end", "rhand_end",
     "rmid1"),
    ("leftupleg", "leftupperleg", "lthigh", "thighl", "lfemur", "lefthip"),
    ("leftleg", "leftlowerleg", "lshin", "shinl", "ltibia", "leftknee", "lknee", "lcalf"),
    ("leftfoot", "lfoot", "footl", "leftankle", "lankle"),
    ("lefttoebase", "lefttoe", "ltoe", "lefttoe_end", "leftfoot_end", "lfoot_end", "ltoebase"),
    ("rightupleg", "rightupperleg", "rthigh", "thighr", "rfemur", "righthip"),
    ("rightleg", "rightlowerleg", "rshin", "shinr", "rtibia", "rightknee", "rknee", "rcalf"),
    ("rightfoot", "rfoot", "footr", "rightankle", "rankle"),
    ("righttoebase", "righttoe", "rtoe", "righttoe_end", "rightfoot_end", "rfoot_end",
     "rtoebase"),
    ("spine2", "spine1", "chest", "upperchest", "spine3", "chest2", "necktwist01"),
    ("lefthandindex1_end", "lefthandmiddle1_end", "leftfingerbase_end", "lefthandindex1",
     "lefthand_end", "lmid3_end"),
    ("lthumb", "lefthandthumb1", "leftthumb", "lthumb_end", "lefthandthumb1_end", "lthumb3_end"),
    ("righthandindex1_end", "righthandmiddle1_end", "rightfingerbase_end", "righthandindex1",
     "righthand_end", "rmid3_end"),
    ("rthumb", "righthandthumb1", "rightthumb", "rthumb_end", "righthandthumb1_end",
     "rthumb3_end"),
)
# joints that may fall back to another NTU joint (0-based): hand, foot, tips and thumbs
_FALLBACK = {7: 6, 11: 10, 15: 14, 19: 18, 21: 7, 22: 7, 23: 11, 24: 11, 20: 1}


def map_to_ntu25(names: list[str], path: Path | None = None) -> list[int]:
    """For each NTU joint, the index into ``names`` it is taken from (by name)."""
    index: dict[str, int] = {}
    for i, n in enumerate(names):
        index.setdefault(_norm(n), i)
    out: list[int | None] = []
    for cands in _NTU_CANDIDATES:
        out.append(next((index[c] for c in cands if c in index), None))
    missing = [k for k, v in enumerate(out) if v is None and k not in _FALLBACK]
    if missing:
        from skelloc.skeleton.layouts import get_layout

        lost = [get_layout("ntu25").joint_names[k] for k in missing]
        raise SkeletonFormatError(
            f"cannot map this BVH skeleton to ntu25 by joint names (no match for {lost}); "
            "pass layout=None to keep its own joints", path=path)
    for k, src in sorted(_FALLBACK.items()):
        if out[k] is None:
            out[k] = out[src]
    return [int(v) for v in out]  # type: ignore[arg-type]


def detect_units(positions: np.ndarray, ntu_index: list[int], path: Path | None = None) -> str:
    """``"m"``, ``"in"`` or ``"cm"`` from the leg length (hip-knee + knee-ankle, both legs,
    median over frames) of FK ``positions (T, J, 3)`` in file units; see the module docstring."""
    legs = []
    for hip, knee, ankle in ((12, 13, 14), (16, 17, 18)):
        h, k, a = (positions[:, ntu_index[j]] for j in (hip, knee, ankle))
        legs.append(np.linalg.norm(h - k, axis=-1) + np.linalg.norm(k - a, axis=-1))
    leg = float(np.median(np.concatenate(legs)))
    if 0.2 <= leg < 2.0:
        return "m"
    if 10.0 <= leg < 20.0:
        return "cmu"
    if 20.0 <= leg < 55.0:
        return "in"
    if 55.0 <= leg < 200.0:
        return "cm"
    raise SkeletonFormatError(
        f"cannot tell the units from a leg length of {leg:g} file units (expected about 0.8 m, "
        "80 cm or 32 in); pass units='m' | 'cm' | 'mm' | 'in' | 'cmu' or scale=...", path=path)


def _scale(units: str, scale: float | None, pos: np.ndarray, names: list[str],
           path: Path) -> tuple[float, str]:
    if scale is not None:
        return float(scale), "given"
    if units != "auto":
        if units not in UNIT_SCALES:
            raise SkeletonFormatError(f"units must be 'auto' or one of {sorted(UNIT_SCALES)}, "
                                      f"got {units!r}", path=path)
        return UNIT_SCALES[units], units
    try:
        index = map_to_ntu25(names, path)
    except SkeletonFormatError:
        logger.warning("%s: no legs found by name to detect the units; assuming centimetres "
                       "(pass units=... to say)", path)
        return UNIT_SCALES["cm"], "cm"
    found = detect_units(pos, index, path)
    return UNIT_SCALES[found], found


def read_bvh(path: Path, *, layout: str | None = "ntu25", units: str = "auto",
             scale: float | None = None, fps: float | None = None) -> SkeletonSequence:
    """Read a BVH file into joint positions in metres (see the module docstring)."""
    bvh = parse_bvh(path)
    with np.errstate(over="ignore", invalid="ignore"):
        raw = forward_kinematics(bvh)
    check_coordinates(raw, path)  # in the file's unit, before scaling
    names = [j.name for j in bvh.joints]
    factor, unit = _scale(units, scale, raw, names, path)
    pos = raw * factor
    meta = {"bvh_fps": bvh.fps, "num_bvh_joints": len(names), "units": unit, "scale": factor}
    if layout is None or layout == "bvh":
        return SkeletonSequence(pos[:, None].astype(np.float32), layout="bvh",
                                fps=float(fps or bvh.fps), meta={**meta, "joint_names": names})
    if layout != "ntu25":
        raise SkeletonFormatError(f"BVH can be mapped to 'ntu25' or kept ('bvh'), not {layout!r}",
                                  path=path)
    idx = map_to_ntu25(names, path)
    meta["ntu25_from"] = [names[i] for i in idx]
    return SkeletonSequence(pos[:, None, idx].astype(np.float32), layout="ntu25",
                            fps=float(fps or bvh.fps), meta=meta)
