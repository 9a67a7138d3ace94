"""Named skeleton layouts: joint names, the bone tree, graph edges, centre and mirror pairs.

Every index here is **0-based**.  ``edges`` are ``(child, parent)`` pairs, i.e. the *inward*
orientation of 2s-AGCN's ``graph/*.py`` (the order and the orientation matter for the AGCN
partition and for bone streams).  ``parents[v]`` is ``-1`` for the root.

The NTU-25 graph (``ntu25``) is the ORIGINAL ST-GCN / 2s-AGCN / CTR-GCN edge list, whose hand
joints are chained (22-23-8, 24-25-12 in 1-based numbering); pyskl / mmaction2 attach both hand
joints to the hand instead, available here as ``ntu25_pyskl`` (docs/design/conventions.md#layouts).
Converted weights must be used with the graph they were trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skelloc.errors import ConfigError

__all__ = [
    "Layout",
    "get_layout",
    "list_layouts",
    "register_layout",
    "NTU25",
    "NTU25_PYSKL",
    "OPENPOSE18",
    "COCO17",
    "BODY25",
    "MEDIAPIPE33",
    "COCO13",
    "KINECT_V1_20",
    "LAYOUT_BY_JOINTS",
    "layout_for_joints",
]


@dataclass(frozen=True)
class Layout:
    """A skeleton joint layout.

    Attributes:
        name: canonical name (``"ntu25"``).
        joint_names: one name per joint, in storage order.
        parents: parent of each joint in the bone tree (``-1`` for the root).
        edges: graph edges as 0-based ``(child, parent)`` pairs (inward orientation).
        center: the centre joint of the ST-GCN "spatial" partition.
        flip_pairs: ``(left, right)`` joint pairs swapped by a left/right mirror.
        aliases: other names :func:`get_layout` accepts for this layout.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]
    center: int
    flip_pairs: tuple[tuple[int, int], ...] = ()
    aliases: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        v = len(self.joint_names)
        if v == 0:
            raise ConfigError(f"layout {self.name!r}: no joints")
        if len(set(self.joint_names)) != v:
            raise ConfigError(f"layout {self.name!r}: duplicate joint names")
        if len(self.parents) != v:
            raise ConfigError(
                f"layout {self.name!r}: {len(self.parents)} parents for {v} joints"
            )
        if not 0 <= self.center < v:
            raise ConfigError(f"layout {self.name!r}: center {self.center} outside 0..{v - 1}")
        for p in self.parents:
            if not -1 <= p < v:
                raise ConfigError(f"layout {self.name!r}: parent index {p} outside -1..{v - 1}")
        for pairs, what in ((self.edges, "edge"), (self.flip_pairs, "flip pair")):
            for a, b in pairs:
                if not (0 <= a < v and 0 <= b < v) or a == b:
                    raise ConfigError(f"layout {self.name!r}: bad {what} ({a}, {b}) for {v} joints")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """``(joint, parent)`` pairs for every non-root joint, in joint order."""
        return tuple((j, p) for j, p in enumerate(self.parents) if p >= 0)

    @property
    def flip_index(self) -> tuple[int, ...]:
        """Permutation that mirrors left and right (``joints[..., flip_index, :]``)."""
        perm = list(range(self.num_joints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return tuple(perm)

    def index(self, joint_name: str) -> int:
        """Index of a joint by name (raises :class:`ConfigError` when unknown)."""
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise ConfigError(
                f"layout {self.name!r} has no joint {joint_name!r}; "
                f"joints: {list(self.joint_names)}"
            ) from None


def _tree(edges: tuple[tuple[int, int], ...], num_joints: int) -> tuple[int, ...]:
    parents = [-1] * num_joints
    for child, parent in edges:
        parents[child] = parent
    return tuple(parents)


def _one_based(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)


# --------------------------------------------------------------------------- NTU RGB+D 25
_NTU_NAMES = (
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)  # fmt: skip
_NTU_BODY = [
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19),
]  # fmt: skip
_NTU_EDGES = _one_based(_NTU_BODY + [(22, 23), (23, 8), (24, 25), (25, 12)])
_NTU_EDGES_PYSKL = _one_based(_NTU_BODY + [(22, 8), (23, 8), (24, 12), (25, 12)])
_NTU_FLIP = _one_based(
    [(5, 9), (6, 10), (7, 11), (8, 12), (13, 17), (14, 18), (15, 19), (16, 20), (22, 24), (23, 25)]
)

NTU25 = Layout(
    name="ntu25",
    joint_names=_NTU_NAMES,
    parents=_tree(_NTU_EDGES, 25),
    edges=_NTU_EDGES,
    center=20,
    flip_pairs=_NTU_FLIP,
    aliases=("ntu-rgb+d", "ntu", "ntu25_stgcn", "kinect_v2", "pkummd"),
)
NTU25_PYSKL = Layout(
    name="ntu25_pyskl",
    joint_names=_NTU_NAMES,
    parents=_tree(_NTU_EDGES_PYSKL, 25),
    edges=_NTU_EDGES_PYSKL,
    center=20,
    flip_pairs=_NTU_FLIP,
    aliases=("nturgb+d",),
)

# --------------------------------------------------------------------------- OpenPose COCO-18
_OP18_EDGES = (
    (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2),
    (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14),
)  # fmt: skip
OPENPOSE18 = Layout(
    name="openpose18",
    joint_names=(
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
        "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle",
        "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    ),  # fmt: skip
    parents=_tree(_OP18_EDGES, 18),
    edges=_OP18_EDGES,
    center=1,
    flip_pairs=((5, 2), (6, 3), (7, 4), (11, 8), (12, 9), (13, 10), (15, 14), (17, 16)),
    aliases=("openpose", "kinetics", "coco18"),
)

# --------------------------------------------------------------------------- COCO-17
_COCO_EDGES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6),
    (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2),
)  # fmt: skip
COCO17 = Layout(
    name="coco17",
    joint_names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),  # fmt: skip
    parents=_tree(_COCO_EDGES, 17),
    edges=_COCO_EDGES,
    center=0,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    aliases=("coco", "mmpose", "rtmpose", "halpe17"),
)

# --------------------------------------------------------------------------- OpenPose BODY_25
# OpenPose's rendering pairs (POSE_BODY_25_PAIRS), oriented toward the neck.
_BODY25_EDGES = (
    (8, 1), (2, 1), (5, 1), (3, 2), (4, 3), (6, 5), (7, 6), (9, 8), (10, 9), (11, 10),
    (12, 8), (13, 12), (14, 13), (0, 1), (15, 0), (17, 15), (16, 0), (18, 16),
    (19, 14), (20, 19), (21, 14), (22, 11), (23, 22), (24, 11),
)  # fmt: skip
BODY25 = Layout(
    name="body25",
    joint_names=(
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
        "left_shoulder", "left_elbow", "left_wrist", "mid_hip",
        "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "right_eye", "left_eye", "right_ear", "left_ear",
        "left_big_toe", "left_small_toe", "left_heel",
        "right_big_toe", "right_small_toe", "right_heel",
    ),  # fmt: skip
    parents=_tree(_BODY25_EDGES, 25),
    edges=_BODY25_EDGES,
    center=1,
    flip_pairs=(
        (5, 2), (6, 3), (7, 4), (12, 9), (13, 10), (14, 11), (16, 15), (18, 17),
        (19, 22), (20, 23), (21, 24),
    ),  # fmt: skip
    aliases=("body_25", "openpose25"),
)

# --------------------------------------------------------------------------- MediaPipe Pose 33
# MediaPipe's POSE_CONNECTIONS has cycles and a detached mouth; this is a spanning tree of it
# (face and shoulders hang off the nose, as in COCO-17; mouth corners hang off the nose).
_MP_EDGES = (
    (1, 0), (2, 1), (3, 2), (7, 3), (4, 0), (5, 4), (6, 5), (8, 6), (9, 0), (10, 0),
    (11, 0), (12, 0), (13, 11), (15, 13), (17, 15), (19, 15), (21, 15),
    (14, 12), (16, 14), (18, 16), (20, 16), (22, 16),
    (23, 11), (25, 23), (27, 25), (29, 27), (31, 27),
    (24, 12), (26, 24), (28, 26), (30, 28), (32, 28),
)  # fmt: skip
MEDIAPIPE33 = Layout(
    name="mediapipe33",
    joint_names=(
        "nose", "left_eye_inner", "left_eye", "left_eye_outer",
        "right_eye_inner", "right_eye", "right_eye_outer", "left_ear", "right_ear",
        "mouth_left", "mouth_right", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),  # fmt: skip
    parents=_tree(_MP_EDGES, 33),
    edges=_MP_EDGES,
    center=0,
    flip_pairs=((1, 4), (2, 5), (3, 6), (7, 8), (9, 10))
    + tuple((i, i + 1) for i in range(11, 33, 2)),
    aliases=("mediapipe", "blazepose", "mediapipe_pose"),
)

# --------------------------------------------------------------------------- COCO body 13
# The joints that Kinect (v1, v2) and every 2D pose estimator (COCO-17, OpenPose, MediaPipe)
# share: COCO-17's body joints with its five face points merged into one head point.  The
# layout of the 2D models (docs/skeleton.md, "2D models").
_COCO13_EDGES = (
    (1, 0), (2, 0), (3, 1), (5, 3), (4, 2), (6, 4), (7, 1), (9, 7), (11, 9), (8, 2), (10, 8),
    (12, 10),
)  # fmt: skip
COCO13 = Layout(
    name="coco13",
    joint_names=(
        "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),  # fmt: skip
    parents=_tree(_COCO13_EDGES, 13),
    edges=_COCO13_EDGES,
    center=0,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)),
    aliases=("body13", "coco_body13"),
)

# --------------------------------------------------------------------------- Kinect v1 (20 joints)
# The Kinect for Windows SDK v1 skeleton (UTKinect-Action3D, MSR Action3D, Florence 3D): NTU-25
# without the neck, hand tips and thumbs; its "shoulder center" is NTU's spine_shoulder.
_KV1_EDGES = (
    (1, 0), (2, 1), (3, 2), (4, 2), (5, 4), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 10),
    (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18),
)  # fmt: skip
KINECT_V1_20 = Layout(
    name="kinect_v1_20",
    joint_names=(
        "hip_center", "spine", "shoulder_center", "head",
        "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand",
        "left_hip", "left_knee", "left_ankle", "left_foot",
        "right_hip", "right_knee", "right_ankle", "right_foot",
    ),  # fmt: skip
    parents=_tree(_KV1_EDGES, 20),
    edges=_KV1_EDGES,
    center=2,
    flip_pairs=((4, 8), (5, 9), (6, 10), (7, 11), (12, 16), (13, 17), (14, 18), (15, 19)),
    aliases=("kinect_v1", "kinect20", "utkinect", "msr_action3d"),
)

_BUILTIN: tuple[Layout, ...] = (
    NTU25, NTU25_PYSKL, OPENPOSE18, COCO17, BODY25, MEDIAPIPE33, COCO13, KINECT_V1_20,
)
_REGISTRY: dict[str, Layout] = {lay.name: lay for lay in _BUILTIN}
_ALIASES: dict[str, str] = {a: lay.name for lay in _BUILTIN for a in lay.aliases}


#: the layout an array with this many joints is taken to be when no layout is named (one table
#: for readers, converters, plots and training; pose-estimator files differ only for 25
#: keypoints, which there are OpenPose's BODY_25)
LAYOUT_BY_JOINTS: dict[int, str] = {25: "ntu25", 17: "coco17", 18: "openpose18", 33: "mediapipe33"}


def layout_for_joints(num_joints: int) -> str | None:
    """The default layout name for ``num_joints`` joints (:data:`LAYOUT_BY_JOINTS`), or None."""
    return LAYOUT_BY_JOINTS.get(int(num_joints))


def _key(name: str) -> str:
    return name.strip().lower()


def list_layouts() -> list[str]:
    """Canonical names of the registered layouts, sorted."""
    return sorted(_REGISTRY)


def get_layout(name: str | Layout) -> Layout:
    """Return a registered layout by canonical name or alias (a :class:`Layout` passes through).

    Raises:
        ConfigError: unknown name; the message lists the known names.
    """
    if isinstance(name, Layout):
        return name
    if not isinstance(name, str):
        raise ConfigError(f"layout must be a name or a Layout, not {type(name).__name__}")
    key = _key(name)
    key = _ALIASES.get(key, key)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ConfigError(
            f"unknown skeleton layout {name!r}; known layouts: {', '.join(list_layouts())} "
            f"(aliases: {', '.join(sorted(_ALIASES))})"
        ) from None


def register_layout(layout: Layout, *, overwrite: bool = False) -> Layout:
    """Register a custom layout under its name and aliases; returns it.

    Raises:
        ConfigError: the name or an alias is taken (unless ``overwrite``).
    """
    if not isinstance(layout, Layout):
        raise ConfigError(f"register_layout expects a Layout, not {type(layout).__name__}")
    names = [_key(layout.name), *(_key(a) for a in layout.aliases)]
    if not overwrite:
        for n in names:
            if n in _REGISTRY or n in _ALIASES:
                raise ConfigError(
                    f"layout name {n!r} is already registered (pass overwrite=True to replace it)"
                )
    _REGISTRY[names[0]] = layout
    _ALIASES.pop(names[0], None)
    for a in names[1:]:
        _ALIASES[a] = names[0]
    return layout
