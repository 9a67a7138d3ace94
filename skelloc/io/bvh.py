"""BVH motion capture: any hierarchy, any channel order, forward kinematics to joint positions.

Rotations compose in the order the ``CHANNELS`` line lists them (``Zrotation Xrotation
Yrotation`` -> ``R = Rz · Rx · Ry``, degrees); a joint's translation is its ``OFFSET`` plus its
position channels.  ``End Site`` positions are kept as joints named ``<parent>_end``.  With
``layout="ntu25"`` (default) the joints are mapped to NTU RGB+D 25 by name (CMU's cgspeed
conversion, SFU, Mixamo and Daz/Poser names are known); joints the skeleton lacks (hand tips,
thumbs) fall back to the nearest available joint.  ``layout=None`` keeps every joint
(``layout="bvh"``, names in ``meta["joint_names"]``).  Units are scaled by ``scale`` (default
0.01: centimetres -> metres); the frame rate is ``1 / Frame Time``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.io._limits import MAX_BVH_DEPTH, check_coordinates, fk_budget
from skelloc.io._text import parse_floats, parse_int, text_lines
from skelloc.skeleton.sequence import SkeletonSequence

__all__ = ["BvhJoint", "BvhMotion", "parse_bvh", "forward_kinematics", "read_bvh", "map_to_ntu25"]

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
    data = [r for r in rest[2:]]
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
    return re.sub(r"[^a-z0-9_]", "", name.lower()).replace("_end", "#end").replace("_", "") \
        .replace("#end", "_end")


# NTU joint -> candidate BVH names (normalised), in order of preference
_NTU_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("hips", "pelvis", "hip", "root"),
    ("spine", "spine1", "abdomen", "lowerback"),
    ("neck", "neck1", "neckbase"),
    ("head",),
    ("leftarm", "leftupperarm", "lshldr", "lhumerus", "upperarml", "lshoulder"),
    ("leftforearm", "leftlowerarm", "lforearm", "lradius", "forearml", "leftelbow", "lelbow"),
    ("lefthand", "lhand", "handl", "leftwrist", "lwrist"),
    ("leftfingerbase", "lefthandmiddle1", "lefthandindex1", "lefthand_end", "lhand_end"),
    ("rightarm", "rightupperarm", "rshldr", "rhumerus", "upperarmr", "rshoulder"),
    ("rightforearm", "rightlowerarm", "rforearm", "rradius", "forearmr", "rightelbow", "relbow"),
    ("righthand", "rhand", "handr", "rightwrist", "rwrist"),
    ("rightfingerbase", "righthandmiddle1", "righthandindex1", "righthand_end", "rhand_end"),
    ("leftupleg", "leftupperleg", "lthigh", "thighl", "lfemur", "lefthip"),
    ("leftleg", "leftlowerleg", "lshin", "shinl", "ltibia", "leftknee", "lknee"),
    ("leftfoot", "lfoot", "footl", "leftankle", "lankle"),
    ("lefttoebase", "lefttoe", "ltoe", "lefttoe_end", "leftfoot_end", "lfoot_end"),
    ("rightupleg", "rightupperleg", "rthigh", "thighr", "rfemur", "righthip"),
    ("rightleg", "rightlowerleg", "rshin", "shinr", "rtibia", "rightknee", "rknee"),
    ("rightfoot", "rfoot", "footr", "rightankle", "rankle"),
    ("righttoebase", "righttoe", "rtoe", "righttoe_end", "rightfoot_end", "rfoot_end"),
    ("spine2", "spine1", "chest", "upperchest", "spine3", "chest2"),
    ("lefthandindex1_end", "lefthandmiddle1_end", "leftfingerbase_end", "lefthandindex1",
     "lefthand_end"),
    ("lthumb", "lefthandthumb1", "leftthumb", "lthumb_end", "lefthandthumb1_end"),
    ("righthandindex1_end", "righthandmiddle1_end", "rightfingerbase_end", "righthandindex1",
     "righthand_end"),
    ("rthumb", "righthandthumb1", "rightthumb", "rthumb_end", "righthandthumb1_end"),
)
# joints that may fall back to another NTU joint (0-based): hand, foot, tips and thumbs
_FALLBACK = {7: 6, 11: 10, 15: 14, 19: 18, 21: 7, 22: 7, 23: 11, 24: 11, 20: 1}


def map_to_ntu25(names: list[str], path: Path | None = None) -> list[int]:
    """For each NTU joint, the index into ``names`` it is taken from (by name)."""
    index = {}
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


def read_bvh(path: Path, *, layout: str | None = "ntu25", scale: float = 0.01,
             fps: float | None = None) -> SkeletonSequence:
    """Read a BVH file into joint positions (see the module docstring)."""
    bvh = parse_bvh(path)
    with np.errstate(over="ignore", invalid="ignore"):
        pos = forward_kinematics(bvh)
    check_coordinates(pos, path)  # in the file's unit, before scaling
    pos = pos * float(scale)
    names = [j.name for j in bvh.joints]
    meta = {"bvh_fps": bvh.fps, "num_bvh_joints": len(names)}
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
