"""Joint-layout conversion (COCO-17, OpenPose, BODY_25, MediaPipe, Kinect v1 -> NTU-25 and COCO-17;
NTU-25 -> Kinect v1).

Neither pyskl nor mmaction2 ships COCO<->NTU, BODY_25<->COCO or MediaPipe<->COCO maps
(docs/design/conventions.md#conversion); the tables below follow mmpose's ``KeypointConverter`` pattern: every
target joint is the *mean* of one or more source joints.  A source index listed twice counts
twice (``(5, 6, 0)`` = 2/3 mid-shoulder + 1/3 nose).

Entries marked *approximate* duplicate a nearby joint because the source has no such joint
(e.g. COCO has no hand tips: they copy the wrist).  ``fill="zero"`` zeroes them instead.

Missing joints: with ``zero_is_missing=True`` (default) a source joint whose coordinates are
all exactly zero (the OpenPose / NTU convention for "not detected") makes every target joint
built from it zero too, instead of dragging an average toward the origin.

Confidence: with ``confidence=True`` the last channel is a score; a target joint gets the
*minimum* score of its sources (zero when it was zeroed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from skelloc.errors import ConfigError, LayoutMismatchError, ShapeError
from skelloc.skeleton.layouts import get_layout

if TYPE_CHECKING:
    from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "Conversion",
    "convert_layout",
    "convert_sequence",
    "get_conversion",
    "list_conversions",
    "register_conversion",
]


@dataclass(frozen=True)
class Conversion:
    """A table ``dst joint -> source joints`` (averaged); ``approx`` marks duplicated stand-ins."""

    src: str
    dst: str
    sources: tuple[tuple[int, ...], ...]
    approx: tuple[bool, ...]

    def __post_init__(self) -> None:
        vs, vd = get_layout(self.src).num_joints, get_layout(self.dst).num_joints
        if len(self.sources) != vd or len(self.approx) != vd:
            raise ConfigError(f"conversion {self.src}->{self.dst}: need {vd} target entries")
        for entry in self.sources:
            if not entry or any(not 0 <= i < vs for i in entry):
                raise ConfigError(f"conversion {self.src}->{self.dst}: bad entry {entry}")

    def weights(self) -> np.ndarray:
        """``(V_dst, V_src)`` averaging matrix (rows sum to one)."""
        vs = get_layout(self.src).num_joints
        w = np.zeros((len(self.sources), vs), dtype=np.float64)
        for d, entry in enumerate(self.sources):
            for s in entry:
                w[d, s] += 1.0 / len(entry)
        return w


def _table(src: str, dst: str, rows: list[tuple[int, ...] | int | str]) -> Conversion:
    """Rows: an int or a tuple (exact), or ``"~i"`` (approximate copy of joint i)."""
    sources: list[tuple[int, ...]] = []
    approx: list[bool] = []
    for r in rows:
        if isinstance(r, str):
            sources.append((int(r.lstrip("~")),))
            approx.append(True)
        else:
            sources.append((r,) if isinstance(r, int) else tuple(r))
            approx.append(False)
    return Conversion(src, dst, tuple(sources), tuple(approx))


# NTU-25 target order (0-based): 0 spine_base 1 spine_mid 2 neck 3 head 4 l_shoulder 5 l_elbow
# 6 l_wrist 7 l_hand 8 r_shoulder 9 r_elbow 10 r_wrist 11 r_hand 12 l_hip 13 l_knee 14 l_ankle
# 15 l_foot 16 r_hip 17 r_knee 18 r_ankle 19 r_foot 20 spine_shoulder 21 l_tip 22 l_thumb
# 23 r_tip 24 r_thumb
_BUILTIN: list[Conversion] = [
    # COCO-17: spine base = mid-hip, spine shoulder = mid-shoulder, spine mid = mean of both,
    # neck = 2/3 mid-shoulder + 1/3 nose, head = nose; hands/feet/tips copy wrists/ankles.
    _table("coco17", "ntu25", [
        (11, 12), (5, 6, 11, 12), (5, 6, 0), 0, 5, 7, 9, "~9", 6, 8, 10, "~10",
        11, 13, 15, "~15", 12, 14, 16, "~16", (5, 6), "~9", "~9", "~10", "~10",
    ]),
    # OpenPose COCO-18 has a neck (= mid-shoulder).
    _table("openpose18", "ntu25", [
        (8, 11), (8, 11, 1, 1), (1, 1, 0), 0, 5, 6, 7, "~7", 2, 3, 4, "~4",
        11, 12, 13, "~13", 8, 9, 10, "~10", 1, "~7", "~7", "~4", "~4",
    ]),
    # BODY_25 has a mid-hip and toes (foot = mean of big and small toe).
    _table("body25", "ntu25", [
        8, (8, 1), (1, 1, 0), 0, 5, 6, 7, "~7", 2, 3, 4, "~4",
        12, 13, 14, (19, 20), 9, 10, 11, (22, 23), 1, "~7", "~7", "~4", "~4",
    ]),
    # MediaPipe has hands (hand = mean of pinky and index knuckles, tip = index, thumb) and feet.
    _table("mediapipe33", "ntu25", [
        (23, 24), (11, 12, 23, 24), (11, 12, 0), 0, 11, 13, 15, (17, 19), 12, 14, 16, (18, 20),
        23, 25, 27, 31, 24, 26, 28, 32, (11, 12), 19, 21, 20, 22,
    ]),
    # -> COCO-17 (docs/design/conventions.md#conversion)
    _table("body25", "coco17", [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]),
    _table("mediapipe33", "coco17",
           [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]),
    _table("openpose18", "coco17", [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]),
    _table("ntu25", "coco17", [
        "~3", "~3", "~3", "~3", "~3", 4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18,
    ]),
    # -> COCO body 13 (the 2D models' layout): the head is the mean of the nose and the eyes
    # (always detected when the face is visible; the ears often are not); Kinect's head joint.
    _table("coco17", "coco13", [(0, 1, 2), 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
    _table("ntu25", "coco13", [3, 4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18]),
    # -> OpenPose COCO-18
    _table("coco17", "openpose18",
           [0, (5, 6), 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]),
    _table("body25", "openpose18", [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]),
    # Kinect v1 (20 joints) <-> NTU-25 (Kinect v2): the same body joints; v1's shoulder centre is
    # v2's spine_shoulder, v2's neck lies between it and the head, hand tips/thumbs copy hands.
    _table("kinect_v1_20", "ntu25", [
        0, 1, (2, 3), 3, 4, 5, 6, 7, 8, 9, 10, 11,
        12, 13, 14, 15, 16, 17, 18, 19, 2, "~7", "~7", "~11", "~11",
    ]),
    _table("ntu25", "kinect_v1_20", [0, 1, 20, 3, *range(4, 20)]),
]
# The pyskl NTU graph has the same joints as ntu25.
_BUILTIN += [
    Conversion(c.src, "ntu25_pyskl", c.sources, c.approx) for c in _BUILTIN if c.dst == "ntu25"
]
_BUILTIN += [
    _table("ntu25_pyskl", "ntu25", list(range(25))),
    _table("ntu25", "ntu25_pyskl", list(range(25))),
]
_CONVERSIONS: dict[tuple[str, str], Conversion] = {(c.src, c.dst): c for c in _BUILTIN}


def register_conversion(conversion: Conversion, *, overwrite: bool = False) -> Conversion:
    """Add a custom conversion table (``ConfigError`` if the pair exists, unless ``overwrite``)."""
    key = (get_layout(conversion.src).name, get_layout(conversion.dst).name)
    if key in _CONVERSIONS and not overwrite:
        raise ConfigError(f"a conversion {key[0]} -> {key[1]} is already registered")
    _CONVERSIONS[key] = conversion
    return conversion


def list_conversions() -> list[tuple[str, str]]:
    """Direct ``(src, dst)`` pairs; others are composed through ``coco17`` when possible."""
    return sorted(_CONVERSIONS)


def _compose(first: Conversion, second: Conversion) -> tuple[np.ndarray, np.ndarray]:
    w = second.weights() @ first.weights()
    approx_mid = np.asarray(first.approx, dtype=bool)
    approx = np.asarray(second.approx, dtype=bool) | (
        (second.weights() > 0) & approx_mid[None, :]
    ).any(axis=1)
    return w, approx


def get_conversion(src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """``(weights (V_dst, V_src), approximate (V_dst,) bool)`` for a layout pair.

    Direct tables win; otherwise one hop through ``coco17`` (then ``ntu25``) is tried.

    Raises:
        ConfigError: no table or composition connects the two layouts.
    """
    s, d = get_layout(src).name, get_layout(dst).name
    if s == d:
        v = get_layout(s).num_joints
        return np.eye(v), np.zeros(v, dtype=bool)
    if (s, d) in _CONVERSIONS:
        c = _CONVERSIONS[(s, d)]
        return c.weights(), np.asarray(c.approx, dtype=bool)
    for mid in ("coco17", "ntu25"):
        if (s, mid) in _CONVERSIONS and (mid, d) in _CONVERSIONS:
            return _compose(_CONVERSIONS[(s, mid)], _CONVERSIONS[(mid, d)])
    raise ConfigError(
        f"no joint conversion from {s!r} to {d!r}; direct tables: "
        + ", ".join(f"{a}->{b}" for a, b in list_conversions())
    )


def convert_layout(
    joints: np.ndarray,
    src: str,
    dst: str = "ntu25",
    *,
    confidence: bool = False,
    fill: str = "duplicate",
    zero_is_missing: bool = True,
) -> np.ndarray:
    """Map ``joints (T, M, V_src, C)`` of layout ``src`` onto layout ``dst``.

    Args:
        joints: array ``(T, M, V, C)``.
        src: source layout name (``V`` must equal its joint count).
        dst: target layout name.
        confidence: the last channel is a score: take the minimum over the sources.
        fill: ``"duplicate"`` (approximate joints copy a neighbour) or ``"zero"``.
        zero_is_missing: an all-zero source joint makes its targets zero.

    Returns:
        float32 ``(T, M, V_dst, C)``; an exact copy when ``src == dst``.

    Raises:
        ShapeError: not a 4-D numeric array, or ``confidence`` with a single channel.
        LayoutMismatchError: the joint count does not fit ``src``.
        ConfigError: unknown layouts, no conversion, or a bad ``fill``.
    """
    src_l, dst_l = get_layout(src), get_layout(dst)
    if fill not in ("duplicate", "zero"):
        raise ConfigError(f"fill must be 'duplicate' or 'zero', got {fill!r}")
    arr = np.asarray(joints)
    if arr.ndim != 4 or not np.issubdtype(arr.dtype, np.number):
        raise ShapeError(
            f"joints must be a numeric (T, M, V, C) array, got shape {arr.shape} dtype {arr.dtype}"
        )
    if arr.shape[2] != src_l.num_joints:
        raise LayoutMismatchError(
            f"layout {src_l.name!r} has {src_l.num_joints} joints but the input has "
            f"{arr.shape[2]} (shape {arr.shape})"
        )
    if confidence and arr.shape[3] < 2:
        raise ShapeError("confidence=True needs at least one coordinate channel plus the score")
    arr = arr.astype(np.float32, copy=False)
    if src_l.name == dst_l.name:
        return arr.copy()

    w, approx = get_conversion(src_l.name, dst_l.name)
    if fill == "zero":
        w = w * (~approx)[:, None]
    ncoord = arr.shape[3] - 1 if confidence else arr.shape[3]
    coords = arr[..., :ncoord].astype(np.float64)
    out = np.einsum("ds,tmsc->tmdc", w, coords)
    used = w > 0  # (V_dst, V_src)
    keep = np.asarray(used.any(axis=1))[None, None, :]  # zeroed rows stay zero
    if zero_is_missing:
        missing = ~np.any(coords != 0, axis=-1)  # (T, M, V_src)
        bad = np.einsum("ds,tms->tmd", used.astype(np.int64), missing.astype(np.int64)) > 0
        keep = keep & ~bad
    out = np.where(keep[..., None], out, 0.0)
    if confidence:
        score = arr[..., -1].astype(np.float64)  # (T, M, V_src)
        masked = np.where(used[None, None], score[:, :, None, :], np.inf)  # (T, M, V_dst, V_src)
        conf = masked.min(axis=-1)
        conf = np.where(keep, conf, 0.0)
        out = np.concatenate([out, conf[..., None]], axis=-1)
    return out.astype(np.float32)


def convert_sequence(
    seq: SkeletonSequence, dst: str = "ntu25", **kwargs: object
) -> SkeletonSequence:
    """:func:`convert_layout` for a :class:`SkeletonSequence` (reads ``meta["confidence"]``)."""
    from skelloc.skeleton.sequence import SkeletonSequence

    conf = bool(seq.meta.get("confidence", False))
    joints = convert_layout(
        seq.joints, seq.layout, dst, confidence=conf, **kwargs  # type: ignore[arg-type]
    )
    meta = dict(seq.meta)
    meta["converted_from"] = get_layout(seq.layout).name
    return SkeletonSequence(joints=joints, layout=get_layout(dst).name, fps=seq.fps, meta=meta)
