"""Input validation and model-input preparation.

:func:`as_sequence` turns whatever the user hands over (a numpy array, a torch tensor, a nested
list, a :class:`~skelloc.skeleton.sequence.SkeletonSequence`) into a checked
``SkeletonSequence`` or raises a typed error from :mod:`skelloc.errors`.
:func:`prepare_input` then brings a sequence to what a model expects (its
:class:`~skelloc.models.localizer.InputSpec`): channels, layout, number of persons, frame
rate and NTU pre-normalisation. Frame alignment is never changed except by resampling, so
predictions can be mapped back to the input's frames exactly.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from skelloc.errors import (
    ConfigError,
    EmptyInputError,
    InputError,
    LayoutMismatchError,
    NonFiniteError,
    ShapeError,
    in_cli_words,
)
from skelloc.skeleton.sequence import MAX_ABS_COORDINATE, SkeletonSequence, assume_fps

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.model_config import InputSpec

__all__ = [
    "NonFinitePolicy",
    "as_sequence",
    "fill_null_frames",
    "input_kind",
    "interpolate_nonfinite",
    "order_persons",
    "prepare_input",
]

logger = logging.getLogger(__name__)

NonFinitePolicy = Literal["error", "interpolate"]

#: meta keys set by :func:`as_sequence` when the caller gave no layout / fps for a raw array
LAYOUT_ASSUMED = "layout_assumed"
FPS_ASSUMED = "fps_assumed"

_MAX_CHANNELS = 4  # xyz + confidence


# --------------------------------------------------------------------------- as_sequence
def as_sequence(
    obj: Any,
    layout: str | None = None,
    fps: float | None = None,
    *,
    nonfinite: NonFinitePolicy = "error",
) -> SkeletonSequence:
    """Check ``obj`` and return it as a float32 ``(T, M, V, C)`` :class:`SkeletonSequence`.

    Args:
        obj: a ``SkeletonSequence``, or an array-like (numpy array, torch tensor, nested list)
            shaped ``(T, V, C)`` (one person) or ``(T, M, V, C)``.
        layout: joint layout name; overrides the sequence's own. For a raw array without a
            layout the model's layout is assumed when the joint count matches it (and a
            :class:`~skelloc.errors.LayoutMismatchError` naming the fix is raised later when it
            does not).
        fps: frame rate; overrides the sequence's own. For a raw array without an fps,
            30 fps is assumed (:data:`~skelloc.skeleton.sequence.DEFAULT_FPS`, never the
            model's rate) with a :class:`~skelloc.errors.FrameRateAssumedWarning`.
        nonfinite: ``"error"`` (default) raises :class:`~skelloc.errors.NonFiniteError` on NaN
            or infinite coordinates; ``"interpolate"`` repairs them by linear interpolation in
            time, per coordinate (see :func:`interpolate_nonfinite`).

    Raises:
        ShapeError: wrong rank, a zero-sized person/joint/channel axis, more than 4 channels,
            or a non-numeric dtype.
        EmptyInputError: zero frames, or no finite value at all.
        NonFiniteError: NaN/inf values with ``nonfinite="error"``.
        InputError: an invalid ``fps``.
    """
    meta: dict[str, Any] = {}
    if isinstance(obj, SkeletonSequence):
        joints = _to_numpy(obj.joints)
        meta = dict(obj.meta)
        if layout is None:
            layout = obj.layout
        else:  # an explicit layout is never an assumption
            meta.pop(LAYOUT_ASSUMED, None)
        if fps is None:
            fps = obj.fps
        else:
            meta.pop(FPS_ASSUMED, None)
    else:
        joints = _to_numpy(obj)
        if layout is None:
            meta[LAYOUT_ASSUMED] = True

    joints = _check_array(joints)
    if fps is None and not isinstance(obj, SkeletonSequence):
        meta[FPS_ASSUMED] = True
        fps = assume_fps()
    fps_value = _check_fps(fps)
    joints = _check_finite(joints, nonfinite)
    _check_range(joints)
    if layout is None:
        layout = _guess_layout(joints.shape[2])
    return SkeletonSequence(joints=joints, layout=str(layout), fps=fps_value, meta=meta)


def _to_numpy(obj: Any) -> np.ndarray:
    if isinstance(obj, np.ndarray):
        return obj
    module = type(obj).__module__
    if module.startswith("torch"):
        import torch

        if isinstance(obj, torch.Tensor):
            if obj.is_complex():
                raise ShapeError(f"skeleton input must be real-valued, got torch dtype {obj.dtype}")
            tensor = obj.detach().to("cpu")
            if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
                tensor = tensor.float()
            return tensor.numpy()
    if isinstance(obj, (str, bytes)) or obj is None:
        raise ShapeError(
            f"expected a skeleton array (T, V, C) or (T, M, V, C) or a SkeletonSequence, got "
            f"{type(obj).__name__}; read files with skelloc.read(path)"
        )
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise ShapeError(f"cannot turn {type(obj).__name__} into a skeleton array: {err}") from None
    return arr


def _check_array(joints: np.ndarray) -> np.ndarray:
    kind = joints.dtype.kind
    if kind not in "iuf":
        what = {"b": "boolean", "c": "complex", "O": "object", "U": "string", "S": "bytes"}
        raise ShapeError(
            f"skeleton coordinates must be real numbers, got dtype {joints.dtype} "
            f"({what.get(kind, 'non-numeric')})"
        )
    if joints.ndim == 3:
        joints = joints[:, None]
    elif joints.ndim != 4:
        raise ShapeError(
            f"expected joints shaped (T, V, C) or (T, M, V, C) (frames, [persons,] joints, "
            f"channels), got {joints.ndim}-D shape {tuple(joints.shape)}"
        )
    t, m, v, c = joints.shape
    if t == 0:
        raise EmptyInputError(f"the sequence has no frames (shape {tuple(joints.shape)})")
    if m == 0 or v == 0 or c == 0:
        raise ShapeError(f"empty person, joint or channel axis in shape {tuple(joints.shape)}")
    if c > _MAX_CHANNELS:
        raise ShapeError(
            f"the last axis must hold the channels (x, y[, z][, confidence]: at most "
            f"{_MAX_CHANNELS}), got {c} in shape {tuple(joints.shape)}; transpose the array to "
            "(T, M, V, C)"
        )
    return np.ascontiguousarray(joints, dtype=np.float32)


def _check_fps(fps: Any) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise InputError(f"fps must be a positive number, got {fps!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"fps must be a positive number, got {fps!r}")
    return value


def _check_range(joints: np.ndarray) -> None:
    """Refuse coordinates outside the plausible range (``|x| < MAX_ABS_COORDINATE``)."""
    with np.errstate(invalid="ignore"):
        peak = float(np.nanmax(np.abs(joints))) if joints.size else 0.0
    if peak >= MAX_ABS_COORDINATE:
        raise InputError(
            f"coordinate {peak:.3g} is outside the plausible range |x| < {MAX_ABS_COORDINATE:g} "
            "(metres, centimetres or pixels); check the input's unit and scale")


def _check_finite(joints: np.ndarray, nonfinite: str) -> np.ndarray:
    if nonfinite not in ("error", "interpolate"):
        raise InputError(f"nonfinite must be 'error' or 'interpolate', got {nonfinite!r}")
    finite = np.isfinite(joints)
    if finite.all():
        return joints
    if not finite.any():
        raise EmptyInputError("every coordinate of the sequence is NaN or infinite")
    if nonfinite == "error":
        bad_frames = np.flatnonzero(~finite.reshape(len(joints), -1).all(axis=1))
        shown = ", ".join(str(i) for i in bad_frames[:5]) + (", ..." if len(bad_frames) > 5 else "")
        raise in_cli_words(NonFiniteError(
            f"{int((~finite).sum())} NaN/inf coordinates in {len(bad_frames)} frames "
            f"(frames {shown}); pass nonfinite='interpolate' to repair them"
        ), ("pass nonfinite='interpolate'", "pass --nonfinite interpolate"))
    return interpolate_nonfinite(joints)


def interpolate_nonfinite(joints: np.ndarray) -> np.ndarray:
    """Replace NaN/inf by linear interpolation in time, separately for every coordinate.

    Values before the first (after the last) finite value of a coordinate take that first
    (last) value; a coordinate that is never finite becomes 0 (an absent joint, as in NTU).
    Returns a new float32 array; the input is left unchanged.
    """
    out = np.array(joints, dtype=np.float32, copy=True)
    t = out.shape[0]
    flat = out.reshape(t, -1)
    finite = np.isfinite(flat)
    frames = np.arange(t, dtype=np.float64)
    for col in np.flatnonzero(~finite.all(axis=0)):
        ok = finite[:, col]
        if not ok.any():
            flat[:, col] = 0.0
            continue
        flat[~ok, col] = np.interp(frames[~ok], frames[ok], flat[ok, col].astype(np.float64))
    return out


def _guess_layout(num_joints: int) -> str:
    """The layout a raw array with ``num_joints`` joints most likely uses (for messages)."""
    candidates = _layouts_with(num_joints)
    if "ntu25" in candidates:
        return "ntu25"
    return candidates[0] if candidates else f"unknown{num_joints}"


def _layouts_with(num_joints: int) -> list[str]:
    try:
        from skelloc.skeleton.layouts import get_layout, list_layouts
    except ImportError:  # pragma: no cover - the skeleton part is always installed
        return []
    return [name for name in list_layouts() if len(get_layout(name).joint_names) == num_joints]


def _canonical_layout(name: str) -> str | None:
    from skelloc.skeleton.layouts import get_layout

    try:
        return get_layout(name).name
    except (ConfigError, KeyError, LookupError):
        return None


def _image_landmarks(seq: SkeletonSequence) -> bool:
    """MediaPipe image landmarks: x, y in the image, z a relative depth (2D keypoints)."""
    return seq.meta.get("format") == "mediapipe" and seq.meta.get("world") is False


def input_kind(obj: Any) -> Literal["2d", "3d"]:
    """``"2d"`` for keypoints with two coordinate channels (``(x, y)``, or ``(x, y, score)``
    with ``meta["confidence"]``, or in a pose-estimator layout with scores in [0, 1]: see
    :func:`skelloc.inference.compat.coordinate_channels`; or MediaPipe image landmarks), else
    ``"3d"``.  A bare 3-channel array counts as 3D."""
    if isinstance(obj, SkeletonSequence):
        if _image_landmarks(obj):
            return "2d"
        from skelloc.inference.compat import coordinate_channels

        return "2d" if coordinate_channels(obj) == 2 else "3d"
    shape = getattr(obj, "shape", None)
    if shape is None:
        try:
            shape = np.shape(obj)
        except (ValueError, TypeError):
            return "3d"
    return "2d" if len(shape) and int(shape[-1]) == 2 else "3d"


# --------------------------------------------------------------------------- prepare_input
def prepare_input(
    seq: SkeletonSequence | Any,
    spec: InputSpec,
    nonfinite: NonFinitePolicy = "error",
    device: Any = None,
) -> SkeletonSequence:
    """Bring ``seq`` to the model's input spec.

    In order: non-finite check or repair; channels (a trailing confidence channel is dropped
    when the model does not take it); layout conversion (when the sequence's layout differs
    from ``spec.layout`` and a conversion exists); persons ordered by activity (frames
    present, then motion) and truncated or zero-padded to ``spec.max_persons``; frames where
    every person is all-zero replaced by the previous valid frame (NTU pads null frames by
    repetition; skelloc repeats in place so that frame indices keep their meaning); resampling
    to ``spec.fps``; :func:`~skelloc.skeleton.normalize.ntu_pre_normalize` when
    ``spec.normalization == "ntu"``.

    Returns a new sequence at the model's layout and frame rate. Its ``meta`` adds
    ``source_fps`` (the input's frame rate) and
    ``source_frames`` (the input's frame count), so outputs can be mapped back.

    With a GPU ``device``, resampling and the NTU normalisation (the costly steps on long
    inputs) run there as torch operations (:mod:`skelloc.skeleton.torch_ops`, the same results
    up to float64 rounding); everything else, and any other device, uses NumPy.
    """
    seq = as_sequence(seq, nonfinite=nonfinite)
    from skelloc.inference.compat import check_accepts

    check_accepts(spec, seq)  # 2D keypoints to a 3D model: one error at once, with the remedy
    joints = seq.joints
    meta = dict(seq.meta)
    source_fps = float(seq.fps)

    joints = _match_channels(joints, seq, spec)
    has_conf = bool(meta.get("confidence")) and joints.shape[-1] == seq.num_channels
    if getattr(spec, "confidence", False) and not has_conf:
        if joints.shape[-1] < int(spec.channels):  # 2D input without scores
            joints = _add_scores(joints)
        has_conf = True
    joints, layout = _match_layout(joints, seq, spec, confidence=has_conf)
    joints = order_persons(joints)
    joints = _fit_persons(joints, int(spec.max_persons))
    joints = fill_null_frames(joints)

    if _on_device(device, spec, layout, has_conf):
        joints = _resample_normalize_on(device, joints, source_fps, spec, layout, seq.num_frames)
    elif not math.isclose(source_fps, float(spec.fps), rel_tol=1e-9):
        from skelloc.skeleton.resample import resample

        logger.info("resampling %d frames from %g to %g fps", len(joints), source_fps, spec.fps)
        joints = np.asarray(resample(joints, source_fps, float(spec.fps)), dtype=np.float32)
        if len(joints) == 0:
            raise EmptyInputError(
                f"{seq.num_frames} frames at {source_fps:g} fps leave no frame at the model's "
                f"{spec.fps:g} fps"
            )

    normalization = getattr(spec, "normalization", None)
    if _on_device(device, spec, layout, has_conf):
        pass  # done above
    elif normalization == "ntu":
        from skelloc.skeleton.normalize import ntu_pre_normalize

        joints = ntu_pre_normalize(joints, layout=layout, confidence=has_conf)
    elif normalization == "person2d":
        from skelloc.skeleton.normalize2d import person2d_normalize

        joints = person2d_normalize(joints, layout, confidence=has_conf)
    elif normalization not in (None, "none", ""):
        raise InputError(f"unknown input normalization {normalization!r} in the model's input spec")

    meta.update(source_fps=source_fps, source_frames=seq.num_frames)
    meta.pop(FPS_ASSUMED, None)
    meta.pop(LAYOUT_ASSUMED, None)
    meta["confidence"] = has_conf
    return SkeletonSequence(
        joints=np.ascontiguousarray(joints, dtype=np.float32),
        layout=layout,
        fps=float(spec.fps),
        meta=meta,
    )


def _add_scores(joints: np.ndarray) -> np.ndarray:
    """Append a score channel: 1 for a joint with a non-zero coordinate, else 0."""
    score = np.any(joints != 0, axis=-1, keepdims=True).astype(np.float32)
    return np.concatenate([joints, score], axis=-1)


def _on_device(device: Any, spec: InputSpec, layout: str, has_conf: bool) -> bool:
    """Whether :func:`prepare_input` resamples and normalises with torch on ``device``."""
    from skelloc.skeleton.normalize import NORMALIZATION_JOINTS

    if device is None:
        return False
    import torch

    if torch.device(device).type == "cpu":
        return False
    return (getattr(spec, "normalization", None) == "ntu" and not has_conf
            and layout in NORMALIZATION_JOINTS)


def _resample_normalize_on(device: Any, joints: np.ndarray, source_fps: float, spec: InputSpec,
                           layout: str, input_frames: int) -> np.ndarray:
    import torch

    from skelloc.skeleton.torch_ops import ntu_pre_normalize_tensor, resample_tensor

    x = torch.from_numpy(np.ascontiguousarray(joints, dtype=np.float32)).to(device)
    if not math.isclose(source_fps, float(spec.fps), rel_tol=1e-9):
        logger.info("resampling %d frames from %g to %g fps on %s", len(joints), source_fps,
                    spec.fps, device)
        x = resample_tensor(x, source_fps, float(spec.fps))
        if x.shape[0] == 0:
            raise EmptyInputError(
                f"{input_frames} frames at {source_fps:g} fps leave no frame at the model's "
                f"{spec.fps:g} fps"
            )
    return ntu_pre_normalize_tensor(x, layout=layout).cpu().numpy()


def _match_channels(joints: np.ndarray, seq: SkeletonSequence, spec: InputSpec) -> np.ndarray:
    want, have = int(spec.channels), joints.shape[-1]
    if getattr(spec, "confidence", False):
        coords = want - 1
        if coords == 2 and _image_landmarks(seq) and have == 4:
            return joints[..., [0, 1, 3]]  # (x, y, z, visibility): the depth guess is dropped
        have_coords = have - (1 if seq.meta.get("confidence") else 0)
        if have_coords == coords and have in (want, want - 1):
            return joints  # x, y (+ score): scores are added by prepare_input when absent
        if have == want and not seq.meta.get("confidence") and coords == 2:
            return joints  # three channels read as x, y, score
        raise ShapeError(
            f"the model takes {coords}D keypoints (x, y) and a score, the input has {have_coords} "
            f"coordinate channel(s) (shape {tuple(joints.shape)})"
            + ("; use a 3D model for 3D joints (skelloc.localize picks one when no model is "
               "named)" if have_coords == 3 else ""))
    if have == want:
        return joints
    if have == want + 1 and seq.meta.get("confidence"):
        return joints[..., :want]
    hint = ""
    if have == 2 and want == 3:
        hint = ": the model takes 3D joints (x, y, z) and the input is 2D"
    elif have == want + 1:
        hint = (
            f"; if the last channel is a confidence score, drop it (joints[..., :{want}]) or set "
            "meta['confidence'] = True on the SkeletonSequence"
        )
    raise ShapeError(
        f"the model expects {want} channels per joint, the input has {have} "
        f"(shape {tuple(joints.shape)}){hint}"
    )


def _match_layout(
    joints: np.ndarray, seq: SkeletonSequence, spec: InputSpec, *, confidence: bool = False
) -> tuple[np.ndarray, str]:
    want_v = int(spec.num_joints)
    have_v = joints.shape[2]
    if seq.meta.get(LAYOUT_ASSUMED):
        if have_v == want_v:
            return joints, spec.layout
        err = LayoutMismatchError(_layout_message(have_v, spec, guessed=True))
        err.cli_message = _layout_message(have_v, spec, guessed=True, cli=True)
        raise err

    src = _canonical_layout(seq.layout)
    dst = _canonical_layout(spec.layout) or spec.layout
    if src is None:
        raise LayoutMismatchError(
            f"unknown skeleton layout {seq.layout!r}; see skelloc.skeleton.layouts.list_layouts()"
        )
    from skelloc.skeleton.layouts import get_layout

    expected_v = len(get_layout(src).joint_names)
    if have_v != expected_v:
        raise LayoutMismatchError(
            f"the input is declared as layout {src!r} ({expected_v} joints) but has {have_v} "
            f"joints (shape {tuple(joints.shape)})"
        )
    if src == dst:
        return joints, dst
    from skelloc.skeleton.convert import convert_layout

    try:
        converted = convert_layout(joints, src=src, dst=dst, confidence=confidence)
    except LayoutMismatchError:
        raise
    except (InputError, KeyError, ValueError, NotImplementedError) as err:
        raise LayoutMismatchError(
            f"the model takes layout {dst!r} ({want_v} joints) and no conversion from {src!r} "
            f"exists: {err}"
        ) from None
    logger.info("converted the input from layout %r to %r", src, dst)
    return np.asarray(converted, dtype=np.float32), dst


def _layout_message(have_v: int, spec: InputSpec, *, guessed: bool, cli: bool = False) -> str:
    """What to do about a joint count that is not the model's (``cli``: in CLI options)."""
    candidates = _layouts_with(have_v)
    base = (
        f"the input has {have_v} joints but the model takes layout {spec.layout!r} "
        f"({spec.num_joints} joints)"
    )
    if candidates:
        src = candidates[0]
        alt = " or ".join(repr(c) for c in candidates)
        if cli:
            return f"{base}; {have_v} joints looks like {alt}: pass --layout {src} to convert it"
        return (
            f"{base}; {have_v} joints looks like {alt}: pass layout={src!r} (CLI: --layout {src}) "
            f"so it is converted, or convert it yourself with "
            f"skelloc.skeleton.convert_layout(joints, src={src!r}, dst={spec.layout!r})"
        )
    if cli:
        return (f"{base}, and no known layout has {have_v} joints; register one in Python "
                "(skelloc.skeleton.layouts.register_layout) and pass --layout NAME")
    return (
        f"{base}, and no known layout has {have_v} joints; register one with "
        "skelloc.skeleton.layouts.register_layout(...) and pass layout=..."
    )


# --------------------------------------------------------------------------- persons, null frames
#: frames per chunk where whole-sequence statistics would otherwise copy the input
_CHUNK = 16384


def order_persons(joints: np.ndarray) -> np.ndarray:
    """Sort persons most active first: frames present (non-zero), then motion energy."""
    if joints.shape[1] == 1:
        return joints
    present = np.any(joints != 0, axis=(2, 3))  # (T, M)
    frames_present = present.sum(axis=0)
    motion = np.zeros(joints.shape[1])
    for m in range(joints.shape[1]):
        frames = np.flatnonzero(present[:, m])
        # Σ |x[f_{i+1}] - x[f_i]| over consecutive present frames, in chunks (bounded memory)
        for a in range(0, len(frames) - 1, _CHUNK):
            idx = frames[a : a + _CHUNK + 1]
            motion[m] += float(np.abs(np.diff(joints[idx, m], axis=0)).sum())
    order = np.lexsort((-motion, -frames_present))  # last key is primary
    if np.array_equal(order, np.arange(joints.shape[1])):
        return joints
    return joints[:, order]


def _fit_persons(joints: np.ndarray, max_persons: int) -> np.ndarray:
    m = joints.shape[1]
    if m == max_persons:
        return joints
    if m > max_persons:
        dropped = joints[:, max_persons:]
        if np.any(dropped):
            logger.info("keeping the %d most active of %d persons", max_persons, m)
        return joints[:, :max_persons]
    pad = np.zeros((joints.shape[0], max_persons - m, *joints.shape[2:]), dtype=joints.dtype)
    return np.concatenate([joints, pad], axis=1)


def fill_null_frames(joints: np.ndarray) -> np.ndarray:
    """Replace frames where every person is all-zero by the previous valid frame.

    Leading null frames take the first valid frame. NTU preprocessing pads null frames by
    repetition too but moves valid frames to the front; here every frame keeps its index.

    Raises:
        EmptyInputError: every frame is all-zero.
    """
    valid = np.any(joints.reshape(len(joints), -1) != 0, axis=1)
    if valid.all():
        return joints
    if not valid.any():
        raise EmptyInputError("every frame of the sequence is all-zero (no skeleton detected)")
    idx = np.where(valid, np.arange(len(joints)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.flatnonzero(valid)[0])
    logger.info("filled %d all-zero frames from their neighbours", int((~valid).sum()))
    return joints[idx]
