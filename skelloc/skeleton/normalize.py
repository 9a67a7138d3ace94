"""NTU-style pre-normalisation (2s-AGCN ``data_gen/preprocess.py``; docs/design/conventions.md#data-bn).

Steps, per sequence ``(T, M, V, C)``:

1. **Empty frames.**  A person's frame is *empty* when all its coordinates are zero.  Persons
   that are never present stay all-zero.  For the others, ``pad`` chooses:

   * ``"hold"`` (default, keeps the time axis): each empty frame takes the person's most recent
     valid frame; empty frames before the first valid one take the first valid frame.
   * ``"repeat"``: exactly 2s-AGCN: if the first frame is empty, the valid frames are moved to
     the front (this shifts time); trailing empty frames are filled by looping the frames
     before them.  Interior gaps stay zero.  Meant for trimmed recognition clips only.
   * ``"none"``: empty frames stay zero.

2. **Centre.**  Every frame, subtract the centre joint (joint 1, the NTU spine middle) of the
   *main body* (the first person with a valid centre in that frame) from every non-zero joint of
   every person; zero joints stay zero.
3. **Rotate z.**  Rotate everything so that the main body's ``zaxis`` bone ``x[b] - x[a]``
   (NTU: ``(0, 1)``, spine base -> spine middle) in its first valid frame points along +z.
4. **Rotate x.**  Then rotate so that the ``xaxis`` bone (NTU: ``(4, 8)``, i.e.
   ``x[8] - x[4]``, left shoulder -> right shoulder, exactly upstream's
   ``joint_rshoulder - joint_lshoulder``) of that frame, after step 3, points along +x.  As in
   2s-AGCN this is the minimal rotation between the two vectors, so step 3's alignment is
   kept only approximately unless the shoulder line is already perpendicular to the spine.

Deviations from upstream, none of which changes a well-formed recording: degenerate bones
(length < ``eps``) skip their rotation; an anti-parallel bone is turned by 180 degrees instead
of being left alone; a non-first person stands in as "main body" in frames where person 0 is
absent; empty frames use "all coordinates zero" rather than "sum of all channels is zero".
Confidence channels (``confidence=True``: the last channel) are returned untouched.
"""

from __future__ import annotations

import numpy as np

from skelloc.errors import ConfigError, LayoutMismatchError, NonFiniteError, ShapeError
from skelloc.skeleton.layouts import get_layout

__all__ = ["ntu_pre_normalize", "rotation_matrix", "NORMALIZATION_JOINTS", "PAD_MODES"]

PAD_MODES = ("hold", "repeat", "none")

#: Default ``(center, zaxis, xaxis)`` joints per layout; an axis ``(a, b)`` is the bone
#: ``x[b] - x[a]``.
NORMALIZATION_JOINTS: dict[str, tuple[int, tuple[int, int], tuple[int, int]]] = {
    "ntu25": (1, (0, 1), (4, 8)),
    "ntu25_pyskl": (1, (0, 1), (4, 8)),
    "body25": (8, (8, 1), (5, 2)),
}


def rotation_matrix(src: np.ndarray, dst: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The 3x3 rotation that turns direction ``src`` onto direction ``dst`` (minimal angle).

    Returns the identity when either vector is shorter than ``eps`` or they are already
    parallel; a half turn about an axis perpendicular to ``src`` when they are anti-parallel.
    """
    a = np.asarray(src, dtype=np.float64)
    b = np.asarray(dst, dtype=np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < eps or nb < eps:
        return np.eye(3)
    a, b = a / na, b / nb
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    c = float(np.clip(np.dot(a, b), -1.0, 1.0))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        # anti-parallel: half turn about any axis perpendicular to a
        helper = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        k = np.cross(a, helper)
        k /= np.linalg.norm(k)
        return 2.0 * np.outer(k, k) - np.eye(3)
    k = axis / s
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    theta = np.arctan2(s, c)
    return np.eye(3) + np.sin(theta) * kx + (1.0 - np.cos(theta)) * (kx @ kx)


def _pad_person(person: np.ndarray, valid: np.ndarray, mode: str) -> np.ndarray:
    """Fill empty frames of one person ``(T, V, C)`` given its frame validity ``(T,)``."""
    t = person.shape[0]
    if mode == "hold":
        idx = np.where(valid, np.arange(t), -1)
        idx = np.maximum.accumulate(idx)
        first = int(np.argmax(valid))
        idx[idx < 0] = first
        return person[idx]
    # "repeat": 2s-AGCN
    out = person.copy()
    if not valid[0]:
        tmp = person[valid]
        out = np.zeros_like(person)
        out[: len(tmp)] = tmp
        valid = np.zeros(t, dtype=bool)
        valid[: len(tmp)] = True
    # the first empty frame followed only by empty frames -> loop the prefix
    last_valid = int(np.nonzero(valid)[0][-1])
    i_f = last_valid + 1
    if i_f < t:
        rest = t - i_f
        reps = int(np.ceil(rest / i_f))
        out[i_f:] = np.concatenate([out[:i_f]] * reps, axis=0)[:rest]
    return out


def ntu_pre_normalize(
    joints: np.ndarray,
    layout: str = "ntu25",
    *,
    pad: str = "hold",
    center: bool = True,
    rotate: bool = True,
    confidence: bool = False,
    center_joint: int | None = None,
    zaxis: tuple[int, int] | None = None,
    xaxis: tuple[int, int] | None = None,
    eps: float = 1e-6,
) -> np.ndarray:
    """NTU-style pre-normalisation of ``joints (T, M, V, C)``; see the module docstring.

    Args:
        joints: ``(T, M, V, C)`` with 3 coordinate channels (plus a score if ``confidence``).
        layout: layout name; picks the default ``center_joint`` / ``zaxis`` / ``xaxis``.
        pad: ``"hold"`` | ``"repeat"`` | ``"none"`` (empty-frame handling).
        center: subtract the main body's centre joint in every frame.
        rotate: apply the two alignment rotations.
        confidence: the last channel is a score (left untouched).
        center_joint, zaxis, xaxis: override the layout's defaults (axes are ``(a, b)``
            bones ``x[b] - x[a]``).
        eps: bones shorter than this are not used for rotation.

    Returns:
        float32 array of the input's shape; never contains NaN.

    Raises:
        ShapeError: not ``(T, M, V, C)`` or not 3 coordinate channels.
        NonFiniteError: NaN or infinite input.
        ConfigError: bad ``pad``, no defaults for the layout, or joint indices out of range.
    """
    lay = get_layout(layout)
    if pad not in PAD_MODES:
        raise ConfigError(f"pad must be one of {', '.join(PAD_MODES)}, got {pad!r}")
    arr = np.asarray(joints)
    if arr.ndim != 4 or not np.issubdtype(arr.dtype, np.number):
        raise ShapeError(f"joints must be a numeric (T, M, V, C) array, got shape {arr.shape}")
    t, m, v, c = arr.shape
    ncoord = c - 1 if confidence else c
    if ncoord != 3:
        raise ShapeError(
            f"NTU pre-normalisation needs 3 coordinate channels, got {ncoord} "
            f"(C={c}, confidence={confidence})"
        )
    if v != lay.num_joints:
        raise LayoutMismatchError(
            f"layout {lay.name!r} has {lay.num_joints} joints but the input has {v}"
        )
    if not np.isfinite(arr).all():
        raise NonFiniteError("joints contain NaN or infinite values")
    defaults = NORMALIZATION_JOINTS.get(lay.name)
    if defaults is None and (center_joint is None or zaxis is None or xaxis is None):
        raise ConfigError(
            f"no default normalisation joints for layout {lay.name!r} (known: "
            f"{', '.join(NORMALIZATION_JOINTS)}); pass center_joint, zaxis and xaxis"
        )
    cj = center_joint if center_joint is not None else defaults[0]  # type: ignore[index]
    za = zaxis if zaxis is not None else defaults[1]  # type: ignore[index]
    xa = xaxis if xaxis is not None else defaults[2]  # type: ignore[index]
    for j in (cj, *za, *xa):
        if not 0 <= j < v:
            raise ConfigError(f"normalisation joint {j} outside 0..{v - 1}")

    out = arr.astype(np.float64, copy=True)
    if t == 0:
        return out.astype(np.float32)
    xyz = out[..., :3]  # view
    joint_ok = np.any(xyz != 0, axis=-1)  # (T, M, V)
    frame_ok = joint_ok.any(axis=-1)  # (T, M)

    # 1. empty frames
    if pad != "none":
        for p in range(m):
            if frame_ok[:, p].any() and not frame_ok[:, p].all():
                out[:, p] = _pad_person(out[:, p], frame_ok[:, p], pad)
        xyz = out[..., :3]
        joint_ok = np.any(xyz != 0, axis=-1)
        frame_ok = joint_ok.any(axis=-1)

    # 2. centre on the main body's centre joint, frame by frame
    if center:
        cvalid = joint_ok[:, :, cj]  # (T, M)
        has = cvalid.any(axis=1)
        main = np.argmax(cvalid, axis=1)  # first person with a valid centre
        origin = xyz[np.arange(t), main, cj]  # (T, 3)
        origin[~has] = 0.0
        xyz -= origin[:, None, None, :]
        xyz *= joint_ok[..., None]

    # 3./4. rotations from the main body's first frame with both bones present
    if rotate:
        for axis_joints, target in ((za, (0.0, 0.0, 1.0)), (xa, (1.0, 0.0, 0.0))):
            bone = _first_bone(xyz, joint_ok, axis_joints, eps)
            if bone is None:
                continue
            rot = rotation_matrix(bone, np.asarray(target), eps)
            xyz[...] = xyz @ rot.T
    if not np.isfinite(out).all():  # pragma: no cover - defensive, the maths cannot produce it
        raise NonFiniteError("normalisation produced non-finite values")
    return out.astype(np.float32)


def _first_bone(
    xyz: np.ndarray, joint_ok: np.ndarray, pair: tuple[int, int], eps: float
) -> np.ndarray | None:
    """``xyz[f, p, b] - xyz[f, p, a]`` of the first person/frame where both joints exist."""
    a, b = pair
    both = joint_ok[:, :, a] & joint_ok[:, :, b]  # (T, M)
    for p in range(both.shape[1]):
        frames = np.nonzero(both[:, p])[0]
        for f in frames:
            bone = xyz[f, p, b] - xyz[f, p, a]
            if np.linalg.norm(bone) >= eps:
                return bone
    return None
